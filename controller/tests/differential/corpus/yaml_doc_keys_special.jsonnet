{ out: std.manifestYamlDoc({ 'a b': 1, 'a:b': 2, 'a"b': 3, "a'b": 4, 'a\nb': 5, '': 6, 'é': 7, '-': 8, '?': 9, '1': 10, 'true': 11 }) }
