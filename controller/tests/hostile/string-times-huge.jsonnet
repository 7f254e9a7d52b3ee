// A string repeated 1e20 times with jrsonnet's string * number: more than memory can address.
{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'hostile' }, data: { value: 'hostile' * 1e20 } }
