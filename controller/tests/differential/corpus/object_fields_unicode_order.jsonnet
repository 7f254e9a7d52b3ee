{ out: std.objectFields({ 'é': 1, e: 2, 'z': 3, '😀': 4, 'Z': 5, 'ﬀ': 6, '\u00ff': 7, '\u0100': 8 }) }
