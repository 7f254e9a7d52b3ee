{ out: std.manifestYamlDoc({ a: { b: {} }, c: [{}], d: [[]], e: { f: [] } }, indent_array_in_object=true) }
