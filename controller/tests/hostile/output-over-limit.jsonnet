// 4 MiB of output: fast to build, more than the test's --max-evaluation-output-bytes of 1 MiB.
{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'hostile' }, data: { value: std.repeat('x', 4 * 1024 * 1024) } }
