//! A Kubernetes control plane of this test's own (etcd, kube-apiserver, controller-manager from
//! `e2e/kube-start.sh`), on free loopback ports with its state in a temporary directory, so that restarting its
//! API server never disturbs the shared one other tests use. Only the kube-apiserver process is restarted: it is
//! killed, stays down for a while and is started again with the arguments it had (read from `/proc`), etcd keeping
//! every object. Dropping it runs `e2e/kube-stop.sh` on the same state, whatever happened.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use jaas_e2e::{repo_root, run};
use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::ports::distinct_free_ports;

/// How long the restarted API server may take to answer `/readyz` (about 6 s here).
const READY_TIMEOUT: Duration = Duration::from_mins(1);

/// The running control plane; stopped on drop.
pub struct OwnApiServer {
    state: PathBuf,
    ports: [(&'static str, u16); 4],
    /// The admin kubeconfig `kube-start.sh` wrote.
    pub kubeconfig: PathBuf,
    api_port: u16,
}

impl OwnApiServer {
    /// Starts etcd, the API server and the controller-manager (about 15 s) with their state under `state`.
    pub fn start(state: &Path) -> Result<Self> {
        let [api_port, etcd, etcd_peer, kcm] = distinct_free_ports()?;
        let ports = [
            ("JAAS_KUBE_API_PORT", api_port),
            ("JAAS_KUBE_ETCD_PORT", etcd),
            ("JAAS_KUBE_ETCD_PEER_PORT", etcd_peer),
            ("JAAS_KUBE_KCM_PORT", kcm),
        ];
        let server = Self { state: state.to_owned(), ports, kubeconfig: state.join("kubeconfig"), api_port };
        let mut command = server.script("kube-start.sh");
        let printed = run(&mut command, None)?.ok().context("starting this test's own API server")?;
        ensure!(printed.contains("export KUBECONFIG="), "kube-start.sh printed {printed:?}");
        Ok(server)
    }

    /// `bash e2e/<name>` with this instance's state directory and ports.
    fn script(&self, name: &str) -> Command {
        let mut command = Command::new("bash");
        command.arg(repo_root().join("e2e").join(name)).env("JAAS_KUBE_STATE", &self.state);
        for (variable, port) in self.ports {
            command.env(variable, port.to_string());
        }
        command
    }

    /// A client for this API server.
    pub async fn client(&self) -> Result<kube::Client> {
        let kubeconfig = Kubeconfig::read_from(&self.kubeconfig)?;
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?;
        Ok(kube::Client::try_from(config)?)
    }

    /// The pid of the running kube-apiserver, from the pids file `kube-start.sh` keeps (`PID NAME PROGRAM`).
    fn apiserver_pid(&self) -> Result<u32> {
        let pids = std::fs::read_to_string(self.state.join("pids"))?;
        let line = pids.lines().find(|l| l.split_whitespace().nth(1) == Some("kube-apiserver"));
        line.and_then(|l| l.split_whitespace().next()?.parse().ok()).context("no kube-apiserver in the pids file")
    }

    /// Sends `signal` (`STOP`, `CONT`) to the API server: a stopped one keeps its sockets open and answers nothing,
    /// as a hung server or a network path that drops packets does.
    pub fn signal_apiserver(&self, signal: &str) -> Result<()> {
        let status = Command::new("kill").arg(format!("-{signal}")).arg(self.apiserver_pid()?.to_string()).status()?;
        ensure!(status.success(), "kill -{signal} of the API server failed");
        Ok(())
    }

    /// Kills the API server with SIGKILL (etcd and the controller-manager stay up); returns when it is gone.
    /// Returns the command line to start it again.
    pub async fn kill_apiserver(&self) -> Result<Vec<String>> {
        let pid = self.apiserver_pid()?;
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).context("reading the API server's arguments")?;
        let args: Vec<String> = cmdline
            .split(|&b| b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        ensure!(args.first().is_some_and(|p| p.ends_with("kube-apiserver")), "pid {pid} is not kube-apiserver");
        Command::new("kill").args(["-KILL", &pid.to_string()]).status()?;
        let start = Instant::now();
        while Path::new(&format!("/proc/{pid}")).exists() && start.elapsed() < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(args)
    }

    /// Starts the API server again with `args`, in a session of its own as `kube-start.sh` does, its output
    /// appended to its log, its pid recorded in place of the old one (so `kube-stop.sh` stops it); waits until
    /// `/readyz` answers `ok` and returns how long that took.
    pub async fn start_apiserver(&self, args: &[String]) -> Result<Duration> {
        let old = self.apiserver_pid()?;
        let log_path = self.state.join("data/log/kube-apiserver.log");
        let log = std::fs::OpenOptions::new().append(true).open(&log_path)?;
        let child = Command::new("setsid")
            .args(args)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("restarting kube-apiserver")?;
        let pid = child.id();
        // Not waited for here: kube-stop.sh stops it by its pid (setsid execs, so the pid is kube-apiserver's).
        drop(child);
        let pids_path = self.state.join("pids");
        let pids = std::fs::read_to_string(&pids_path)?;
        let updated: Vec<String> = pids
            .lines()
            .map(|l| {
                if l.starts_with(&format!("{old} ")) {
                    format!("{pid} kube-apiserver kube-apiserver")
                } else {
                    l.to_owned()
                }
            })
            .collect();
        std::fs::write(&pids_path, updated.join("\n") + "\n")?;
        self.wait_ready().await
    }

    /// Polls `/readyz` with curl, as `kube-start.sh` does (the test's HTTP client has no TLS).
    async fn wait_ready(&self) -> Result<Duration> {
        let data = self.state.join("data");
        let token = std::fs::read_to_string(data.join("admin.token"))?;
        let url = format!("https://127.0.0.1:{}/readyz", self.api_port);
        let start = Instant::now();
        loop {
            let mut curl = Command::new("curl");
            curl.args(["-sS", "--max-time", "2", "--cacert"]).arg(data.join("pki/ca.crt")).args([
                "-H",
                &format!("Authorization: Bearer {}", token.trim()),
                &url,
            ]);
            if run(&mut curl, None)?.ok().is_ok_and(|body| body == "ok") {
                return Ok(start.elapsed());
            }
            if start.elapsed() > READY_TIMEOUT {
                let log = data.join("log/kube-apiserver.log");
                bail!("the restarted kube-apiserver is not ready after {READY_TIMEOUT:?}: see {}", log.display());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for OwnApiServer {
    /// Stops the control plane, keeping the logs of its processes in `<state>/log` (`kube-stop.sh` deletes
    /// `<state>/data`): the work directory of a failed run holds them.
    fn drop(&mut self) {
        let (logs, kept) = (self.state.join("data/log"), self.state.join("log"));
        if std::fs::create_dir_all(&kept).is_ok() {
            for entry in std::fs::read_dir(&logs).into_iter().flatten().flatten() {
                let _ = std::fs::copy(entry.path(), kept.join(entry.file_name()));
            }
        }
        let _ = self.script("kube-stop.sh").stdout(Stdio::null()).stderr(Stdio::null()).status();
    }
}
