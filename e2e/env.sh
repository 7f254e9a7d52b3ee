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

# --- Shared by the benchmarks (bench-*.sh): their tools, the release build they time, the jb-shaped tree.

# The jrsonnet-evaluator version render/Cargo.toml pins: the benchmarks compare against its CLI.
JRSONNET_VERSION=0.5.0-pre98

# need_commands COMMAND=PACKAGE...: installs (in one apt_install) the Debian package of each command not found.
need_commands() {
  local pair missing=()
  for pair in "$@"; do command -v "${pair%%=*}" >/dev/null || missing+=("${pair#*=}"); done
  ((${#missing[@]} == 0)) || apt_install "${missing[@]}"
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on right now.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# jrsonnet_cli: prints the path of the jrsonnet CLI of JRSONNET_VERSION, `cargo install`ed into $CACHE/bench
# the first time (with its own target dir, so it never waits on the workspace's build lock).
jrsonnet_cli() {
  local root=$CACHE/bench/jrsonnet
  if [[ ! -x $root/bin/jrsonnet ]]; then
    log "cargo install jrsonnet $JRSONNET_VERSION into $root (once)"
    CARGO_TARGET_DIR=$CACHE/bench/jrsonnet-target cargo install jrsonnet --version "$JRSONNET_VERSION" --locked \
      --root "$root" >&2 || die "cargo install jrsonnet $JRSONNET_VERSION failed"
  fi
  echo "$root/bin/jrsonnet"
}

# release_jaas: prints the path of the `jaas` binary to time: $JAAS when set, else a release build of the
# workspace's (`cargo build --release -p jaas-controller --bin jaas`, output on stderr).
release_jaas() {
  local root=$E2E_DIR/..
  if [[ -n ${JAAS:-} ]]; then
    echo "$JAAS"
    return
  fi
  (cd "$root" && cargo build --release -p jaas-controller --bin jaas >&2) || die "cargo build --release of jaas failed"
  echo "${CARGO_TARGET_DIR:-$(cd "$root" && pwd)/target}/release/jaas"
}

# write_jb_tree DIR [small]: writes the generated jsonnet-bundler tree of render/tests/jb_tree/fixture.rs into DIR
# (about 1,000 files and 10 MB; `small`: a few hundred files), with the release build of its example.
write_jb_tree() {
  (cd "$E2E_DIR/.." && cargo run -q --release -p jaas-render --example jb_tree -- "$@" >&2) \
    || die "cannot generate the jb tree in $1"
}

# hyperfine_means FILE: the mean seconds of each command of a hyperfine JSON export, space-separated, in order.
hyperfine_means() {
  python3 -c 'import json, sys; print(" ".join("%.4f" % r["mean"] for r in json.load(open(sys.argv[1]))["results"]))' \
    "$1"
}

# write_bench_artifacts DIR SIZE...: one random artifact of each SIZE bytes under DIR, laid out as the controller
# writes them (<DIR>/bench/web-<size>/sha256-<hex>.tar.gz); sets the global map PATH_OF[size] to each URL path.
write_bench_artifacts() {
  local dir=$1 size hex
  shift
  declare -gA PATH_OF
  for size in "$@"; do
    head -c "$size" /dev/urandom >"$dir/.blob"
    hex=$(sha256sum "$dir/.blob" | cut -d' ' -f1)
    mkdir -p "$dir/bench/web-$size"
    mv "$dir/.blob" "$dir/bench/web-$size/sha256-$hex.tar.gz"
    PATH_OF[$size]=/bench/web-$size/sha256-$hex.tar.gz
  done
}

# wait_http URL: up to 20 s for a 200 from URL.
wait_http() {
  local _
  for _ in $(seq 1 200); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "$1" || true) == 200 ]] && return 0
    sleep 0.1
  done
  die "no 200 from $1 after 20 s"
}
