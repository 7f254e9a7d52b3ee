{ out: std.manifestYamlStream([]) }
