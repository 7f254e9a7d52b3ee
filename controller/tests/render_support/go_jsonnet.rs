//! go-jsonnet, the reference implementation, for the tests that compare `jaas render --format json` with it:
//! evaluating jobs through its Python binding (`go_jsonnet.py`), and the rules by which two values agree.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde::Serialize;
use serde_json::Value;

/// The Python helper that evaluates jobs with go-jsonnet.
const GO_HELPER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/render_support/go_jsonnet.py");
/// What to tell a user whose machine lacks go-jsonnet: the tests that need it fail, they never skip.
const SETUP_HINT: &str = "run `bash e2e/differential-setup.sh` (tests against go-jsonnet never skip)";

/// One evaluation for go-jsonnet: a file and the inputs it gets, as `_gojsonnet.evaluate_file` takes them.
#[derive(Debug, Default, Serialize)]
pub struct GoJob {
    /// The entry file.
    pub file: String,
    /// Library search paths; as with `jsonnet -J`, the right-most wins.
    pub jpathdir: Vec<String>,
    /// External variables as strings.
    pub ext_vars: BTreeMap<String, String>,
    /// External variables as Jsonnet code.
    pub ext_codes: BTreeMap<String, String>,
    /// Top-level arguments as strings.
    pub tla_vars: BTreeMap<String, String>,
    /// Top-level arguments as Jsonnet code.
    pub tla_codes: BTreeMap<String, String>,
}

/// What one implementation made of one program.
#[derive(Debug)]
pub enum Outcome {
    /// The program evaluated; the value parsed from the JSON output.
    Value(Value),
    /// The program failed to evaluate; the message is kept for the report only.
    Error(String),
}

impl Outcome {
    /// What `jaas render … --format json` printed: the value, or the error on stderr.
    pub fn of_jaas_json(output: &Output) -> Self {
        if !output.status.success() {
            return Self::Error(String::from_utf8_lossy(&output.stderr).into_owned());
        }
        match serde_json::from_slice(&output.stdout) {
            Ok(value) => Self::Value(value),
            Err(e) => Self::Error(format!(
                "`jaas render --format json` printed something that is not JSON ({e}):\n{}",
                String::from_utf8_lossy(&output.stdout)
            )),
        }
    }

    /// Whether both evaluated to the same value (see [`same_value`]) or both failed.
    pub fn agrees_with(&self, reference: &Self) -> bool {
        match (self, reference) {
            (Self::Value(a), Self::Value(b)) => same_value(a, b),
            (Self::Error(_), Self::Error(_)) => true,
            _ => false,
        }
    }

    /// The value pretty-printed, or the error, for a failure report.
    pub fn describe(&self) -> String {
        match self {
            Self::Value(value) => serde_json::to_string_pretty(value).expect("a Value serialises"),
            Self::Error(message) => format!("error: {}", message.trim_end()),
        }
    }
}

/// Strings and structure must be identical; numbers are compared as the doubles Jsonnet has, because how a
/// number is spelled in the JSON document is the output layer's business, not std's.
pub fn same_value(ours: &Value, reference: &Value) -> bool {
    first_difference(ours, reference).is_none()
}

/// Where `ours` first departs from `reference` under the rules of [`same_value`]: a JSON pointer and both values
/// there. `None` when they agree.
pub fn first_difference(ours: &Value, reference: &Value) -> Option<String> {
    difference_at(ours, reference, "")
}

fn difference_at(ours: &Value, reference: &Value, at: &str) -> Option<String> {
    let children: Vec<(String, &Value, &Value)> = match (ours, reference) {
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => return None,
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            a.iter().zip(b).enumerate().map(|(index, (x, y))| (index.to_string(), x, y)).collect()
        }
        (Value::Object(a), Value::Object(b)) if a.keys().eq(b.keys()) => {
            a.iter().zip(b.values()).map(|((key, x), y)| (key.replace('~', "~0").replace('/', "~1"), x, y)).collect()
        }
        _ if ours == reference => return None,
        _ => {
            let at = if at.is_empty() { "/" } else { at };
            return Some(format!("at {at}: jaas has {ours}, go-jsonnet has {reference}"));
        }
    };
    children.into_iter().find_map(|(key, x, y)| difference_at(x, y, &format!("{at}/{key}")))
}

/// The Python interpreter to run go-jsonnet with: `$PYTHON` if set, else the first `python3` on `PATH` that can
/// import the binding (a virtualenv earlier on `PATH`, such as the one run-tests.sh makes for
/// kubernetes-validate, may lack it). `None` when no interpreter has it; the second value lists those tried.
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

/// Evaluates all jobs with go-jsonnet in one Python process; one outcome per job, in order. Panics (with how to
/// install it) when go-jsonnet is not available.
pub fn evaluate(jobs: &[GoJob]) -> Vec<Outcome> {
    run_helper(GO_HELPER, jobs)
        .into_iter()
        .map(|result| match result.get("ok") {
            Some(Value::String(text)) => Outcome::Value(serde_json::from_str(text).expect("go-jsonnet prints JSON")),
            _ => Outcome::Error(result["error"].as_str().unwrap_or_default().to_owned()),
        })
        .collect()
}

/// Runs the Python script `helper`, which uses go-jsonnet, on `jobs` (a JSON array on its stdin) and returns its one
/// result per job (a JSON array on its stdout). Panics (with how to install it) when go-jsonnet is not available.
pub fn run_helper<Job: Serialize>(helper: &str, jobs: &[Job]) -> Vec<Value> {
    let (python, tried) = python_with_go_jsonnet();
    let Some(python) = python else {
        panic!(
            "go-jsonnet is not available: none of the Python interpreters on PATH ({}) can import _gojsonnet; \
             {SETUP_HINT}",
            tried.join(", ")
        );
    };
    let mut child = Command::new(&python)
        .arg(helper)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run `{python}` ({e}): tests against go-jsonnet need Python 3; {SETUP_HINT}")
        });
    let input = serde_json::to_vec(jobs).expect("jobs serialise");
    child.stdin.take().expect("piped stdin").write_all(&input).expect("send the jobs to the go-jsonnet helper");
    let output = child.wait_with_output().expect("wait for the go-jsonnet helper");
    assert!(
        output.status.success(),
        "the go-jsonnet helper {helper} failed under {python} ({}): {SETUP_HINT}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let results: Vec<Value> =
        serde_json::from_slice(&output.stdout).expect("the go-jsonnet helper prints a JSON array");
    assert_eq!(results.len(), jobs.len(), "the go-jsonnet helper gives one result per job");
    results
}
