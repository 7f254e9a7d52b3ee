#!/usr/bin/env bash
# e2e/s3-start.sh: a real S3 server for the JaaS tests on 127.0.0.1 only: Ceph radosgw on a throw-away one-host
# Ceph cluster (1 monitor, 1 memstore OSD, no mgr, cephx on), a user with fixed keys and one bucket.
# stdout gets only `export ...` lines (also written to $STATE/env), so `env=$(bash e2e/s3-start.sh)` works; logs go
# to stderr. Pids are recorded in $STATE/pids for e2e/s3-stop.sh. A second start while it runs re-prints the env.
#
# Env: JAAS_E2E_CACHE (default ~/.cache/jaas-e2e), JAAS_S3_STATE ($CACHE/s3), JAAS_S3_PORT (7480),
# JAAS_S3_MON_PORT (6789), JAAS_S3_ACCESS_KEY, JAAS_S3_SECRET_KEY, JAAS_S3_BUCKET (jaas-e2e),
# JAAS_S3_REGION (us-east-1), JAAS_S3_MEM_BYTES (OSD capacity in RAM, 2 GiB).
# The cluster's data (monitor store, logs) lives on /dev/shm when it is writable, else in $STATE/data: the monitor
# stops itself when the filesystem under its store is nearly full, which a shared build disk can be.
set -euo pipefail

CACHE=${JAAS_E2E_CACHE:-$HOME/.cache/jaas-e2e}
STATE=${JAAS_S3_STATE:-$CACHE/s3}
S3_PORT=${JAAS_S3_PORT:-7480}
MON_PORT=${JAAS_S3_MON_PORT:-6789}
ACCESS_KEY=${JAAS_S3_ACCESS_KEY:-JAASE2EACCESSKEY0001}
SECRET_KEY=${JAAS_S3_SECRET_KEY:-jaas-e2e-secret-key-0001}
BUCKET=${JAAS_S3_BUCKET:-jaas-e2e}
REGION=${JAAS_S3_REGION:-us-east-1}
MEM_BYTES=${JAAS_S3_MEM_BYTES:-2147483648}
ENDPOINT=http://127.0.0.1:$S3_PORT
if [[ -d /dev/shm && -w /dev/shm ]]; then D=/dev/shm/jaas-e2e-s3-$S3_PORT; else D=$STATE/data; fi
PIDS=$STATE/pids
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

log() { echo "s3-start: $*" >&2; }
die() {
  log "$*"
  if [[ -d $D/log ]]; then tail -n 20 "$D"/log/*.out >&2 2>/dev/null || true; fi
  exit 1
}
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  # A fresh machine may have no package lists: on failure run `apt-get update` once, then retry.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 && return 0
  log "apt-get install $* failed; running apt-get update once and retrying"
  as_root apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
s3curl() {
  # SigV4 with curl; radosgw wants x-amz-content-sha256, which curl does not add by itself.
  curl -sS --max-time 10 --aws-sigv4 "aws:amz:$REGION:s3" --user "$ACCESS_KEY:$SECRET_KEY" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}
print_env() {
  printf 'export %s=%s\n' AWS_ACCESS_KEY_ID "$ACCESS_KEY" AWS_SECRET_ACCESS_KEY "$SECRET_KEY" \
    AWS_REGION "$REGION" JAAS_S3_ENDPOINT "$ENDPOINT" JAAS_S3_BUCKET "$BUCKET"
}

# Idempotence: every recorded pid alive and the bucket answering means it already runs.
if [[ -s $PIDS ]]; then
  alive=1
  while read -r pid _; do kill -0 "$pid" 2>/dev/null || alive=0; done <"$PIDS"
  if [[ $alive == 1 && $(s3curl -o /dev/null -w '%{http_code}' -I "$ENDPOINT/$BUCKET" || true) == 200 ]]; then
    log "already running at $ENDPOINT"
    print_env
    exit 0
  fi
  log "stale state in $STATE: stopping what it recorded first"
  JAAS_S3_STATE=$STATE bash "$HERE/s3-stop.sh" >&2
fi

started=$(date +%s)
missing=()
for prog in radosgw ceph-mon ceph-osd curl; do command -v "$prog" >/dev/null || missing+=("$prog"); done
if ((${#missing[@]})); then
  log "installing radosgw ceph-mon ceph-osd curl (missing: ${missing[*]})"
  apt_install radosgw ceph-mon ceph-osd curl
fi
for port in "$MON_PORT" "$S3_PORT"; do
  if port_busy "$port"; then die "port 127.0.0.1:$port is already in use"; fi
done

rm -rf "$D"
mkdir -p "$STATE"
echo "$D" >"$STATE/data-dir"  # for e2e/s3-stop.sh
mkdir -p "$D/mon.a" "$D/osd.0" "$D/rgw" "$D/run" "$D/log"
FSID=$(cat /proc/sys/kernel/random/uuid)
CONF=$D/ceph.conf
K=$D/keyring
cat >"$CONF" <<CONF
[global]
fsid = $FSID
mon host = v1:127.0.0.1:$MON_PORT
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr2 = false
keyring = $K
run dir = $D/run
admin socket = $D/run/\$name.asok
log file = $D/log/\$name.log
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon warn on insecure global id reclaim allowed = false
# the monitor stops itself when its disk is nearly full; this cluster holds nothing worth that
mon data avail warn = 1
mon data avail crit = 0
mon max pg per osd = 1000
osd crush chooseleaf type = 0
[mon]
mon data = $D/mon.\$id
[osd]
osd data = $D/osd.\$id
osd objectstore = memstore
memstore device bytes = $MEM_BYTES
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$S3_PORT
rgw data = $D/rgw
CONF
export CEPH_CONF=$CONF

# cephx on (with auth none the ceph CLI fails now and then): every key is made up front in one keyring, which
# `ceph-mon --mkfs` imports together with the caps.
ceph-authtool --create-keyring "$K" --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-authtool "$K" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' \
  --cap mds 'allow *' >/dev/null
ceph-authtool "$K" --gen-key -n osd.0 --cap mon 'allow profile osd' --cap osd 'allow *' \
  --cap mgr 'allow profile osd' >/dev/null
ceph-authtool "$K" --gen-key -n client.rgw.a --cap mon 'allow rw' --cap osd 'allow rwx' --cap mgr 'allow rw' >/dev/null
: >"$PIDS"

spawn() {  # spawn NAME PROGRAM ARGS...: a detached foreground daemon, recorded as "PID NAME PROGRAM"
  local name=$1
  shift
  setsid "$@" </dev/null >"$D/log/$name.out" 2>&1 &
  echo "$! $name $1" >>"$PIDS"
}
wait_for() {  # wait_for SECONDS WHAT CMD...
  local secs=$1 what=$2 i
  shift 2
  for ((i = 0; i < secs * 4; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.25
  done
  die "timed out after ${secs}s waiting for $what"
}

monmaptool --create --add a "v1:127.0.0.1:$MON_PORT" --fsid "$FSID" "$D/monmap" >/dev/null
ceph-mon --mkfs -i a --monmap "$D/monmap" --keyring "$K" >/dev/null 2>&1 || die "ceph-mon --mkfs failed"
spawn mon.a ceph-mon -i a -f
wait_for 30 "the monitor" ceph --connect-timeout 5 mon stat

OSD_UUID=$(cat /proc/sys/kernel/random/uuid)
OSD_ID=$(ceph --connect-timeout 5 osd new "$OSD_UUID")
[[ $OSD_ID == 0 ]] || die "expected OSD id 0, got '$OSD_ID'"
ceph-osd -i "$OSD_ID" --mkfs --osd-uuid "$OSD_UUID" >/dev/null 2>&1 || die "ceph-osd --mkfs failed"
spawn "osd.$OSD_ID" ceph-osd -i "$OSD_ID" -f
osd_up() { ceph --connect-timeout 5 osd dump 2>/dev/null | grep -q "^osd.$OSD_ID up "; }
wait_for 60 "the OSD" osd_up

spawn rgw.a radosgw -n client.rgw.a -f
wait_for 90 "radosgw on $ENDPOINT" curl -fsS --max-time 2 -o /dev/null "$ENDPOINT/"

radosgw-admin user create --uid=jaas --display-name="JaaS e2e" \
  --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null 2>"$D/log/user-create.err" \
  || die "radosgw-admin user create failed: $(cat "$D/log/user-create.err")"
code=$(s3curl -o "$D/log/bucket-create.out" -w '%{http_code}' -X PUT "$ENDPOINT/$BUCKET" || true)
[[ $code == 200 ]] || die "creating bucket $BUCKET: HTTP $code $(cat "$D/log/bucket-create.out" 2>/dev/null)"

print_env >"$STATE/env"
log "up in $(($(date +%s) - started))s at $ENDPOINT, bucket $BUCKET (pids: $PIDS, env: $STATE/env)"
print_env
