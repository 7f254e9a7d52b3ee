{ out: std.manifestYamlDoc({ 'tab\tkey': 1, 'nl\nkey': 2, 'q"key': 3, 'del\u007f': 4, 'é': 5 }), bare: std.manifestYamlDoc({ 'tab\tkey': 1, 'q"key': 3 }, quote_keys=false) }
