{ out: std.manifestPythonVars({ b: [1.5, { c: 'd\n' }], a: true, e: {} }) }
