{ out: [std.format('%d|%5d|%-5d|%05d|%+d|% d', [42, 42, 42, 42, 42, 42]), std.format('%d', [-3.7]), std.format('%i', [7]), std.format('%d', [1e15])] }
