//! `jaas eval` and go-jsonnet's `jsonnet` command run side by side on the same command line, each in a working
//! directory of its own holding the case's files, and what each printed, returned and wrote, for
//! controller/tests/eval_cli.rs. go-jsonnet runs through its Python binding's shared library
//! (`go_jsonnet_cli.py`, which says how it stands in for the command).

use std::{
    collections::BTreeMap,
    io::Write,
    path::Path,
    process::{Output, Stdio},
};

use serde_json::{Value, json};

use crate::render_support::{self, go_jsonnet};

/// The Python helper standing in for go-jsonnet's `jsonnet` command.
const GO_CLI: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/eval_support/go_jsonnet_cli.py");

/// One command line, run by both implementations.
#[derive(Debug, Clone, Default)]
pub struct Case {
    /// What the case shows, for failure reports.
    pub name: String,
    /// Files (relative path, contents) written into each working directory before the run.
    pub files: Vec<(String, String)>,
    /// The arguments after `jaas eval` (and after `jsonnet`).
    pub args: Vec<String>,
    /// Environment variables set for the run.
    pub env: Vec<(String, String)>,
    /// What the run reads on stdin.
    pub stdin: Option<String>,
    /// Whether the command line fails (with go-jsonnet too): agreeing on a failure proves little, so a case says
    /// which it expects; `None` takes whichever go-jsonnet does (the corpus holds programs of both kinds).
    pub fails: Option<bool>,
}

impl Case {
    /// A case running `args` on `files`.
    pub fn new(name: &str, files: &[(&str, &str)], args: &[&str]) -> Self {
        Self {
            name: name.to_owned(),
            files: files.iter().map(|(path, text)| ((*path).to_owned(), (*text).to_owned())).collect(),
            args: args.iter().map(|arg| (*arg).to_owned()).collect(),
            fails: Some(false),
            ..Self::default()
        }
    }

    /// The same case with an environment variable set.
    pub fn with_env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The same case, expected to fail.
    pub fn failing(mut self) -> Self {
        self.fails = Some(true);
        self
    }

    /// The same case reading `stdin`.
    pub fn with_stdin(mut self, stdin: &str) -> Self {
        self.stdin = Some(stdin.to_owned());
        self
    }

    /// A fresh working directory holding the case's files.
    fn working_directory(&self) -> tempfile::TempDir {
        let files: Vec<(&str, &str)> = self.files.iter().map(|(path, text)| (path.as_str(), text.as_str())).collect();
        render_support::tree(&files)
    }

    /// What the run wrote into `directory`: every file but the case's own.
    fn written(&self, directory: &Path) -> BTreeMap<String, String> {
        let mut written = BTreeMap::new();
        collect_files(directory, directory, &mut written);
        written.retain(|path, _| !self.files.iter().any(|(own, _)| own == path));
        written
    }
}

/// What one implementation did with a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The exit status.
    pub code: Option<i32>,
    /// stdout, byte for byte (as UTF-8).
    pub stdout: String,
    /// stderr.
    pub stderr: String,
    /// The files the run wrote (`-m`, `-o`), by path relative to its working directory.
    pub written: BTreeMap<String, String>,
}

impl Run {
    /// Where `self` (jaas) departs from `reference` (go-jsonnet): both failed with status 1, or both succeeded
    /// with the same stdout and the same files. `None` when they agree.
    pub fn difference_from(&self, reference: &Self) -> Option<String> {
        let both_failed = self.code == Some(1) && reference.code == Some(1);
        if both_failed
            || (self.code == reference.code && self.stdout == reference.stdout && self.written == reference.written)
        {
            return None;
        }
        Some(format!("go-jsonnet: {}\njaas: {}", reference.describe(), self.describe()))
    }

    fn describe(&self) -> String {
        format!(
            "exit {:?}\nstdout: {:?}\nstderr: {:?}\nfiles: {:?}",
            self.code,
            self.stdout,
            self.stderr.trim_end(),
            self.written
        )
    }
}

/// Runs the case as `jaas eval <args>` in a working directory of its own.
pub fn run_jaas(case: &Case) -> Run {
    let directory = case.working_directory();
    let mut command = render_support::jaas();
    command
        .arg("eval")
        .args(&case.args)
        .current_dir(directory.path())
        .envs(case.env.iter().map(|(name, value)| (name, value)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("run jaas eval");
    // Closed right after the case's input, so that a run reading stdin sees its end.
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin.write_all(case.stdin.as_deref().unwrap_or_default().as_bytes()).expect("write jaas eval's stdin");
    drop(stdin);
    let output = child.wait_with_output().expect("wait for jaas eval");
    run_of(&output, case.written(directory.path()))
}

fn run_of(output: &Output, written: BTreeMap<String, String>) -> Run {
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        written,
    }
}

/// Runs every case with go-jsonnet's `jsonnet` command (one Python process for all), each in a working directory
/// of its own; one run per case, in order. Panics, with how to install it, when go-jsonnet is not available.
pub fn run_go(cases: &[Case]) -> Vec<Run> {
    let directories: Vec<tempfile::TempDir> = cases.iter().map(Case::working_directory).collect();
    let jobs: Vec<Value> = cases
        .iter()
        .zip(&directories)
        .map(|(case, directory)| {
            let env: BTreeMap<&str, &str> = case.env.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            json!({"cwd": directory.path(), "args": case.args, "env": env, "stdin": case.stdin})
        })
        .collect();
    let results = go_jsonnet::run_helper(GO_CLI, &jobs);
    results
        .iter()
        .zip(cases.iter().zip(&directories))
        .map(|(result, (case, directory))| Run {
            code: result["code"].as_i64().and_then(|code| i32::try_from(code).ok()),
            stdout: result["stdout"].as_str().unwrap_or_default().to_owned(),
            stderr: result["stderr"].as_str().unwrap_or_default().to_owned(),
            written: case.written(directory.path()),
        })
        .collect()
}

/// Runs every case with both and lists the cases whose runs differ, each with both runs, and those where
/// go-jsonnet does not succeed or fail as the case expects.
pub fn differences(cases: &[Case]) -> Vec<(String, String)> {
    let reference = run_go(cases);
    cases
        .iter()
        .zip(&reference)
        .filter_map(|(case, go)| {
            if let Some(fails) = case.fails.filter(|fails| *fails != (go.code != Some(0))) {
                let expected = if fails { "fail" } else { "succeed" };
                return Some((case.name.clone(), format!("expected to {expected} in go-jsonnet: {}", go.describe())));
            }
            run_jaas(case).difference_from(go).map(|why| (case.name.clone(), why))
        })
        .collect()
}

/// Every file below `directory` as (path relative to `root`, contents).
fn collect_files(root: &Path, directory: &Path, files: &mut BTreeMap<String, String>) {
    for entry in std::fs::read_dir(directory).expect("read a working directory") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            collect_files(root, &path, files);
        } else {
            let relative = path.strip_prefix(root).expect("below the root").to_string_lossy().into_owned();
            files.insert(relative, std::fs::read_to_string(&path).expect("a UTF-8 output file"));
        }
    }
}
