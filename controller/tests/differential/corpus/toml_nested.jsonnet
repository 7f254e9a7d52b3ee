{ out: std.manifestToml({ a: { b: { c: { d: 1 } }, e: 2 }, f: { g: [{ h: { i: 1 } }] } }) }
