#!/usr/bin/env bash
# bench-render.sh: the rendering benchmark (issue 4 item 7). Renders e2e/fixtures/bench/main.jsonnet (997 objects,
# kube-prometheus-sized) in ONE run with: `jaas render -o out.tar.gz` (release build: worker process, evaluation,
# YAML shaping, reproducible tar.gz), `jaas eval` (evaluation to go-jsonnet's JSON text, in process), the jrsonnet
# CLI of the same jrsonnet version (evaluation to JSON only), go-jsonnet (its Python binding) and C++ jsonnet
# (Debian's `jsonnet`), and prints mean times and the ratios ours / jrsonnet (render and eval), go-jsonnet / ours,
# C++ / ours. Then our peak RSS (/usr/bin/time -v) and the in-thread memory soak (10,000 evaluations,
# render/tests/soak.rs).
#
# C++ jsonnet 0.18 needs minutes for the full fixture, so it is compared with ours at components=$CPP_COMPONENTS.
# Knobs: BENCH_RUNS (10), CPP_COMPONENTS (1), SOAK_RUNS (10000), SOAK_COMPONENTS (4), SOAK_PROFILE (--release;
# empty for a debug build), SKIP_SOAK=1, JAAS=path to a built jaas.
set -euo pipefail
SCRIPT=bench-render
# shellcheck source-path=SCRIPTDIR source=env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

ROOT=$(cd "$E2E_DIR/.." && pwd)
FIXTURE=$ROOT/e2e/fixtures/bench/main.jsonnet
RUNS=${BENCH_RUNS:-10}
CPP_COMPONENTS=${CPP_COMPONENTS:-1}
SOAK_RUNS=${SOAK_RUNS:-10000}
SOAK_COMPONENTS=${SOAK_COMPONENTS:-4}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# 1. Tools (env.sh: the same jrsonnet and release build as bench-jb-tree.sh).
need_commands hyperfine=hyperfine jsonnet=jsonnet /usr/bin/time=time
python3 -c 'import _gojsonnet' 2>/dev/null || pip install -q gojsonnet
JRSONNET=$(jrsonnet_cli)
JAAS=$(release_jaas)
GO_EVAL="python3 -c 'import _gojsonnet, sys; _gojsonnet.evaluate_file(sys.argv[1], tla_codes=dict(a.split(\"=\", 1) for a in sys.argv[2:]))'"
JAAS_RENDER="$JAAS render --evaluation-timeout 300s"

# 2. Every implementation must produce the same objects before timing means anything.
count() { python3 -c 'import json, sys; v = json.load(sys.stdin); print(len(v))'; }
ours_objects=$($JAAS_RENDER "$FIXTURE" --format json | count)
jr_objects=$("$JRSONNET" "$FIXTURE" | count)
go_objects=$(python3 -c 'import _gojsonnet, sys; print(_gojsonnet.evaluate_file(sys.argv[1]))' "$FIXTURE" | count)
echo "objects: jaas $ours_objects, jrsonnet $jr_objects, go-jsonnet $go_objects"
[[ $ours_objects == "$jr_objects" && $ours_objects == "$go_objects" ]] || die "implementations disagree"

# 3. Timings (hyperfine, same run, same machine).
hyperfine --style basic --warmup 2 --runs "$RUNS" --export-json "$WORK/full.json" \
  -n "jaas render -o tar.gz" "$JAAS_RENDER $FIXTURE -o $WORK/out.tar.gz" \
  -n "jaas eval" "$JAAS eval $FIXTURE > /dev/null" \
  -n "jrsonnet CLI $JRSONNET_VERSION" "$JRSONNET $FIXTURE > /dev/null" \
  -n "go-jsonnet (python)" "$GO_EVAL $FIXTURE" \
  -n "python + import _gojsonnet only" "python3 -c 'import _gojsonnet'" >&2
read -r ours eval jr go py <<<"$(hyperfine_means "$WORK/full.json")"
hyperfine --style basic --warmup 1 --runs 3 --export-json "$WORK/small.json" \
  -n "jaas render -o tar.gz (components=$CPP_COMPONENTS)" "$JAAS_RENDER $FIXTURE --tla-code components=$CPP_COMPONENTS -o $WORK/small.tar.gz" \
  -n "C++ jsonnet $(jsonnet --version | awk '{print $NF}') (components=$CPP_COMPONENTS)" "jsonnet --tla-code components=$CPP_COMPONENTS $FIXTURE > /dev/null" >&2
read -r ours_small cpp_small <<<"$(hyperfine_means "$WORK/small.json")"

# 4. Peak RSS of one full render (the CLI process and, separately, what the kernel reports for its children).
# peak_rss_kib COMMAND...: the "Maximum resident set size" /usr/bin/time -v reports for COMMAND, in KiB.
peak_rss_kib() {
  /usr/bin/time -v "$@" 2>"$WORK/time.txt" >/dev/null
  awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$WORK/time.txt"
}
# shellcheck disable=SC2086 # JAAS_RENDER is a command line
rss_kib=$(peak_rss_kib $JAAS_RENDER "$FIXTURE" -o "$WORK/out.tar.gz")
jr_rss_kib=$(peak_rss_kib "$JRSONNET" "$FIXTURE")

python3 - "$ours" "$eval" "$jr" "$go" "$py" "$ours_small" "$cpp_small" "$rss_kib" "$jr_rss_kib" "$ours_objects" "$CPP_COMPONENTS" <<'PY'
import sys
ours, ev, jr, go, py, ours_small, cpp_small = map(float, sys.argv[1:8])
rss, jr_rss, objects, cpp_components = int(sys.argv[8]), int(sys.argv[9]), sys.argv[10], sys.argv[11]
print(f"fixture: {objects} objects")
print(f"mean: jaas render -o tar.gz {ours*1000:.0f} ms | jaas eval {ev*1000:.0f} ms | jrsonnet CLI {jr*1000:.0f} ms | go-jsonnet {go*1000:.0f} ms (python start+import {py*1000:.0f} ms)")
print(f"ratio ours / jrsonnet CLI: {ours/jr:.2f} (target <= 1.5)  {'PASS' if ours/jr <= 1.5 else 'FAIL'}")
print(f"ratio jaas eval / jrsonnet CLI: {ev/jr:.2f} (target <= 1.1)  {'PASS' if ev/jr <= 1.1 else 'FAIL'}")
print(f"ratio go-jsonnet / ours: {go/ours:.2f} (without python start: {(go-py)/ours:.2f})")
print(f"ratio C++ / ours at components={cpp_components}: {cpp_small/ours_small:.1f} ({cpp_small*1000:.0f} ms vs {ours_small*1000:.0f} ms)")
print(f"peak RSS: jaas render {rss/1024:.1f} MiB (largest of the CLI and its eval-worker), jrsonnet CLI {jr_rss/1024:.1f} MiB")
PY

# 5. Memory soak: many evaluations in one long-lived thread through the worker's evaluation function.
if [[ -z ${SKIP_SOAK:-} ]]; then
  # shellcheck disable=SC2086 # an empty SOAK_PROFILE (a debug build) must vanish, not become ""
  (cd "$ROOT" && JAAS_SOAK_RUNS=$SOAK_RUNS JAAS_SOAK_COMPONENTS=$SOAK_COMPONENTS \
    cargo test ${SOAK_PROFILE---release} -p jaas-render --test soak -- --ignored --nocapture 2>&1 | grep -E '^soak:|test result')
fi
