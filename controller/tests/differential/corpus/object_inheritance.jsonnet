local base = { a: 1, b: { c: 2 }, h:: 'hidden', name: self.h };
{ out: std.manifestJsonEx(base + { a+: 10, b+: { d: 3 }, h:: 'changed' }, '  ') }
