// A plain Jsonnet entry file, rendered like the jsonnet CLI would evaluate it:
//   jaas render examples/plain/main.jsonnet --ext-str env=dev --tla-code shards=2
local config = import 'lib/config.libsonnet';

function(shards=1)
  local env = std.extVar('env');
  {
    apiVersion: 'v1',
    kind: 'List',
    items: [
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'shard-%d' % i, labels: { env: env } },
        data: config.settings(env) { shard: std.toString(i), motd: importstr 'lib/motd.txt' },
      }
      for i in std.range(0, shards - 1)
    ],
  }
