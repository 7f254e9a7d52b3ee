{ out: [std.strReplace('a.b.c', '.', '-'), std.strReplace('aaa', 'aa', 'b'), std.strReplace('x', 'x', ''), std.strReplace('héllo', 'é', 'e')] }
