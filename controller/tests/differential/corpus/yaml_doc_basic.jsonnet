{ out: std.manifestYamlDoc({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', labels: { app: 'a' } }, data: { 'k.conf': 'a=1\nb=2\n' } }) }
