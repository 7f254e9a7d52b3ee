#!/usr/bin/env bash
# run-tests.sh: THE test command of the project (README and .ci/run call it): installs what the tests need, starts a
# real Kubernetes API server and a real S3 server on 127.0.0.1, then runs fmt, clippy and `cargo test --workspace`,
# and last README's first command (e2e/quickstart.sh) against the same API server.
# Works on a fresh Debian 12 machine (apt, PyPI and npm reachable); the first run builds kube-apiserver (4-7 min).
# Servers this run starts are stopped when it exits; ones that were already running are used and left running.
# Env: JAAS_E2E_CACHE (default ~/.cache/jaas-e2e), JAAS_TEST_TIMEOUT (seconds for cargo test, default 1800), and the
# overrides of e2e/kube-start.sh and e2e/s3-start.sh.
set -euo pipefail
SCRIPT=run-tests
# shellcheck source-path=SCRIPTDIR source=env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$E2E_DIR/.."

T0=$(date +%s)
SECTION_START=$T0
section() {  # a header with the time the previous section took and the total so far
  local now
  now=$(date +%s)
  printf '\n==== %s   (previous step %ss, total %ss)\n' "$1" "$((now - SECTION_START))" "$((now - T0))"
  SECTION_START=$now
}
stop_started=()
cleanup() {
  local rc=$? stop
  # A build still running when the run fails: stop it (its own process group) instead of leaving it behind.
  [[ -n ${KUBE_BUILD_PID:-} ]] && kill -TERM -- "-$KUBE_BUILD_PID" 2>/dev/null
  for stop in "${stop_started[@]}"; do bash "$stop" || true; done
  printf '\n==== run-tests: %s after %ss\n' "$([[ $rc == 0 ]] && echo PASSED || echo "FAILED (exit $rc)")" \
    "$(($(date +%s) - T0))"
}
trap cleanup EXIT
trap 'exit 130' INT TERM # so that the EXIT trap stops the servers on Ctrl-C or a CI timeout too

# A cold build needs ~5 GB under target/; say so up front rather than fail later with a puzzling error.
free_kib=$(df -Pk . | awk 'NR == 2 { print $4 }')
log "free disk where the build runs: $((free_kib / 1024)) MiB"
((free_kib >= 6 * 1024 * 1024)) || log "WARNING: less than 6 GiB free; a cold build may run out of disk"

# The kube-apiserver build (4-8 min the first time, a no-op later) needs nothing of ours: it runs in the background
# while the Rust checks and builds run, and the API server section waits for it.
section "kube-apiserver build: started in the background (log: $CACHE/kube-build.log)"
mkdir -p "$CACHE"
setsid -w bash e2e/kube-apiserver-build.sh >"$CACHE/kube-build.log" 2>&1 &
KUBE_BUILD_PID=$!

section "cargo fmt --all -- --check"
cargo fmt --all -- --check

section "dependency guard: cargo shear, cargo deny, crate boundaries (e2e/dependency-guard.sh)"
bash e2e/dependency-guard.sh

section "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

section "test tools: helm + kubectl, kubernetes-validate"
command -v python3 >/dev/null || apt_install python3
bash e2e/helm-get.sh
export JAAS_HELM=$BIN/helm JAAS_KUBECTL=$BIN/kubectl
if ! command -v kubernetes-validate >/dev/null; then
  VENV=$CACHE/python
  if [[ ! -x $VENV/bin/kubernetes-validate ]]; then
    python3 -m venv "$VENV" 2>/dev/null || { apt_install python3-venv && python3 -m venv "$VENV"; }
    log "pip install kubernetes-validate (into $VENV)"
    "$VENV/bin/python" -m pip install -q kubernetes-validate
  fi
  export PATH=$VENV/bin:$PATH
fi
kubernetes-validate --version

section "go-jsonnet for the differential test (pip install gojsonnet)"
bash e2e/differential-setup.sh

section "the published crates the carried ones are checked against (third_party/, from static.crates.io)"
# Cargo never downloads a crate that [patch.crates-io] replaces; render/tests/carried_patches.rs compares each
# vendored crate's pinned file list with the published .crate (and checks the .crate's checksum itself).
export JAAS_PUBLISHED_CRATES=$CACHE/published-crates
mkdir -p "$JAAS_PUBLISHED_CRATES"
for manifest in third_party/*/Cargo.toml; do
  name=$(basename "$(dirname "$manifest")")
  version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$manifest" | head -n 1)
  published=$JAAS_PUBLISHED_CRATES/$name-$version.crate
  if [[ ! -s $published ]]; then
    curl -sSfL --retry 3 "https://static.crates.io/crates/$name/$name-$version.crate" -o "$published.tmp"
    mv "$published.tmp" "$published"
  fi
  log "$name $version: $published"
done

section "build the test binaries (cargo test --workspace --no-run) while kube-apiserver builds"
cargo test --workspace --no-run

section "kube-apiserver build: waiting for the background build"
if ! wait "$KUBE_BUILD_PID"; then
  tail -n 40 "$CACHE/kube-build.log" >&2
  die "the kube-apiserver build failed (whole log: $CACHE/kube-build.log)"
fi
KUBE_BUILD_PID=
tail -n 3 "$CACHE/kube-build.log" >&2

# start_server NAME START STOP STATE: eval the start script's `export` lines; remember to stop it only if it was not
# already running (a developer's instance stays up).
start_server() {
  local name=$1 start=$2 stop=$3 state=$4 env_lines
  all_alive "$state/pids" || stop_started+=("$stop")
  env_lines=$(bash "$start") # assigned first: `eval "$(failing)"` would hide the failure
  eval "$env_lines"
  log "$name: $(tr '\n' ' ' <<<"$env_lines" | sed -E 's/(SECRET_ACCESS_KEY=)[^ ]*/\1***/')"
}
section "Kubernetes API server (etcd, kube-apiserver, kube-controller-manager)"
start_server kube e2e/kube-start.sh e2e/kube-stop.sh "${JAAS_KUBE_STATE:-$CACHE/kube}"
section "S3 server (Ceph radosgw)"
start_server s3 e2e/s3-start.sh e2e/s3-stop.sh "${JAAS_S3_STATE:-$CACHE/s3}"
export KUBECONFIG AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION JAAS_S3_ENDPOINT JAAS_S3_BUCKET

section "cargo test --workspace"
timeout "${JAAS_TEST_TIMEOUT:-1800}" cargo test --workspace

# README's first command must stay true: run it on the API server started above, then take it down again.
section "README command 1: e2e/quickstart.sh, then e2e/quickstart.sh stop"
if ! timeout 600 bash e2e/quickstart.sh; then
  bash e2e/quickstart.sh stop || true
  exit 1
fi
bash e2e/quickstart.sh stop
