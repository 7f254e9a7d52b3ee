{ out: [std.toString(x) for x in ['s', true, false, null, [1, 'a', [2]], { a: 1, b: [1.5] }, {}]] }
