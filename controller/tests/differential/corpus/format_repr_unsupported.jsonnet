{ out: std.format('%r', ['str']) }
