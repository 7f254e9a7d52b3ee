//! Helpers shared by the end-to-end tests: the test environment (tools and servers named by the variables that
//! `e2e/run-tests.sh` exports) and running external commands with their output kept for error messages; and, in
//! modules, what the tests that run JaaS as real processes share: the API-server side ([`cluster`]), the child
//! processes ([`processes`]), one installation of both binaries on a storage backend ([`stack`]) and what a Flux
//! consumer does with a published artifact ([`flux`]), the digest `jaas render` gives a snippet ([`rendered`]) and whether the controller published it ([`published`]).

pub mod cluster;
pub mod flux;
pub mod processes;
pub mod published;
pub mod rendered;
pub mod stack;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

/// The repository root (the parent of the `e2e` crate).
pub fn repo_root() -> PathBuf {
    let e2e = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    e2e.parent().map_or(e2e.clone(), PathBuf::from)
}

/// The value of an environment variable the e2e tests need. Missing or empty is an error that says how to get it:
/// these tests fail rather than skip, so a run without the environment never looks green.
pub fn required_env(name: &str) -> anyhow::Result<String> {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => Ok(value),
        _ => bail!(
            "{name} is not set: run the tests with `bash e2e/run-tests.sh`, which installs the tools, starts the \
             servers and exports {name} (or export it yourself)"
        ),
    }
}

/// What a finished command printed and how it ended.
#[derive(Debug)]
pub struct CommandOutput {
    /// The command line, for messages.
    pub command: String,
    /// Exit status was 0.
    pub success: bool,
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error, lossily decoded.
    pub stderr: String,
}

impl CommandOutput {
    /// Standard output when the command succeeded; otherwise an error holding the command line and both outputs.
    pub fn ok(self) -> anyhow::Result<String> {
        if self.success {
            Ok(self.stdout)
        } else {
            bail!("`{}` failed:\n--- stdout\n{}\n--- stderr\n{}", self.command, self.stdout, self.stderr)
        }
    }
}

/// Runs `command` to completion, writing `stdin` (if any) to its standard input. An error only when it cannot be
/// started; a non-zero exit is reported in [`CommandOutput::success`].
pub fn run(command: &mut Command, stdin: Option<&[u8]>) -> anyhow::Result<CommandOutput> {
    let line = format!("{command:?}");
    command.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().with_context(|| format!("cannot start {line}"))?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // A writer thread: a child that prints a lot before reading all its input would otherwise deadlock us.
        let input = input.to_vec();
        std::thread::spawn(move || pipe.write_all(&input));
    }
    let output = child.wait_with_output().with_context(|| format!("waiting for {line}"))?;
    Ok(CommandOutput {
        command: line,
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}
