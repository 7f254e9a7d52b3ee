#!/usr/bin/env bash
# bench-record.sh: the revision record (issue 17). With the release `jaas`, on local files only:
#   1. size and cost on the bench fixture (e2e/fixtures/bench, 997 objects) and on the generated jsonnet-bundler tree
#      (render/tests/jb_tree/fixture.rs, ~1,000 files): BENCH_RUNS pairs of `jaas render INPUT -o out.tar.gz`, one
#      plain, one with `--record out.record.zst`, back to back (the order alternates, so drift hits both alike); the
#      cost is the median of the pairs' differences, with its quartiles, in wall time and, where `perf stat` can
#      count it, in CPU time of the whole process tree (jaas and its worker). The record's size is set against the raw inputs it holds and
#      against gzip -6 of the same tar;
#      Then the same pairs warm, in one process (render/examples/record_cost.rs), as the controller renders;
#   2. `jaas verify` of BENCH_REVISIONS (100) stored revisions: the fixture rendered with components=1..N, each
#      tarball and record laid out in a local storage directory as the controller stores them, then
#      `jaas verify bench/stack --storage-path DIR`: every one must match.
# Knobs: BENCH_RUNS (40), BENCH_REVISIONS (100), JAAS=path to a built jaas, JB_TREE=an existing generated tree.
set -euo pipefail
SCRIPT=bench-record
# shellcheck source-path=SCRIPTDIR source=env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
ROOT=$(cd "$E2E_DIR/.." && pwd)

RUNS=${BENCH_RUNS:-40}
REVISIONS=${BENCH_REVISIONS:-100}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
need_commands zstd=zstd gzip=gzip
JAAS=$(release_jaas)
TREE=${JB_TREE:-$WORK/tree}
[[ -n ${JB_TREE:-} ]] || write_jb_tree "$TREE"

# record_costs NAME INPUT: BENCH_RUNS interleaved pairs of renders without and with --record; prints one table row.
record_costs() {
  python3 - "$1" "$2" "$JAAS" "$RUNS" "$WORK" "$CPU_COUNTER" <<'PY'
import os, statistics, subprocess, sys, tarfile, time
name, source, jaas, runs, work, counter = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6]
record = os.path.join(work, "out.record.zst")

def render(recorded):
    """One `jaas render`: (wall ms, CPU ms of the process tree or None)."""
    command = [jaas, "render", source, "-o", os.path.join(work, "out.tar.gz")] + (["--record", record] if recorded else [])
    if counter == "perf":
        command = ["perf", "stat", "-x,", "-e", "task-clock"] + command
    started = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = (time.perf_counter() - started) * 1000
    if done.returncode != 0:
        sys.exit(f"bench-record: {' '.join(command)} failed:\n{done.stderr}")
    cpu = None
    if counter == "perf":
        cpu = float(next(line for line in done.stderr.splitlines() if "task-clock" in line).split(",")[0])
    return wall, cpu

render(False), render(True)  # warm the page cache
plain, recorded = [], []
for run in range(runs):
    order = [(False, plain), (True, recorded)]
    for with_record, into in order if run % 2 == 0 else reversed(order):
        into.append(render(with_record))

def cost(index):
    """The plain render's median, and the median of the paired differences with their quartiles: per-render spread
    (some ms) is larger than the cost, and pairs taken back to back cancel most of the machine's drift."""
    before = statistics.median(sample[index] for sample in plain)
    differences = sorted(after[index] - alone[index] for alone, after in zip(plain, recorded))
    middle = statistics.median(differences)
    low, high = differences[len(differences) // 4], differences[(3 * len(differences)) // 4]
    share = 100 * middle / before
    return f"{before:.1f} | {middle:+.1f} ({low:+.1f} to {high:+.1f}) | **{share:.1f} %** ({'met' if share <= 5 else 'NOT met'})"

tar_path, gz_path = os.path.join(work, "record.tar"), os.path.join(work, "record.tar.gz")
subprocess.run(["zstd", "-q", "-f", "-d", record, "-o", tar_path], check=True)
with open(gz_path, "wb") as out:
    subprocess.run(["gzip", "-6", "-c", tar_path], stdout=out, check=True)
with tarfile.open(tar_path) as tar:
    inputs = [member for member in tar.getmembers() if member.name.startswith("files/")]
raw = sum(member.size for member in inputs)
size, tar_size, gz_size = (os.path.getsize(path) for path in (record, tar_path, gz_path))
cpu = cost(1) if counter == "perf" else "n/a | n/a | n/a"
print(f"| {name} | {len(inputs)} | {raw:,} | {tar_size:,} | {gz_size:,} ({gz_size / raw:.1%}) | **{size:,}** ({size / raw:.1%}) "
      f"| {cost(0)} | {cpu} |")
PY
}

# The CPU time of a render's whole process tree, where this machine's perf can count it.
CPU_COUNTER=none
if command -v perf >/dev/null && perf stat -x, -e task-clock true >/dev/null 2>&1; then
  CPU_COUNTER=perf
fi

log "record size and cost, medians of $RUNS renders with and without it each (release build: $JAAS; CPU: $CPU_COUNTER)"
echo "| input | files read | raw inputs (bytes) | record tar | gzip -6 of it (of raw) | record (of raw) | wall, plain (ms) | record's wall cost, ms (quartiles) | share (target <= 5 %) | CPU, plain (ms) | record's CPU cost, ms (quartiles) | share |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
record_costs "bench fixture (997 objects)" "$ROOT/e2e/fixtures/bench/main.jsonnet"
record_costs "jb tree ($(find "$TREE" -type f | wc -l) files)" "$TREE"

log "the same, warm: one plain and one recording Renderer in one process, as the controller renders ($RUNS pairs)"
echo "| input | pairs | record (bytes) | render, plain (ms) | record's cost, ms (quartiles) | share (target <= 5 %) |"
echo "|---|---|---|---|---|---|"
for input in "$ROOT/e2e/fixtures/bench/main.jsonnet" "$TREE"; do
  (cd "$ROOT" && cargo run -q --release -p jaas-render --example record_cost -- "$JAAS" "$input" "$RUNS") \
    || die "the warm record cost of $input could not be measured"
done

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
