{ out: std.manifestJsonEx(std.parseJson('{"b": [1, 2.5, -0, 1e2, null, true], "a": {"c": "d\\u00e9"}, "e": 12345678901234567890}'), ' ') }
