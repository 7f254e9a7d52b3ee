local config = { server: { port: 8080, host: '0.0.0.0' }, features: ['a', 'b'], ratio: 0.25 };
{
  out: std.manifestYamlDoc({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    data: { 'config.yaml': std.manifestYamlDoc(config), 'config.json': std.manifestJsonEx(config, '  '), 'app.ini': std.manifestIni({ sections: { server: config.server } }) },
  }),
}
