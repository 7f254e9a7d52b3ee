{ out: { [k]: { [j]: k + j for j in ['x', 'y'] } for k in ['b', 'a'] }, yaml: std.manifestYamlDoc({ ['k' + i]: i for i in std.range(1, 12) }) }
