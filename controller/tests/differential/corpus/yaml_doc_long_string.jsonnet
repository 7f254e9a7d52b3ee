{ out: std.manifestYamlDoc({ long: std.join(' ', std.repeat(['word'], 50)), url: 'https://example.com/path?query=1&b=2#frag' }) }
