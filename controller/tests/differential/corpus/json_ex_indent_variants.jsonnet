{ a: std.manifestJsonEx({ x: [1, [2, [3]]] }, '    '), b: std.manifestJsonEx({ x: 1, y: 2 }, ''), c: std.manifestJsonEx([], '\t'), d: std.manifestJsonEx({ x: {} }, '\t') }
