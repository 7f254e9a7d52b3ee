# env.sh: helpers shared by the e2e scripts (sourced, never run): the cache layout, logging to stderr, apt
# installs that survive a fresh machine, loopback port probes, bounded waits and a careful process stopper.
# Every script that sources it sets SCRIPT (its name, for log lines) first.
# shellcheck shell=bash disable=SC2034 # CACHE, BIN, E2E_DIR are used by the scripts that source this file

# Everything the e2e scripts build, download or run lives here: bin/ (binaries), kube/, s3/ (state of the servers).
CACHE=${JAAS_E2E_CACHE:-$HOME/.cache/jaas-e2e}
BIN=$CACHE/bin
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

log() { echo "${SCRIPT:-e2e}: $*" >&2; }
die() { log "$*"; exit 1; }

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

# with_apt_lock CMD...: runs CMD holding $CACHE/apt.lock, so that apt work of scripts running at the same time (the
# kube-apiserver build runs in the background of run-tests.sh) waits its turn instead of failing on dpkg's own lock.
with_apt_lock() {
  mkdir -p "$CACHE"
  (
    flock -w 1200 9 || die "gave up waiting for $CACHE/apt.lock"
    "$@"
  ) 9>"$CACHE/apt.lock"
}

# apt_install PKG...: a fresh machine may have no package lists yet, so on failure run `apt-get update` once and retry.
apt_install() {
  log "apt-get install $*"
  with_apt_lock apt_install_locked "$@"
}
apt_install_locked() {
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 && return 0
  log "apt-get install failed: running apt-get update, then retrying"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# port_busy PORT: something already accepts connections on 127.0.0.1:PORT.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_for SECONDS WHAT CMD...: polls CMD every 0.25 s; calls `on_timeout` (if the script defines one) and dies when
# it has not succeeded within SECONDS.
wait_for() {
  local secs=$1 what=$2 i
  shift 2
  for ((i = 0; i < secs * 4; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.25
  done
  declare -F on_timeout >/dev/null && on_timeout
  die "timed out after ${secs}s waiting for $what"
}

# stop_pid PID PROGRAM: SIGTERM, then SIGKILL after 10 s, but only while /proc/PID/comm still names PROGRAM
# (a recorded pid may have been reused by an unrelated process since).
stop_pid() {
  local pid=$1 prog=$2 i
  kill -0 "$pid" 2>/dev/null || return 0
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "${prog:0:15}" ]] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 40; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.25; done
  log "$prog ($pid) ignored SIGTERM for 10s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 20; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.25; done
}

# all_alive PIDS_FILE: every pid recorded in the file (first column) is still running.
all_alive() {
  local pid _rest
  [[ -s $1 ]] || return 1
  while read -r pid _rest; do kill -0 "$pid" 2>/dev/null || return 1; done <"$1"
}
