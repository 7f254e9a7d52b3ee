{ out: std.manifestXmlJsonml(['root', { b: 1.5, a: true }, ['child'], ['empty', {}], 'tail']) }
