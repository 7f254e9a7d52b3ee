{ out: std.manifestYamlDoc({ t: true, f: false, n: null, i: 42, neg: -7, f1: 1.5, big: 1e21, small: 1e-7, z: -0, s: 'plain', e: '' }) }
