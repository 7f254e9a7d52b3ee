{ out: [std.trim('  a b  '), std.trim('\t\n x \r\n'), std.trim(''), std.trim('\u00a0x\u00a0')] }
