//! Helpers shared by the integration tests that run `jaas render`: running the real `jaas` binary, reading
//! tarballs, and comparing with go-jsonnet ([`go_jsonnet`]).

#![allow(dead_code, reason = "each test binary uses a different subset")]

pub mod go_jsonnet;

use std::{
    io::Read,
    path::{Path, PathBuf},
    process::{Command, Output},
};

/// The `jaas` binary under test.
pub fn jaas() -> Command {
    Command::new(env!("CARGO_BIN_EXE_jaas"))
}

/// The repository's `examples/` directory.
pub fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

/// Runs `jaas render <args>`.
pub fn render(args: &[&str]) -> Output {
    jaas().arg("render").args(args).output().expect("jaas runs")
}

/// Writes `files` (path, content) below a new temporary directory.
pub fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (path, content) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, content).expect("write");
    }
    dir
}

/// A path below `dir` as a `&str`-friendly `String`.
pub fn at(dir: &tempfile::TempDir, path: &str) -> String {
    dir.path().join(path).to_string_lossy().into_owned()
}

/// stdout as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// stderr as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts a failed render: exit status 1 and `fragment` in stderr.
pub fn assert_fails(output: &Output, fragment: &str) {
    let text = stderr(output);
    assert_eq!(output.status.code(), Some(1), "stderr: {text}\nstdout: {}", stdout(output));
    assert!(text.contains(fragment), "stderr {text:?} lacks {fragment:?}");
}

/// The files of a tar.gz as (path, content), in archive order.
pub fn untar(bytes: &[u8]) -> Vec<(String, String)> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let mut files = Vec::new();
    for entry in archive.entries().expect("tar") {
        let mut entry = entry.expect("entry");
        let path = entry.path().expect("path").to_string_lossy().into_owned();
        let mut content = String::new();
        entry.read_to_string(&mut content).expect("utf-8 content");
        files.push((path, content));
    }
    files
}
