{ out: [std.manifestJsonEx(x, '  ') for x in ['s', 1, 1.5, null, true, [], {}]] }
