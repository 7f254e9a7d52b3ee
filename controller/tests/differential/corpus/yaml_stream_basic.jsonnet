{ out: std.manifestYamlStream([{ a: 1 }, { b: [1, 2] }, 'str', 3, null]) }
