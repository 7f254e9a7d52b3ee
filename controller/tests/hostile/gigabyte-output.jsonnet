// A 1 GiB string in the output.
{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'hostile' }, data: { value: std.repeat('x', 1024 * 1024 * 1024) } }
