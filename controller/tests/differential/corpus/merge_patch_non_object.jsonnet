{ out: [std.mergePatch({ a: 1 }, 'str'), std.mergePatch('x', { a: { b: null, c: 1 } }), std.mergePatch({ a: 1 }, {}), std.mergePatch([1], [2])] }
