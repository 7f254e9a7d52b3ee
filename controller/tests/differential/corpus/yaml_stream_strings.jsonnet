{ out: std.manifestYamlStream(['a', 'multi\nline', '', 1.5, [], {}]) }
