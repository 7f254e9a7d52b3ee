#!/usr/bin/env bash
# bench-record.sh: the revision record (issue 17). With the release `jaas`, on 127.0.0.1-free local files only:
#   1. size and cost on the bench fixture (e2e/fixtures/bench, 997 objects) and on the generated jsonnet-bundler tree
#      (render/tests/jb_tree/fixture.rs, ~1,000 files): BENCH_RUNS renders with `jaas render INPUT -o out.tar.gz
#      --record out.record.zst`, which says on stderr how long building and compressing the record took next to the
#      render itself; prints the medians and their ratio (target <= 5 %), and the record's size against the raw
#      inputs it holds and against gzip -6 of the same tar;
#   2. `jaas verify` of BENCH_REVISIONS (100) stored revisions: the fixture rendered with components=1..N, each
#      tarball and record laid out in a local storage directory as the controller stores them, then
#      `jaas verify bench/stack --storage-path DIR`: every one must match.
# Knobs: BENCH_RUNS (10), BENCH_REVISIONS (100), JAAS=path to a built jaas, JB_TREE=an existing generated tree.
set -euo pipefail
SCRIPT=bench-record
# shellcheck source-path=SCRIPTDIR source=env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
ROOT=$(cd "$E2E_DIR/.." && pwd)

RUNS=${BENCH_RUNS:-10}
REVISIONS=${BENCH_REVISIONS:-100}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
need_commands zstd=zstd gzip=gzip
JAAS=$(release_jaas)
TREE=${JB_TREE:-$WORK/tree}
[[ -n ${JB_TREE:-} ]] || write_jb_tree "$TREE"

# record_costs NAME INPUT: BENCH_RUNS renders with --record; prints one table row.
record_costs() {
  local name=$1 input=$2 run
  : >"$WORK/lines"
  for ((run = 0; run < RUNS; run++)); do
    "$JAAS" render "$input" -o "$WORK/out.tar.gz" --record "$WORK/out.record.zst" 2>>"$WORK/lines" >/dev/null
  done
  zstd -q -d -c "$WORK/out.record.zst" >"$WORK/record.tar"
  gzip -6 -c "$WORK/record.tar" >"$WORK/record.tar.gz"
  python3 - "$name" "$WORK/lines" "$WORK/out.record.zst" "$WORK/record.tar" "$WORK/record.tar.gz" <<'PY'
import os, re, statistics, sys
name, lines, record, tar_path, gz = sys.argv[1:6]
pattern = re.compile(r"\((\d+) bytes: (\d+) files read, (\d+) bytes; recorded in ([\d.]+) ms, the render took ([\d.]+) ms\)")
found = [pattern.search(line) for line in open(lines)]
found = [m for m in found if m]
if not found:
    sys.exit("bench-record: jaas render --record printed no record line")
recorded = statistics.median(float(m.group(4)) for m in found)
rendered = statistics.median(float(m.group(5)) for m in found)
files, raw = int(found[-1].group(2)), int(found[-1].group(3))
size, tar_size, gz_size = (os.path.getsize(p) for p in (record, tar_path, gz))
share = 100 * recorded / rendered
print(f"| {name} | {files} | {raw:,} | {tar_size:,} | {gz_size:,} ({gz_size / raw:.1%}) | **{size:,}** ({size / raw:.1%}) "
      f"| {rendered:.1f} | {recorded:.1f} | **{share:.1f} %** ({'met' if share <= 5 else 'NOT met'}) |")
PY
}

log "record size and cost, median of $RUNS renders each (release build: $JAAS)"
echo "| input | files read | raw inputs (bytes) | record tar | gzip -6 of it (of raw) | record, zstd -1 (of raw) | render (ms) | record (ms) | record / render (target <= 5 %) |"
echo "|---|---|---|---|---|---|---|---|---|"
record_costs "bench fixture (997 objects)" "$ROOT/e2e/fixtures/bench/main.jsonnet"
record_costs "jb tree ($(find "$TREE" -type f | wc -l) files)" "$TREE"

log "jaas verify of $REVISIONS stored revisions (components=1..$REVISIONS)"
STORE=$WORK/store
mkdir -p "$STORE/bench/stack"
for ((n = 1; n <= REVISIONS; n++)); do
  "$JAAS" render "$ROOT/e2e/fixtures/bench/main.jsonnet" --tla-code "components=$n" -o "$WORK/r.tar.gz" \
    --record "$WORK/r.record.zst" 2>/dev/null
  hex=$(sha256sum "$WORK/r.tar.gz" | cut -d' ' -f1)
  mv "$WORK/r.tar.gz" "$STORE/bench/stack/sha256-$hex.tar.gz"
  mv "$WORK/r.record.zst" "$STORE/bench/stack/sha256-$hex.record.zst"
done
started=$(date +%s.%N)
"$JAAS" verify bench/stack --storage-path "$STORE" --jobs "$(nproc)" >"$WORK/verify.out" || {
  cat "$WORK/verify.out" >&2
  die "jaas verify found a revision that does not match"
}
ended=$(date +%s.%N)
summary=$(tail -n1 "$WORK/verify.out")
python3 -c 'import sys; print(f"verify: {sys.argv[1]} of {sys.argv[2]} stored revisions in {float(sys.argv[4]) - float(sys.argv[3]):.1f} s")' \
  "$summary" "$REVISIONS" "$started" "$ended"
grep -q "^$REVISIONS verified, 0 mismatched, 0 not verifiable$" "$WORK/verify.out" \
  || die "expected all $REVISIONS revisions verified: $summary"
