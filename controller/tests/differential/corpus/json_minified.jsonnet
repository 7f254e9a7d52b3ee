{ out: std.manifestJsonMinified({ a: [1, 2, { b: 'c' }], d: {}, e: 0.1 }) }
