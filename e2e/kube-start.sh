#!/usr/bin/env bash
# kube-start.sh: starts a real Kubernetes 1.20 control plane for the e2e tests, on 127.0.0.1 only (no kubelet, no
# nodes, so Pods stay Pending): etcd, kube-apiserver (self-signed CA, token auth, Node,RBAC) and
# kube-controller-manager (namespaces, GC, ServiceAccounts, Deployments -> Pods). Builds the binaries if missing.
# Prints only `export KUBECONFIG=...` on stdout (logs on stderr); a second run while it is up just re-prints that.
# Env: JAAS_E2E_CACHE, JAAS_KUBE_STATE (default $CACHE/kube: kubeconfig, pids, data), JAAS_KUBE_API_PORT (6443),
# JAAS_KUBE_ETCD_PORT (2379), JAAS_KUBE_ETCD_PEER_PORT (2380), JAAS_KUBE_KCM_PORT (10257), JAAS_KUBE_ETCD_DIR.
set -euo pipefail
SCRIPT=kube-start
# shellcheck source-path=SCRIPTDIR source=env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

STATE=${JAAS_KUBE_STATE:-$CACHE/kube}
API_PORT=${JAAS_KUBE_API_PORT:-6443}
ETCD_PORT=${JAAS_KUBE_ETCD_PORT:-2379}
ETCD_PEER_PORT=${JAAS_KUBE_ETCD_PEER_PORT:-2380}
KCM_PORT=${JAAS_KUBE_KCM_PORT:-10257}
# etcd 3.4 fsyncs every write and has no --unsafe-no-fsync: on tmpfs the apiserver is several times faster.
if [[ -n ${JAAS_KUBE_ETCD_DIR:-} ]]; then
  ETCD_DIR=$JAAS_KUBE_ETCD_DIR
elif [[ -d /dev/shm && -w /dev/shm ]]; then
  ETCD_DIR=/dev/shm/jaas-e2e-etcd-$(id -u)-$ETCD_PORT
else
  ETCD_DIR=$STATE/etcd
fi
SERVER=https://127.0.0.1:$API_PORT
D=$STATE/data   # PKI, tokens, logs: deleted by kube-stop.sh
P=$D/pki
PIDS=$STATE/pids
KUBECONFIG_OUT=$STATE/kubeconfig

on_timeout() {  # called by wait_for: the end of each log says why
  local f
  for f in "$D"/log/*.log; do [[ -f $f ]] && { echo "--- $f" >&2; tail -n 15 "$f" >&2; }; done
}
api() { curl -sS --max-time 5 --cacert "$P/ca.crt" -H "Authorization: Bearer $(cat "$D/admin.token")" "$@"; }
api_ready() { [[ $(api "$SERVER/readyz" 2>/dev/null) == ok ]]; }

mkdir -p "$STATE"
# One start at a time per state dir (the daemons get the lock fd closed, so it is released when we exit).
exec 9>"$STATE/start.lock"
flock -w 300 9 || die "another kube-start.sh holds $STATE/start.lock"

if [[ -s $PIDS ]]; then
  if all_alive "$PIDS" && [[ -f $D/admin.kubeconfig ]] && api_ready; then
    log "already running at $SERVER"
    [[ -f $KUBECONFIG_OUT ]] || install -m 600 "$D/admin.kubeconfig" "$KUBECONFIG_OUT"
    echo "export KUBECONFIG=$KUBECONFIG_OUT"
    exit 0
  fi
  log "stale state in $STATE: stopping what it recorded"
  JAAS_KUBE_STATE=$STATE bash "$E2E_DIR/kube-stop.sh"
fi

start=$(date +%s)
[[ -x $BIN/kube-apiserver && -x $BIN/kube-controller-manager ]] || bash "$E2E_DIR/kube-apiserver-build.sh"
need=()
command -v etcd >/dev/null || need+=(etcd-server)
command -v openssl >/dev/null || need+=(openssl)
command -v curl >/dev/null || need+=(curl)
((${#need[@]} == 0)) || apt_install "${need[@]}"
for port in "$ETCD_PORT" "$ETCD_PEER_PORT" "$API_PORT" "$KCM_PORT"; do
  port_busy "$port" && die "port 127.0.0.1:$port is already in use (set JAAS_KUBE_*_PORT to use others)"
done

rm -rf "$D" "$ETCD_DIR"
mkdir -p "$P" "$D/log" "$ETCD_DIR"
chmod 700 "$D" "$ETCD_DIR"
echo "$ETCD_DIR" >"$STATE/etcd-dir" # kube-stop.sh deletes it
: >"$PIDS"

# --- PKI: a CA; the serving cert for 127.0.0.1, localhost and kubernetes.default.svc; the ServiceAccount key pair.
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=jaas-e2e-ca" \
  -keyout "$P/ca.key" -out "$P/ca.crt" 2>/dev/null
cat >"$P/serving.ext" <<EXT
basicConstraints=CA:FALSE
keyUsage=digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
EXT
openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" -keyout "$P/serving.key" -out "$P/serving.csr" 2>/dev/null
openssl x509 -req -in "$P/serving.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -CAcreateserial -days 30 \
  -extfile "$P/serving.ext" -out "$P/serving.crt" 2>/dev/null
openssl genrsa -out "$P/sa.key" 2048 2>/dev/null
openssl rsa -in "$P/sa.key" -pubout -out "$P/sa.pub" 2>/dev/null

# --- Static bearer tokens (token,user,uid,"groups"): an admin in system:masters and the controller-manager.
ADMIN_TOKEN=$(openssl rand -hex 24)
KCM_TOKEN=$(openssl rand -hex 24)
echo "$ADMIN_TOKEN" >"$D/admin.token"
cat >"$D/tokens.csv" <<TOKENS
$ADMIN_TOKEN,jaas-e2e-admin,jaas-e2e-admin,"system:masters"
$KCM_TOKEN,system:kube-controller-manager,system:kube-controller-manager,
TOKENS

write_kubeconfig() {  # write_kubeconfig USER TOKEN FILE
  cat >"$3" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: jaas-e2e
  cluster:
    server: $SERVER
    certificate-authority-data: $(base64 -w0 <"$P/ca.crt")
users:
- name: $1
  user:
    token: $2
contexts:
- name: jaas-e2e
  context:
    cluster: jaas-e2e
    user: $1
    namespace: default
current-context: jaas-e2e
KUBECONFIG
  chmod 600 "$3"
}
write_kubeconfig jaas-e2e-admin "$ADMIN_TOKEN" "$D/admin.kubeconfig"
write_kubeconfig system:kube-controller-manager "$KCM_TOKEN" "$D/kcm.kubeconfig"

# spawn NAME PROGRAM ARGS...: a foreground daemon in its own session, detached from our stdout (so `$(kube-start.sh)`
# returns) and from the lock; records `PID NAME PROGRAM` for kube-stop.sh.
spawn() {
  local name=$1
  shift
  setsid "$@" </dev/null >"$D/log/$name.log" 2>&1 9>&- &
  echo "$! $name $(basename "$1")" >>"$PIDS"
}

# --- etcd
log "starting etcd on 127.0.0.1:$ETCD_PORT (data in $ETCD_DIR)"
spawn etcd etcd --name jaas-e2e --data-dir "$ETCD_DIR" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "jaas-e2e=http://127.0.0.1:$ETCD_PEER_PORT" --initial-cluster-state new \
  --quota-backend-bytes 2147483648 --logger zap --log-level warn
etcd_healthy() { [[ $(curl -fsS --max-time 2 "http://127.0.0.1:$ETCD_PORT/health") == *'"health":"true"'* ]]; }
wait_for 30 "etcd /health" etcd_healthy

# --- kube-apiserver. The service CIDR is only an allocation range: nothing on this host routes to it.
# --endpoint-reconciler-type none: Endpoints may not hold a loopback address, so the `kubernetes` Service gets none
# (otherwise the apiserver logs "may not be in the loopback range" every 10 s).
log "starting kube-apiserver on $SERVER"
spawn kube-apiserver "$BIN/kube-apiserver" \
  --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
  --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$API_PORT" \
  --tls-cert-file "$P/serving.crt" --tls-private-key-file "$P/serving.key" --client-ca-file "$P/ca.crt" \
  --token-auth-file "$D/tokens.csv" --authorization-mode Node,RBAC \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$P/sa.pub" --service-account-signing-key-file "$P/sa.key" \
  --service-cluster-ip-range 10.0.0.0/24 --endpoint-reconciler-type none --allow-privileged=true --profiling=false --v=1
wait_for 90 "kube-apiserver /readyz" api_ready

# --- kube-controller-manager: each controller with its own ServiceAccount, as in real clusters. No insecure port,
# no leader election; the front-proxy authn flags are left out (they log a missing CA bundle in a loop).
log "starting kube-controller-manager on 127.0.0.1:$KCM_PORT"
spawn kube-controller-manager "$BIN/kube-controller-manager" \
  --kubeconfig "$D/kcm.kubeconfig" \
  --bind-address 127.0.0.1 --secure-port "$KCM_PORT" --port 0 --leader-elect=false \
  --use-service-account-credentials=true \
  --service-account-private-key-file "$P/sa.key" --root-ca-file "$P/ca.crt" --profiling=false --v=1
default_sa_exists() {
  [[ $(api -o /dev/null -w '%{http_code}' "$SERVER/api/v1/namespaces/default/serviceaccounts/default") == 200 ]]
}
wait_for 60 "kube-controller-manager (the default ServiceAccount)" default_sa_exists

install -m 600 "$D/admin.kubeconfig" "$KUBECONFIG_OUT"
log "up in $(($(date +%s) - start))s: $SERVER (pids in $PIDS, logs in $D/log)"
echo "export KUBECONFIG=$KUBECONFIG_OUT"
