{ out: [std.toString(x) for x in [0, 1, -1, 42, 1000000, 2147483648, 1e15, 1e16 + 2, -1e18]] }
