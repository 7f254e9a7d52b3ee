#!/usr/bin/env bash
# e2e/bench-load.sh: the artifact server under sustained load (issue 15 part 6), on 127.0.0.1 only.
#
# Puts BENCH_ARTIFACTS (200) artifacts of the sizes a cluster holds (mostly small: 70 % 4-64 KiB, 25 % 64-512 KiB,
# 5 % 1 MiB) into the S3 bucket under a fresh prefix, then, for each cache mode (on: the default 64 MiB; off:
# --cache-max-bytes 0, every request streamed from S3), starts one release jaas-artifact-server and drives it with
# wrk for BENCH_DURATION (60 s) at the highest rate it takes: BENCH_CONNECTIONS (32) connections, each request a
# random artifact (uniform, or skewed to a hot set with BENCH_SKEW=1) and 2 % of them a path that does not exist
# (404 is their right answer). Meanwhile the server's RSS is sampled every second. Prints, per mode: requests,
# req/s, responses other than 200 and the expected 404s (must be 0), socket errors (must be 0), p50/p99 latency, RSS
# at 5 s, at the end and at most, and its slope after the first 10 s of warm-up ("flat": under 5 MiB/min), with the
# load average.
# Ends with `SUMMARY part=load requests=.. errors=..` (for e2e/reliability.sh) and fails on any error or a slope that
# is not flat.
#
# Env: BENCH_DURATION (60), BENCH_ARTIFACTS (200), BENCH_CONNECTIONS (32), BENCH_THREADS (2), BENCH_SKEW (0),
# BENCH_SKIP_BUILD=1 (use the existing release binary), CARGO_TARGET_DIR, JAAS_S3_ENDPOINT/JAAS_S3_BUCKET/AWS_*
# (e2e/s3-start.sh is run when they are missing).
set -euo pipefail
SCRIPT=bench-load
# shellcheck source-path=SCRIPTDIR source=env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

ROOT=$(cd "$E2E_DIR/.." && pwd)
DURATION=${BENCH_DURATION:-60}
ARTIFACTS=${BENCH_ARTIFACTS:-200}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
THREADS=${BENCH_THREADS:-2}
SKEW=${BENCH_SKEW:-0}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
SERVER_BIN=$TARGET_DIR/release/jaas-artifact-server
# A slope under this (MiB per minute, after the first 10 s of a run) counts as flat.
FLAT_MIB_PER_MIN=5

command -v wrk >/dev/null || apt_install wrk
command -v curl >/dev/null || apt_install curl
((DURATION >= 30)) || die "BENCH_DURATION must be at least 30 (s): the RSS slope is read after the first 10 s"

WORK=$(mktemp -d /tmp/jaas-bench-load.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ -s $WORK/uploaded ]]; then # the artifacts this run put into the shared bucket
    while read -r path; do s3 -X DELETE "$path" >/dev/null || true; done <"$WORK/uploaded"
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

if [[ ${BENCH_SKIP_BUILD:-0} == 1 && -x $SERVER_BIN ]]; then
  log "using the existing $SERVER_BIN"
else
  log "building the release binary (CARGO_TARGET_DIR=$TARGET_DIR)"
  (cd "$ROOT" && CARGO_TARGET_DIR=$TARGET_DIR cargo build --release -q -p jaas-artifact-server --bin jaas-artifact-server)
fi

if [[ -z ${JAAS_S3_ENDPOINT:-} ]]; then
  s3_env=$(bash "$ROOT/e2e/s3-start.sh")
  eval "$s3_env"
fi
# s3 [CURL ARGS...] PATH: one signed request to the bucket.
s3() {
  local path=${*: -1}
  curl -sf --aws-sigv4 "aws:amz:${AWS_REGION:-us-east-1}:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "${@:1:$#-1}" "$JAAS_S3_ENDPOINT/$JAAS_S3_BUCKET/$path"
}

# The artifacts, laid out as the controller writes them: <prefix><namespace>/<name>/sha256-<hex>.tar.gz.
PREFIX="bench-load/$(date +%s)-$$/"
log "putting $ARTIFACTS artifacts into s3://$JAAS_S3_BUCKET/$PREFIX"
for ((i = 0; i < ARTIFACTS; i++)); do
  pick=$((RANDOM % 100))
  if ((pick < 70)); then size=$((4096 + RANDOM % 61440)); elif ((pick < 95)); then
    size=$((65536 + RANDOM * 14 % 458752))
  else size=1048576; fi
  head -c "$size" /dev/urandom >"$WORK/blob"
  hex=$(sha256sum "$WORK/blob" | cut -d' ' -f1)
  path="load/app-$i/sha256-$hex.tar.gz"
  s3 -X PUT --data-binary "@$WORK/blob" "$PREFIX$path" >/dev/null || die "upload of $path failed"
  echo "$PREFIX$path" >>"$WORK/uploaded"
  echo "/$path $size" >>"$WORK/artifacts"
done
total_bytes=$(awk '{ s += $2 } END { print s }' "$WORK/artifacts")
log "$ARTIFACTS artifacts, $((total_bytes / 1024)) KiB in all"

# wrk's script: a random artifact per request (skewed: 80 % of requests to the first 10 %), 2 % missing paths;
# each thread counts the answers other than 200 and 404 (every artifact was checked to be there before the load,
# so a 404 is a missing path's), and done() adds them up.
{
  echo "paths = {"
  awk '{ printf "  \"%s\",\n", $1 }' "$WORK/artifacts"
  echo "}"
  cat <<LUA
local skew = $SKEW
local threads = {}
setup = function(thread) table.insert(threads, thread) end
init = function(args)
  math.randomseed(os.time() + math.random(1000000))
  unexpected = 0 -- per thread; done() sums them
end
request = function()
  if math.random(100) <= 2 then
    return wrk.format("GET", "/load/missing-" .. math.random(1000000) .. "/sha256-" .. string.rep("0", 64) .. ".tar.gz")
  end
  local n = #paths
  local i = math.random(n)
  if skew == 1 and math.random(100) <= 80 then i = math.random(math.max(1, math.floor(n / 10))) end
  return wrk.format("GET", paths[i])
end
response = function(status, headers, body)
  if status ~= 200 and status ~= 404 then unexpected = unexpected + 1 end
end
done = function(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("unexpected") end
  io.write(string.format("RESULT requests=%d errors_connect=%d errors_read=%d errors_write=%d errors_timeout=%d " ..
    "unexpected_status=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n", summary.requests, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout, total,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
LUA
} >"$WORK/load.lua"

# rss_kib PID: the process's resident set now.
rss_kib() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status"; }

# run_mode NAME ARGS...: one server with ARGS, loaded for DURATION s; appends its row to $WORK/rows.
run_mode() {
  local name=$1 port metrics pid sampler_pid load_before load_after
  shift
  port=$(free_port)
  metrics=$(free_port)
  JAAS_S3_ACCESS_KEY=$AWS_ACCESS_KEY_ID JAAS_S3_SECRET_KEY=$AWS_SECRET_ACCESS_KEY "$SERVER_BIN" \
    --storage-listen-address 127.0.0.1 --storage-port "$port" --metrics-bind-address "127.0.0.1:$metrics" \
    --log-format json --storage-backend s3 --s3-endpoint "$JAAS_S3_ENDPOINT" --s3-bucket "$JAAS_S3_BUCKET" \
    --s3-prefix "$PREFIX" --s3-region "${AWS_REGION:-us-east-1}" "$@" 2>"$WORK/$name.log" &
  pid=$!
  PIDS+=("$pid")
  wait_for 20 "the $name server's /readyz" curl -sf "http://127.0.0.1:$metrics/readyz"
  # Every artifact must be served whole before the load (this also fills the cache when it is on).
  while read -r path size; do
    got=$(curl -sf "http://127.0.0.1:$port$path" | sha256sum | cut -d' ' -f1)
    [[ "sha256-$got.tar.gz" == "${path##*/}" ]] || die "$name: $path served wrong bytes"
  done <"$WORK/artifacts"
  : >"$WORK/$name.rss"
  (for ((s = 0; s < DURATION; s++)); do
    echo "$s $(rss_kib "$pid")" >>"$WORK/$name.rss"
    sleep 1
  done) &
  sampler_pid=$!
  load_before=$(cut -d' ' -f1 /proc/loadavg)
  log "$name: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s -s "$WORK/load.lua" "http://127.0.0.1:$port" \
    >"$WORK/$name.wrk" 2>&1 || die "$name: wrk failed: $(cat "$WORK/$name.wrk")"
  wait "$sampler_pid" || true
  load_after=$(cut -d' ' -f1 /proc/loadavg)
  kill -0 "$pid" 2>/dev/null || die "$name: the server died under load (log: $(tail -5 "$WORK/$name.log"))"
  curl -sf "http://127.0.0.1:$metrics/metrics" >"$WORK/$name.metrics" || die "$name: no /metrics after the load"
  local result
  result=$(grep '^RESULT ' "$WORK/$name.wrk") || die "$name: wrk printed no result: $(cat "$WORK/$name.wrk")"
  echo "$name $DURATION $load_before $load_after ${result#RESULT }" >>"$WORK/rows"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
}

run_mode "cache-on"
run_mode "cache-off" --cache-max-bytes 0

python3 - "$WORK" "$FLAT_MIB_PER_MIN" <<'EOF'
import os, re, sys

work, flat = sys.argv[1], float(sys.argv[2])
failed, total_requests, total_errors = [], 0, 0
print("| mode | requests | req/s | errors (socket + unexpected status) | p50 / p99 / max | RSS at 5 s / end / max | "
      "RSS slope after 10 s | 5xx by the server's /metrics | load before / after |")
print("|---|---|---|---|---|---|---|---|---|")
for line in open(os.path.join(work, "rows")):
    name, duration, load_before, load_after, rest = line.split(maxsplit=4)
    r = {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", rest)}
    errors = int(r["errors_connect"] + r["errors_read"] + r["errors_write"] + r["errors_timeout"] + r["unexpected_status"])
    rss = [tuple(map(float, l.split())) for l in open(os.path.join(work, f"{name}.rss")) if len(l.split()) == 2]
    at = lambda s: next((kib for t, kib in rss if t >= s), rss[-1][1]) / 1024
    tail = [(t, kib / 1024) for t, kib in rss if t >= 10]  # after the warm-up: caches and pools filled
    n = len(tail)
    mean_t, mean_m = sum(t for t, _ in tail) / n, sum(m for _, m in tail) / n
    slope = 60 * sum((t - mean_t) * (m - mean_m) for t, m in tail) / max(1e-9, sum((t - mean_t) ** 2 for t, _ in tail))
    metrics = open(os.path.join(work, f"{name}.metrics")).read()
    server_5xx = sum(float(v) for v in re.findall(r'jaas_server_requests_total\{[^}]*status="5\d\d"[^}]*\} ([\d.e+]+)', metrics))
    print(f"| {name} | {int(r['requests'])} | {r['requests'] / float(duration):,.0f} | {errors} | "
          f"{r['p50_ms']:.1f} / {r['p99_ms']:.1f} / {r['max_ms']:.1f} ms | {at(5):.1f} / {rss[-1][1] / 1024:.1f} / "
          f"{max(k for _, k in rss) / 1024:.1f} MiB | {slope:+.2f} MiB/min ({'flat' if abs(slope) < flat else 'NOT flat'}) | "
          f"{server_5xx:.0f} | {load_before} / {load_after} |")
    total_requests += int(r["requests"])
    total_errors += errors + int(server_5xx)
    if errors or server_5xx:
        failed.append(f"{name}: {errors} errors, {server_5xx:.0f} 5xx")
    if abs(slope) >= flat:
        failed.append(f"{name}: RSS slope {slope:+.2f} MiB/min")
print(f"SUMMARY part=load requests={total_requests} errors={total_errors}")
if failed:
    sys.exit("bench-load: " + "; ".join(failed))
EOF
