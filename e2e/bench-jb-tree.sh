#!/usr/bin/env bash
# bench-jb-tree.sh: rendering a jsonnet-bundler project at real size (issue 12). Generates the jb-shaped tree of
# render/tests/jb_tree/fixture.rs (about 1,000 files and 10 MB: lib/, vendor/ of 8 libraries with jb's legacy links,
# *List outputs) and times, in ONE run, `jaas render DIR -o out.tar.gz` (release build: lazy tree, worker process,
# evaluation, YAML shaping, tar.gz) against the jrsonnet CLI of the same jrsonnet version on the same tree
# (`jrsonnet -J vendor -J lib main.jsonnet`, evaluation to JSON only), and prints the ratio (target <= 1.5).
# Knobs: BENCH_RUNS (10), JAAS=path to a built jaas, JB_TREE=an existing generated tree.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${JAAS_E2E_CACHE:-$HOME/.cache/jaas-e2e}/bench
RUNS=${BENCH_RUNS:-10}
JRSONNET_VERSION=0.5.0-pre98 # the jrsonnet-evaluator version render/Cargo.toml pins
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

# 1. Tools and the tree (the same way bench-render.sh gets them).
if ! command -v hyperfine >/dev/null; then
  as_root apt-get update -qq
  as_root apt-get install -y -qq hyperfine >/dev/null
fi
JRSONNET=$CACHE/jrsonnet/bin/jrsonnet
if [[ ! -x $JRSONNET ]]; then
  CARGO_TARGET_DIR=$CACHE/jrsonnet-target cargo install jrsonnet --version "$JRSONNET_VERSION" --locked --root "$CACHE/jrsonnet" >&2
fi
if [[ -z ${JAAS:-} ]]; then
  (cd "$ROOT" && cargo build --release -p jaas-controller --bin jaas >&2)
  JAAS=${CARGO_TARGET_DIR:-$ROOT/target}/release/jaas
fi
TREE=${JB_TREE:-$WORK/tree}
if [[ -z ${JB_TREE:-} ]]; then
  (cd "$ROOT" && cargo run -q --release -p jaas-render --example jb_tree -- "$TREE" >&2)
fi
files=$(find "$TREE" -type f | wc -l)
bytes=$(du -sb --apparent-size "$TREE" | cut -f1)

# 2. Both must produce the same value before timing means anything (jaas flattens the *List objects only in YAML).
(cd "$TREE" && "$JRSONNET" -J vendor -J lib main.jsonnet) >"$WORK/jrsonnet.json"
"$JAAS" render "$TREE" --format json >"$WORK/jaas.json"
python3 - "$WORK/jrsonnet.json" "$WORK/jaas.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
if a != b:
    sys.exit("bench-jb-tree: jaas and jrsonnet disagree on the tree")
PY

# 3. Timings (hyperfine, same run, same machine).
mean() { python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))["results"]; print(" ".join("%.4f" % x["mean"] for x in r))' "$1"; }
hyperfine --style basic --warmup 2 --runs "$RUNS" --export-json "$WORK/times.json" \
  -n "jaas render DIR -o tar.gz" "$JAAS render $TREE -o $WORK/out.tar.gz" \
  -n "jaas render DIR --format json" "$JAAS render $TREE --format json > /dev/null" \
  -n "jrsonnet CLI $JRSONNET_VERSION -J vendor -J lib" "cd $TREE && $JRSONNET -J vendor -J lib main.jsonnet > /dev/null" >&2
read -r ours ours_json jr <<<"$(mean "$WORK/times.json")"
documents=$(tar -xzOf "$WORK/out.tar.gz" --wildcards '*.yaml' | grep -c '^kind: ' || true)

python3 - "$ours" "$ours_json" "$jr" "$files" "$bytes" "$documents" <<'PY'
import sys
ours, ours_json, jr = map(float, sys.argv[1:4])
files, size, documents = sys.argv[4], int(sys.argv[5]), sys.argv[6]
print(f"tree: {files} files, {size / 1e6:.1f} MB; {documents} documents rendered")
print(f"mean: jaas render -o tar.gz {ours*1000:.0f} ms | jaas render --format json {ours_json*1000:.0f} ms | jrsonnet CLI {jr*1000:.0f} ms")
print(f"ratio ours (tar.gz) / jrsonnet CLI: {ours/jr:.2f} (target <= 1.5)  {'PASS' if ours/jr <= 1.5 else 'FAIL'}")
print(f"ratio ours (json) / jrsonnet CLI: {ours_json/jr:.2f}")
PY
