{ out: std.foldl(function(acc, x) acc + x, std.range(1, 100000), 0) }
