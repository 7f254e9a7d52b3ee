// A million manifests.
[{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'hostile-' + i } } for i in std.range(1, 1000 * 1000)]
