{ out: std.manifestYamlStream(['doc\n', { a: 'b\n' }, ['c\n']], c_document_end=false) }
