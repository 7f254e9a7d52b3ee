{ out: [std.flattenDeepArray([1, [2, [3, [4, []]]]]), std.flattenArrays([[], [1], [[2]]]), std.deepJoin([]), std.join(['x'], [['a'], ['b'], []])] }
