{ out: std.manifestYamlStream([{}, [], { kind: 'Service', spec: { ports: [{ port: 80, targetPort: 'http' }] } }]) }
