{ out: std.manifestJsonEx(std.parseYaml('base: &b {x: 1}\nuse: *b\nlist:\n- &i item\n- *i\n'), ' ') }
