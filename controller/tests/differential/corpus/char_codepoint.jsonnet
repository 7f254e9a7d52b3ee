{ out: [std.char(65), std.char(233), std.char(128512), std.codepoint('é'), std.codepoint('😀'), std.codepoint('A'), std.length('é😀'), std.stringChars('é😀a')] }
