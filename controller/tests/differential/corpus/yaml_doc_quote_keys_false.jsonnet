{ out: std.manifestYamlDoc({ simple: 1, 'with space': 2, 'a.b/c': 3, '123': 4, 'yes': 5, '': 6, 'k:v': 7, '-x': 8, nested: { inner_key: { deep: 'v' } } }, quote_keys=false) }
