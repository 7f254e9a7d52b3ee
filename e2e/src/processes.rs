//! The JaaS binaries as child processes of an e2e test: where cargo put them, free loopback ports, and a guard
//! that stops a child (SIGTERM, then SIGKILL) when the test ends, however it ends, or kills it at once on request.

use std::fs::OpenOptions;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// The directory cargo puts workspace binaries in: the test executable lives in `<target>/<profile>/deps/`, the
/// binaries one level up. `cargo test --workspace` builds `jaas` and `jaas-artifact-server` there too.
pub fn binary(name: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot locate the test executable")?;
    let dir = exe
        .parent()
        .filter(|deps| deps.ends_with("deps"))
        .and_then(Path::parent)
        .with_context(|| format!("the test executable {} is not in a cargo `deps` directory", exe.display()))?;
    let path = dir.join(name);
    if !path.is_file() {
        bail!(
            "{} not found: build the binaries into the same target directory first, e.g. \
             `cargo build -p jaas-controller -p jaas-artifact-server` (or run `cargo test --workspace`, as \
             e2e/run-tests.sh does)",
            path.display()
        );
    }
    Ok(path)
}

/// A loopback port nobody listens on right now (the OS picks it; a tiny race with other processes remains).
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot bind a loopback port")?;
    Ok(listener.local_addr()?.port())
}

/// A running child process, stopped when dropped. Its stdout and stderr go to `<name>.log` in the log directory,
/// appended to, so the processes of one name started one after the other share one log.
pub struct ChildGuard {
    name: String,
    child: Child,
    log: PathBuf,
}

impl ChildGuard {
    /// Starts `command` with its output appended to `log_dir/<name>.log`, after a line naming the command.
    /// `JAAS_*` variables inherited from the test's environment are removed (those set on `command` stay), so only
    /// what the test chose configures the child.
    pub fn spawn(name: &str, mut command: Command, log_dir: &Path) -> Result<Self> {
        let log = log_dir.join(format!("{name}.log"));
        let mut out = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .with_context(|| format!("cannot open {}", log.display()))?;
        // Program and arguments only: the environment holds the S3 keys.
        let args: Vec<_> = command.get_args().map(|a| a.to_string_lossy()).collect();
        let line = format!("{} {}", command.get_program().to_string_lossy(), args.join(" "));
        writeln!(out, "=== starting {line}")?;
        let chosen: Vec<_> = command.get_envs().map(|(key, _)| key.to_owned()).collect();
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("JAAS_") && !chosen.contains(&key) {
                command.env_remove(key);
            }
        }
        // Plain log files: tracing-subscriber leaves out ANSI colours when NO_COLOR is set.
        command.env("NO_COLOR", "1").stdin(Stdio::null()).stdout(out.try_clone()?).stderr(out);
        let child = command.spawn().with_context(|| format!("cannot start {name}: {line}"))?;
        Ok(Self { name: name.to_owned(), child, log })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the process with SIGKILL, as the OOM killer or a node failure would, and reaps it.
    pub fn kill_now(&mut self) -> Result<()> {
        if self.child.try_wait()?.is_none() {
            self.child.kill().with_context(|| format!("cannot kill {}", self.name))?;
        }
        self.child.wait().with_context(|| format!("waiting for the killed {}", self.name))?;
        Ok(())
    }

    /// The last `lines` lines the process printed, for error messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        let tail = all[all.len().saturating_sub(lines)..].join("\n");
        format!("--- last {lines} lines of {} ({}):\n{tail}", self.name, self.log.display())
    }

    /// An error if the process has exited (with its log), so waits fail fast instead of timing out.
    pub fn ensure_running(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("{} exited early with {status}\n{}", self.name, self.log_tail(40));
        }
        Ok(())
    }

    /// Polls `url` until it answers 200, failing when the process exits or `timeout` passes.
    pub async fn wait_http_ok(&mut self, url: &str, timeout: Duration) -> Result<Duration> {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).build()?;
        let start = Instant::now();
        loop {
            self.ensure_running()?;
            let last = match client.get(url).send().await {
                Ok(response) if response.status() == reqwest::StatusCode::OK => return Ok(start.elapsed()),
                Ok(response) => format!("HTTP {}", response.status()),
                Err(error) => error.to_string(),
            };
            if start.elapsed() > timeout {
                bail!(
                    "{} did not answer 200 on {url} within {timeout:?} (last: {last})\n{}",
                    self.name,
                    self.log_tail(40)
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        // SIGTERM first, so the process shuts down as in a real rollout; std only offers SIGKILL, hence `kill`.
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).stderr(Stdio::null()).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
