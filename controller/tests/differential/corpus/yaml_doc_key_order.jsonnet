{ out: std.manifestYamlDoc({ zeta: 1, alpha: 2, Beta: 3, _under: 4, '10': 5, '9': 6, 'ä': 7 }) }
