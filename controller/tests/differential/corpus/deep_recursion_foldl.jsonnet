{ out: std.foldl(function(acc, x) acc + x, std.range(1, 200000), 0) }
