//! One JaaS installation for one e2e test: the artifact server and the controller as host processes on free
//! loopback ports, both on the same storage (a temporary directory, or a fresh prefix in the S3 bucket), the
//! controller watching only the test's namespace so that parallel runs never touch each other's snippets. The
//! controller can be started again with the same flags, e.g. after the test killed it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::processes::{ChildGuard, free_port};
use crate::required_env;
use anyhow::{Context, Result};

/// Where the artifacts are stored.
#[derive(Clone)]
pub enum Backend {
    /// `--storage-backend local` in a temporary directory.
    Local,
    /// `--storage-backend s3` against the test S3 server (e2e/s3-start.sh), under a prefix of its own.
    S3 {
        /// The endpoint URL, `http://127.0.0.1:7480` for e2e/s3-start.sh.
        endpoint: String,
        /// An existing bucket.
        bucket: String,
        /// The signing region.
        region: String,
        /// The access key id.
        access_key: String,
        /// The secret key.
        secret_key: String,
    },
}

impl Backend {
    /// The S3 backend from the variables e2e/s3-start.sh prints; a missing one is an error naming that script.
    pub fn s3_from_env() -> Result<Self> {
        let var = |name: &str| {
            required_env(name).with_context(|| {
                format!(
                    "the S3 backend needs {name}: start the S3 server with `eval \"$(bash e2e/s3-start.sh)\"` and \
                     export what it prints (e2e/run-tests.sh does both)"
                )
            })
        };
        Ok(Self::S3 {
            endpoint: var("JAAS_S3_ENDPOINT")?,
            bucket: var("JAAS_S3_BUCKET")?,
            region: var("AWS_REGION")?,
            access_key: var("AWS_ACCESS_KEY_ID")?,
            secret_key: var("AWS_SECRET_ACCESS_KEY")?,
        })
    }

    /// A short name for log lines.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::S3 { .. } => "s3",
        }
    }

    /// Adds the storage flags (and the S3 keys, as environment variables rather than visible arguments).
    fn configure(&self, command: &mut Command, local_root: &Path, s3_prefix: &str) {
        match self {
            Self::Local => {
                command.args(["--storage-backend", "local", "--storage-path"]).arg(local_root);
            }
            Self::S3 { endpoint, bucket, region, access_key, secret_key } => {
                command
                    .args(["--storage-backend", "s3", "--s3-endpoint", endpoint, "--s3-bucket", bucket])
                    .args(["--s3-prefix", s3_prefix, "--s3-region", region, "--s3-use-ssl=false"])
                    .env("JAAS_S3_ACCESS_KEY", access_key)
                    .env("JAAS_S3_SECRET_KEY", secret_key);
            }
        }
    }
}

/// The two running processes. Dropping it stops both, the controller first (fields drop in declaration order).
pub struct Stack {
    /// The controller (`jaas run`).
    pub controller: ChildGuard,
    /// The artifact server.
    pub server: ChildGuard,
    /// What the controller stamps into artifact URLs: the artifact server's address.
    pub base_url: String,
    /// How long each process took to answer 200 on /readyz.
    pub ready_after: (Duration, Duration),
    /// The root of the local backend (unused on S3).
    pub local_root: PathBuf,
    /// The key prefix of this stack's objects in the S3 bucket (unused locally).
    pub s3_prefix: String,
    /// Where the current controller serves `/metrics`, `/healthz` and `/readyz`: `http://127.0.0.1:<port>`.
    pub controller_metrics: String,
    controller_launch: ControllerLaunch,
}

/// The two binaries of the workspace.
pub struct Binaries {
    /// `jaas`.
    pub controller: PathBuf,
    /// `jaas-artifact-server`.
    pub server: PathBuf,
}

/// What starting this stack's controller takes, kept so that it can be started again.
struct ControllerLaunch {
    binary: PathBuf,
    backend: Backend,
    namespace: String,
    base_url: String,
    storage: PathBuf,
    s3_prefix: String,
    work_dir: PathBuf,
    /// The test's own flags, after the common ones.
    args: Vec<String>,
}

impl ControllerLaunch {
    /// Starts a controller (its output appended to `jaas.log`, at the `RUST_LOG` level `JAAS_E2E_CONTROLLER_LOG`,
    /// default `info`); returns it with the address of its metrics and probes, `http://127.0.0.1:<port>`, a fresh
    /// port so that a killed predecessor's socket is never in the way.
    fn spawn(&self) -> Result<(ChildGuard, String)> {
        let metrics = free_port()?;
        let mut command = Command::new(&self.binary);
        command
            .args(["run", "--storage-base-url", &self.base_url, "--watch-namespaces", &self.namespace])
            .args(["--metrics-bind-address", &format!("127.0.0.1:{metrics}"), "--log-format", "text"])
            .args(&self.args)
            .env("RUST_LOG", std::env::var("JAAS_E2E_CONTROLLER_LOG").unwrap_or_else(|_| "info".to_owned()));
        self.backend.configure(&mut command, &self.storage, &self.s3_prefix);
        let controller = ChildGuard::spawn("jaas", command, &self.work_dir)?;
        Ok((controller, format!("http://127.0.0.1:{metrics}")))
    }
}

impl Stack {
    /// Starts the server, then the controller with `controller_args` added to the flags every test needs (storage,
    /// the artifact server's URL, the namespace, metrics and text logs), and waits (30 s each) until both report
    /// ready.
    pub async fn start(
        bins: &Binaries,
        backend: &Backend,
        namespace: &str,
        work_dir: &Path,
        controller_args: &[&str],
    ) -> Result<Self> {
        let storage = work_dir.join("artifacts");
        std::fs::create_dir_all(&storage)?;
        let s3_prefix = format!("e2e/{namespace}");
        let (port, server_metrics) = (free_port()?, free_port()?);
        let base_url = format!("http://127.0.0.1:{port}");

        let mut command = Command::new(&bins.server);
        command.args(["--storage-listen-address", "127.0.0.1", "--storage-port", &port.to_string()]).args([
            "--metrics-bind-address",
            &format!("127.0.0.1:{server_metrics}"),
            "--log-format",
            "text",
        ]);
        backend.configure(&mut command, &storage, &s3_prefix);
        let mut server = ChildGuard::spawn("jaas-artifact-server", command, work_dir)?;
        let server_ready = server.wait_http_ok(&format!("http://127.0.0.1:{server_metrics}/readyz"), WAIT).await?;

        let controller_launch = ControllerLaunch {
            binary: bins.controller.clone(),
            backend: backend.clone(),
            namespace: namespace.to_owned(),
            base_url: base_url.clone(),
            storage: storage.clone(),
            s3_prefix: s3_prefix.clone(),
            work_dir: work_dir.to_owned(),
            args: controller_args.iter().map(|&a| a.to_owned()).collect(),
        };
        let (mut controller, controller_metrics) = controller_launch.spawn()?;
        let controller_ready = controller.wait_http_ok(&format!("{controller_metrics}/readyz"), WAIT).await?;
        Ok(Self {
            controller,
            server,
            base_url,
            ready_after: (server_ready, controller_ready),
            local_root: storage,
            s3_prefix,
            controller_metrics,
            controller_launch,
        })
    }

    /// Starts a new controller with the same flags in place of the current one, without waiting for it to be
    /// ready. Kill the current one first ([`ChildGuard::kill_now`]) to replace it after a crash; one still running
    /// is stopped with SIGTERM once its successor runs.
    pub fn restart_controller(&mut self) -> Result<()> {
        let (controller, metrics) = self.controller_launch.spawn()?;
        drop(std::mem::replace(&mut self.controller, controller));
        self.controller_metrics = metrics;
        Ok(())
    }

    /// Waits until the artifact server answers 404 for `url`; on failure, says whether the local backend still
    /// holds the file, which tells a storage problem from a server serving what storage no longer has.
    pub async fn wait_withdrawn(&self, backend: &Backend, url: &str) -> Result<Duration> {
        let result = crate::flux::wait_not_found(url, Duration::from_secs(30)).await;
        result.map_err(|error| {
            let relative = url.strip_prefix(&self.base_url).unwrap_or(url).trim_start_matches('/');
            let note = match backend {
                Backend::Local if self.local_root.join(relative).exists() => "the file is still in local storage",
                Backend::Local => {
                    "the file is gone from local storage, yet the server still serves it (from its cache?)"
                }
                Backend::S3 { .. } => "see the controller log for the deletion",
            };
            anyhow::anyhow!("{error:#}: {note}\n{}", self.logs())
        })
    }

    /// The recent output of both processes, for error messages.
    pub fn logs(&self) -> String {
        format!("{}\n{}", self.controller.log_tail(40), self.server.log_tail(15))
    }
}

const WAIT: Duration = Duration::from_secs(30);
