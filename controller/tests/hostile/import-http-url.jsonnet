// An import by URL.
{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'hostile' }, data: { value: std.toString(import 'http://127.0.0.1:1/hostile.libsonnet') } }
