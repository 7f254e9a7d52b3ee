#!/usr/bin/env bash
# kube-stop.sh: stops what kube-start.sh started, and only that: the pids recorded in $JAAS_KUBE_STATE/pids, newest
# first (controller-manager, apiserver, etcd), then deletes etcd's data, the PKI, the logs and the kubeconfig.
# Keeps the built binaries. Safe to run when nothing runs. Env: JAAS_E2E_CACHE, JAAS_KUBE_STATE (default $CACHE/kube).
set -euo pipefail
SCRIPT=kube-stop
# shellcheck source-path=SCRIPTDIR source=env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

STATE=${JAAS_KUBE_STATE:-$CACHE/kube}
PIDS=$STATE/pids

if [[ -s $PIDS ]]; then
  tac "$PIDS" | while read -r pid name program; do
    stop_pid "$pid" "$program"
    log "stopped $name ($pid)"
  done
fi
if [[ -s $STATE/etcd-dir ]]; then
  rm -rf "$(cat "$STATE/etcd-dir")"
fi
rm -f "$PIDS" "$STATE/etcd-dir" "$STATE/kubeconfig"
rm -rf "$STATE/data"
