{ out: std.manifestJsonEx(std.mergePatch({ a: 1, b: { c: 2, d: 3 }, e: [1] }, { a: null, b: { c: null, f: 4 }, e: { x: 1 }, g: 'new' }), ' ') }
