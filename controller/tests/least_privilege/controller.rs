//! `jaas run` as production runs it, but as a host process: leader election on, JSON logs at the default level
//! (no `RUST_LOG`), and the API server reached with the ServiceAccount's kubeconfig only. Its log is read back line by
//! line, as a log collector would.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};

use serde_json::Value;

use crate::cluster::{BASE_URL, JAAS};

/// What one `jaas run` is started with.
pub struct Launch {
    /// The ServiceAccount's kubeconfig.
    pub kubeconfig: PathBuf,
    /// The storage flags.
    pub storage_flags: Vec<String>,
    /// `--source-controller-localhost`.
    pub source_controller_flag: String,
    /// The release namespace: the Lease lives there.
    pub lease_namespace: String,
    /// The Lease's name.
    pub lease_name: String,
    /// `--watch-namespaces`, empty for all.
    pub watch_namespaces: Option<String>,
    /// `--label-selector`, so that a cluster-wide controller takes only its own test's snippets.
    pub label_selector: String,
    /// Where its log goes (appended to across restarts).
    pub log: PathBuf,
}

/// A running (or exited) controller.
pub struct LimitedController {
    child: Child,
}

impl LimitedController {
    /// Starts `jaas run` for `launch`.
    pub fn start(launch: &Launch) -> Self {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&launch.log).unwrap();
        let mut command = Command::new(JAAS);
        command
            .arg("run")
            .arg(format!("--storage-base-url={BASE_URL}"))
            .arg(&launch.source_controller_flag)
            .arg("--leader-election=true")
            .arg(format!("--leader-election-namespace={}", launch.lease_namespace))
            .arg(format!("--leader-election-id={}", launch.lease_name))
            .arg(format!("--label-selector={}", launch.label_selector))
            .arg("--metrics-bind-address=127.0.0.1:0")
            .arg("--log-format=json")
            .arg("--max-concurrent-evals=1")
            .args(&launch.storage_flags)
            .env("KUBECONFIG", &launch.kubeconfig)
            .env_remove("RUST_LOG")
            .envs(std::env::var("JAAS_LEAST_PRIVILEGE_RUST_LOG").map(|filter| ("RUST_LOG", filter)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        if let Some(namespaces) = &launch.watch_namespaces {
            command.arg(format!("--watch-namespaces={namespaces}"));
        }
        let child = command.spawn().expect("jaas run starts");
        Self { child }
    }

    /// The exit status, once it has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().unwrap()
    }

    /// Sends SIGTERM (through `kill`: the workspace forbids `unsafe`).
    pub fn terminate(&self) {
        let status = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status().unwrap();
        assert!(status.success(), "kill -TERM failed");
    }
}

impl Drop for LimitedController {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One JSON log line: its level and all its string fields, joined.
pub struct LogLine {
    /// `ERROR`, `WARN`, `INFO`, ...
    pub level: String,
    /// The message and every other string field.
    pub text: String,
}

/// The lines of the JSON log at `path` (lines that are not JSON, such as a panic's, count as `ERROR`).
pub fn log_lines(path: &Path) -> Vec<LogLine> {
    let content = std::fs::read_to_string(path).unwrap_or_default();
    content
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(fields)) => LogLine {
                level: fields.get("level").and_then(Value::as_str).unwrap_or_default().to_owned(),
                text: fields.values().filter_map(Value::as_str).collect::<Vec<_>>().join(" | "),
            },
            _ => LogLine { level: "ERROR".to_owned(), text: line.to_owned() },
        })
        .collect()
}
