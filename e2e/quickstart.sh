#!/usr/bin/env bash
# quickstart.sh: see JaaS work on this machine, from nothing. Builds both binaries, starts a local Kubernetes API
# server (e2e/kube-start.sh; it builds kube-apiserver the first time, 4-7 min), installs our CRDs and Flux's
# ExternalArtifact CRD, runs the artifact server and the controller as background processes on 127.0.0.1 with the
# local storage backend, applies an example snippet (and its library) from examples/, waits for it to be Ready,
# prints its ExternalArtifact, then prints and runs the curl a Flux consumer would: fetch, check sha256, list files.
#   bash e2e/quickstart.sh         start (a second run reuses what already runs, restarting a rebuilt binary)
#   bash e2e/quickstart.sh stop    delete the example, stop exactly the processes it started, and the API server if
#                                  it started it
# Progress goes to stderr as numbered steps; the results go to stdout. State, logs and artifacts live in
# ${JAAS_E2E_CACHE:-~/.cache/jaas-e2e}/quickstart. The controller watches one namespace only: the example's (or
# JAAS_QUICKSTART_NAMESPACE, default jaas-quickstart, when the file names none), so test runs sharing the API server
# in their own namespaces are left alone. Env: JAAS_QUICKSTART_EXAMPLE (a directory holding snippet.yaml and maybe
# library.yaml; default examples/mixin), JAAS_QUICKSTART_PORT (28082, artifacts), JAAS_QUICKSTART_CONTROLLER_METRICS_PORT (28083),
# JAAS_QUICKSTART_SERVER_METRICS_PORT (28084), CARGO_TARGET_DIR, and the overrides of e2e/kube-start.sh.
set -euo pipefail
SCRIPT=quickstart
# shellcheck source-path=SCRIPTDIR source=env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
ROOT=$(cd "$E2E_DIR/.." && pwd)
cd "$ROOT"

QS=$CACHE/quickstart
PIDS=$QS/pids
NS=${JAAS_QUICKSTART_NAMESPACE:-jaas-quickstart}
PORT=${JAAS_QUICKSTART_PORT:-28082}
CONTROLLER_METRICS=${JAAS_QUICKSTART_CONTROLLER_METRICS_PORT:-28083}
SERVER_METRICS=${JAAS_QUICKSTART_SERVER_METRICS_PORT:-28084}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
JAAS=$TARGET/debug/jaas
SERVER=$TARGET/debug/jaas-artifact-server
KUBECTL=$BIN/kubectl
STEPS=8
step=0
T0=$(date +%s)
step() { step=$((step + 1)); log "[$step/$STEPS] $* (at ${SECONDS}s)"; }

stop_all() {
  # First withdraw what it applied, while the controller still runs to release the snippet's finalizer (a snippet
  # left behind with a finalizer and no controller would block its deletion later on a shared API server).
  if [[ -s $QS/applied && -s ${JAAS_KUBE_STATE:-$CACHE/kube}/kubeconfig ]]; then
    while read -r ns object; do
      KUBECONFIG=${JAAS_KUBE_STATE:-$CACHE/kube}/kubeconfig "$BIN/kubectl" delete -n "$ns" --ignore-not-found \
        --timeout=30s "$object" >&2 2>/dev/null || log "could not delete $object in $ns"
    done <"$QS/applied"
  fi
  rm -f "$QS/applied"
  if [[ -s $PIDS ]]; then
    tac "$PIDS" | while read -r pid name program; do
      stop_pid "$pid" "$program"
      log "stopped $name ($pid)"
    done
  fi
  rm -f "$PIDS"
  if [[ -f $QS/started-kube ]]; then
    bash "$E2E_DIR/kube-stop.sh"
    rm -f "$QS/started-kube"
    log "stopped the API server it had started"
  else
    log "the API server was not started by quickstart: left running (bash e2e/kube-stop.sh stops it)"
  fi
}

case ${1:-start} in
  stop) stop_all; exit 0 ;;
  start) ;;
  *) die "usage: bash e2e/quickstart.sh [start|stop]" ;;
esac

mkdir -p "$QS/log" "$QS/artifacts"
exec 9>"$QS/lock"
flock -w 600 9 || die "another quickstart.sh holds $QS/lock"

# The example: the first of these holding a snippet.yaml (with, maybe, a library.yaml). Its namespace, when the file
# names one (the examples use `default`), is the one the controller watches.
EXAMPLE=${JAAS_QUICKSTART_EXAMPLE:-}
if [[ -z $EXAMPLE ]]; then
  for candidate in examples/mixin examples/app e2e/fixtures/story; do
    [[ -f $candidate/snippet.yaml ]] && { EXAMPLE=$candidate; break; }
  done
fi
[[ -n $EXAMPLE && -f $EXAMPLE/snippet.yaml ]] || die "no snippet.yaml in ${EXAMPLE:-examples/mixin}"
FILE_NS=$(awk '/^metadata:/ { m = 1; next } m && /^  namespace:/ { print $2; exit } /^[^ #]/ { m = 0 }' \
  "$EXAMPLE/snippet.yaml")
NS=${FILE_NS:-$NS}

step "Rust toolchain"
command -v cargo >/dev/null || die "cargo not found: install Rust first (https://rustup.rs: curl -sSf https://sh.rustup.rs | sh)"
command -v curl >/dev/null || apt_install curl
log "$(cargo --version)"

step "build both binaries (cargo build --workspace --bins; the first build takes several minutes)"
cargo build --workspace --bins >&2
[[ -x $JAAS && -x $SERVER ]] || die "the build did not produce $JAAS and $SERVER (CARGO_TARGET_DIR=$TARGET)"

step "kubectl (e2e/helm-get.sh)"
bash "$E2E_DIR/helm-get.sh"

step "local Kubernetes API server (e2e/kube-start.sh; builds kube-apiserver the first time: 4-7 min)"
KUBE_STATE=${JAAS_KUBE_STATE:-$CACHE/kube}
all_alive "$KUBE_STATE/pids" || touch "$QS/started-kube"
kube_env=$(bash "$E2E_DIR/kube-start.sh") # assigned first: `eval "$(failing)"` would hide the failure
eval "$kube_env"
export KUBECONFIG
k() { "$KUBECTL" "$@" 2> >(grep -v 'version difference' >&2); } # kubectl 1.31 warns about the 1.20 server

step "CRDs: ours (charts/jaas/crds) and Flux's ExternalArtifact (jaas crdgen --external-artifact)"
k apply --server-side --force-conflicts --field-manager jaas-quickstart -f charts/jaas/crds/ >&2
"$JAAS" crdgen --external-artifact | k apply --server-side --force-conflicts --field-manager jaas-quickstart -f - >&2
k wait --for condition=established --timeout=60s \
  crd/jsonnetsnippets.jaas.metio.wtf crd/jsonnetlibraries.jaas.metio.wtf \
  crd/externalartifacts.source.toolkit.fluxcd.io >&2

step "artifact server on 127.0.0.1:$PORT and controller (watching namespace $NS), local storage in $QS/artifacts"
ready() { [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$1/readyz") == 200 ]]; }
running() { all_alive "$PIDS" && ready "$SERVER_METRICS" && ready "$CONTROLLER_METRICS"; }
if running && [[ ! $JAAS -nt $PIDS && ! $SERVER -nt $PIDS && $(cat "$QS/namespace" 2>/dev/null) == "$NS" ]]; then
  log "already running (pids in $PIDS): reused"
else
  if [[ -s $PIDS ]]; then
    log "stopping what a previous run left (stale, rebuilt since, or watching another namespace)"
    tac "$PIDS" | while read -r pid name program; do stop_pid "$pid" "$program"; done
  fi
  : >"$PIDS"
  for port in "$PORT" "$CONTROLLER_METRICS" "$SERVER_METRICS"; do
    port_busy "$port" && die "127.0.0.1:$port is in use: set JAAS_QUICKSTART_PORT / _CONTROLLER_METRICS_PORT / _SERVER_METRICS_PORT"
  done
  spawn() { # spawn NAME PROGRAM ARGS...: detached (own session, no tty, not holding our lock), recorded in $PIDS.
    local name=$1 # Inherited JAAS_* variables are dropped, so only the flags below configure the process.
    shift
    (
      for var in "${!JAAS_@}"; do unset "$var"; done
      export NO_COLOR=1 # plain log files
      exec setsid "$@" </dev/null >"$QS/log/$name.log" 2>&1 9>&-
    ) &
    echo "$! $name $(basename "$1")" >>"$PIDS"
  }
  storage=(--storage-backend local --storage-path "$QS/artifacts")
  spawn jaas-artifact-server "$SERVER" --storage-listen-address 127.0.0.1 --storage-port "$PORT" \
    --metrics-bind-address "127.0.0.1:$SERVER_METRICS" --log-format text "${storage[@]}"
  on_timeout() { tail -n 20 "$QS"/log/*.log >&2; }
  wait_for 30 "the artifact server's /readyz" ready "$SERVER_METRICS"
  spawn jaas "$JAAS" run --storage-base-url "http://127.0.0.1:$PORT" --leader-election=false \
    --watch-namespaces "$NS" --metrics-bind-address "127.0.0.1:$CONTROLLER_METRICS" --log-format text "${storage[@]}"
  wait_for 60 "the controller's /readyz" ready "$CONTROLLER_METRICS"
  echo "$NS" >"$QS/namespace"
  log "started (pids in $PIDS, logs in $QS/log)"
fi

step "the example $EXAMPLE in namespace $NS"
k get namespace "$NS" >/dev/null 2>&1 || k create namespace "$NS" >&2
[[ ! -f $EXAMPLE/library.yaml ]] || k apply --server-side -n "$NS" -f "$EXAMPLE/library.yaml" >&2
k apply --server-side -n "$NS" -f "$EXAMPLE/snippet.yaml" >&2
NAME=$(k get -n "$NS" -f "$EXAMPLE/snippet.yaml" -o jsonpath='{.metadata.name}')
{
  echo "$NS jsonnetsnippet/$NAME"
  [[ ! -f $EXAMPLE/library.yaml ]] || echo "$NS $(k get -n "$NS" -f "$EXAMPLE/library.yaml" -o name)"
} >"$QS/applied" # what `stop` deletes
log "waiting (60 s at most) for jsonnetsnippet/$NAME to be Ready"
if ! k wait -n "$NS" --for=condition=Ready --timeout=60s "jsonnetsnippet/$NAME" >&2; then
  k get -n "$NS" "jsonnetsnippet/$NAME" -o yaml >&2
  tail -n 30 "$QS/log/jaas.log" >&2
  die "jsonnetsnippet/$NAME did not become Ready (status and controller log above)"
fi

step "the ExternalArtifact, and the tarball fetched as Flux fetches it"
echo "\$ kubectl get externalartifact -n $NS $NAME -o yaml"
k get externalartifact -n "$NS" "$NAME" -o yaml
URL=$(k get externalartifact -n "$NS" "$NAME" -o jsonpath='{.status.artifact.url}')
DIGEST=$(k get externalartifact -n "$NS" "$NAME" -o jsonpath='{.status.artifact.digest}')
TARBALL=$QS/$NAME.tar.gz
FETCH="curl -fsS -o $TARBALL $URL && echo '${DIGEST#sha256:}  $TARBALL' | sha256sum -c - && tar -tzvf $TARBALL"
echo
echo "\$ $FETCH"
bash -c "$FETCH"

RENDER_LIBRARY=
[[ ! -f $EXAMPLE/library.yaml ]] || RENDER_LIBRARY=" --library $EXAMPLE/library.yaml"
cat <<EOF

JaaS runs: the controller renders JsonnetSnippets in namespace $NS, the artifact server serves them on
http://127.0.0.1:$PORT (up in $(($(date +%s) - T0))s this time). Try it:
  export KUBECONFIG=$KUBECONFIG
  $KUBECTL get jsonnetsnippets,jsonnetlibraries,externalartifacts -n $NS
  $KUBECTL edit jsonnetsnippet -n $NS $NAME        # then watch .status.revision change
  $JAAS render $EXAMPLE/snippet.yaml$RENDER_LIBRARY    # the same rendering, locally
Logs: $QS/log/   Artifacts: $QS/artifacts/
Stop everything: bash e2e/quickstart.sh stop
EOF
