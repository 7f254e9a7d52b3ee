{ a: std.manifestYamlDoc('str'), b: std.manifestYamlDoc(1), c: std.manifestYamlDoc(null), d: std.manifestYamlDoc({}), e: std.manifestYamlDoc([]), f: std.manifestYamlDoc('multi\nline') }
