{ a: std.manifestPython({ a: [1, 'x', null, true, false], b: { c: 1.5 }, s: "it's \"q\"" }), b: std.manifestPythonVars({ x: 1, y: 'z', n: null }) }
