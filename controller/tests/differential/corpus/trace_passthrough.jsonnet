{ out: std.trace('tracing', { a: [1, 'b'] }), nested: std.trace('second', std.manifestYamlDoc({ k: 'v' })) }
