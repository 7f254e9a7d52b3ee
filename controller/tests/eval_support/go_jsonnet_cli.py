# go_jsonnet_cli.py: go-jsonnet's `jsonnet` command, for the tests of `jaas eval` (controller/tests/eval_cli.rs).
# The Python binding only evaluates to JSON, so this calls go-jsonnet's C API in the same library (_gojsonnet's
# shared object exports it: jsonnet_string_output, jsonnet_evaluate_*_stream, jsonnet_evaluate_*_multi), and writes
# the results as go-jsonnet's cmd/jsonnet/cmd.go does: `---\n` before each stream document and `...\n` after the last,
# `-m DIR` files as DIR/<name> (unchanged files left alone, parents made with -c) listed one per line.
# stdin: a JSON array of jobs {"cwd": dir, "args": [...], "env": {...}, "stdin": text or null}; the args are those of
# `jsonnet` (-e, -J, -V/--ext-str, --ext-code, -A/--tla-str, --tla-code, -S, -y, -m, -c, -o, -s), files relative to cwd.
# stdout: a JSON array with one {"code": exit status, "stdout": text, "stderr": text} per job, in order.
import ctypes
import json
import os
import sys

try:
    import _gojsonnet
except ImportError as error:
    print(f"the go-jsonnet Python binding is missing ({error}): run `bash e2e/differential-setup.sh`", file=sys.stderr)
    sys.exit(3)

lib = ctypes.CDLL(_gojsonnet.__file__)
VM = ctypes.c_void_p
lib.jsonnet_make.restype = VM
lib.jsonnet_destroy.argtypes = [VM]
lib.jsonnet_jpath_add.argtypes = [VM, ctypes.c_char_p]
lib.jsonnet_max_stack.argtypes = [VM, ctypes.c_uint]
lib.jsonnet_string_output.argtypes = [VM, ctypes.c_int]
for setter in ("jsonnet_ext_var", "jsonnet_ext_code", "jsonnet_tla_var", "jsonnet_tla_code"):
    getattr(lib, setter).argtypes = [VM, ctypes.c_char_p, ctypes.c_char_p]
for mode in ("", "_stream", "_multi"):
    snippet = getattr(lib, "jsonnet_evaluate_snippet" + mode)
    snippet.argtypes = [VM, ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]
    snippet.restype = ctypes.c_void_p
    file = getattr(lib, "jsonnet_evaluate_file" + mode)
    file.argtypes = [VM, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]
    file.restype = ctypes.c_void_p

VARIABLE_FLAGS = {
    "-V": "jsonnet_ext_var", "--ext-str": "jsonnet_ext_var", "--ext-code": "jsonnet_ext_code",
    "-A": "jsonnet_tla_var", "--tla-str": "jsonnet_tla_var", "--tla-code": "jsonnet_tla_code",
}


def utf8(text):
    return text.encode("utf-8")


def strings_at(pointer):
    """The NUL-separated strings of a stream or multi result, up to the empty one that ends it."""
    strings, offset = [], 0
    while True:
        raw = ctypes.string_at(pointer + offset)
        if not raw:
            return strings
        strings.append(raw.decode("utf-8"))
        offset += len(raw) + 1


def write(path, text, create_dirs):
    if create_dirs and os.path.dirname(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(text)


def run(args, stdin):
    vm = lib.jsonnet_make()
    is_code, multi_dir, stream, create_dirs, output_file, inputs = False, None, False, False, None, []
    words = iter(args)
    for word in words:
        if word in ("-e", "--exec"):
            is_code = True
        elif word in ("-J", "--jpath"):
            lib.jsonnet_jpath_add(vm, utf8(next(words)))
        elif word in VARIABLE_FLAGS:
            name, separator, value = next(words).partition("=")
            value = value if separator else os.environ[name]
            getattr(lib, VARIABLE_FLAGS[word])(vm, utf8(name), utf8(value))
        elif word in ("-S", "--string"):
            lib.jsonnet_string_output(vm, 1)
        elif word in ("-y", "--yaml-stream"):
            stream = True
        elif word in ("-m", "--multi"):
            multi_dir = next(words)
            multi_dir += "" if multi_dir.endswith("/") else "/"
        elif word in ("-c", "--create-output-dirs"):
            create_dirs = True
        elif word in ("-o", "--output-file"):
            output_file = next(words)
        elif word in ("-s", "--max-stack"):
            lib.jsonnet_max_stack(vm, int(next(words)))
        else:
            inputs.append(word)
    [source] = inputs
    mode = "_multi" if multi_dir is not None else "_stream" if stream else ""
    error = ctypes.c_int(0)
    if is_code or source == "-":
        name, code = ("<cmdline>", source) if is_code else ("<stdin>", stdin)
        result = getattr(lib, "jsonnet_evaluate_snippet" + mode)(vm, utf8(name), utf8(code), ctypes.byref(error))
    else:
        result = getattr(lib, "jsonnet_evaluate_file" + mode)(vm, utf8(source), ctypes.byref(error))
    if error.value:
        return {"code": 1, "stdout": "", "stderr": ctypes.string_at(result).decode("utf-8")}
    if multi_dir is not None:
        parts = strings_at(result)
        listing = ""
        for name, contents in zip(parts[0::2], parts[1::2]):
            path = multi_dir + name
            listing += path + "\n"
            if os.path.exists(path) and open(path, encoding="utf-8", newline="").read() == contents:
                continue
            write(path, contents, create_dirs)
        text = listing
    elif stream:
        documents = strings_at(result)
        text = "".join("---\n" + document for document in documents) + ("...\n" if documents else "")
    else:
        text = ctypes.string_at(result).decode("utf-8")
    lib.jsonnet_destroy(vm)
    if output_file is None:
        return {"code": 0, "stdout": text, "stderr": ""}
    write(output_file, text, create_dirs and multi_dir is None)
    return {"code": 0, "stdout": "", "stderr": ""}


results = []
for job in json.load(sys.stdin):
    os.chdir(job["cwd"])
    saved = dict(os.environ)
    os.environ.update(job.get("env", {}))
    try:
        results.append(run(job["args"], job.get("stdin")))
    except OSError as error:  # cmd.go prints a failed write and exits 1
        results.append({"code": 1, "stdout": "", "stderr": str(error)})
    finally:
        os.environ.clear()
        os.environ.update(saved)
json.dump(results, sys.stdout)
