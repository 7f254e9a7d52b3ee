#!/usr/bin/env bash
# bench-scale.sh: the controller at scale (issue 14), on 127.0.0.1 only: N JsonnetSnippets, all created before the
# controller starts, published by one `jaas run`, measured against the physical limit of the same API server.
#
# Builds the release `jaas`, `jaas-artifact-server` and the bare client e2e/examples/bare_writer.rs
# (BENCH_SKIP_BUILD=1 uses those already in the target dir), starts or reuses the real API server
# (e2e/kube-start.sh) and, for BENCH_BACKEND=s3, the real S3 (e2e/s3-start.sh), installs our CRDs and Flux's
# ExternalArtifact CRD (`jaas crdgen`, `--external-artifact`), then:
#   1. creates N snippets of BENCH_SHAPE in a fresh namespace, and N more in a second one (bare_writer create,
#      concurrently: kubectl applies one object at a time);
#   2. the physical limit: bare_writer publish does, for each snippet of the second namespace, the 4 writes the
#      controller does to publish one (finalizer, ExternalArtifact, its status, the snippet's status), with
#      BENCH_BARE_CONCURRENCY objects in flight, and reports objects/s;
#   3. starts jaas-artifact-server and the controller (watching the first namespace; BENCH_CONTROLLER_ARGS are added
#      to its flags), samples its RSS every 0.5 s, waits (one LIST, then a WATCH) until all N are Ready, fetches a
#      sample of BENCH_SAMPLE artifact URLs from the artifact server (sha256 must match the revision), idles
#      BENCH_IDLE s and reads the steady RSS;
#   4. the API requests of that whole window by verb and resource (apiserver_request_total of the API server's
#      /metrics, the script's own requests subtracted), the storage requests and renders (the controller's
#      /metrics: jaas_storage_operation_duration_seconds_count, jaas_render_duration_seconds_count);
#   5. BENCH_EDITS sequential edits of one snippet among the N: PATCH of an external variable -> the new
#      revision in its ExternalArtifact's status.artifact -> that URL fetched with the right sha256; p50 and p99.
# Prints every figure with its target beside it (issue 14: 10,000 tiny snippets all Ready <= 100 s from controller
# start, >= 0.5x the bare client's rate, peak RSS <= 256 MiB, steady <= 128 MiB, <= 5 API requests and 1 render per
# snippet; 1,000 app-sized snippets all Ready <= 30 s; edit p50 <= 0.5 s, p99 <= 2 s). Cleans up: deletes the
# snippets while the controller runs (it withdraws their artifacts), strips the finalizers left after a bounded
# wait, deletes both namespaces, stops what it started (the API server and S3 only if it started them).
#
# Env: BENCH_SNIPPETS (1000), BENCH_SHAPE (tiny: one ConfigMap; app: 5-20 objects from a shared JsonnetLibrary),
# BENCH_BACKEND (local or s3), BENCH_EDITS (100), BENCH_SAMPLE (20), BENCH_IDLE (20 s), BENCH_TIMEOUT (600 s: the
# bound of each wait), BENCH_BARE_CONCURRENCY (32), BENCH_SKIP_BARE=1 (no bare client, no ratio: for memory or
# latency reruns on a busy API server), BENCH_CLEANUP_WAIT (120 s), BENCH_CONTROLLER_ARGS (extra flags
# of `jaas run`, split on spaces), BENCH_SKIP_BUILD=1, CARGO_TARGET_DIR, and the overrides of e2e/kube-start.sh and
# e2e/s3-start.sh.
set -euo pipefail
SCRIPT=bench-scale
# shellcheck source-path=SCRIPTDIR source=env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
ROOT=$(cd "$E2E_DIR/.." && pwd)

N=${BENCH_SNIPPETS:-1000}
SHAPE=${BENCH_SHAPE:-tiny}
BACKEND=${BENCH_BACKEND:-local}
EDITS=${BENCH_EDITS:-100}
SAMPLE=${BENCH_SAMPLE:-20}
IDLE=${BENCH_IDLE:-20}
TIMEOUT=${BENCH_TIMEOUT:-600}
BARE_CONCURRENCY=${BENCH_BARE_CONCURRENCY:-32}
CLEANUP_WAIT=${BENCH_CLEANUP_WAIT:-120}
read -r -a EXTRA_ARGS <<<"${BENCH_CONTROLLER_ARGS:-}"
for pair in "BENCH_SNIPPETS=$N" "BENCH_EDITS=$EDITS" "BENCH_SAMPLE=$SAMPLE" "BENCH_IDLE=$IDLE" \
  "BENCH_TIMEOUT=$TIMEOUT" "BENCH_BARE_CONCURRENCY=$BARE_CONCURRENCY" "BENCH_CLEANUP_WAIT=$CLEANUP_WAIT"; do
  [[ ${pair#*=} =~ ^[0-9]+$ ]] || die "${pair%%=*} must be a number, not ${pair#*=}"
done
((N > 0)) || die "BENCH_SNIPPETS must be at least 1"
[[ $SHAPE == tiny || $SHAPE == app ]] || die "BENCH_SHAPE must be tiny or app, not $SHAPE"
[[ $BACKEND == local || $BACKEND == s3 ]] || die "BENCH_BACKEND must be local or s3, not $BACKEND"

STAMP=$(date +%s)
NS=jaas-bench-scale-$STAMP
BARE_NS=$NS-bare
WORK=$(mktemp -d /tmp/jaas-bench-scale.XXXXXX)
PIDS=$WORK/pids # `PID NAME PROGRAM` of each process this script started
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
JAAS=$TARGET/release/jaas
ARTIFACT_SERVER=$TARGET/release/jaas-artifact-server
BARE_WRITER=$TARGET/release/examples/bare_writer
KUBE_STATE=${JAAS_KUBE_STATE:-$CACHE/kube}
S3_STATE=${JAAS_S3_STATE:-$CACHE/s3}

# cleanup: deletes the snippets while the controller still runs (it withdraws their artifacts and releases their
# finalizers), waits for that at most BENCH_CLEANUP_WAIT s, stops what this script started, strips the finalizers
# still left, deletes both namespaces and the work directory, and stops the servers it started (when it started
# the API server, and S3 or the local backend is used, stopping them deletes everything: the rest is skipped).
cleanup() {
  set +e
  trap - EXIT INT TERM
  local left ns wiped=
  # An API server (and S3) this script started is stopped below, which deletes everything in it: no need to wait.
  [[ -f $WORK/started-kube && ($BACKEND == local || -f $WORK/started-s3) ]] && wiped=1
  if [[ -f $WORK/namespaces-created && -z $wiped ]]; then
    if [[ -n $(pid_of jaas) ]] && kill -0 "$(pid_of jaas)" 2>/dev/null; then
      log "cleanup: deleting the $N snippets while the controller withdraws them (at most ${CLEANUP_WAIT}s)"
      measure delete-all >/dev/null
      for ((i = 0; i < CLEANUP_WAIT; i++)); do
        left=$(measure count 2>/dev/null)
        [[ $left == 0 ]] && break
        sleep 1
      done
      log "cleanup: ${left:-?} snippets still held after the wait"
    fi
  fi
  if [[ -s $PIDS ]]; then
    tac "$PIDS" | while read -r pid name program; do stop_pid "$pid" "$program"; log "cleanup: stopped $name"; done
  fi
  if [[ -f $WORK/namespaces-created && -z $wiped ]]; then
    for ns in "$NS" "$BARE_NS"; do
      [[ -x $BARE_WRITER ]] && "$BARE_WRITER" unfinalize "$ns" 32 >/dev/null 2>&1
      k delete namespace "$ns" --wait=false >/dev/null 2>&1
    done
    log "cleanup: deleted namespaces $NS and $BARE_NS (the API server finishes that in the background)"
    [[ $BACKEND == s3 && ! -f $WORK/started-s3 ]] \
      && log "cleanup: artifacts the controller did not withdraw stay in the S3 bucket under bench-scale/$NS/"
  fi
  [[ -f $WORK/started-s3 ]] && bash "$E2E_DIR/s3-stop.sh"
  [[ -f $WORK/started-kube ]] && bash "$E2E_DIR/kube-stop.sh"
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# spawn NAME PROGRAM ARGS...: runs PROGRAM in the background, without the JAAS_* variables of our environment (only
# its flags and SPAWN_ENV configure it), its output in $WORK/NAME.log, recorded in $PIDS.
SPAWN_ENV=()
spawn() {
  local name=$1
  shift
  (
    for var in "${!JAAS_@}"; do unset "$var"; done
    for assignment in "${SPAWN_ENV[@]}"; do export "${assignment?}"; done
    export NO_COLOR=1
    exec "$@" </dev/null >"$WORK/$name.log" 2>&1
  ) &
  echo "$! $name $(basename "$1")" >>"$PIDS"
}
pid_of() { [[ -s $PIDS ]] && awk -v name="$1" '$2 == name { print $1 }' "$PIDS"; }
on_timeout() { tail -n 30 "$WORK"/*.log >&2; }
k() { "$KUBECTL" "$@" 2> >(grep -v 'version difference' >&2); } # kubectl 1.31 warns about the 1.20 server
ready_url() { [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1") == 200 ]]; }

# 1. Tools, the release builds, the API server (and S3), the CRDs, two fresh namespaces.
need_commands curl=curl python3=python3
bash "$E2E_DIR/helm-get.sh"
KUBECTL=$BIN/kubectl
if [[ ${BENCH_SKIP_BUILD:-0} == 1 ]]; then
  for binary in "$JAAS" "$ARTIFACT_SERVER" "$BARE_WRITER"; do
    [[ -x $binary ]] || die "BENCH_SKIP_BUILD=1 but $binary is missing: build it or drop BENCH_SKIP_BUILD"
  done
  log "using the existing release binaries in $TARGET"
else
  # Two invocations: building the example together with the binaries would unify its dev-dependencies' features
  # into theirs and rebuild them differently from every other release build of the workspace.
  log "cargo build --release of jaas, jaas-artifact-server, then the bare_writer example (~7 min cold)"
  (cd "$ROOT" && cargo build --release -p jaas-controller --bin jaas -p jaas-artifact-server \
    --bin jaas-artifact-server >&2 && cargo build --release -p jaas-e2e --example bare_writer >&2) \
    || die "the release build failed"
fi
all_alive "$KUBE_STATE/pids" || touch "$WORK/started-kube"
kube_env=$(bash "$E2E_DIR/kube-start.sh") # assigned first: `eval "$(failing)"` would hide the failure
eval "$kube_env"
export KUBECONFIG
KUBE_DATA=$KUBE_STATE/data
API_SERVER=$(k config view --minify -o jsonpath='{.clusters[0].cluster.server}')
if [[ $BACKEND == s3 ]]; then
  all_alive "$S3_STATE/pids" || touch "$WORK/started-s3"
  s3_env=$(bash "$E2E_DIR/s3-start.sh")
  eval "$s3_env"
fi
for selection in "" --external-artifact; do
  # shellcheck disable=SC2086 # an empty selection prints our own CRDs
  "$JAAS" crdgen $selection | k apply --server-side --force-conflicts --field-manager jaas-bench-scale -f - >/dev/null
done
k wait --for condition=established --timeout=60s crd/jsonnetsnippets.jaas.metio.wtf \
  crd/jsonnetlibraries.jaas.metio.wtf crd/externalartifacts.source.toolkit.fluxcd.io >/dev/null
touch "$WORK/namespaces-created" # from here on, cleanup deletes them
k create namespace "$NS" >/dev/null
k create namespace "$BARE_NS" >/dev/null

# The measuring side, in Python: the snippets' shapes, the API server's counters (parsed by
# e2e/apiserver_metrics.py, copied beside it to be imported), the waits, the edits, the report.
cp "$E2E_DIR/apiserver_metrics.py" "$WORK/"
cat >"$WORK/measure.py" <<'EOF'
"""bench-scale.sh's measuring side: objects, metrics, controller-metrics, sampler, wait-ready, sample-fetch, edits,
delete-all, count, report (see main)."""
import hashlib, io, json, os, queue, random, re, ssl, sys, tarfile, threading, time, urllib.error, urllib.request

from apiserver_metrics import is_jaas, request_totals

SERVER, CA, TOKEN_FILE, NS = (os.environ.get(k, "") for k in ("API_SERVER", "KUBE_CA", "KUBE_TOKEN", "NS"))
SNIPPETS = f"/apis/jaas.metio.wtf/v1/namespaces/{NS}/jsonnetsnippets"
ARTIFACTS = f"/apis/source.toolkit.fluxcd.io/v1/namespaces/{NS}/externalartifacts"

TINY = """{
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'tiny' },
  data: { value: std.extVar('value') },
}
"""
APP_MAIN = """local app = import 'app-lib/app.libsonnet';
app.objects(std.extVar('app'), std.extVar('objects'), std.extVar('value'))
"""
APP_LIB = """{
  labels(app):: { 'app.kubernetes.io/name': app, 'app.kubernetes.io/part-of': 'bench-scale' },
  meta(app, name):: { name: name, labels: $.labels(app) },
  deployment(app, value):: {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: $.meta(app, app),
    spec: {
      replicas: 2,
      selector: { matchLabels: $.labels(app) },
      template: {
        metadata: { labels: $.labels(app), annotations: { 'bench/value': value } },
        spec: {
          serviceAccountName: app,
          containers: [{
            name: 'app',
            image: 'registry.example/' + app + ':1.0.0',
            ports: [{ name: 'http', containerPort: 8080 }],
            envFrom: [{ configMapRef: { name: app + '-settings' } }],
            resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
            readinessProbe: { httpGet: { path: '/readyz', port: 'http' } },
          }],
        },
      },
    },
  },
  service(app):: {
    apiVersion: 'v1', kind: 'Service', metadata: $.meta(app, app),
    spec: { selector: $.labels(app), ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  },
  serviceAccount(app):: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: $.meta(app, app) },
  settings(app, value):: {
    apiVersion: 'v1', kind: 'ConfigMap', metadata: $.meta(app, app + '-settings'),
    data: { VALUE: value, LOG_LEVEL: 'info' },
  },
  extras(app):: [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: $.meta(app, app),
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: $.meta(app, app),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: app },
      subjects: [{ kind: 'ServiceAccount', name: app }],
    },
    {
      apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: $.meta(app, app),
      spec: { minAvailable: 1, selector: { matchLabels: $.labels(app) } },
    },
    {
      apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: $.meta(app, app),
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: app },
        minReplicas: 2, maxReplicas: 10,
        metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }],
      },
    },
    {
      apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: $.meta(app, app),
      spec: { podSelector: { matchLabels: $.labels(app) }, ingress: [{ ports: [{ port: 8080 }] }] },
    },
  ],
  // `count` objects (5 to 20): the Deployment, its Service, ServiceAccount and settings, then the extras, then
  // ConfigMaps.
  objects(app, count, value)::
    local base = [$.deployment(app, value), $.service(app), $.serviceAccount(app), $.settings(app, value)];
    local extras = $.extras(app);
    base + [
      if n < std.length(extras) then extras[n]
      else {
        apiVersion: 'v1', kind: 'ConfigMap', metadata: $.meta(app, app + '-config-' + n),
        data: { ['key-' + k]: 'value ' + k for k in std.range(0, 9) },
      }
      for n in std.range(0, count - std.length(base) - 1)
    ],
}
"""


def snippet_name(index):
    return f"s-{index:05d}"


def external_variables(shape, index, value):
    """The snippet's spec.externalVariables; `value` is what an edit changes."""
    if shape == "tiny":
        return [{"name": "value", "value": value}]
    return [{"name": "app", "value": snippet_name(index)},
            {"name": "objects", "value": str(5 + index % 16), "code": True},
            {"name": "value", "value": value}]


def objects(namespace, shape, n):
    """The JSON lines bare_writer creates: the library the app shape imports, then n snippets."""
    if shape == "app":
        yield {"apiVersion": "jaas.metio.wtf/v1", "kind": "JsonnetLibrary",
               "metadata": {"name": "app-lib", "namespace": namespace},
               "spec": {"files": {"app.libsonnet": APP_LIB}}}
    for index in range(n):
        name = snippet_name(index)
        spec = {"externalVariables": external_variables(shape, index, name),
                "files": {"main.jsonnet": TINY if shape == "tiny" else APP_MAIN}}
        if shape == "app":
            spec["libraries"] = ["app-lib"]
        yield {"apiVersion": "jaas.metio.wtf/v1", "kind": "JsonnetSnippet",
               "metadata": {"name": name, "namespace": namespace}, "spec": spec}


CONTEXT = None
OWN = {}  # the requests this process made on JaaS's resources, keyed as metrics() keys them


def api(path, method="GET", body=None, timeout=60):
    """One request to the API server as the admin (a body is a JSON merge patch); the open answer."""
    global CONTEXT
    CONTEXT = CONTEXT or ssl.create_default_context(cafile=CA)
    request = urllib.request.Request(SERVER + path, method=method, data=body)
    request.add_header("Authorization", f"Bearer {open(TOKEN_FILE).read().strip()}")
    if body is not None:
        request.add_header("Content-Type", "application/merge-patch+json")
    return urllib.request.urlopen(request, context=CONTEXT, timeout=timeout)


def call(path, method="GET", body=None, own=None):
    """One request; its answer's body. `own`: "VERB resource group", counted as the script's own."""
    if own:
        OWN[own] = OWN.get(own, 0) + 1
    with api(path, method, body) as answer:
        return answer.read()


def ready(snippet):
    conditions = snippet.get("status", {}).get("conditions", [])
    return bool(snippet.get("status", {}).get("revision")) and any(
        c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def metrics():
    """The API server's request counters now (apiserver_metrics.request_totals)."""
    return request_totals(call("/metrics").decode())


def controller_metrics(url):
    """The controller's counters that matter here, from its /metrics."""
    text = urllib.request.urlopen(url, timeout=10).read().decode()
    values = {"renders": 0.0, "storage": {}, "reconciles": {}, "kube": {}}
    for line in text.splitlines():
        if line.startswith("#") or " " not in line:
            continue
        series, value = line.rsplit(" ", 1)
        labels = dict(re.findall(r'(\w+)="([^"]*)"', series))
        if series.startswith("jaas_render_duration_seconds_count"):
            values["renders"] += float(value)
        elif series.startswith("jaas_storage_operation_duration_seconds_count"):
            values["storage"][labels.get("op", "?")] = float(value)
        elif series.startswith("jaas_kube_requests_total"):
            values["kube"][f"{labels.get('verb')} {labels.get('resource')}"] = float(value)
        elif series.startswith("jaas_reconciles_total"):
            key = f"{labels.get('result')}/{labels.get('reason')}"
            values["reconciles"][key] = float(value)
    return values


def sampler(pid, out, stop_file, max_seconds):
    """Every 0.5 s: the controller's VmRSS and VmHWM, and its children's (eval workers') RSS summed, as
    `seconds rss_kib hwm_kib children_kib children` lines, until the process ends, stop_file appears, or
    max_seconds passed."""
    start = time.monotonic()
    with open(out, "w") as sink:
        while time.monotonic() - start < max_seconds and not os.path.exists(stop_file):
            try:
                status = open(f"/proc/{pid}/status").read()
            except OSError:
                return
            field = lambda name: int(re.search(rf"^{name}:\s+(\d+)", status, re.M).group(1))
            children = kib = 0
            for entry in filter(str.isdigit, os.listdir("/proc")):
                try:
                    if int(open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()[1]) != pid:
                        continue
                    kib += next((int(line.split()[1]) for line in open(f"/proc/{entry}/status")
                                 if line.startswith("VmRSS:")), 0)
                    children += 1
                except (OSError, IndexError, ValueError):
                    continue  # it ended meanwhile
            sink.write(f"{time.monotonic() - start:.1f} {field('VmRSS')} {field('VmHWM')} {kib} {children}\n")
            sink.flush()
            time.sleep(0.5)


def follow(path, version, left, observe, finished):
    """Watches `path` from resourceVersion `version` for at most `left` s, handing each object to `observe` until
    `finished()`: the last resourceVersion seen, or None when the API server wants a new list (410 Gone)."""
    query = f"{'&' if '?' in path else '?'}watch=1&resourceVersion={version}&timeoutSeconds={max(1, int(left))}"
    with api(path + query, timeout=left + 10) as stream:
        for line in stream:
            event = json.loads(line)
            if event["type"] == "ERROR":
                return None
            version = event["object"]["metadata"]["resourceVersion"]
            observe(event["object"])
            if finished():
                break
    return version


def wait_ready(n, timeout, start, controller):
    """Lists the snippets once, then watches them until n are Ready with a revision; when each first was (seconds
    since the epoch time `start`, as its watch event arrives). Exits naming a snippet still waiting after timeout,
    or when the controller's process is gone."""
    state, done, version = {}, {}, None

    def observe(snippet):
        name = snippet["metadata"]["name"]
        state[name] = snippet
        if name not in done and ready(snippet):
            done[name] = time.time() - start

    while len(done) < n and (left := timeout - (time.time() - start)) > 0:
        if version is None:
            listing = json.loads(call(SNIPPETS, own="LIST jsonnetsnippets jaas.metio.wtf"))
            for snippet in listing["items"]:
                observe(snippet)
            version = listing["metadata"]["resourceVersion"]
        else:
            if not os.path.exists(f"/proc/{controller}"):
                sys.exit(f"bench-scale: the controller (pid {controller}) exited with {len(done)} of {n} Ready")
            OWN["WATCH jsonnetsnippets jaas.metio.wtf"] = OWN.get("WATCH jsonnetsnippets jaas.metio.wtf", 0) + 1
            version = follow(SNIPPETS, version, min(left, 30), observe, lambda: len(done) >= n)
    if len(done) < n:
        waiting = [s.get("status") for name, s in state.items() if name not in done]
        sys.exit(f"bench-scale: after {timeout:.0f} s, {len(done)} of {n} snippets Ready; one still waiting: "
                 f"{json.dumps(waiting[:1])}")
    times = sorted(done.values())
    return {"first": times[0], "median": times[len(times) // 2], "last": times[-1], "own": OWN}


def fetch(url, digest, timeout=10):
    """GETs url until it answers 200 (at most timeout s); the body's sha256 must be digest. Returns the body."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            body = urllib.request.urlopen(url, timeout=10).read()
            break
        except urllib.error.HTTPError as error:
            if error.code != 404 or time.monotonic() > deadline:
                raise
            time.sleep(0.02)
    got = "sha256:" + hashlib.sha256(body).hexdigest()
    if got != digest:
        sys.exit(f"bench-scale: {url} served {got}, its status says {digest}")
    return body


def sample_fetch(count):
    """Lists the snippets once and fetches `count` of their artifacts (random ones) from the artifact server, each
    checked against its revision; counts the objects in each tarball's YAML."""
    items = json.loads(call(SNIPPETS, own="LIST jsonnetsnippets jaas.metio.wtf"))["items"]
    picked = random.sample(items, min(count, len(items)))
    objects = []
    for snippet in picked:
        status = snippet["status"]
        body = fetch(status["artifactURL"], status["revision"])
        with tarfile.open(fileobj=io.BytesIO(body)) as tar:
            yaml = [tar.extractfile(m).read() for m in tar.getmembers() if m.isfile() and m.name.endswith(".yaml")]
        objects.append(sum(len(re.findall(rb"^kind: ", text, re.M)) for text in yaml))
    return {"checked": len(picked), "objects_min": min(objects), "objects_max": max(objects), "own": OWN}


def edits(index, count, timeout, shape):
    """`count` sequential edits of snippet `index` (a new external variable value each): the seconds from the
    PATCH until its ExternalArtifact's status.artifact names a new revision (published), and until that URL
    served the new tarball (fetchable)."""
    name = snippet_name(index)
    path = f"{ARTIFACTS}?fieldSelector=metadata.name%3D{name}"

    def listing():
        """The ExternalArtifact and the list's resourceVersion: a watch must start from the collection's version,
        not the object's, which may be older than the API server's watch window (410 Gone at every retry)."""
        answer = json.loads(call(path))
        return answer["items"][0], answer["metadata"]["resourceVersion"]

    artifact, start_version = listing()
    current = artifact["status"]["artifact"]["revision"]
    events, stop = queue.Queue(), threading.Event()

    def watch(version):
        while not stop.is_set():
            try:
                version = follow(path, version, 300, lambda ea: events.put(
                    (time.monotonic(), ea.get("status", {}).get("artifact") or {})), stop.is_set)
            except OSError:
                version = None
            if version is None:
                relisted, version = listing()
                events.put((time.monotonic(), relisted.get("status", {}).get("artifact") or {}))

    threading.Thread(target=watch, args=(start_version,), daemon=True).start()
    published, fetchable = [], []
    for edit in range(count):
        body = json.dumps({"spec": {"externalVariables": external_variables(
            shape, index, f"edit-{edit}-{random.randrange(1 << 30)}")}}).encode()
        start = time.monotonic()
        call(f"{SNIPPETS}/{name}", "PATCH", body)
        deadline = start + timeout
        while True:
            try:
                seen, new = events.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                sys.exit(f"bench-scale: edit {edit} of {name}: no new revision after {timeout} s")
            if new.get("revision") and new["revision"] != current:
                break
        published.append(seen - start)
        fetch(new["url"], new["digest"])
        fetchable.append(time.monotonic() - start)
        current = new["revision"]
    stop.set()
    return {"snippet": name, "published": published, "fetchable": fetchable}


def count_left():
    listing = json.loads(call(SNIPPETS + "?limit=1"))
    return len(listing["items"]) + (listing["metadata"].get("remainingItemCount") or 0)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, -(-len(ordered) * p // 100) - 1))]


def report(config):
    """Prints the figures with their targets, then the API requests by verb and resource."""
    load = lambda name: json.load(open(os.path.join(config["work"], name)))
    n, shape = config["n"], config["shape"]
    bare, wait, sample, edit = load("bare.json"), load("ready.json"), load("sample.json"), load("edits.json")
    before, after = load("api-before.json"), load("api-after.json")
    counters = load("controller-metrics.json")
    own = {}
    for part in (wait["own"], sample["own"]):
        for key, value in part.items():
            own[key] = max(own.get(key, 0), value)  # each command counts from zero, in its own process
    samples = [list(map(float, line.split())) for line in open(os.path.join(config["work"], "rss.samples"))
               if line.strip()]
    peak_rss = max((s[1] for s in samples), default=0) / 1024
    peak_children = max((s[3] for s in samples), default=0) / 1024
    most_children = int(max((s[4] for s in samples), default=0))
    hwm, hwm_end, steady = config["hwm_kib"] / 1024, config["hwm_end_kib"] / 1024, config["steady_kib"] / 1024
    rate = n / wait["last"]
    ratio = rate / bare["objects_per_second"] if bare else None

    rows, others, per_verb = [], [], {}
    for key in sorted(set(after) | set(before)):
        counted = after.get(key, 0) - before.get(key, 0)
        ours = counted - min(own.get(key, 0), counted)
        if not ours:
            continue
        verb, resource, group = key.split()
        if not is_jaas(key):
            others.append(f"{verb} {resource} {ours:.0f}")
            continue
        rows.append((verb, resource if group == "core" else f"{resource} ({group})", ours))
        per_verb[verb] = per_verb.get(verb, 0) + ours / n
    per_snippet = sum(per_verb.values())
    verbs = ", ".join(f"{verb} {count:.2f}" for verb, count in sorted(per_verb.items()))
    # The controller's own count (jaas_kube_requests_total): the API server's counters also hold other clients'
    # requests on the same resources (kube-controller-manager's garbage collector GETs every new object with an
    # owner, at its 20 requests/s).
    own_verbs = {}
    for key, count in counters["kube"].items():
        own_verbs[key.split()[0]] = own_verbs.get(key.split()[0], 0) + count
    own_total = sum(own_verbs.values())
    own_startup = own_verbs.get("LIST", 0) + own_verbs.get("WATCH", 0)
    own_breakdown = ", ".join(f"{verb} {count / n:.2f}" for verb, count in sorted(own_verbs.items()))
    storage = counters["storage"]
    storage_total = sum(storage.values()) / n
    storage_ops = ", ".join(f"{op} {count / n:.2f}" for op, count in sorted(storage.items()))
    renders = counters["renders"] / n
    reconciles = sum(counters["reconciles"].values()) / n
    p50, p99 = percentile(edit["fetchable"], 50), percentile(edit["fetchable"], 99)
    pub50, pub99 = percentile(edit["published"], 50), percentile(edit["published"], 99)
    ready_target = (100, "<= 100 s (10,000 tiny)") if shape == "tiny" else (30, "<= 30 s (1,000 app)")
    met = lambda ok: "yes" if ok else "**no**"

    print(f"\nbench-scale: {n} {shape} snippets (objects per artifact in the sample: {sample['objects_min']}-"
          f"{sample['objects_max']}), {config['backend']} backend, {config['cpus']} CPUs, load average "
          f"{config['load']} after the bare client / at the end; controller flags added: {config['extra'] or 'none'}")
    print("| figure | value | target | met |\n|---|---|---|---|")
    print(f"| controller start -> all {n} Ready (first / median / last snippet) | {wait['first']:.1f} / "
          f"{wait['median']:.1f} / **{wait['last']:.1f} s** | {ready_target[1]} | {met(wait['last'] <= ready_target[0])} |")
    print(f"| artifacts fetched from jaas-artifact-server, sha256 checked | {sample['checked']} of {n} | all | yes |")
    print(f"| controller throughput | {rate:.1f} snippets/s | | |")
    if bare:
        print(f"| bare client: the 4 writes per object, {bare['concurrency']} objects in flight | "
              f"{bare['objects_per_second']:.1f} objects/s ({bare['writes_per_second']:.0f} writes/s) | | |")
        print(f"| **controller / bare client** | **{ratio:.2f}x** | >= 0.5x | {met(ratio >= 0.5)} |")
    else:
        print("| controller / bare client | not measured (BENCH_SKIP_BARE=1) | >= 0.5x | |")
    print(f"| controller peak RSS (VmHWM, all Ready + {config['idle']} s idle) | {hwm:.1f} MiB | <= 256 MiB | "
          f"{met(hwm <= 256)} |")
    print(f"| controller steady RSS (VmRSS after {config['idle']} s idle) | {steady:.1f} MiB | <= 128 MiB | "
          f"{met(steady <= 128)} |")
    print(f"| most RSS sampled (0.5 s) / VmHWM after the edits | {peak_rss:.1f} / {hwm_end:.1f} MiB | | |")
    print(f"| eval workers: most at once, their RSS summed at most | {most_children}, {peak_children:.1f} MiB | | |")
    # The controller LISTs and WATCHes only to start its caches (a few per watched kind, whatever N is; GETs by
    # name are counted as GET): a cost per controller start, not per snippet published.
    per_published = (own_total - own_startup) / n
    print(f"| API requests per snippet published, the controller's own count ({own_breakdown}) | "
          f"**{per_published:.2f}** + {own_startup:.0f} LISTs and WATCHes at start in all | <= 5 | "
          f"{met(round(per_published, 2) <= 5)} |")
    print(f"| requests on JaaS's resources per snippet as the API server counted them, all clients ({verbs}) | "
          f"{per_snippet:.2f} | | |")
    print(f"| storage requests per snippet ({storage_ops or 'none'}) | {storage_total:.2f} | | |")
    print(f"| renders per snippet | {renders:.2f} | 1 | {met(abs(renders - 1) < 0.005)} |")
    print(f"| reconciles per snippet | {reconciles:.2f} | | |")
    print(f"| edit -> new artifact fetchable, p50 ({len(edit['fetchable'])} edits of {edit['snippet']}) | "
          f"{p50:.3f} s | <= 0.5 s | {met(p50 <= 0.5)} |")
    print(f"| edit -> new artifact fetchable, p99 | {p99:.3f} s | <= 2 s | {met(p99 <= 2)} |")
    print(f"| edit -> new status.artifact published, p50 / p99 | {pub50:.3f} / {pub99:.3f} s | | |")
    print(f"\nAPI requests on JaaS's resources from controller start to {config['idle']} s after all were Ready "
          f"(the script's own {sum(own.values()):.0f} subtracted):")
    print("| verb | resource | requests | per snippet |\n|---|---|---|---|")
    for verb, resource, count in rows:
        print(f"| {verb} | {resource} | {count:.0f} | {count / n:.2f} |")
    print("(A 1.20 API server counts the GET of one custom resource as LIST: it has no GET series for custom "
          "resources. So LIST rows of custom resources are mostly GETs by name.)")
    print(f"Other requests in that window (kube-controller-manager, the API server): {', '.join(others) or 'none'}")
    print("The controller's own requests (jaas_kube_requests_total) in the same window: " +
          ", ".join(f"{key} {count:.0f}" for key, count in sorted(counters["kube"].items())))
    print(f"Reconciles by result/reason: {json.dumps(counters['reconciles'])}")


def main():
    command, args = sys.argv[1], sys.argv[2:]
    if command == "objects":  # NAMESPACE SHAPE N: JSON lines on stdout
        for item in objects(args[0], args[1], int(args[2])):
            print(json.dumps(item))
    elif command == "metrics":
        print(json.dumps(metrics()))
    elif command == "controller-metrics":  # URL
        print(json.dumps(controller_metrics(args[0])))
    elif command == "sampler":  # PID OUT STOP_FILE MAX_SECONDS
        sampler(int(args[0]), args[1], args[2], float(args[3]))
    elif command == "wait-ready":  # N TIMEOUT START_EPOCH CONTROLLER_PID
        print(json.dumps(wait_ready(int(args[0]), float(args[1]), float(args[2]), int(args[3]))))
    elif command == "sample-fetch":  # COUNT
        print(json.dumps(sample_fetch(int(args[0]))))
    elif command == "edits":  # INDEX COUNT TIMEOUT SHAPE
        print(json.dumps(edits(int(args[0]), int(args[1]), float(args[2]), args[3])))
    elif command == "delete-all":  # one DELETE of the collection: the API server marks them all deleted
        try:
            with api(SNIPPETS, "DELETE", timeout=300) as answer:
                answer.read()
        except urllib.error.HTTPError as error:  # 504: its 60 s request timeout; the deletion goes on meanwhile
            print(f"bench-scale: DELETE of all snippets answered {error.code}; waiting for them anyway",
                  file=sys.stderr)
    elif command == "count":
        print(count_left())
    elif command == "report":  # WORK SHAPE BACKEND N IDLE HWM_KIB HWM_END_KIB STEADY_KIB CPUS LOAD EXTRA_FLAGS
        names = ("work", "shape", "backend", "n", "idle", "hwm_kib", "hwm_end_kib", "steady_kib", "cpus", "load",
                 "extra")
        config = dict(zip(names, args))
        for name in ("n", "idle", "hwm_kib", "hwm_end_kib", "steady_kib"):
            config[name] = int(config[name])
        report(config)
    else:
        sys.exit(f"measure.py: unknown command {command}")


main()
EOF
measure() {
  API_SERVER=$API_SERVER KUBE_CA=$KUBE_DATA/pki/ca.crt KUBE_TOKEN=$KUBE_DATA/admin.token NS=$NS \
    python3 "$WORK/measure.py" "$@"
}

# cpu_snapshot FILE [CONTROLLER_PID]: the CPU ticks so far of the machine (all but idle and iowait), of the API
# server, etcd and, when given, the controller (its own and its exited children's), one `NAME TICKS` per line.
cpu_snapshot() {
  {
    awk '$1 == "cpu" { print "machine", $2 + $3 + $4 + $7 + $8 + $9; print "all", $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat
    local pid name program
    while read -r pid name program; do
      [[ $name == kube-apiserver || $name == etcd ]] && awk -v name="$name" '{ print name, $14 + $15 + $16 + $17 }' "/proc/$pid/stat"
    done <"$KUBE_STATE/pids"
    [[ -n ${2:-} ]] && awk '{ print "jaas", $14 + $15 + $16 + $17 }' "/proc/$2/stat"
  } >"$1" 2>/dev/null
  true
}

# cpu_split WHAT BEFORE AFTER: one line with where the machine's CPU went between two snapshots, as shares of all of
# it (every core): the profile that says what bounds a phase.
cpu_split() {
  awk -v what="$1" 'FNR == NR { before[$1] = $2; next } { delta[$1] = $2 - before[$1] }
    END {
      line = sprintf("CPU %s, shares of the whole machine (%d cores): busy %.0f%%", what, cores, 100 * delta["machine"] / delta["all"])
      split("kube-apiserver etcd jaas", names, " ")
      for (i = 1; i <= 3; i++) if (names[i] in delta) line = line sprintf(", %s %.0f%%", names[i], 100 * delta[names[i]] / delta["all"])
      print line
    }' cores="$(nproc)" "$2" "$3"
}

# 2. The snippets: N in each namespace, created concurrently (for the app shape, the library first among them).
CREATE_IN=("$NS")
[[ ${BENCH_SKIP_BARE:-0} == 1 ]] || CREATE_IN+=("$BARE_NS")
for ns in "${CREATE_IN[@]}"; do
  measure objects "$ns" "$SHAPE" "$N" >"$WORK/$ns.jsonl"
  "$BARE_WRITER" create "$WORK/$ns.jsonl" "$BARE_CONCURRENCY" >"$WORK/created-$ns.json" \
    || die "bare_writer could not create the snippets of $ns"
done
log "created $N $SHAPE snippets in ${CREATE_IN[*]}"

# 3. The physical limit: the controller's 4 writes per snippet by a bare client, on the second namespace.
if [[ ${BENCH_SKIP_BARE:-0} == 1 ]]; then
  echo null >"$WORK/bare.json" # memory- or latency-only reruns: no ratio
else
  cpu_snapshot "$WORK/cpu-bare-before"
  "$BARE_WRITER" publish "$BARE_NS" "$BARE_CONCURRENCY" >"$WORK/bare.json" || die "bare_writer publish failed"
  cpu_snapshot "$WORK/cpu-bare-after"
fi
BARE_LOAD=$(cut -d' ' -f1 /proc/loadavg)
sleep 2 # the API server's own follow-up work (watch fan-out, garbage collector graph) settles

# 4. The artifact server, then the controller, measured from its start until all are Ready plus BENCH_IDLE s.
case $BACKEND in
  local) STORAGE=(--storage-backend local --storage-path "$WORK/artifacts") ;;
  s3)
    STORAGE=(--storage-backend s3 --s3-endpoint "$JAAS_S3_ENDPOINT" --s3-bucket "$JAAS_S3_BUCKET"
      --s3-prefix "bench-scale/$NS" --s3-region "${AWS_REGION:-us-east-1}" --s3-use-ssl=false)
    SPAWN_ENV=("JAAS_S3_ACCESS_KEY=$AWS_ACCESS_KEY_ID" "JAAS_S3_SECRET_KEY=$AWS_SECRET_ACCESS_KEY")
    ;;
esac
mkdir -p "$WORK/artifacts"
ARTIFACT_PORT=$(free_port)
ARTIFACT_METRICS=$(free_port)
spawn artifact-server "$ARTIFACT_SERVER" --storage-listen-address 127.0.0.1 --storage-port "$ARTIFACT_PORT" \
  --metrics-bind-address "127.0.0.1:$ARTIFACT_METRICS" --log-format text "${STORAGE[@]}"
wait_for 30 "the artifact server's /readyz" ready_url "http://127.0.0.1:$ARTIFACT_METRICS/readyz"
CONTROLLER_METRICS=$(free_port)
measure metrics >"$WORK/api-before.json"
start=$(date +%s.%N)
spawn jaas "$JAAS" run --storage-base-url "http://127.0.0.1:$ARTIFACT_PORT" --leader-election=false \
  --watch-namespaces "$NS" --metrics-bind-address "127.0.0.1:$CONTROLLER_METRICS" --log-format text \
  "${STORAGE[@]}" "${EXTRA_ARGS[@]}"
CONTROLLER=$(pid_of jaas)
cpu_snapshot "$WORK/cpu-before" "$CONTROLLER"
# The interpreter's binary rather than a pyenv shim, so that the recorded program is the process's name (stop_pid).
PYTHON=$(realpath "$(python3 -c 'import sys; print(sys.executable)')")
spawn sampler "$PYTHON" "$WORK/measure.py" sampler "$CONTROLLER" "$WORK/rss.samples" "$WORK/stop-sampler" \
  "$((3 * TIMEOUT + IDLE + 60))"
log "controller started (pid $CONTROLLER); waiting for all $N snippets to be Ready (at most ${TIMEOUT}s)"
measure wait-ready "$N" "$TIMEOUT" "$start" "$CONTROLLER" >"$WORK/ready.json" || { on_timeout; die "not all $N became Ready"; }
cpu_snapshot "$WORK/cpu-ready" "$CONTROLLER"
log "all $N Ready after $(python3 -c 'import json, sys; print(round(json.load(open(sys.argv[1]))["last"], 1))' \
  "$WORK/ready.json") s; fetching $SAMPLE artifacts, then idling ${IDLE}s"
measure sample-fetch "$SAMPLE" >"$WORK/sample.json" || die "the sampled artifacts are not all fetchable"
sleep "$IDLE"
kill -0 "$CONTROLLER" 2>/dev/null || { on_timeout; die "the controller exited while idle"; }
measure metrics >"$WORK/api-after.json"
measure controller-metrics "http://127.0.0.1:$CONTROLLER_METRICS/metrics" >"$WORK/controller-metrics.json"
kib() { awk -v field="$1:" '$1 == field { print $2 }' "/proc/$CONTROLLER/status"; }
hwm_kib=$(kib VmHWM)
steady_kib=$(kib VmRSS)

# 5. Edits of one snippet among the N.
log "$EDITS sequential edits of $(printf 's-%05d' $((N / 2)))"
measure edits "$((N / 2))" "$EDITS" 30 "$SHAPE" >"$WORK/edits.json" || { on_timeout; die "the edits failed"; }
kill -0 "$CONTROLLER" 2>/dev/null || { on_timeout; die "the controller exited during the edits"; }
hwm_end_kib=$(kib VmHWM)
touch "$WORK/stop-sampler"

# 6. The figures.
measure report "$WORK" "$SHAPE" "$BACKEND" "$N" "$IDLE" "$hwm_kib" "$hwm_end_kib" "$steady_kib" "$(nproc)" \
  "$BARE_LOAD / $(cut -d' ' -f1 /proc/loadavg)" "${BENCH_CONTROLLER_ARGS:-}"
[[ -f $WORK/cpu-bare-after ]] && cpu_split "while the bare client wrote" "$WORK/cpu-bare-before" "$WORK/cpu-bare-after"
cpu_split "from controller start to all Ready" "$WORK/cpu-before" "$WORK/cpu-ready"
