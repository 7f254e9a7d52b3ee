{ a: std.manifestYamlStream([{ a: 1 }, { b: 2 }], c_document_end=false), b: std.manifestYamlStream([], c_document_end=false) }
