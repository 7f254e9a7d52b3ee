{ a: std.manifestJsonEx({ x: [1, 2], y: 'z' }, '', ' ', ': '), b: std.manifestJsonEx({ x: [1, 2] }, '  ', '\n', ':'), c: std.manifestJsonEx([1, { a: 2 }], '', '', ':') }
