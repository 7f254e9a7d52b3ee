# go_jsonnet.py: evaluates Jsonnet files with go-jsonnet (the reference implementation, via its Python binding)
# for controller/tests/differential.rs. Prints one JSON object: {"<path>": {"ok": "<json text>"} | {"error": "<msg>"}}.
# Exit code 3 means the binding is missing, so the caller can say how to install it.
import json
import sys

try:
    import _gojsonnet
except ImportError as error:
    print(f"the go-jsonnet Python binding is missing ({error}): run `pip install gojsonnet`", file=sys.stderr)
    sys.exit(3)

results = {}
for path in sys.argv[1:]:
    try:
        results[path] = {"ok": _gojsonnet.evaluate_file(path)}
    except RuntimeError as error:
        results[path] = {"error": str(error)}
json.dump(results, sys.stdout)
