{ out: std.manifestJsonEx({ q: '"', bs: '\\', nl: '\n', tab: '\t', cr: '\r', ctrl: '\u0001\u001f\u007f\b\f\u0085\u2029', uni: 'é😀', slash: '/', html: '<>&' }, ' ') }
