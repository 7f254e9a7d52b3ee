{ out: [std.tan(1), std.acos(0.5)] }
