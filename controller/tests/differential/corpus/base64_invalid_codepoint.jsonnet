{ out: std.base64('😀') }
