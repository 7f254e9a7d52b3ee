#!/usr/bin/env bash
# bench-jb-tree.sh: rendering a jsonnet-bundler project at real size (issue 12). Generates the jb-shaped tree of
# render/tests/jb_tree/fixture.rs (about 1,000 files and 10 MB: lib/, vendor/ of 8 libraries with jb's legacy links,
# *List outputs) and times, in ONE run, `jaas render DIR -o out.tar.gz` (release build: lazy tree, worker process,
# evaluation, YAML shaping, tar.gz) against the jrsonnet CLI of the same jrsonnet version on the same tree
# (`jrsonnet -J vendor -J lib main.jsonnet`, evaluation to JSON only), and prints the ratio (target <= 1.5).
# Knobs: BENCH_RUNS (10), JAAS=path to a built jaas, JB_TREE=an existing generated tree.
set -euo pipefail
SCRIPT=bench-jb-tree
# shellcheck source-path=SCRIPTDIR source=env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

RUNS=${BENCH_RUNS:-10}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# 1. Tools and the tree (env.sh: the same jrsonnet and release build as bench-render.sh).
need_commands hyperfine=hyperfine
JRSONNET=$(jrsonnet_cli)
JAAS=$(release_jaas)
TREE=${JB_TREE:-$WORK/tree}
[[ -n ${JB_TREE:-} ]] || write_jb_tree "$TREE"
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
hyperfine --style basic --warmup 2 --runs "$RUNS" --export-json "$WORK/times.json" \
  -n "jaas render DIR -o tar.gz" "$JAAS render $TREE -o $WORK/out.tar.gz" \
  -n "jaas render DIR --format json" "$JAAS render $TREE --format json > /dev/null" \
  -n "jrsonnet CLI $JRSONNET_VERSION -J vendor -J lib" "cd $TREE && $JRSONNET -J vendor -J lib main.jsonnet > /dev/null" >&2
read -r ours ours_json jr <<<"$(hyperfine_means "$WORK/times.json")"
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
