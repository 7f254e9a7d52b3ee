{ out: std.manifestJsonEx({ a: 'x\ny', b: [{ c: [] }] }, '\n') }
