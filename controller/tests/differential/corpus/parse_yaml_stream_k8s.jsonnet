{ out: std.parseYaml('---\nkind: A\n---\nkind: B\nlist: [1, 2]\n') }
