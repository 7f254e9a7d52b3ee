{ out: [std.stripChars('  xx  ', ' '), std.lstripChars('aabcaa', 'a'), std.rstripChars('aabcaa', 'a'), std.stripChars('abc', ''), std.stripChars('xyzyx', 'xy')] }
