{ out: std.toString({ a: [1e-7, 0.1, 'é\n'], b: { c: null } }) }
