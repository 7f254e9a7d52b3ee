// The controller's own environment (credentials!) through an absolute path.
{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'hostile' }, data: { value: std.toString(importbin '/proc/self/environ') } }
