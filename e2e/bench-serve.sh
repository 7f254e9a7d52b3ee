#!/usr/bin/env bash
# e2e/bench-serve.sh: `jaas serve` (the render API) in one run with its baselines, on 127.0.0.1 only.
#
# Builds the release binaries (jaas, jaas-artifact-server; BENCH_SKIP_BUILD=1 reuses them) and measures:
#   1. cache hits: the same request for a small snippet over and over, with wrk, against the artifact server serving
#      a 4 KiB artifact with the same wrk settings; prints both req/s and the ratio (target >= 1.0x).
#   2. cache misses: a ConfigMap from 3 top-level arguments, every request with new arguments (a wrk script counts
#      up), one connection so the latencies are the server's: p50/p99 (target p50 <= 5 ms), and the rate against
#      spawning the jrsonnet CLI once per request on the same program (target >= 10x); then both two at a time
#      (2 connections; 2 CLI processes in parallel), the machine's cores.
# A 2-core VM is noisy: read the ratios, not the absolute numbers; wrk and the servers share the two cores.
#
# Env: BENCH_SERVE_ARGS (extra flags of `jaas serve`), BENCH_DURATION (5s), BENCH_CONNECTIONS (32), BENCH_THREADS (2), BENCH_SPAWNS (200), CARGO_TARGET_DIR,
# BENCH_SKIP_BUILD=1.
set -euo pipefail
SCRIPT=bench-serve
# shellcheck source-path=SCRIPTDIR source=env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

ROOT=$(cd "$E2E_DIR/.." && pwd)
DURATION=${BENCH_DURATION:-5s}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
THREADS=${BENCH_THREADS:-2}
SPAWNS=${BENCH_SPAWNS:-200}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
JAAS=$TARGET_DIR/release/jaas
SERVER=$TARGET_DIR/release/jaas-artifact-server

need() { command -v "$1" >/dev/null || apt_install "$2"; }
need wrk wrk
need curl curl

WORK=$(mktemp -d /tmp/jaas-bench-serve.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

if [[ ${BENCH_SKIP_BUILD:-0} == 1 && -x $JAAS && -x $SERVER ]]; then
  log "using the existing release binaries"
else
  log "building the release binaries (CARGO_TARGET_DIR=$TARGET_DIR)"
  (cd "$ROOT" && CARGO_TARGET_DIR=$TARGET_DIR cargo build --release -q -p jaas-controller -p jaas-artifact-server)
fi
JRSONNET=$(jrsonnet_cli)

# The snippet: a ConfigMap from three top-level arguments.
mkdir -p "$WORK/snippets/configmap"
cat >"$WORK/snippets/configmap/main.jsonnet" <<'JSONNET'
function(name='app', replicas='1', tier='web') {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: name, labels: { tier: tier } },
  data: { replicas: replicas, summary: '%s x%s (%s)' % [name, replicas, tier] },
}
JSONNET

# The artifact server's 4 KiB baseline, laid out as the controller writes artifacts.
head -c 4096 /dev/urandom >"$WORK/blob"
HEX=$(sha256sum "$WORK/blob" | cut -d' ' -f1)
mkdir -p "$WORK/artifacts/bench/web"
mv "$WORK/blob" "$WORK/artifacts/bench/web/sha256-$HEX.tar.gz"
ART_PORT=$(free_port); ART_METRICS=$(free_port)
"$SERVER" --storage-backend local --storage-path "$WORK/artifacts" --storage-listen-address 127.0.0.1 \
  --storage-port "$ART_PORT" --metrics-bind-address "127.0.0.1:$ART_METRICS" --log-format json 2>"$WORK/server.log" &
PIDS+=($!)
ART_URL=http://127.0.0.1:$ART_PORT/bench/web/sha256-$HEX.tar.gz
wait_http "$ART_URL"

SERVE_PORT=$(free_port); SERVE_METRICS=$(free_port)
# shellcheck disable=SC2086 # BENCH_SERVE_ARGS is a list of flags
"$JAAS" serve --snippet-directory "$WORK/snippets" --bind-address "127.0.0.1:$SERVE_PORT" \
  --metrics-bind-address "127.0.0.1:$SERVE_METRICS" --log-format json ${BENCH_SERVE_ARGS:-} 2>"$WORK/serve.log" &
PIDS+=($!)
HIT_URL="http://127.0.0.1:$SERVE_PORT/jsonnet/configmap?name=web&replicas=3&tier=front"
wait_http "$HIT_URL"

rate() { awk '/^Requests\/sec/ {print $2}' "$1"; }
latency() {
  # latency FILE PERCENTILE: wrk --latency's line for the percentile, in ms.
  awk -v p="$2%" '$1 == p { v=$2; if (v ~ /us$/) { sub(/us$/,"",v); v=v/1000 } else if (v ~ /ms$/) { sub(/ms$/,"",v) } else if (v ~ /s$/) { sub(/s$/,"",v); v=v*1000 }; print v }' "$1"
}

log "cache hits: jaas serve vs the artifact server's 4 KiB, $CONNECTIONS connections, $DURATION each"
wrk -t "$THREADS" -c "$CONNECTIONS" -d "$DURATION" "$ART_URL" >"$WORK/art.txt"
wrk -t "$THREADS" -c "$CONNECTIONS" -d "$DURATION" "$HIT_URL" >"$WORK/hit.txt"

cat >"$WORK/miss.lua" <<'LUA'
-- Every request new arguments, so none is a cache hit.
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", "/jsonnet/configmap?name=app" .. counter .. "&replicas=" .. (counter % 7) .. "&tier=t" .. counter)
end
LUA
log "cache misses: one connection, $DURATION"
wrk -t 1 -c 1 -d "$DURATION" --latency -s "$WORK/miss.lua" "http://127.0.0.1:$SERVE_PORT" >"$WORK/miss.txt"

log "cache misses: two connections, $DURATION"
wrk -t 2 -c 2 -d "$DURATION" --latency -s "$WORK/miss.lua" "http://127.0.0.1:$SERVE_PORT" >"$WORK/miss2.txt"

log "the jrsonnet CLI spawned per request, $SPAWNS times"
start=$(date +%s.%N)
for i in $(seq 1 "$SPAWNS"); do
  "$JRSONNET" --tla-str "name=app$i" --tla-str "replicas=$((i % 7))" --tla-str "tier=t$i" \
    "$WORK/snippets/configmap/main.jsonnet" >/dev/null
done
end=$(date +%s.%N)
SPAWN_RATE=$(python3 -c "print(round($SPAWNS / ($end - $start), 1))")
log "the jrsonnet CLI spawned per request, two at a time, $SPAWNS times"
start=$(date +%s.%N)
seq 1 "$SPAWNS" | xargs -P 2 -I{} "$JRSONNET" --tla-str "name=app{}" --tla-str "replicas=3" --tla-str "tier=t{}" \
  "$WORK/snippets/configmap/main.jsonnet" >/dev/null
end=$(date +%s.%N)
SPAWN2_RATE=$(python3 -c "print(round($SPAWNS / ($end - $start), 1))")

ART_RATE=$(rate "$WORK/art.txt"); HIT_RATE=$(rate "$WORK/hit.txt"); MISS_RATE=$(rate "$WORK/miss.txt")
MISS2_RATE=$(rate "$WORK/miss2.txt")
P50=$(latency "$WORK/miss.txt" 50); P99=$(latency "$WORK/miss.txt" 99)
ratio() { python3 -c "print(f'{$1 / $2:.2f}x')"; }
printf '%-46s %12s %10s\n' "measurement" "req/s" "ratio"
printf '%-46s %12s %10s\n' "artifact server, 4 KiB (baseline)" "$ART_RATE" "1.00x"
printf '%-46s %12s %10s\n' "jaas serve, cache hit" "$HIT_RATE" "$(ratio "$HIT_RATE" "$ART_RATE")"
printf '%-46s %12s %10s\n' "jrsonnet CLI spawned per request (baseline)" "$SPAWN_RATE" "1.00x"
printf '%-46s %12s %10s\n' "jaas serve, cache miss (1 connection)" "$MISS_RATE" "$(ratio "$MISS_RATE" "$SPAWN_RATE")"
printf '%-46s %12s %10s\n' "jrsonnet CLI spawned, 2 at a time (baseline)" "$SPAWN2_RATE" "1.00x"
printf '%-46s %12s %10s\n' "jaas serve, cache miss (2 connections)" "$MISS2_RATE" "$(ratio "$MISS2_RATE" "$SPAWN2_RATE")"
printf 'cache miss latency (1 connection): p50 %s ms, p99 %s ms (target p50 <= 5 ms)\n' "$P50" "$P99"
grep -q 'Non-2xx' "$WORK/hit.txt" "$WORK/miss.txt" "$WORK/miss2.txt" &&
  { grep -H 'Non-2xx' "$WORK/hit.txt" "$WORK/miss.txt" "$WORK/miss2.txt" >&2; die "some requests failed"; }
true
