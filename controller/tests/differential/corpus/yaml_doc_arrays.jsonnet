{ out: std.manifestYamlDoc({ a: [], b: [[]], c: [[1, 2], [3]], d: [{}, { x: 1 }], e: [{ x: [1, 2], y: { z: 'w' } }], f: ['s', null, true] }) }
