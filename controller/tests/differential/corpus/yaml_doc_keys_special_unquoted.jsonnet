{ out: std.manifestYamlDoc({ 'a b': 1, 'a:b': 2, 'a"b': 3, "a'b": 4, 'é': 7, '-': 8, '?': 9, '1': 10, 'true': 11, 'null': 12, 'x-y_z.w/v': 13, '1.5': 14, 'a#b': 15 }, quote_keys=false) }
