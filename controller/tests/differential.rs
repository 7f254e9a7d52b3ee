//! Differential test against go-jsonnet, the reference implementation: every program under
//! `tests/differential/corpus/` is rendered by the real `jaas render … --format json` and evaluated by
//! go-jsonnet's Python binding, and the two values must agree (strings byte for byte; see docs/fidelity.md).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The corpus directory: one small Jsonnet program per file, each exercising std functions manifests rely on.
const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/differential/corpus");
/// The Python helper that evaluates files with go-jsonnet (`pip install gojsonnet`).
const GO_HELPER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/differential/go_jsonnet.py");
/// Fewer programs than this means the corpus went missing, not that everything agrees.
const MIN_CORPUS: usize = 100;

/// Programs that still differ, each with the reason it cannot be fixed by overriding std (docs/fidelity.md).
/// They must keep differing: one that starts to agree fails the test so that it leaves this list.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[
    (
        "format_huge_numbers.jsonnet",
        "the `%` operator calls jrsonnet's formatter directly, so std.format stays jrsonnet's: it saturates \
         integers at 2^63 and loses digits past precision 19, where go-jsonnet prints (its own odd) big numbers",
    ),
    (
        "format_s_float.jsonnet",
        "same formatter: `%s` of a non-integral number is `0.1` in jrsonnet and `0.10000000000000001` in go-jsonnet",
    ),
    (
        "string_concat_numbers.jsonnet",
        "string + number is the evaluator's conversion, not std.toString: shortest digits vs go-jsonnet's %.17g",
    ),
    (
        "tailstrict_recursion.jsonnet",
        "jrsonnet does not run `tailstrict` calls in constant stack: 100,000 frames hit the stack limit",
    ),
    ("math_tan_acos.jsonnet", "Go's pure-Go math.Tan/math.Acos and libm differ in the last bit"),
    (
        "parse_yaml_octal.jsonnet",
        "go-jsonnet's YAML 1.1 parser reads `010` as octal 8, jrsonnet's YAML 1.2 parser as 10",
    ),
];

/// What one implementation made of one program.
#[derive(Debug)]
enum Outcome {
    /// The program evaluated; the value parsed from the JSON output.
    Value(Value),
    /// The program failed to evaluate; the message is kept for the report only.
    Error(String),
}

fn corpus_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(CORPUS)
        .unwrap_or_else(|e| panic!("cannot read the corpus {CORPUS}: {e}"))
        .map(|entry| entry.expect("corpus entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "jsonnet"))
        .collect();
    files.sort();
    files
}

/// The Python interpreter to run go-jsonnet with: `$PYTHON` if set, else the first `python3` on `PATH` that can
/// import the binding (a virtualenv earlier on `PATH`, such as the one run-tests.sh makes for
/// kubernetes-validate, may lack it). `None` when no interpreter has it.
fn python_with_go_jsonnet() -> (Option<String>, Vec<String>) {
    if let Ok(python) = std::env::var("PYTHON") {
        return (Some(python.clone()), vec![python]);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let candidates: Vec<String> = std::env::split_paths(&path)
        .map(|dir| dir.join("python3"))
        .filter(|candidate| candidate.is_file())
        .map(|candidate| candidate.to_string_lossy().into_owned())
        .collect();
    let found = candidates.iter().find(|python| {
        Command::new(python).args(["-c", "import _gojsonnet"]).output().is_ok_and(|output| output.status.success())
    });
    (found.cloned(), candidates)
}

/// Evaluates all files with go-jsonnet in one Python process.
fn go_jsonnet(files: &[PathBuf]) -> BTreeMap<PathBuf, Outcome> {
    let (python, tried) = python_with_go_jsonnet();
    let Some(python) = python else {
        panic!(
            "go-jsonnet is not available: none of the Python interpreters on PATH ({}) can import _gojsonnet; \
             run `pip install gojsonnet` (or e2e/differential-setup.sh). The differential test never skips.",
            tried.join(", ")
        );
    };
    let output = Command::new(&python).arg(GO_HELPER).args(files).output().unwrap_or_else(|e| {
        panic!("cannot run `{python}` ({e}): the differential test needs Python 3 and `pip install gojsonnet`")
    });
    assert!(
        output.status.success(),
        "go-jsonnet is not available to {python} ({}): run `pip install gojsonnet` (the differential test never \
         skips)\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let results: BTreeMap<String, Value> =
        serde_json::from_slice(&output.stdout).expect("the go-jsonnet helper prints a JSON object");
    results
        .into_iter()
        .map(|(path, result)| {
            let outcome = if let Some(Value::String(text)) = result.get("ok") {
                Outcome::Value(serde_json::from_str(text).expect("go-jsonnet prints JSON"))
            } else {
                Outcome::Error(result["error"].as_str().unwrap_or_default().to_owned())
            };
            (PathBuf::from(path), outcome)
        })
        .collect()
}

/// The entry file `jaas render` gets: the renderer only accepts Kubernetes manifests, so the program's value
/// rides in a ConfigMap's `data.value` and comes back out of `rendered.json`.
const WRAPPER: &str = "{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'differential' }, \
                       data: { value: import 'program.jsonnet' } }\n";

/// Renders one program exactly as a user would: `jaas render main.jsonnet --format json`, with the program
/// copied next to the wrapper (a plain entry file brings its directory along).
fn jaas_render(file: &Path) -> Outcome {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(file, dir.path().join("program.jsonnet")).expect("copy the program");
    std::fs::write(dir.path().join("main.jsonnet"), WRAPPER).expect("write the wrapper");
    let output = Command::new(env!("CARGO_BIN_EXE_jaas"))
        .arg("render")
        .arg(dir.path().join("main.jsonnet"))
        // The test checks results, not speed: a debug build on a busy CI machine may need longer than 5 s.
        .args(["--format", "json", "--evaluation-timeout", "120s"])
        .output()
        .expect("run jaas render");
    if !output.status.success() {
        return Outcome::Error(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    match serde_json::from_slice::<Value>(&output.stdout) {
        Ok(rendered) => match rendered.pointer("/data/value") {
            Some(value) => Outcome::Value(value.clone()),
            None => Outcome::Error(format!("rendered.json has no data.value:\n{rendered}")),
        },
        Err(e) => Outcome::Error(format!(
            "`jaas render --format json` printed something that is not JSON ({e}):\n{}",
            String::from_utf8_lossy(&output.stdout)
        )),
    }
}

/// Strings and structure must be identical; numbers are compared as the doubles Jsonnet has, because how a
/// number is spelled in the JSON document is the output layer's business, not std's.
fn same_value(ours: &Value, reference: &Value) -> bool {
    match (ours, reference) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::Array(a), Value::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_value(x, y)),
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|((ka, va), (kb, vb))| ka == kb && same_value(va, vb))
        }
        _ => ours == reference,
    }
}

fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Value(value) => serde_json::to_string_pretty(value).expect("a Value serialises"),
        Outcome::Error(message) => format!("error: {}", message.trim_end()),
    }
}

#[test]
fn corpus_agrees_with_go_jsonnet() {
    let files = corpus_files();
    assert!(files.len() >= MIN_CORPUS, "expected at least {MIN_CORPUS} programs in {CORPUS}, found {}", files.len());
    let reference = go_jsonnet(&files);
    let mut disagreements = Vec::new();
    let mut still_known = 0;
    for file in &files {
        let name = file.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let expected = reference.get(file).unwrap_or_else(|| panic!("go-jsonnet gave no result for {name}"));
        let ours = jaas_render(file);
        let agree = match (&ours, expected) {
            (Outcome::Value(a), Outcome::Value(b)) => same_value(a, b),
            (Outcome::Error(_), Outcome::Error(_)) => true,
            _ => false,
        };
        let known = KNOWN_DIFFERENCES.iter().find(|(known, _)| *known == name);
        match (agree, known) {
            (true, None) => {}
            (false, Some(_)) => still_known += 1,
            (true, Some(_)) => disagreements.push(format!(
                "--- {name} now agrees with go-jsonnet: remove it from KNOWN_DIFFERENCES and docs/fidelity.md\n"
            )),
            (false, None) => disagreements.push(format!(
                "--- {name}\ngo-jsonnet:\n{}\njaas:\n{}\n",
                describe(expected),
                describe(&ours)
            )),
        }
    }
    for (known, _) in KNOWN_DIFFERENCES {
        assert!(
            files.iter().any(|file| file.ends_with(known)),
            "KNOWN_DIFFERENCES names {known}, which is not in the corpus"
        );
    }
    let agreed = files.len() - still_known - disagreements.len();
    println!(
        "differential: {agreed}/{} programs agree with go-jsonnet, {still_known} known differences (docs/fidelity.md)",
        files.len()
    );
    assert!(disagreements.is_empty(), "{} programs are wrong:\n{}", disagreements.len(), disagreements.join("\n"));
}
