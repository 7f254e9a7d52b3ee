{ out: std.manifestYamlStream([{ a: [1, 2], b: { c: ['d'] } }], indent_array_in_object=true) }
