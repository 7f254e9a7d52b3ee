{ out: [std.sin(1), std.cos(1), std.asin(0.5), std.atan(1), std.pi, std.log2(8), std.log10(1000), std.hypot(3, 4), std.deg2rad(180), std.rad2deg(std.pi)] }
