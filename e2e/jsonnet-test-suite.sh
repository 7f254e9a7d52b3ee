#!/usr/bin/env bash
# jsonnet-test-suite.sh: runs google/jsonnet's own test suite (test_suite/*.jsonnet with their .golden outputs,
# taken from Debian's `jsonnet` source package) through `jaas render --format json` and through go-jsonnet (its
# Python binding, `pip install gojsonnet`), and prints `jaas: X/N passed, go-jsonnet: Y/N passed`.
# Not part of CI. Usage: e2e/jsonnet-test-suite.sh [-v]   (JAAS=/path/to/jaas to skip the release build)
#
# The suite's rules (its run_tests.sh): a test passes when it exits as expected (error.* tests must fail) and,
# for the others, its JSON equals the .golden file (or `true` when there is none). Error messages are not
# compared, because every implementation words them differently. The renderer only accepts Kubernetes
# manifests, so each test's value is wrapped in a ConfigMap and read back from rendered.json.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${JAAS_E2E_CACHE:-$HOME/.cache/jaas-e2e}/jsonnet-test-suite
VERBOSE=${1:-}

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

# 1. The suite: Debian's jsonnet source package (the PyPI sdists do not ship test_suite/).
if [[ ! -d $CACHE/test_suite ]]; then
  if ! apt-cache showsrc jsonnet 2>/dev/null | grep -q '^Package: jsonnet'; then
    if [[ -f /etc/apt/sources.list.d/debian.sources ]] && grep -q '^Types: deb$' /etc/apt/sources.list.d/debian.sources; then
      as_root sed -i 's/^Types: deb$/Types: deb deb-src/' /etc/apt/sources.list.d/debian.sources
    fi
    as_root apt-get update -qq
  fi
  mkdir -p "$CACHE/src"
  (cd "$CACHE/src" && apt-get source --download-only jsonnet >/dev/null 2>&1)
  orig=$(ls "$CACHE"/src/jsonnet_*.orig.tar.* | head -n 1)
  tar -xf "$orig" -C "$CACHE/src"
  mv "$CACHE"/src/jsonnet-*/test_suite "$CACHE/test_suite"
  basename "$orig" >"$CACHE/VERSION"
fi

# 2. go-jsonnet and jaas.
python3 -c 'import _gojsonnet' 2>/dev/null || {
  echo "jsonnet-test-suite: the go-jsonnet Python binding is missing: pip install gojsonnet" >&2
  exit 1
}
if [[ -z ${JAAS:-} ]]; then
  (cd "$ROOT" && cargo build --release -p jaas-controller --bin jaas >&2)
  JAAS=${CARGO_TARGET_DIR:-$ROOT/target}/release/jaas
fi

# 3. Run every test both ways.
export JAAS CACHE VERBOSE
python3 - <<'PY'
import glob, json, os, subprocess, sys

suite = os.path.join(os.environ["CACHE"], "test_suite")
jaas = os.environ["JAAS"]
verbose = os.environ["VERBOSE"] == "-v"
import _gojsonnet

EXT = {"ext_vars": {"var1": "test"}, "ext_codes": {"var2": "{x:1,y:2}"}}
TLA = {"tla_vars": {"var1": "test"}, "tla_codes": {"var2": "{x:1,y:2}"}}
WRAPPER = "zz-jaas-wrapper.jsonnet"


def same(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


def judge(name, failed, value, detail):
    """True when the outcome is what the suite expects."""
    if name.startswith("error."):
        return failed
    if failed:
        return False
    golden_path = os.path.join(suite, name + ".golden")
    golden = open(golden_path, encoding="utf-8").read() if os.path.exists(golden_path) else "true"
    # run_tests.sh captures stderr too: drop std.trace's lines from the golden.
    golden = "\n".join(line for line in golden.splitlines() if not line.startswith("TRACE:"))
    try:
        return same(value, json.loads(golden))
    except ValueError:
        return False  # a golden that is not JSON (e.g. an error message for a non-error test)


def run_go(name):
    params = TLA if name.startswith("tla.") else EXT
    try:
        # Relative to the suite directory, as run_tests.sh runs them (stdlib.jsonnet checks std.thisFile).
        return False, json.loads(_gojsonnet.evaluate_file(name, **params)), ""
    except RuntimeError as error:
        return True, None, str(error)


def run_jaas(name):
    imported = "(import '%s')" % name
    if name.startswith("tla."):
        head, value, flags = "function(var1, var2) ", imported + "(var1, var2)", ["--tla-str", "var1=test", "--tla-code", "var2={x:1,y:2}"]
    else:
        head, value, flags = "", imported, ["--ext-str", "var1=test", "--ext-code", "var2={x:1,y:2}"]
    wrapper = os.path.join(suite, WRAPPER)
    with open(wrapper, "w", encoding="utf-8") as out:
        out.write("%s{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'suite' }, data: { value: %s } }\n" % (head, value))
    try:
        result = subprocess.run([jaas, "render", wrapper, "--format", "json", "--evaluation-timeout", "60s"] + flags, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return True, None, "timed out after 120 s"
    if result.returncode != 0:
        return True, None, result.stderr
    try:
        return False, json.loads(result.stdout)["data"]["value"], ""
    except (ValueError, KeyError) as error:
        return True, None, "unreadable output: %s" % error


os.chdir(suite)
tests = sorted(os.path.basename(p) for p in glob.glob(os.path.join(suite, "*.jsonnet")) if os.path.basename(p) != WRAPPER)
ours = go = 0
ours_only_failures = []
for name in tests:
    go_ok = judge(name, *run_go(name))
    failed, value, detail = run_jaas(name)
    jaas_ok = judge(name, failed, value, detail)
    go += go_ok
    ours += jaas_ok
    if not jaas_ok:
        ours_only_failures.append(name)
        if verbose:
            print("FAIL jaas %s%s: %s" % (name, "" if go_ok else " (go-jsonnet fails too)", (detail or json.dumps(value))[:300].replace("\n", " | ")))
    elif verbose and not go_ok:
        print("FAIL go-jsonnet only: %s" % name)
os.remove(os.path.join(suite, WRAPPER))
print("suite: %s, %d tests" % (open(os.path.join(os.environ["CACHE"], "VERSION")).read().strip(), len(tests)))
print("jaas failures: %s" % " ".join(ours_only_failures))
print("jaas: %d/%d passed, go-jsonnet: %d/%d passed" % (ours, len(tests), go, len(tests)))
PY
