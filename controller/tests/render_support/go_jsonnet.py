# go_jsonnet.py: evaluates Jsonnet files with go-jsonnet (the reference implementation, via its Python binding) for
# the differential tests, through controller/tests/render_support/go_jsonnet.rs.
# stdin: a JSON array of jobs, each {"file": path} plus any keyword arguments of _gojsonnet.evaluate_file
# ("jpathdir", "ext_vars", "ext_codes", "tla_vars", "tla_codes").
# stdout: a JSON array with one result per job, in order: {"ok": "<json text>"} or {"error": "<message>"}.
# Exit code 3 means the binding is missing, so the caller can say how to install it.
import json
import sys

try:
    import _gojsonnet
except ImportError as error:
    print(f"the go-jsonnet Python binding is missing ({error}): run `bash e2e/differential-setup.sh`", file=sys.stderr)
    sys.exit(3)

results = []
for job in json.load(sys.stdin):
    path = job.pop("file")
    try:
        results.append({"ok": _gojsonnet.evaluate_file(path, **job)})
    except RuntimeError as error:
        results.append({"error": str(error)})
json.dump(results, sys.stdout)
