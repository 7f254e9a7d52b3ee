#!/usr/bin/env bash
# bench-sources.sh: a new Flux source revision for N snippets (issue 12, benchmark 2), on 127.0.0.1 only.
#
# Builds a RELEASE `jaas` (cargo build --release -p jaas-controller; JAAS=path skips the build), starts the real
# Kubernetes API server (e2e/kube-start.sh; left running afterwards, since it is shared: e2e/kube-stop.sh stops it),
# installs our CRDs and Flux's (`jaas crdgen`, `--external-artifact`, `--flux-sources`), and plays source-controller
# itself: a jb-shaped tree (render/tests/jb_tree/fixture.rs at its small scale, a few hundred files, plus an entry
# file rendering 12 objects per application) packed as a tarball and served by python3's http.server, and a
# GitRepository whose status.artifact points at it with source-controller's in-cluster URL, which the controller
# reaches through --source-controller-localhost. One `jaas run` (local storage backend, no leader election) renders
# N JsonnetSnippets sourcing that GitRepository. Once all are Ready, "a new commit" lands: a new tarball and a
# status update. Measured from that status update:
#   - the time until all N snippets show a new status.revision (and the first, median and p90 snippet), as the
#     snippets' watch events arrive;
#   - the downloads of the new tarball (http.server's log);
#   - the API requests by verb and resource (apiserver_request_total of the API server's /metrics, read with the
#     admin token), the script's own requests subtracted, next to an idle window of the same length, per snippet;
#   - the controller's peak RSS (VmHWM), and the most eval-worker processes seen at once.
# The named baseline, in the same run: `jaas render` of the same N applications from the same tree, one process
# each, as many at once as there are cores (the controller's default --max-concurrent-evals): the rendering alone,
# without fetching, publishing or API traffic. Last, it checks that every ExternalArtifact names the new source
# revision and the GitRepository in its status.artifact.metadata.
#
# Env: BENCH_SNIPPETS (100), BENCH_TIMEOUT (600: seconds, the bound of each wait), JAAS, CARGO_TARGET_DIR, and the
# overrides of e2e/kube-start.sh.
set -euo pipefail
SCRIPT=bench-sources
# shellcheck source-path=SCRIPTDIR source=env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

N=${BENCH_SNIPPETS:-100}
TIMEOUT=${BENCH_TIMEOUT:-600}
[[ $N =~ ^[1-9][0-9]*$ ]] || die "BENCH_SNIPPETS must be a positive number, not $N"
NS=jaas-bench-sources-$(date +%s)
SOURCE=apps # the GitRepository's name
SOURCE_PATH=gitrepository/$NS/$SOURCE
WORK=$(mktemp -d /tmp/jaas-bench-sources.XXXXXX)
TREE=$WORK/tree
WWW=$WORK/www # what the stand-in source-controller serves
PIDS=$WORK/pids # `PID NAME PROGRAM` of each process this script started

# cleanup: deletes the snippets while the controller still runs (it releases their finalizers), stops what this
# script started, drops any finalizer still left, deletes the namespace and the work directory.
cleanup() {
  set +e
  local snippet
  if [[ -f $WORK/namespace-created ]]; then
    k delete jsonnetsnippets --all -n "$NS" --timeout=60s >/dev/null 2>&1
  fi
  if [[ -s $PIDS ]]; then
    tac "$PIDS" | while read -r pid _name program; do stop_pid "$pid" "$program"; done
  fi
  if [[ -f $WORK/namespace-created ]]; then
    for snippet in $(k get jsonnetsnippets -n "$NS" -o name 2>/dev/null); do
      k patch -n "$NS" "$snippet" --type merge -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1
    done
    k delete namespace "$NS" --wait=false >/dev/null 2>&1
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# spawn NAME PROGRAM ARGS...: runs PROGRAM in the background, its output in $WORK/NAME.log, recorded in $PIDS.
spawn() {
  local name=$1
  shift
  NO_COLOR=1 "$@" </dev/null >"$WORK/$name.log" 2>&1 &
  echo "$! $name $(basename "$1")" >>"$PIDS"
}
pid_of() { awk -v name="$1" '$2 == name { print $1 }' "$PIDS"; }
on_timeout() { tail -n 30 "$WORK"/*.log >&2; }
elapsed_since() { python3 -c 'import sys, time; print(f"{time.time() - float(sys.argv[1]):.2f}")' "$1"; }
# status_field FILE FIELD: a field of status.artifact in a status file of commit().
status_field() {
  python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["status"]["artifact"][sys.argv[2]])' "$@"
}

# 1. Tools, the release build, the API server, the CRDs and a fresh namespace.
need_commands curl=curl python3=python3 tar=tar
KUBECTL=$(command -v kubectl || { bash "$E2E_DIR/helm-get.sh" && echo "$BIN/kubectl"; })
k() { "$KUBECTL" "$@" 2> >(grep -v 'version difference' >&2); } # kubectl 1.31+ warns about the 1.20 server
JAAS=$(release_jaas)
kube_env=$(bash "$E2E_DIR/kube-start.sh") # assigned first: `eval "$(failing)"` would hide the failure
eval "$kube_env"
export KUBECONFIG
KUBE_DATA=${JAAS_KUBE_STATE:-$CACHE/kube}/data
API_SERVER=$(k config view --minify -o jsonpath='{.clusters[0].cluster.server}')
for selection in "" --external-artifact --flux-sources; do
  # shellcheck disable=SC2086 # an empty selection prints our own CRDs
  "$JAAS" crdgen $selection | k apply --server-side --force-conflicts --field-manager jaas-bench-sources -f - >/dev/null
done
k wait --for condition=established --timeout=60s crd/jsonnetsnippets.jaas.metio.wtf \
  crd/externalartifacts.source.toolkit.fluxcd.io crd/gitrepositories.source.toolkit.fluxcd.io >/dev/null
k create namespace "$NS" >/dev/null
touch "$WORK/namespace-created"

# The measuring side, in Python: the API server through the admin token (as kube-start.sh's api() reads it), the
# waits (a list, then a watch, each event timed), /metrics snapshots (parsed by e2e/apiserver_metrics.py, copied
# beside it to be imported) and the request table.
cp "$E2E_DIR/apiserver_metrics.py" "$WORK/"
cat >"$WORK/measure.py" <<'EOF'
"""bench-sources.sh's measuring side: patch-status, wait-ready, wait-revisions, metrics, report (see main)."""
import json, os, ssl, sys, threading, time, urllib.request

from apiserver_metrics import is_jaas, request_totals

SERVER, CA, TOKEN_FILE, NS = (os.environ[k] for k in ("API_SERVER", "KUBE_CA", "KUBE_TOKEN", "NS"))
CONTEXT = ssl.create_default_context(cafile=CA)
TOKEN = open(TOKEN_FILE).read().strip()
SNIPPETS = f"/apis/jaas.metio.wtf/v1/namespaces/{NS}/jsonnetsnippets"


def api(path, method="GET", body=None, timeout=30):
    """One request to the API server as the admin (a body is a JSON merge patch); the open answer."""
    request = urllib.request.Request(SERVER + path, method=method, data=body)
    request.add_header("Authorization", f"Bearer {TOKEN}")
    if body is not None:
        request.add_header("Content-Type", "application/merge-patch+json")
    return urllib.request.urlopen(request, context=CONTEXT, timeout=timeout)


def call(path, method="GET", body=None):
    """One request; its answer's body."""
    with api(path, method, body) as answer:
        return answer.read()


def ready(snippet):
    conditions = snippet.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


class WorkerSampler(threading.Thread):
    """Samples, every 0.1 s until stopped, the child processes of the controller (its eval-workers): the most seen at
    once, and the most resident KiB they held together."""

    def __init__(self, controller):
        super().__init__(daemon=True)
        self.controller, self.most, self.most_kib, self.stopped = controller, 0, 0, threading.Event()

    def run(self):
        while not self.stopped.wait(0.1):
            count, kib = self.children()
            self.most, self.most_kib = max(self.most, count), max(self.most_kib, kib)

    def children(self):
        count = kib = 0
        for entry in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) != self.controller:
                        continue
                with open(f"/proc/{entry}/status") as status:
                    kib += next((int(line.split()[1]) for line in status if line.startswith("VmRSS:")), 0)
                count += 1
            except (OSError, IndexError, ValueError):
                continue  # it ended meanwhile
        return count, kib


def follow(version, left, observe, finished):
    """Watches the snippets from resourceVersion `version` for at most `left` s, handing each object to `observe`
    until `finished()`: the last resourceVersion seen, or None when the API server wants a new list (410 Gone)."""
    query = f"?watch=1&resourceVersion={version}&timeoutSeconds={max(1, int(left))}"
    with api(SNIPPETS + query, timeout=left + 10) as stream:
        for line in stream:
            event = json.loads(line)
            if event["type"] == "ERROR":
                return None
            version = event["object"]["metadata"]["resourceVersion"]
            observe(event["object"])
            if finished():
                break
    return version


def wait_for(done, n, timeout, controller, start):
    """Lists the snippets, then watches them until `done(snippet)` holds for n of them, recording when each first
    did (seconds since `start`, a time.monotonic(), as each watch event arrives). Exits naming a snippet still
    waiting after `timeout` s."""
    sampler = WorkerSampler(controller)
    sampler.start()
    state, first_done, requests, version = {}, {}, {"LIST": 0, "WATCH": 0}, None

    def observe(snippet):
        name = snippet["metadata"]["name"]
        state[name] = snippet
        if name not in first_done and done(snippet):
            first_done[name] = time.monotonic() - start

    while len(first_done) < n and (left := timeout - (time.monotonic() - start)) > 0:
        if version is None:
            listing = json.loads(call(SNIPPETS))
            requests["LIST"] += 1
            for snippet in listing["items"]:
                observe(snippet)
            version = listing["metadata"]["resourceVersion"]
        else:
            requests["WATCH"] += 1
            version = follow(version, left, observe, lambda: len(first_done) >= n)
    sampler.stopped.set()
    if len(first_done) < n:
        waiting = [s.get("status") for name, s in state.items() if name not in first_done]
        sys.exit(f"bench-sources: after {timeout:.0f} s, {len(first_done)} of {n} snippets; one still waiting: "
                 f"{json.dumps(waiting[:1])}")
    return {"seconds": sorted(first_done.values()), "requests": requests,
            "revisions": {name: s["status"]["revision"] for name, s in state.items()},
            "workers": sampler.most, "workers_kib": sampler.most_kib}


def metrics():
    """The API server's request counters now (apiserver_metrics.request_totals)."""
    return request_totals(call("/metrics").decode())


def report(before, after, idle_after, n, own, window):
    """Prints the requests on JaaS's resources in the republish window (`own` subtracted, as far as the API server
    counted them already) and in the idle window after it, by verb and resource, per snippet the difference; then
    the other traffic of both windows."""
    rows, others, per_verb = [], [], {}
    for key in sorted(set(after) | set(idle_after)):
        counted = after.get(key, 0) - before.get(key, 0)
        republish = counted - min(own.get(key, 0), counted)
        idle = idle_after.get(key, 0) - after.get(key, 0)
        if not (republish or idle):
            continue
        verb, resource, group = key.split()
        if not is_jaas(key):
            others.append(f"{verb} {resource} {republish:.0f}/{idle:.0f}")
            continue
        rows.append((verb, resource if group == "core" else f"{resource} ({group})", republish, idle))
        per_verb[verb] = per_verb.get(verb, 0) + (republish - idle) / n
    print(f"\nAPI requests on JaaS's resources in the republish window ({window:.1f} s; the script's own "
          f"{sum(own.values()):.0f} subtracted) and in an idle window of the same length right after it:")
    print("| verb | resource | republish | idle | per snippet |\n|---|---|---|---|---|")
    for verb, resource, republish, idle in rows:
        print(f"| {verb} | {resource} | {republish:.0f} | {idle:.0f} | {(republish - idle) / n:.2f} |")
    verbs = ", ".join(f"{verb} {count:.2f}" for verb, count in sorted(per_verb.items()))
    print(f"API requests per snippet (republish minus idle): {sum(per_verb.values()):.2f} ({verbs})")
    print("(A 1.20 API server counts the GET of one custom resource as LIST: it has no GET series for custom "
          "resources. So LIST rows of custom resources are mostly GETs by name.)")
    print(f"Other requests (republish/idle; kube-controller-manager, the API server): {', '.join(others) or 'none'}")


def main():
    command, args = sys.argv[1], sys.argv[2:]
    load = lambda path: json.load(open(path))
    if command == "patch-status":  # OBJECT_PATH STATUS_FILE: merge-patches the status subresource
        call(args[0] + "/status", "PATCH", open(args[1], "rb").read())
    elif command == "wait-ready":  # N TIMEOUT CONTROLLER_PID
        result = wait_for(lambda s: ready(s) and s["status"].get("revision"), int(args[0]), float(args[1]),
                          int(args[2]), time.monotonic())
        print(json.dumps(result))
    elif command == "wait-revisions":  # OBJECT_PATH STATUS_FILE FIRST_RESULT N TIMEOUT CONTROLLER_PID
        # The new commit: patches the source's status, then waits for a new revision on every snippet.
        old = load(args[2])["revisions"]
        start = time.monotonic()
        call(args[0] + "/status", "PATCH", open(args[1], "rb").read())
        new = lambda s: ready(s) and s["status"].get("revision") not in (None, old[s["metadata"]["name"]])
        result = wait_for(new, int(args[3]), float(args[4]), int(args[5]), start)
        requests = result["requests"]
        result["own"] = {"LIST jsonnetsnippets jaas.metio.wtf": requests["LIST"],
                         "WATCH jsonnetsnippets jaas.metio.wtf": requests["WATCH"],
                         "PATCH gitrepositories/status source.toolkit.fluxcd.io": 1}
        print(json.dumps(result))
    elif command == "metrics":
        print(json.dumps(metrics()))
    elif command == "report":  # BEFORE AFTER IDLE_AFTER RESULT N WINDOW_SECONDS
        before, after, idle_after, result = (load(path) for path in args[:4])
        report(before, after, idle_after, int(args[4]), result["own"], float(args[5]))
    else:
        sys.exit(f"measure.py: unknown command {command}")


main()
EOF
measure() {
  API_SERVER=$API_SERVER KUBE_CA=$KUBE_DATA/pki/ca.crt KUBE_TOKEN=$KUBE_DATA/admin.token NS=$NS \
    python3 "$WORK/measure.py" "$@"
}

# 2. The jb-shaped tree, the entry file of one application, and the first "commit".
write_jb_tree "$TREE" small
cat >"$TREE/bench.jsonnet" <<'EOF'
// One application of e2e/bench-sources.sh: three components of the vendored libraries (through jb's legacy links
// on the `vendor` import path), each a ConfigMap, Role, RoleBinding and Deployment, in the application's own
// namespace, with the project's settings from lib/config.libsonnet: 12 objects.
local config = import 'config.libsonnet';
local components = [
  import 'kube-lib/components/c000.libsonnet',
  import 'alertmanager/components/c001.libsonnet',
  import 'node-exporter/components/c002.libsonnet',
  import 'kube-state/components/c004.libsonnet',
];
function(app, index=0)
  local settings = config { namespace: app };
  local picked = [components[(index + n) % std.length(components)] for n in [0, 1, 2]];
  std.flattenArrays([
    [c.configMap(settings), c.role(settings), c.roleBinding(settings), c.deployment(settings)]
    for c in picked
  ])
EOF
tree_files=$(find "$TREE" -type f | wc -l)
tree_bytes=$(du -sb --apparent-size "$TREE" | cut -f1)

# commit LABEL: packs the tree as source-controller does (names relative to the root, the legacy links as
# symlinks) into $WWW/$SOURCE_PATH/<sha256>.tar.gz and writes $WORK/LABEL.status, the GitRepository status that
# announces it (artifact with source-controller's in-cluster URL, Ready=True). Prints the tarball's URL path.
commit() {
  local label=$1 entries hex revision size now
  mapfile -t entries < <(ls -A "$TREE")
  tar -C "$TREE" --sort=name --owner=0 --group=0 --numeric-owner -czf "$WORK/$label.tar.gz" "${entries[@]}"
  hex=$(sha256sum "$WORK/$label.tar.gz" | cut -d' ' -f1)
  revision=main@sha1:$(sha1sum "$WORK/$label.tar.gz" | cut -d' ' -f1)
  size=$(stat -c %s "$WORK/$label.tar.gz")
  now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  mkdir -p "$WWW/$SOURCE_PATH"
  mv "$WORK/$label.tar.gz" "$WWW/$SOURCE_PATH/$hex.tar.gz"
  cat >"$WORK/$label.status" <<EOF
{"status": {"observedGeneration": 1,
  "artifact": {"url": "http://source-controller.flux-system.svc.cluster.local./$SOURCE_PATH/$hex.tar.gz",
    "path": "$SOURCE_PATH/$hex.tar.gz", "digest": "sha256:$hex", "revision": "$revision", "size": $size,
    "lastUpdateTime": "$now"},
  "conditions": [{"type": "Ready", "status": "True", "reason": "Succeeded", "observedGeneration": 1,
    "message": "stored artifact for revision '$revision'", "lastTransitionTime": "$now"}]}}
EOF
  echo "$SOURCE_PATH/$hex.tar.gz"
}
first_tarball=$(commit first)

# 3. The stand-in source-controller (http.server), the GitRepository with its first artifact, the controller.
HTTP_PORT=$(free_port)
# The interpreter's binary rather than a pyenv shim, so that the recorded program is the process's name (stop_pid).
PYTHON=$(realpath "$(python3 -c 'import sys; print(sys.executable)')")
spawn http "$PYTHON" -m http.server --bind 127.0.0.1 --directory "$WWW" "$HTTP_PORT"
wait_for 20 "http.server on 127.0.0.1:$HTTP_PORT" curl -fsS -o /dev/null "http://127.0.0.1:$HTTP_PORT/"
k apply --server-side --field-manager jaas-bench-sources -f - >/dev/null <<EOF
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: $SOURCE, namespace: $NS}
spec: {url: "https://example.com/bench/apps.git", interval: 1m}
EOF
GITREPO=/apis/source.toolkit.fluxcd.io/v1/namespaces/$NS/gitrepositories/$SOURCE
measure patch-status "$GITREPO" "$WORK/first.status"
METRICS_PORT=$(free_port)
spawn jaas "$JAAS" run --storage-backend local --storage-path "$WORK/artifacts" \
  --storage-base-url "http://127.0.0.1:$(free_port)" --leader-election=false --watch-namespaces "$NS" \
  --metrics-bind-address "127.0.0.1:$METRICS_PORT" --log-format text \
  --source-controller-localhost "127.0.0.1:$HTTP_PORT" --source-cache-dir "$WORK/source-cache"
wait_for 60 "the controller's /readyz" curl -fsS -o /dev/null "http://127.0.0.1:$METRICS_PORT/readyz"
CONTROLLER=$(pid_of jaas)
vm_hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$CONTROLLER/status"; }

# 4. N snippets on the GitRepository, all Ready on the first revision.
for ((i = 0; i < N; i++)); do
  printf -- '---\napiVersion: jaas.metio.wtf/v1\nkind: JsonnetSnippet\nmetadata: {name: app-%03d, namespace: %s}\n' \
    "$i" "$NS"
  printf 'spec:\n  sourceRef: {kind: GitRepository, name: %s}\n  entryFile: bench.jsonnet\n' "$SOURCE"
  printf '  tlas:\n    - {name: app, value: app-%03d}\n    - {name: index, value: "%d", code: true}\n' "$i" "$i"
done >"$WORK/snippets.yaml"
log "applying $N snippets in namespace $NS"
apply_start=$(date +%s.%N)
k apply --server-side --field-manager jaas-bench-sources -f "$WORK/snippets.yaml" >/dev/null
measure wait-ready "$N" "$TIMEOUT" "$CONTROLLER" >"$WORK/first.json" \
  || { on_timeout; die "not all $N snippets became Ready"; }
first_all=$(elapsed_since "$apply_start")
hwm_before=$(vm_hwm_kib)
artifact=$(find "$WORK/artifacts/$NS/app-000" -name 'sha256-*.tar.gz' | head -n1)
objects=$(tar -xzOf "$artifact" --wildcards '*.yaml' | grep -c '^kind: ' || true)
((objects >= 5 && objects <= 20)) || die "app-000 rendered $objects objects, expected 5 to 20 (in $artifact)"
log "all $N Ready on the first revision in ${first_all}s; app-000 has $objects objects; settling for 3 s"
sleep 3

# 5. The new commit (replicas 2 -> 3 in the project's lib/, which every application reads), measured.
sed -i 's/replicas: 2/replicas: 3/' "$TREE/lib/config.libsonnet"
grep -q 'replicas: 3' "$TREE/lib/config.libsonnet" || die "the fixture's lib/config.libsonnet changed: update step 5"
second_tarball=$(commit second)
measure metrics >"$WORK/metrics-before.json"
window_start=$(date +%s.%N)
measure wait-revisions "$GITREPO" "$WORK/second.status" "$WORK/first.json" "$N" "$TIMEOUT" "$CONTROLLER" \
  >"$WORK/second.json" || { on_timeout; die "not all $N snippets got a new revision"; }
sleep 2 # the last status writes and Events of the burst
measure metrics >"$WORK/metrics-after.json"
window=$(elapsed_since "$window_start")
sleep "$window"
measure metrics >"$WORK/metrics-idle.json"
hwm_after=$(vm_hwm_kib)
downloads() { grep -c "\"GET /$1 HTTP/1.[01]\" 200" "$WORK/http.log" || true; }

# 6. The baseline: the same N renders with `jaas render`, as many at once as there are cores.
baseline_start=$(date +%s.%N)
# shellcheck disable=SC2016 # expanded by the `sh -c` of each render
seq 0 $((N - 1)) | xargs -P "$(nproc)" -I{} sh -c \
  'i=$(printf %03d "$1"); exec "$2" render "$3/bench.jsonnet" -J "$3/vendor" -J "$3/lib" --tla-str "app=app-$i" \
     --tla-code "index=$1" -o "$4/baseline-$i.tar.gz"' _ {} "$JAAS" "$TREE" "$WORK" 2>"$WORK/baseline.log" \
  || { tail -n 20 "$WORK/baseline.log" >&2; die "the baseline renders failed"; }
baseline=$(elapsed_since "$baseline_start")

# 7. The figures.
python3 - "$WORK/second.json" "$N" "$first_all" "$baseline" "$(downloads "$second_tarball")" \
  "$(downloads "$first_tarball")" "$hwm_before" "$hwm_after" "$objects" "$tree_files" "$tree_bytes" \
  "$(stat -c %s "$WWW/$second_tarball")" "$(nproc)" "$(cut -d' ' -f1 /proc/loadavg)" <<'EOF'
import json, statistics, sys
result = json.load(open(sys.argv[1]))
n, first_all, baseline = int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
new_downloads, old_downloads, hwm_before, hwm_after, objects, files, size, tarball = map(int, sys.argv[5:13])
cpus, load = sys.argv[13:15]
times = result["seconds"]
last, p90 = times[-1], times[min(len(times) - 1, int(0.9 * len(times)))]
print(f"bench-sources: {n} snippets on one GitRepository; jb tree of {files} files, {size / 1e6:.1f} MB "
      f"({tarball / 1e3:.0f} kB tar.gz); {objects} objects per snippet; {cpus} CPUs, load average {load} at the end")
print("| what | value |\n|---|---|")
print(f"| first revision: apply -> all {n} Ready | {first_all:.1f} s |")
print(f"| new revision: status update -> all {n} show a new status.revision | **{last:.2f} s** |")
print(f"| ... first / median / p90 snippet | {times[0]:.2f} / {statistics.median(times):.2f} / {p90:.2f} s |")
print(f"| baseline: {n} x `jaas render` of the same applications, {cpus} at once | {baseline:.2f} s |")
print(f"| **ratio republish / baseline** | **{last / baseline:.2f}** |")
print(f"| downloads of the new tarball (of the first) | {new_downloads} ({old_downloads}) |")
print(f"| controller peak RSS (VmHWM) before / after the new revision | "
      f"{hwm_before / 1024:.1f} / {hwm_after / 1024:.1f} MiB |")
print(f"| most eval-workers seen at once in the republish (their RSS summed) | "
      f"{result['workers']} ({result['workers_kib'] / 1024:.1f} MiB) |")
EOF
measure report "$WORK/metrics-before.json" "$WORK/metrics-after.json" "$WORK/metrics-idle.json" \
  "$WORK/second.json" "$N" "$window"

# 8. Provenance: every ExternalArtifact names the new source revision and the GitRepository.
k get externalartifacts -n "$NS" -o json >"$WORK/externalartifacts.json"
python3 - "$WORK/externalartifacts.json" "$N" "$(status_field "$WORK/second.status" revision)" "$NS" "$SOURCE" <<'EOF'
import json, sys
items, n, (revision, namespace, source) = json.load(open(sys.argv[1]))["items"], int(sys.argv[2]), sys.argv[3:6]
expected = {"org.opencontainers.image.revision": revision, "jaas.metio.wtf/source-kind": "GitRepository",
            "jaas.metio.wtf/source-namespace": namespace, "jaas.metio.wtf/source-name": source}
metadata = lambda item: item.get("status", {}).get("artifact", {}).get("metadata") or {}
differs = lambda item: any(metadata(item).get(key) != value for key, value in expected.items())
wrong = [(item["metadata"]["name"], metadata(item)) for item in items if differs(item)]
if len(items) != n or wrong:
    sys.exit(f"bench-sources: {len(items)} ExternalArtifacts for {n} snippets, {len(wrong)} with other metadata "
             f"than {expected}, e.g. {wrong[:1]}")
print(f"\nprovenance: all {n} ExternalArtifacts carry {revision} and GitRepository {namespace}/{source} in "
      "status.artifact.metadata")
EOF
