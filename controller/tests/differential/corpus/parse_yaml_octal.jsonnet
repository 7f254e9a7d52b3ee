{ out: std.parseYaml('mode: 010\nmask: 0755\n') }
