local deployment(name, replicas) = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: name, labels: { 'app.kubernetes.io/name': name }, annotations: { 'checksum/config': std.md5(name) } },
  spec: {
    replicas: replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: name, image: 'nginx:1.25', ports: [{ containerPort: 80 }], resources: { limits: { cpu: '500m', memory: '128Mi' } }, command: ['sh', '-c', 'echo "hi: $(date)"'] }] },
    },
  },
};
{ out: std.manifestYamlStream([deployment('web', 3), deployment('api', 1)]) }
