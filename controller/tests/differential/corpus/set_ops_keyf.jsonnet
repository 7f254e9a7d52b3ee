{ out: [std.setUnion([{ k: 1 }], [{ k: 1, v: 2 }, { k: 2 }], keyF=function(x) x.k), std.setInter([1, 2, 3], [3, 4]), std.setDiff(['a', 'b', 'c'], ['b']), std.setUnion([], [])] }
