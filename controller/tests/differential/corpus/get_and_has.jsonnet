local o = { a: 1, h:: 2, n: null };
{ out: [std.get(o, 'h'), std.get(o, 'h', inc_hidden=false), std.get(o, 'n', 'd'), std.get(o, 'zz'), std.objectHas(o, 'n'), std.objectHasAll(o, 'h'), 'a' in o, 'h' in o] }
