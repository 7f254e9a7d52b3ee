{ out: [std.min(-0, 0), std.max(-1, 1), std.minArray([{ x: 2 }, { x: 1 }], keyF=function(o) o.x), std.sum([0.1, 0.2])] }
