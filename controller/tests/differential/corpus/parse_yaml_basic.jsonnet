{ out: std.manifestJsonEx(std.parseYaml('a: 1\nb: [x, y]\nc:\n  d: true\n  e: null\nf: "quoted"\ng: 1.5\n'), ' ') }
