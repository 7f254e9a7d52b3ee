// An external variable the snippet does not define.
{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'hostile' }, data: { value: std.extVar('hostile_undefined') } }
