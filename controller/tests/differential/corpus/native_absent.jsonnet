{ out: std.native('nonexistent') }
