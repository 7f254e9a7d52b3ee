{ out: std.manifestYamlDoc({ [k]: k + 'v' for k in ['z', 'a', 'm'] }) }
