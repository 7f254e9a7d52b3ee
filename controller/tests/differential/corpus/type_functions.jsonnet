{ out: [std.type(x) for x in [null, true, 1, 's', [], {}, function() 1]] + [std.length({ a: 1, b:: 2 }), std.length([1, 2]), std.length(function(a, b) a)] }
