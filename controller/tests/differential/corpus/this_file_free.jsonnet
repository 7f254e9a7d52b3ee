{ out: std.endsWith(std.thisFile, '.jsonnet') }
