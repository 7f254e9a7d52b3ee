{ out: std.manifestYamlDoc({ port: '8080', version: '1.10', octal: '0755', exp: '1e3', neg: '-1', bool: 'True', date: '2024-01-01', hex: '0xff' }, quote_keys=false) }
