// A runtime error raised by the program itself.
{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'hostile' }, data: { value: error 'hostile runtime error' } }
