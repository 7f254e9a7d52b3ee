#!/usr/bin/env bash
# reliability.sh: the one command of the reliability suite (issue 15): starts or reuses the e2e API server and S3
# server, builds the binaries, runs each fault part in a section of its own, and ends with the totals of all parts:
# faults injected, requests sent, bad inputs tried, data lost (must be 0). Loopback only; every wait is bounded.
#
# Parts (issue 15's numbering):
#   1. crash consistency: kill -9 of the controller, JAAS_FAULT_ROUNDS (100) rounds on the local backend and on S3
#      at once, readers fetching every published URL meanwhile (e2e/tests/faults/).
#   2. storage outage: S3 (through a proxy the test controls) down for JAAS_OUTAGE_SECONDS (60) while every snippet
#      is edited: Ready=False StorageOperationFailed, bounded retries, cached reads served, 503 + Retry-After for the
#      rest, every edit published after (e2e/tests/outage/).
#   3. API server outages: on a control plane of its own, kube-apiserver killed for 15 s, then frozen for 20 s, while
#      two replicas lead and snippets are edited: no edit lost, no two Lease holders, the leader stops writing before
#      its Lease could be taken (e2e/tests/apiserver_restart/).
#   4. hostile Jsonnet: 23 hostile programs on the real API server, 2,000 generated and mutated programs through the
#      real evaluation worker (controller/tests/hostile_jsonnet.rs, worker_fuzz/).
#   5. hostile HTTP: traversal, odd methods, huge headers, slow and idle connections against the artifact server
#      (artifact-server/tests/hostile_connections.rs, routing_properties.rs).
#   7. properties: URL paths, digests, tarballs, untar of untrusted input, YAML output (proptest).
#   8. least privilege: the controller with exactly the chart's RBAC, then without each permission in turn
#      (controller/tests/least_privilege/).
#   6. sustained load: the artifact server on S3 under wrk for JAAS_LOAD_SECONDS (60) with its cache on, then off:
#      no error, flat RSS, p99 (e2e/bench-load.sh, a release build).
# Adding a part: a section that runs it through `part NAME CMD...`; it prints lines holding `SUMMARY key=value ...`,
# and the keys to add up are named in the *_KEYS lists below.
#
# Env: JAAS_FAULT_ROUNDS (100), JAAS_FAULT_SEED, JAAS_FAULT_LEASE_SECONDS, JAAS_E2E_CONTROLLER_LOG (see
# e2e/tests/faults/main.rs), JAAS_OUTAGE_SECONDS (60), JAAS_LOAD_SECONDS (60), JAAS_HELM (else e2e/helm-get.sh fetches helm), JAAS_RELIABILITY_RELEASE=1 (release builds; default debug, the build CI makes anyway),
# JAAS_RELIABILITY_TIMEOUT (seconds per part, 5400), JAAS_E2E_CACHE and the overrides of e2e/kube-start.sh and
# e2e/s3-start.sh. Servers this run starts are stopped when it exits; ones already running are used and left running.
set -euo pipefail
SCRIPT=reliability
# shellcheck source-path=SCRIPTDIR source=env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$E2E_DIR/.."

export JAAS_FAULT_ROUNDS=${JAAS_FAULT_ROUNDS:-100}
export JAAS_OUTAGE_SECONDS=${JAAS_OUTAGE_SECONDS:-60}
PART_TIMEOUT=${JAAS_RELIABILITY_TIMEOUT:-5400}
PROFILE=()
[[ ${JAAS_RELIABILITY_RELEASE:-} == 1 ]] && PROFILE=(--release)

# Which SUMMARY keys count as what in the totals.
FAULT_KEYS=(kills outages restarts freezes permissions_removed)
REQUEST_KEYS=(reads edits requests)
BAD_INPUT_KEYS=(bad_inputs)
LOST_KEYS=(bad_reads lost_edits corrupt overlaps non_holder_writes)

STARTED=$(date +%s)
WORK=$(mktemp -d)
servers_to_stop=()
failed_parts=()
finish() {
  local rc=$? stop
  for stop in "${servers_to_stop[@]}"; do bash "$stop" || true; done
  rm -rf "$WORK"
  log "$([[ $rc == 0 ]] && echo PASSED || echo "FAILED (exit $rc)") after $(($(date +%s) - STARTED))s"
}
trap finish EXIT
trap 'exit 130' INT TERM

heading() { printf '\n==== %s   (at %ss)\n' "$*" "$(($(date +%s) - STARTED))"; }

# use_server START_SCRIPT STOP_SCRIPT PIDS_FILE: exports what the start script prints; the server is stopped at exit
# unless it was up already.
use_server() {
  all_alive "$3" || servers_to_stop+=("$2")
  local exports
  exports=$(bash "$1") # assigned first, so that a failing start stops this script
  eval "$exports"
}

# part NAME CMD...: runs a part with its output shown and kept; its SUMMARY lines go to the totals. A failing part
# is noted and the next one runs.
part() {
  local name=$1 rc=0
  shift
  timeout "$PART_TIMEOUT" "$@" 2>&1 | tee "$WORK/part.log" || rc=$?
  grep 'SUMMARY ' "$WORK/part.log" >>"$WORK/summaries" || true
  ((rc == 0)) || failed_parts+=("$name (exit $rc)")
}

# total KEY...: the sum of the KEY=<integer> fields of every SUMMARY line.
total() {
  local key sum=0 value
  for key in "$@"; do
    while read -r value; do
      sum=$((sum + value))
    done < <(grep -oE "(^| )$key=[0-9]+" "$WORK/summaries" | cut -d= -f2)
  done
  echo "$sum"
}

heading "build: the binaries and the test (cargo ${PROFILE[*]:-(debug)})"
# Always --workspace: a build of one package alone unifies dependency features differently and rebuilds them.
cargo build "${PROFILE[@]}" --workspace --bins
TESTS=(--test faults --test outage --test apiserver_restart --test hostile_jsonnet --test worker_fuzz
  --test least_privilege --test hostile_connections --test routing_properties --test layout_properties
  --test yaml_properties --test tarball_properties)
cargo test "${PROFILE[@]}" --workspace "${TESTS[@]}" --no-run
bash e2e/helm-get.sh # the least-privilege part renders the chart's RBAC with helm
export JAAS_HELM=${JAAS_HELM:-$BIN/helm}

heading "servers: Kubernetes API server, S3 (Ceph radosgw)"
use_server e2e/kube-start.sh e2e/kube-stop.sh "${JAAS_KUBE_STATE:-$CACHE/kube}/pids"
use_server e2e/s3-start.sh e2e/s3-stop.sh "${JAAS_S3_STATE:-$CACHE/s3}/pids"
export KUBECONFIG AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION JAAS_S3_ENDPOINT JAAS_S3_BUCKET
touch "$WORK/summaries"

heading "1. crash consistency: kill -9 of the controller, $JAAS_FAULT_ROUNDS rounds, local and S3 backends"
part "crash consistency" cargo test "${PROFILE[@]}" --workspace --test faults

heading "2. storage outage: S3 down for ${JAAS_OUTAGE_SECONDS}s while snippets are edited"
part "storage outage" cargo test "${PROFILE[@]}" --workspace --test outage

heading "3. API server outages: killed and restarted, frozen and thawed"
part "API server outages" cargo test "${PROFILE[@]}" --workspace --test apiserver_restart

heading "4. hostile Jsonnet: on the real API server, and a fuzz corpus through the worker"
part "hostile Jsonnet" cargo test "${PROFILE[@]}" --workspace --test hostile_jsonnet --test worker_fuzz

heading "5. hostile HTTP against the artifact server"
part "hostile HTTP" cargo test "${PROFILE[@]}" --workspace --test hostile_connections \
  --test routing_properties

heading "6. sustained load on the artifact server, S3 with the cache on and off"
part "sustained load" env BENCH_DURATION="${JAAS_LOAD_SECONDS:-60}" bash e2e/bench-load.sh

heading "7. properties: paths, digests, tarballs, untar, YAML"
part "properties" cargo test "${PROFILE[@]}" --workspace --test layout_properties \
  --test yaml_properties --test tarball_properties
part "properties of untar and digests" cargo test "${PROFILE[@]}" --workspace --lib _properties::

heading "8. least privilege: the chart's RBAC, then each permission taken away"
part "least privilege" cargo test "${PROFILE[@]}" --workspace --test least_privilege

heading "summary"
cat "$WORK/summaries"
printf 'faults injected %s, requests sent %s, bad inputs tried %s, data lost %s; parts failed: %s\n' \
  "$(total "${FAULT_KEYS[@]}")" "$(total "${REQUEST_KEYS[@]}")" "$(total "${BAD_INPUT_KEYS[@]}")" \
  "$(total "${LOST_KEYS[@]}")" "${failed_parts[*]:-none}"
((${#failed_parts[@]} == 0 && $(total "${LOST_KEYS[@]}") == 0))
