{ out: [[1, 2] + [3], std.slice('abcdef', 1, null, 2), std.slice([1, 2, 3], null, null, null), [1, 2, 3, 4, 5][1:4:2], std.range(5, 1), std.makeArray(0, function(i) i)] }
