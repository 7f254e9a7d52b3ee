//! The JaaS processes of the test: one artifact server and [`COUNT`] `jaas run` replicas with leader election on,
//! all on one local storage directory and all pointed at the test's own API server. A replica that exits (a
//! leader that lost its Lease does) is started again, as its Deployment's kubelet would; its log is appended to,
//! in JSON so that the test can read it (see `controller_logs.rs`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Result;
use jaas_e2e::processes::{ChildGuard, free_port};

use crate::ports::distinct_free_ports;

/// Controller replicas, as in `controller.replicas: 2`.
pub const COUNT: usize = 2;
/// The Lease's name (`--leader-election-id`).
pub const LEASE_NAME: &str = "jaas-apiserver-restart";
/// How long a replica waits for `/readyz` at start.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// The most restarts of exited replicas in one run.
const MAX_RESTARTS: usize = 10;
/// The pause between a replica's exit and its restart (a kubelet waits 10 s at first; shorter keeps the test short).
const RESTART_DELAY: Duration = Duration::from_secs(1);

/// One `jaas run` process and where it serves its metrics.
pub struct Replica {
    /// `jaas-a`, `jaas-b`: also the name of its log file.
    pub name: String,
    /// The process.
    pub process: ChildGuard,
    /// `http://127.0.0.1:<port>`.
    pub metrics_url: String,
    exited_at: Option<Instant>,
}

/// What starting a replica takes.
struct Launch {
    binary: PathBuf,
    kubeconfig: PathBuf,
    namespace: String,
    base_url: String,
    storage: PathBuf,
    work_dir: PathBuf,
}

/// The running processes; dropping it stops the replicas, then the server.
pub struct Replicas {
    /// The controllers.
    pub controllers: Vec<Replica>,
    /// The artifact server.
    pub server: ChildGuard,
    /// Replicas started again after they exited.
    pub restarts: usize,
    launch: Launch,
}

impl Launch {
    fn spawn(&self, name: &str) -> Result<Replica> {
        let port = free_port()?;
        let mut command = Command::new(&self.binary);
        command
            .args(["run", "--storage-base-url", &self.base_url, "--watch-namespaces", &self.namespace])
            .args(["--metrics-bind-address", &format!("127.0.0.1:{port}"), "--log-format", "json"])
            .args(["--leader-election=true", "--leader-election-namespace", &self.namespace])
            .args(["--leader-election-id", LEASE_NAME, "--storage-backend", "local", "--storage-path"])
            .arg(&self.storage)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("RUST_LOG", "info");
        let process = ChildGuard::spawn(name, command, &self.work_dir)?;
        Ok(Replica { name: name.to_owned(), process, metrics_url: format!("http://127.0.0.1:{port}"), exited_at: None })
    }
}

impl Replicas {
    /// Starts the server and the replicas and waits until each answers `/readyz`.
    pub async fn start(
        controller: &Path,
        server: &Path,
        kubeconfig: &Path,
        namespace: &str,
        work_dir: &Path,
    ) -> Result<Self> {
        let storage = work_dir.join("artifacts");
        std::fs::create_dir_all(&storage)?;
        let [port, server_metrics] = distinct_free_ports()?;
        let base_url = format!("http://127.0.0.1:{port}");
        let mut command = Command::new(server);
        command
            .args(["--storage-listen-address", "127.0.0.1", "--storage-port", &port.to_string()])
            .args(["--metrics-bind-address", &format!("127.0.0.1:{server_metrics}"), "--log-format", "text"])
            .args(["--storage-backend", "local", "--storage-path"])
            .arg(&storage);
        let mut server = ChildGuard::spawn("jaas-artifact-server", command, work_dir)?;
        server.wait_http_ok(&format!("http://127.0.0.1:{server_metrics}/readyz"), READY_TIMEOUT).await?;
        let launch = Launch {
            binary: controller.to_owned(),
            kubeconfig: kubeconfig.to_owned(),
            namespace: namespace.to_owned(),
            base_url,
            storage,
            work_dir: work_dir.to_owned(),
        };
        let mut controllers = Vec::new();
        for index in 0..COUNT {
            let mut replica = launch.spawn(&replica_name(index))?;
            replica.process.wait_http_ok(&format!("{}/readyz", replica.metrics_url), READY_TIMEOUT).await?;
            controllers.push(replica);
        }
        Ok(Self { controllers, server, restarts: 0, launch })
    }

    /// Starts again each replica that exited at least [`RESTART_DELAY`] ago (at most [`MAX_RESTARTS`] in all);
    /// returns the names of those started.
    pub fn restart_exited(&mut self) -> Result<Vec<String>> {
        let mut started = Vec::new();
        for replica in &mut self.controllers {
            if replica.process.ensure_running().is_ok() {
                continue;
            }
            let exited_at = *replica.exited_at.get_or_insert_with(Instant::now);
            if exited_at.elapsed() < RESTART_DELAY || self.restarts >= MAX_RESTARTS {
                continue;
            }
            *replica = self.launch.spawn(&replica.name)?;
            self.restarts += 1;
            started.push(replica.name.clone());
        }
        Ok(started)
    }

    /// The replica whose pid the Lease holder names (identities are `<host>_<pid>_<nanos>`).
    pub fn by_identity(&self, identity: &str) -> Option<&Replica> {
        self.controllers.iter().find(|r| identity.contains(&format!("_{}_", r.process.pid())))
    }

    /// Where replica `name` logs.
    pub fn log_path(&self, name: &str) -> PathBuf {
        self.launch.work_dir.join(format!("{name}.log"))
    }

    /// The artifact server's URL, under which the replicas publish (`--storage-base-url`).
    pub fn base_url(&self) -> &str {
        &self.launch.base_url
    }

    /// The recent output of every process, for error messages.
    pub fn logs(&self) -> String {
        let mut all: Vec<String> = self.controllers.iter().map(|r| r.process.log_tail(30)).collect();
        all.push(self.server.log_tail(10));
        all.join("\n")
    }
}

/// The name of replica `index`: `jaas-a`, `jaas-b`, ...
pub fn replica_name(index: usize) -> String {
    format!("jaas-{}", char::from(b'a' + u8::try_from(index).unwrap_or(0)))
}

/// Whether the replica at `metrics_url` reports `jaas_leader 1`; `None` when it does not answer.
pub async fn leader_gauge(metrics_url: &str) -> Option<bool> {
    let http = reqwest::Client::builder().timeout(Duration::from_millis(500)).build().ok()?;
    let text = http.get(format!("{metrics_url}/metrics")).send().await.ok()?.text().await.ok()?;
    text.lines().find_map(|l| l.strip_prefix("jaas_leader ")).map(|v| v.trim() == "1")
}
