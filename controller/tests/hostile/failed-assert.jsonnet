// An object assertion that fails.
{ assert std.length('ab') == 3 : 'hostile assertion', apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'hostile' } }
