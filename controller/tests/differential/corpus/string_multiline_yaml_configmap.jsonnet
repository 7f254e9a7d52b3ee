local script = |||
  #!/bin/bash
  set -euo pipefail
  echo "starting ${APP}"
  exec "$@"
|||;
{ out: std.manifestYamlDoc({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'scripts' }, data: { 'entry.sh': script, 'motd': 'welcome' } }, quote_keys=false) }
