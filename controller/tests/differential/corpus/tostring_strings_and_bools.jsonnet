{ out: [std.toString(true) + std.toString(null) + std.toString('x'), std.toString(['a\nb', 'é', '\u0001']), std.toString({ 'k"': '\u007f' })] }
