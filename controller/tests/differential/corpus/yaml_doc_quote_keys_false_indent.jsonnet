{ out: std.manifestYamlDoc({ spec: { containers: [{ name: 'c', args: ['--a', '--b=1'], env: [{ name: 'X', value: 'y' }] }] } }, indent_array_in_object=true, quote_keys=false) }
