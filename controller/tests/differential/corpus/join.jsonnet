{ out: [std.join(',', ['a', 'b', 'c']), std.join([0], [[1], [2], [3]]), std.join('', []), std.join('-', ['a', null, 'b']), std.lines(['a', 'b']), std.deepJoin(['a', ['b', ['c']]])] }
