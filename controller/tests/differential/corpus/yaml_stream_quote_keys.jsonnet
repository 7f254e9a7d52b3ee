{ out: std.manifestYamlStream([{ a: 1, 'b c': { d: 'e' } }], quote_keys=false) }
