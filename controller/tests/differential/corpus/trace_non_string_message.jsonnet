{ out: std.trace(3, {}) }
