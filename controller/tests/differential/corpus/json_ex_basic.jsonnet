{ out: std.manifestJsonEx({ a: [1, 2, { b: null }], c: 'd', e: {}, f: [] }, '  ') }
