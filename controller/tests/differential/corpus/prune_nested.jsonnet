{ out: std.prune({ a: [null, [], {}, [null], { b: null }], c: { d: { e: [] } }, f: 0, g: '', h: false }) }
