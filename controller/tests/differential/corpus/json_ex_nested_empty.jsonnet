{ out: std.manifestJsonEx({ a: [[], {}], b: { c: { d: [] } }, e: [[[]]] }, '  '), min: std.manifestJsonMinified({ a: [[], {}], b: {} }) }
