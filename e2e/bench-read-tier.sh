#!/usr/bin/env bash
# bench-read-tier.sh: horizontal scaling of the read tier (jaas-artifact-server replicas behind a balancer), on
# 127.0.0.1 only.
#
# Lays out a 4 KiB and a 1 MiB artifact in a local storage directory (as the controller writes them), starts 1, then
# 2, then 4 release `jaas-artifact-server` processes on that directory (local backend, one port each) and puts nginx
# in front of them (Debian's package, a foreground child with its own config, pid and logs in a temp directory; one
# listening port per N, each an `upstream` of the first N servers, round robin, keepalive connections). The same wrk
# load runs through the balancer for N = 1, 2 and 4, and against server 1 directly (no balancer) as a reference.
# The named baseline is 1 server behind nginx: the ratio column says how much N servers add over it. Each row also
# shows req/s per core (req/s / nproc) and how the servers split the requests (from their jaas_server_requests_total).
# wrk, nginx and every server share the machine's cores, so on a small machine more servers cannot add CPU: there
# the ratio shows what spreading costs or gains, not the scaling a cluster with a node per replica would see.
# A small VM is noisy, so the table is measured BENCH_ROUNDS times, setups interleaved, and medians are printed.
#
# Env: BENCH_DURATION (5s), BENCH_CONNECTIONS (64), BENCH_THREADS (2, wrk's), BENCH_ROUNDS (3), BENCH_WORKERS (the
# servers' --workers; unset: their default, one per CPU), BENCH_SKIP_BUILD=1 (reuse the existing release binary),
# CARGO_TARGET_DIR (target/).
set -euo pipefail
SCRIPT=bench-read-tier
# shellcheck source-path=SCRIPTDIR source=env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

ROOT=$(cd "$E2E_DIR/.." && pwd)
DURATION=${BENCH_DURATION:-5s}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
THREADS=${BENCH_THREADS:-2}
ROUNDS=${BENCH_ROUNDS:-3}
SERVER=${CARGO_TARGET_DIR:-$ROOT/target}/release/jaas-artifact-server
SIZES=(4096 1048576)
COUNTS=(1 2 4) # servers behind the balancer, in the order they are started and measured
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "BENCH_ROUNDS must be a positive number, not $ROUNDS"
[[ $CONNECTIONS =~ ^[1-9][0-9]*$ ]] || die "BENCH_CONNECTIONS must be a positive number, not $CONNECTIONS"

WORK=$(mktemp -d /tmp/jaas-bench-read-tier.XXXXXX)
chmod 755 "$WORK" # nginx workers may run unprivileged (as nobody when started by root)
PIDS=$WORK/pids    # `PID NAME PROGRAM` of each process this script started

# cleanup: stops what this script started, newest first (the balancer before the servers), then deletes $WORK.
cleanup() {
  set +e
  if [[ -s $PIDS ]]; then
    tac "$PIDS" | while read -r pid _name program; do stop_pid "$pid" "$program"; done
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# spawn NAME PROGRAM ARGS...: runs PROGRAM in the background, its output in $WORK/NAME.log, recorded in $PIDS.
spawn() {
  local name=$1
  shift
  "$@" </dev/null >"$WORK/$name.log" 2>&1 &
  echo "$! $name $(basename "$1")" >>"$PIDS"
}
on_timeout() { tail -n 20 "$WORK"/*.log >&2; }

# 1. Tools and the release binary.
need_commands nginx=nginx wrk=wrk curl=curl python3=python3
if [[ ${BENCH_SKIP_BUILD:-0} == 1 && -x $SERVER ]]; then
  log "using the existing $SERVER"
else
  log "cargo build --release -p jaas-artifact-server"
  (cd "$ROOT" && cargo build --release -p jaas-artifact-server >&2) || die "cargo build --release failed"
fi
[[ -x $SERVER ]] || die "no $SERVER after the build (CARGO_TARGET_DIR?)"

# 2. The artifacts, laid out as the controller writes them: <root>/<namespace>/<name>/sha256-<hex>.tar.gz.
DATA=$WORK/artifacts
mkdir -p "$DATA"
write_bench_artifacts "$DATA" "${SIZES[@]}"
chmod -R a+rX "$DATA"

# 3. The servers: start_server I starts server I (local backend, its own artifact and metrics port) and waits for it.
declare -A PORT_OF METRICS_OF # server index -> port
start_server() {
  local i=$1
  PORT_OF[$i]=${PORT_OF[$i]:-$(free_port)} # the balancer's config may name it already
  port_busy "${PORT_OF[$i]}" && die "127.0.0.1:${PORT_OF[$i]}, chosen for server $i, was taken meanwhile: run again"
  METRICS_OF[$i]=$(free_port)
  # shellcheck disable=SC2046 # --workers only when BENCH_WORKERS is set
  spawn "server-$i" "$SERVER" --storage-backend local --storage-path "$DATA" --storage-listen-address 127.0.0.1 \
    --storage-port "${PORT_OF[$i]}" --metrics-bind-address "127.0.0.1:${METRICS_OF[$i]}" --log-format json \
    --shutdown-timeout 2s $([[ -n ${BENCH_WORKERS:-} ]] && echo --workers "$BENCH_WORKERS")
  wait_for 30 "server $i's /readyz" curl -fsS -o /dev/null "http://127.0.0.1:${METRICS_OF[$i]}/readyz"
}
# servers_running N: starts the servers up to N that do not run yet.
SERVERS_STARTED=0
servers_running() {
  while ((SERVERS_STARTED < $1)); do
    SERVERS_STARTED=$((SERVERS_STARTED + 1))
    start_server "$SERVERS_STARTED"
    log "server $SERVERS_STARTED listens on 127.0.0.1:${PORT_OF[$SERVERS_STARTED]}"
  done
}
servers_running "${COUNTS[0]}"

# 4. The balancer: one nginx, one listening port per N whose upstream is the first N servers. Ports of servers not
# started yet are already named: nginx connects to an upstream only when a request comes, and none comes before
# the servers behind that port run. Proxy buffers hold a whole 1 MiB answer, so nothing goes through temp files.
LAST_COUNT=${COUNTS[${#COUNTS[@]} - 1]}
for ((i = SERVERS_STARTED + 1; i <= LAST_COUNT; i++)); do
  PORT_OF[$i]=$(free_port)
done
declare -A BALANCER_OF # N -> nginx port
balancer_block() {
  # balancer_block N: the upstream of the first N servers and the server block in front of it.
  local n=$1 i
  echo "  upstream read_tier_$n {"
  for ((i = 1; i <= n; i++)); do echo "    server 127.0.0.1:${PORT_OF[$i]};"; done
  cat <<EOF
    keepalive $CONNECTIONS;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${BALANCER_OF[$n]};
    location / {
      proxy_pass http://read_tier_$n;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
EOF
}
mkdir -p "$WORK/nginx/tmp"
for n in "${COUNTS[@]}"; do BALANCER_OF[$n]=$(free_port); done
{
  cat <<EOF
daemon off;
master_process on;
worker_processes auto;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections $((CONNECTIONS * 4 > 1024 ? CONNECTIONS * 4 : 1024)); }
http {
  access_log off;
  keepalive_requests 1000000;
  proxy_buffer_size 16k;
  proxy_buffers 16 64k;
  proxy_max_temp_file_size 0;
  client_body_temp_path $WORK/nginx/tmp;
  proxy_temp_path $WORK/nginx/tmp;
  fastcgi_temp_path $WORK/nginx/tmp;
  uwsgi_temp_path $WORK/nginx/tmp;
  scgi_temp_path $WORK/nginx/tmp;
EOF
  for n in "${COUNTS[@]}"; do balancer_block "$n"; done
  echo "}"
} >"$WORK/nginx/nginx.conf"
NGINX=$(command -v nginx)
spawn nginx "$NGINX" -e "$WORK/nginx/error.log" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf"
wait_for 20 "nginx on 127.0.0.1:${BALANCER_OF[1]}" curl -fsS -o /dev/null "http://127.0.0.1:${BALANCER_OF[1]}${PATH_OF[4096]}"
NGINX_VERSION=$("$NGINX" -v 2>&1 | cut -d/ -f2)

# 5. Measuring. A setup is "direct" (server 1, no balancer) or a number N of servers behind nginx.
SETUPS=(direct "${COUNTS[@]}")
label_of() { if [[ $1 == direct ]]; then echo "1 server, direct"; else echo "$1 behind nginx"; fi; }
port_for() { if [[ $1 == direct ]]; then echo "${PORT_OF[1]}"; else echo "${BALANCER_OF[$1]}"; fi; }
servers_for() { if [[ $1 == direct ]]; then echo 1; else echo "$1"; fi; }
# requests_served I: the answers server I has counted so far (jaas_server_requests_total, all labels summed).
requests_served() {
  curl -fsS "http://127.0.0.1:${METRICS_OF[$1]}/metrics" \
    | awk '/^jaas_server_requests_total[{ ]/ { n += $NF } END { printf "%d", n }'
}
# check_bytes PORT: every artifact comes back with exactly its bytes (the name is the digest).
check_bytes() {
  local size got
  for size in "${SIZES[@]}"; do
    got=$(curl -fsS "http://127.0.0.1:$1${PATH_OF[$size]}" | sha256sum | cut -d' ' -f1)
    [[ "sha256-$got.tar.gz" == "$(basename "${PATH_OF[$size]}")" ]] || die "port $1 served wrong bytes for $size"
  done
}
# measure SETUP SIZE: prints "REQ_PER_S SPLIT", SPLIT the share of each server of the requests served meanwhile
# (as 50/50), after checking wrk saw no errors and no non-2xx answers.
measure() {
  local setup=$1 size=$2 servers i out before=() after=() total=0 split=""
  servers=$(servers_for "$setup")
  for ((i = 1; i <= servers; i++)); do before[i]=$(requests_served "$i"); done
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" "http://127.0.0.1:$(port_for "$setup")${PATH_OF[$size]}")
  for ((i = 1; i <= servers; i++)); do
    after[i]=$(requests_served "$i")
    total=$((total + after[i] - before[i]))
  done
  grep -q "Non-2xx" <<<"$out" && die "non-2xx answers through $(label_of "$setup"): $out"
  grep -q "Socket errors" <<<"$out" && log "socket errors through $(label_of "$setup"), $size bytes: $(grep 'Socket errors' <<<"$out")"
  ((total > 0)) || die "the servers counted no requests through $(label_of "$setup")"
  for ((i = 1; i <= servers; i++)); do
    # nginx sends everything to the others when a server refuses connections: that would measure the wrong setup
    ((after[i] > before[i])) || die "server $i got no requests through $(label_of "$setup") (see $WORK/nginx/error.log)"
    split+="${split:+/}$(((after[i] - before[i]) * 100 / total))"
  done
  echo "$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out") $split"
}
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

CORES=$(nproc)
LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
log "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $ROUNDS rounds, $CORES cores, nginx $NGINX_VERSION"
declare -A RPS SPLIT # "setup|size" -> space-separated values, one per round
for ((round = 1; round <= ROUNDS; round++)); do
  for setup in "${SETUPS[@]}"; do
    servers_running "$(servers_for "$setup")" # round 1 starts the servers as N grows: 1, then 2, then 4
    ((round > 1)) || check_bytes "$(port_for "$setup")"
    line=""
    for size in "${SIZES[@]}"; do
      result=$(measure "$setup" "$size") # a failed measurement ends the script here (set -e)
      read -r rps split <<<"$result"
      RPS["$setup|$size"]+="$rps "
      SPLIT["$setup|$size"]+="$split "
      line+=" $size B: $rps req/s ($split)"
    done
    log "round $round, $(label_of "$setup"):$line"
  done
done

# 6. The table.
echo "read tier: jaas-artifact-server (local backend) x N behind nginx $NGINX_VERSION (round robin, keepalive)"
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION per row; medians of $ROUNDS rounds; split = the servers' shares of the"
echo "requests (last round). wrk, nginx and all servers share the same $CORES cores of this machine: req/s per core is"
echo "req/s / $CORES, and more servers add no CPU here, so the ratio shows the cost or gain of spreading, not cluster scaling."
echo "load average (1 min) before / after: $LOAD_BEFORE / $(cut -d' ' -f1 /proc/loadavg) (other work on the machine skews it)"
printf '%-20s %-8s %12s %16s %14s %s\n' setup artifact "req/s" "x 1 behind nginx" "req/s per core" split
for size in "${SIZES[@]}"; do
  label=$([[ $size == 4096 ]] && echo 4KiB || echo 1MiB)
  base=$(median <<<"${RPS["1|$size"]}")
  for setup in "${SETUPS[@]}"; do
    rps=$(median <<<"${RPS["$setup|$size"]}")
    split=$(awk '{ print $NF }' <<<"${SPLIT["$setup|$size"]}")
    printf '%-20s %-8s %12.0f %16s %14.0f %s\n' "$(label_of "$setup")" "$label" "$rps" "$(ratio "$rps" "$base")" \
      "$(awk -v r="$rps" -v c="$CORES" 'BEGIN { print r / c }')" "$split"
  done
done
