//! `jaas run` as a child process: started with per-test flags, stopped with SIGTERM (through `kill`, since the
//! workspace forbids `unsafe`), its logs kept in a file and its `/metrics` readable.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A running controller.
pub struct ControllerProcess {
    child: Child,
    /// The port of its metrics endpoint.
    pub metrics_port: u16,
    /// Where its stderr goes.
    pub log: PathBuf,
    http: reqwest::Client,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl ControllerProcess {
    /// Starts `jaas run` watching `namespace` (its lease lives there too) with `extra` flags.
    pub fn start(label: &str, namespace: &str, storage_flags: &[String], extra: &[&str]) -> Self {
        let metrics_port = free_port();
        let log = std::env::temp_dir().join(format!("{namespace}-{label}.log"));
        let log_file = std::fs::File::create(&log).unwrap();
        let child = Command::new(super::JAAS)
            .arg("run")
            .arg(format!("--storage-base-url={}", super::BASE_URL))
            .arg(format!("--watch-namespaces={namespace}"))
            .arg(format!("--leader-election-namespace={namespace}"))
            .arg(format!("--leader-election-id=jaas-{namespace}"))
            .arg(format!("--metrics-bind-address=127.0.0.1:{metrics_port}"))
            .arg("--log-format=text")
            .arg("--max-concurrent-evals=2")
            .args(storage_flags)
            .args(extra)
            .env("RUST_LOG", "info,jaas_controller=debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .expect("jaas run starts");
        eprintln!("started controller {label} (pid {}), log {}", child.id(), log.display());
        Self { child, metrics_port, log, http: reqwest::Client::new() }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let status = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status().unwrap();
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits up to `timeout` for the process to exit.
    pub async fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "controller did not exit within {timeout:?}; log:\n{}", self.logs());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The process's log so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The value of an unlabelled metric, or the sum of a labelled one; `None` while the endpoint is down.
    pub async fn metric(&self, name: &str) -> Option<f64> {
        let url = format!("http://127.0.0.1:{}/metrics", self.metrics_port);
        let text = self.http.get(url).timeout(Duration::from_secs(2)).send().await.ok()?.text().await.ok()?;
        let values: Vec<f64> = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter(|l| l.split([' ', '{']).next() == Some(name))
            .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
            .collect();
        Some(values.iter().sum())
    }

    /// Whether `/metrics` says this process leads.
    pub async fn is_leader(&self) -> bool {
        self.metric("jaas_leader").await == Some(1.0)
    }
}

impl Drop for ControllerProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
