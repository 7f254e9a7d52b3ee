#!/usr/bin/env bash
# e2e/s3-stop.sh: stops exactly what e2e/s3-start.sh started, by the pids it recorded in $STATE/pids (radosgw, then
# the OSD, then the monitor: SIGTERM, SIGKILL after 10 s, and only while /proc/PID/comm is still that program),
# then deletes the cluster's data (where $STATE/data-dir says it is). A no-op when nothing runs. Env: JAAS_E2E_CACHE, JAAS_S3_STATE.
set -euo pipefail

CACHE=${JAAS_E2E_CACHE:-$HOME/.cache/jaas-e2e}
STATE=${JAAS_S3_STATE:-$CACHE/s3}
PIDS=$STATE/pids

alive() { kill -0 "$1" 2>/dev/null; }
stop_pid() {  # stop_pid PID PROGRAM
  local pid=$1 prog=$2 i
  alive "$pid" || return 0
  # pids get reused: only signal a process that still runs the program we started (comm is cut at 15 chars)
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "${prog:0:15}" ]] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 40; i++)); do alive "$pid" || return 0; sleep 0.25; done
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 20; i++)); do alive "$pid" || return 0; sleep 0.25; done
}

if [[ -s $PIDS ]]; then
  # newest first: radosgw, the OSD (it reports its shutdown to the monitor), the monitor
  tac "$PIDS" | while read -r pid name prog; do
    stop_pid "$pid" "$prog"
    echo "s3-stop: stopped $name ($pid)" >&2
  done
fi
rm -f "$PIDS" "$STATE/env"
if [[ -s $STATE/data-dir ]]; then rm -rf "$(cat "$STATE/data-dir")"; fi
rm -rf "$STATE/data" "$STATE/data-dir"
