#!/usr/bin/env bash
# jsonnet-test-suite.sh: runs google/jsonnet's own test suite (test_suite/*.jsonnet with their .golden outputs) through
# `jaas render --format json`, through go-jsonnet and through C++ jsonnet (their Python bindings, `gojsonnet` and
# `jsonnet` 0.22.0 from PyPI, installed into a venv of this script's own), and prints
# `jaas: X/N passed, go-jsonnet: Y/N passed, C++ jsonnet: Z/N passed` and every test C++ jsonnet passes and jaas
# does not. Not part of CI. Usage: e2e/jsonnet-test-suite.sh [-v]   (JAAS=/path/to/jaas to skip the release build)
#
# The suite comes from the newest `jsonnet` source package Debian's mirror serves: 0.20.0 (trixie; sid lists 0.22.0
# but its pool does not hold the file here; the PyPI sdists do not ship test_suite/), pinned by its sha256.
# The suite's rules (its run_tests.sh): a test passes when it exits as expected (error.* tests must fail) and,
# for the others, its JSON equals the .golden file (or `true` when there is none). Error messages are not
# compared, because every implementation words them differently. The renderer only accepts Kubernetes
# manifests, so each test's value is wrapped in a ConfigMap and read back from rendered.json.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SUITE_VERSION=0.20.0
ORIG=jsonnet_${SUITE_VERSION}+ds.orig.tar.xz
ORIG_SHA256=6b9880ca75cb74d2d209bb33e6b1b49aa8a89f926e28d26324ef6bccfebf2556
ORIG_URL=${JAAS_DEBIAN_MIRROR:-http://deb.debian.org/debian}/pool/main/j/jsonnet/$ORIG
CACHE=${JAAS_E2E_CACHE:-$HOME/.cache/jaas-e2e}/jsonnet-test-suite/$SUITE_VERSION
VERBOSE=${1:-}

# 1. The suite, from Debian's source package.
if [[ ! -d $CACHE/test_suite ]]; then
  mkdir -p "$CACHE/src"
  curl -sSfL --retry 3 "$ORIG_URL" -o "$CACHE/src/$ORIG"
  echo "$ORIG_SHA256  $CACHE/src/$ORIG" | sha256sum -c --quiet
  tar -xf "$CACHE/src/$ORIG" -C "$CACHE/src"
  mv "$CACHE"/src/jsonnet-*/test_suite "$CACHE/test_suite"
  rm -rf "$CACHE/src"
  echo "$ORIG" >"$CACHE/VERSION"
fi

# 2. go-jsonnet, C++ jsonnet and jaas.
VENV=$CACHE/venv
if [[ ! -x $VENV/bin/python ]] || ! "$VENV/bin/python" -c 'import _gojsonnet, _jsonnet' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q gojsonnet==0.22.0 jsonnet==0.22.0
fi
if [[ -z ${JAAS:-} ]]; then
  (cd "$ROOT" && cargo build --release -p jaas-controller --bin jaas >&2)
  JAAS=${CARGO_TARGET_DIR:-$ROOT/target}/release/jaas
fi

# 3. Run every test three ways.
export JAAS CACHE VERBOSE
"$VENV/bin/python" - <<'PY'
import glob, json, os, subprocess, sys

suite = os.path.join(os.environ["CACHE"], "test_suite")
jaas = os.environ["JAAS"]
verbose = os.environ["VERBOSE"] == "-v"
import _gojsonnet
import _jsonnet

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


def run_binding(binding, name):
    params = TLA if name.startswith("tla.") else EXT
    try:
        # Relative to the suite directory, as run_tests.sh runs them (stdlib.jsonnet checks std.thisFile).
        return False, json.loads(binding.evaluate_file(name, **params)), ""
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
ours = go = cpp = 0
ours_only_failures = []
cpp_passes_jaas_fails = []
for name in tests:
    go_ok = judge(name, *run_binding(_gojsonnet, name))
    cpp_ok = judge(name, *run_binding(_jsonnet, name))
    failed, value, detail = run_jaas(name)
    jaas_ok = judge(name, failed, value, detail)
    go += go_ok
    cpp += cpp_ok
    ours += jaas_ok
    if not jaas_ok:
        ours_only_failures.append(name)
        if cpp_ok:
            cpp_passes_jaas_fails.append(name)
        if verbose:
            others = "go-jsonnet %s, C++ %s" % ("passes" if go_ok else "fails", "passes" if cpp_ok else "fails")
            print("FAIL jaas %s (%s): %s" % (name, others, (detail or json.dumps(value))[:300].replace("\n", " | ")))
    elif verbose and not (go_ok and cpp_ok):
        print("FAIL %s only: %s" % (" and ".join(n for n, ok in (("go-jsonnet", go_ok), ("C++", cpp_ok)) if not ok), name))
os.remove(os.path.join(suite, WRAPPER))
print("suite: %s, %d tests" % (open(os.path.join(os.environ["CACHE"], "VERSION")).read().strip(), len(tests)))
print("jaas failures: %s" % (" ".join(ours_only_failures) or "none"))
print("C++ jsonnet passes, jaas fails: %s" % (" ".join(cpp_passes_jaas_fails) or "none"))
print("jaas: %d/%d passed, go-jsonnet: %d/%d passed, C++ jsonnet: %d/%d passed" % (ours, len(tests), go, len(tests), cpp, len(tests)))
PY
