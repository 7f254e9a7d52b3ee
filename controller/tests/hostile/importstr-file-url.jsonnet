// A host file by file: URL.
{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'hostile' }, data: { value: importstr 'file:///etc/passwd' } }
