{ out: std.manifestYamlDoc({ a: [1, { b: [2, 3] }], c: { d: ['x'] } }, indent_array_in_object=true) }
