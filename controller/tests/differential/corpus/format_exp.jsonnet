{ out: [std.format('%e|%.2e|%E|%10.1e', [12345.678, 0.000123, 1e19, 5]), std.format('%e', [0])] }
