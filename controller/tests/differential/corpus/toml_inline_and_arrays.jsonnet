{ out: std.manifestTomlEx({ a: [1, [2, 3], { x: 1 }], b: { c: [{ d: 1 }, { d: 2 }] }, e: [], f: { g: {} }, 'h i': { 'j.k': 1 } }, '  ') }
