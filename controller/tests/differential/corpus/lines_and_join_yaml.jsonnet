{ out: std.lines([std.manifestYamlDoc({ a: 1 }), '---', std.manifestYamlDoc({ b: [1] })]) }
