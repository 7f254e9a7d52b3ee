{ out: std.manifestYamlDoc({ a: ['one\n', 'two\nlines\n'], b: { c: ['x\n'] } }, indent_array_in_object=true, quote_keys=false) }
