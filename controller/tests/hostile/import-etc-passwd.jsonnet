// A host file imported by its absolute path.
{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'hostile' }, data: { value: std.toString(import '/etc/passwd') } }
