#!/usr/bin/env bash
# e2e/bench-server.sh: the artifact server against nginx, in one run, on 127.0.0.1 only.
#
# Serves the same 4 KiB and 1 MiB artifacts with nginx (the same URL layout and caching headers) and with
# jaas-artifact-server (release build) over the local backend, then over S3 (radosgw, cache warm), drives each with
# wrk using identical settings, and prints req/s, p99 latency and the ratio to nginx.
# Targets: >= 1.0x nginx on local, >= 0.8x nginx on S3 warm; the baseline is nginx with sendfile on (Debian's
# configuration). Two reference rows explain the ratios: nginx with sendfile off (it then copies each body through
# user space, as every actix-web server must) and actix_ceiling (artifact-server/examples/actix_ceiling.rs: a bare
# actix-web handler answering from memory, the fastest actix-web gets on this machine).
# A 2-core VM is noisy (one 10 s run's ratio moves by +-0.15), so the whole table is measured BENCH_ROUNDS times,
# servers interleaved, and the medians are printed with each round's ratios. Each row also shows the server's own CPU
# time per request (user + system from /proc, nginx's master and workers summed), which is steadier than req/s and
# says where a ratio comes from: wrk and the server share the same two cores.
#
# Env: BENCH_DURATION (5s), BENCH_ROUNDS (3), BENCH_CONNECTIONS (32), BENCH_THREADS (2), CARGO_TARGET_DIR (target/),
# BENCH_SKIP_BUILD=1 (use the existing release binaries), JAAS_S3_ENDPOINT/JAAS_S3_BUCKET/AWS_* (started with
# e2e/s3-start.sh when missing).
set -euo pipefail
SCRIPT=bench-server
# shellcheck source-path=SCRIPTDIR source=env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

ROOT=$(cd "$E2E_DIR/.." && pwd)
DURATION=${BENCH_DURATION:-5s}
ROUNDS=${BENCH_ROUNDS:-3}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
THREADS=${BENCH_THREADS:-2}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
SERVER_BIN=$TARGET_DIR/release/jaas-artifact-server
CEILING_BIN=$TARGET_DIR/release/examples/actix_ceiling

need() { command -v "$1" >/dev/null || apt_install "$2"; }
need nginx nginx-light
need wrk wrk
need curl curl

WORK=$(mktemp -d /tmp/jaas-bench.XXXXXX)
chmod 755 "$WORK" # nginx workers run unprivileged and must read the artifacts
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

if [[ ${BENCH_SKIP_BUILD:-0} == 1 && -x $SERVER_BIN && -x $CEILING_BIN ]]; then
  log "using the existing $SERVER_BIN and $CEILING_BIN"
else
  log "building the release binaries (CARGO_TARGET_DIR=$TARGET_DIR)"
  (cd "$ROOT" && CARGO_TARGET_DIR=$TARGET_DIR cargo build --release -q -p jaas-artifact-server --bin jaas-artifact-server \
    --example actix_ceiling)
fi

# The artifacts, laid out as the controller writes them: <root>/<namespace>/<name>/sha256-<hex>.tar.gz.
DATA=$WORK/artifacts
mkdir -p "$DATA"
write_bench_artifacts "$DATA" 4096 1048576

# nginx: foreground, loopback, two ports (sendfile on and off), same URL shape and caching headers, everything else 404.
NGINX_PORT=$(free_port)
NGINX_COPY_PORT=$(free_port)
mkdir -p "$WORK/nginx"
nginx_server() {
  # nginx_server PORT on|off: one server block, same URL shape and caching headers as ours, sendfile on or off.
  cat <<EOF
  server {
    listen 127.0.0.1:$1;
    sendfile $2;
    root $DATA;
    location ~ "^/[a-z0-9-]+/[a-z0-9.-]+/sha256-[0-9a-f]{64}\\.tar\\.gz\$" {
      default_type application/gzip;
      add_header Cache-Control "public, max-age=31536000, immutable";
    }
    location / { return 404; }
  }
EOF
}
cat >"$WORK/nginx/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes auto;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log $WORK/nginx/access.log;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path $WORK/nginx/tmp;
  proxy_temp_path $WORK/nginx/tmp;
  fastcgi_temp_path $WORK/nginx/tmp;
  uwsgi_temp_path $WORK/nginx/tmp;
  scgi_temp_path $WORK/nginx/tmp;
$(nginx_server "$NGINX_PORT" on)
$(nginx_server "$NGINX_COPY_PORT" off)
}
EOF
nginx -e "$WORK/nginx/error.log" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" 2>"$WORK/nginx/stderr" &
PIDS+=($!)
NGINX_PID=$!
wait_http "http://127.0.0.1:$NGINX_PORT${PATH_OF[4096]}"

start_server() {
  # start_server NAME ARGS...: runs our release binary in the background; sets SERVER_PORT and SERVER_PID.
  local name=$1 port metrics
  shift
  port=$(free_port)
  metrics=$(free_port)
  "$SERVER_BIN" --storage-listen-address 127.0.0.1 --storage-port "$port" --metrics-bind-address "127.0.0.1:$metrics" \
    --log-format json "$@" 2>"$WORK/$name.log" &
  PIDS+=($!)
  SERVER_PID=$!
  wait_http "http://127.0.0.1:$metrics/readyz"
  SERVER_PORT=$port
}

start_server local --storage-backend local --storage-path "$DATA"
LOCAL_PORT=$SERVER_PORT
LOCAL_PID=$SERVER_PID
CEILING_PORT=$(free_port)
"$CEILING_BIN" "$DATA" "$CEILING_PORT" 2>"$WORK/ceiling.log" &
PIDS+=($!)
CEILING_PID=$!
wait_http "http://127.0.0.1:$CEILING_PORT${PATH_OF[4096]}"

# S3: radosgw from the project's own script, the same two artifacts under a fresh prefix.
if [[ -z ${JAAS_S3_ENDPOINT:-} ]]; then
  [[ -f $ROOT/e2e/s3-start.sh ]] || die "JAAS_S3_ENDPOINT is not set and e2e/s3-start.sh is missing"
  s3_env=$(bash "$ROOT/e2e/s3-start.sh")
  eval "$s3_env"
fi
PREFIX=bench-$(date +%s)-$$
for size in 4096 1048576; do
  curl -sf --aws-sigv4 "aws:amz:${AWS_REGION:-us-east-1}:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -X PUT --data-binary "@$DATA${PATH_OF[$size]}" \
    "$JAAS_S3_ENDPOINT/$JAAS_S3_BUCKET/$PREFIX${PATH_OF[$size]}" >/dev/null || die "upload to S3 failed"
done
JAAS_S3_ACCESS_KEY=$AWS_ACCESS_KEY_ID JAAS_S3_SECRET_KEY=$AWS_SECRET_ACCESS_KEY start_server s3 --storage-backend s3 \
  --s3-endpoint "$JAAS_S3_ENDPOINT" --s3-bucket "$JAAS_S3_BUCKET" --s3-prefix "$PREFIX" \
  --s3-region "${AWS_REGION:-us-east-1}"
S3_PORT=$SERVER_PORT
S3_PID=$SERVER_PID

# Every server must answer 200 with the exact bytes before it is measured (this also warms the S3 server's cache).
for port in "$NGINX_PORT" "$NGINX_COPY_PORT" "$CEILING_PORT" "$LOCAL_PORT" "$S3_PORT"; do
  for size in 4096 1048576; do
    got=$(curl -sf "http://127.0.0.1:$port${PATH_OF[$size]}" | sha256sum | cut -d' ' -f1)
    [[ "sha256-$got.tar.gz" == "$(basename "${PATH_OF[$size]}")" ]] || die "port $port served wrong bytes for $size"
  done
done

to_ms() {
  # wrk prints latencies as 812.00us, 1.23ms or 1.01s.
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n *= 1; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'
}
CLOCK_TICKS=$(getconf CLK_TCK)
cpu_ticks() {
  # cpu_ticks PID...: user + system CPU time of the processes so far, in clock ticks.
  local pid total=0
  for pid in "$@"; do total=$((total + $(awk '{ print $14 + $15 }' "/proc/$pid/stat"))); done
  echo "$total"
}
measure() {
  # measure PORT SIZE PID...: prints "REQS P99_MS CPU_US_PER_REQUEST" (CPU of the given server processes).
  local out before after requests
  before=$(cpu_ticks "${@:3}")
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$1${PATH_OF[$2]}")
  after=$(cpu_ticks "${@:3}")
  echo "$out" | grep -q "Non-2xx" && die "non-2xx answers from port $1: $out"
  requests=$(echo "$out" | awk '/ requests in / { print $1 }')
  echo "$(echo "$out" | awk '/^Requests\/sec:/ { print $2 }') $(to_ms "$(echo "$out" | awk '$1 == "99%" { print $2 }')")" \
    "$(awk -v t="$((after - before))" -v hz="$CLOCK_TICKS" -v n="$requests" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }')"
}

# The rows, in the order they are measured and printed: label and port.
SERVERS=("nginx (sendfile)" "nginx (sendfile off)" "actix_ceiling" "jaas (local)" "jaas (s3, warm)")
declare -A PORT_OF=(["nginx (sendfile)"]=$NGINX_PORT ["nginx (sendfile off)"]=$NGINX_COPY_PORT
  ["actix_ceiling"]=$CEILING_PORT ["jaas (local)"]=$LOCAL_PORT ["jaas (s3, warm)"]=$S3_PORT)
NGINX_PIDS="$NGINX_PID $(pgrep -P "$NGINX_PID" | tr '\n' ' ')" # the master and its workers
declare -A PIDS_OF=(["nginx (sendfile)"]=$NGINX_PIDS ["nginx (sendfile off)"]=$NGINX_PIDS
  ["actix_ceiling"]=$CEILING_PID ["jaas (local)"]=$LOCAL_PID ["jaas (s3, warm)"]=$S3_PID)
declare -A RPS P99 CPU # "server|size" -> space-separated values, one per round
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

log "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $ROUNDS rounds, $(nproc) CPUs, nginx $(nginx -v 2>&1 | cut -d/ -f2)"
for ((round = 1; round <= ROUNDS; round++)); do
  for size in 4096 1048576; do
    line=""
    for server in "${SERVERS[@]}"; do
      # shellcheck disable=SC2086 # PIDS_OF holds a list of pids
      read -r rps p99 cpu < <(measure "${PORT_OF[$server]}" "$size" ${PIDS_OF[$server]})
      RPS["$server|$size"]+="$rps "
      P99["$server|$size"]+="$p99 "
      CPU["$server|$size"]+="$cpu "
      [[ $server == "nginx (sendfile)" ]] && base=$rps || line+=" $server $(ratio "$rps" "$base")"
    done
    log "round $round, $size bytes, x nginx (sendfile):$line"
  done
done

echo "medians of $ROUNDS rounds (wrk -t$THREADS -c$CONNECTIONS -d$DURATION each):"
printf '%-22s %-8s %12s %10s %14s %8s %16s\n' server artifact "req/s" "p99 ms" "server cpu/req" "x nginx" \
  "x nginx no-sf"
for size in 4096 1048576; do
  label=$([[ $size == 4096 ]] && echo 4KiB || echo 1MiB)
  base=$(median <<<"${RPS["nginx (sendfile)|$size"]}")
  copy_base=$(median <<<"${RPS["nginx (sendfile off)|$size"]}")
  for server in "${SERVERS[@]}"; do
    rps=$(median <<<"${RPS["$server|$size"]}")
    printf '%-22s %-8s %12.0f %10.2f %11.1f us %8s %16s\n' "$server" "$label" "$rps" \
      "$(median <<<"${P99["$server|$size"]}")" "$(median <<<"${CPU["$server|$size"]}")" "$(ratio "$rps" "$base")" \
      "$(ratio "$rps" "$copy_base")"
  done
done
