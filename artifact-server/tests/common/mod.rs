//! Helpers shared by the integration tests: start the real `jaas-artifact-server` binary on 127.0.0.1, talk raw
//! HTTP/1.1 to it over a `TcpStream` (HTTP clients normalise paths, which would hide what we want to test), read its
//! metrics and its memory use.
#![allow(dead_code)]

pub mod proxy;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use jaas_shared::{ArtifactKey, Digest};

/// A running server process; killed when dropped.
pub struct Server {
    child: Child,
    /// The artifact port.
    pub port: u16,
    /// The health and metrics port.
    pub metrics_port: u16,
    /// Where its stderr goes.
    pub log: PathBuf,
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Server {
    /// Starts the binary with `args` (plus listen addresses and JSON logs) and waits for `/healthz`.
    pub fn start(log_dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Self {
        let (port, metrics_port) = (free_port(), free_port());
        let log = log_dir.join(format!("server-{port}.log"));
        let mut command = Command::new(env!("CARGO_BIN_EXE_jaas-artifact-server"));
        command
            .args(["--storage-listen-address", "127.0.0.1", "--storage-port", &port.to_string()])
            .args(["--metrics-bind-address", &format!("127.0.0.1:{metrics_port}"), "--log-format", "json"])
            .args(args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        for (name, value) in envs {
            command.env(name, value);
        }
        let child = command.spawn().expect("the server binary starts");
        let mut server = Self { child, port, metrics_port, log };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("server exited with {status} during start-up:\n{}", server.logs());
            }
            if request(metrics_port, "GET", "/healthz", &[]).is_ok_and(|r| r.status == 200) {
                return server;
            }
            assert!(Instant::now() < deadline, "server not healthy after 20 s:\n{}", server.logs());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The process id, for `/proc`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the server logged so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM (through kill(1): the workspace forbids unsafe code, so no libc::kill).
    pub fn terminate(&self) {
        let status = Command::new("kill").args(["-TERM", &self.pid().to_string()]).status().unwrap();
        assert!(status.success());
    }

    /// Waits up to `limit` for the process to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// The resident set size in KiB, from `/proc/<pid>/status`.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS in /proc/<pid>/status");
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    /// The highest RSS in KiB seen while `readers` run (sampled every 20 ms); fails if they take over 120 s.
    pub fn peak_rss_kib_while<T>(&self, readers: &[std::thread::JoinHandle<T>]) -> u64 {
        let mut peak = self.rss_kib();
        let deadline = Instant::now() + Duration::from_mins(2);
        while !readers.iter().all(std::thread::JoinHandle::is_finished) {
            assert!(Instant::now() < deadline, "downloads did not finish in 120 s");
            peak = peak.max(self.rss_kib());
            std::thread::sleep(Duration::from_millis(20));
        }
        peak
    }

    /// The sum of all samples of one metric (all label sets), from `/metrics`.
    pub fn metric(&self, name: &str) -> f64 {
        let response = request(self.metrics_port, "GET", "/metrics", &[]).unwrap();
        assert_eq!(response.status, 200);
        String::from_utf8(response.body)
            .unwrap()
            .lines()
            .filter(|line| line.split(['{', ' ']).next() == Some(name))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// The sum of the samples of one metric whose labels contain `labels` (e.g. `status="5`).
    pub fn metric_with(&self, name: &str, labels: &str) -> f64 {
        let response = request(self.metrics_port, "GET", "/metrics", &[]).unwrap();
        String::from_utf8(response.body)
            .unwrap()
            .lines()
            .filter(|line| line.split(['{', ' ']).next() == Some(name) && line.contains(labels))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// Number of backend calls made so far.
    pub fn backend_calls(&self) -> f64 {
        self.metric("jaas_server_backend_duration_seconds_count")
    }

    /// Whether the process is still running (it has neither exited nor crashed).
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// How many file descriptors the process holds, from `/proc/<pid>/fd`.
    pub fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid())).map_or(0, Iterator::count)
    }

    /// A raw request to the artifact port.
    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        request(self.port, "GET", path, headers).unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A parsed HTTP/1.1 response.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header lines, names lowercased, in order.
    pub headers: Vec<(String, String)>,
    /// The body as received (HEAD: empty).
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Headers other than `date`, which legitimately differs between two responses.
    pub fn stable_headers(&self) -> Vec<(String, String)> {
        let mut headers: Vec<_> = self.headers.iter().filter(|(n, _)| n != "date").cloned().collect();
        headers.sort();
        headers
    }
}

/// Sends `method path` with `Connection: close` exactly as given (no normalisation) and reads the whole answer.
pub fn request(port: u16, method: &str, path: &str, headers: &[(&str, &str)]) -> std::io::Result<Response> {
    let mut raw = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (name, value) in headers {
        raw.push_str(&[name, ": ", value, "\r\n"].concat());
    }
    raw.push_str("\r\n");
    request_bytes(port, raw.as_bytes())
}

/// Sends raw bytes and parses the answer (the server closes the connection after it).
pub fn request_bytes(port: u16, raw: &[u8]) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.write_all(raw)?;
    let mut received = Vec::new();
    stream.read_to_end(&mut received)?;
    Ok(parse_response(&received))
}

/// What came back for raw bytes the server may refuse part-way (an oversized head is answered, then reset).
#[derive(Debug)]
pub struct Exchange {
    /// The first response, if a whole head arrived.
    pub response: Option<Response>,
    /// Every byte read before the connection ended.
    pub received: Vec<u8>,
}

/// Sends raw bytes and reads until the server closes the connection, keeping what arrived even when writing or
/// reading ends with a reset (the server may answer and close before it has read everything).
pub fn exchange(port: u16, raw: &[u8]) -> std::io::Result<Exchange> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let _ = stream.write_all(raw);
    let mut received = Vec::new();
    let mut buffer = vec![0; 64 << 10];
    while let Ok(n @ 1..) = stream.read(&mut buffer) {
        received.extend_from_slice(&buffer[..n]);
    }
    let response = received.windows(4).any(|w| w == b"\r\n\r\n").then(|| parse_response(&received));
    Ok(Exchange { response, received })
}

/// Raises this process's soft limit on open files to its hard limit (children inherit it) with prlimit(1), as the
/// workspace forbids the unsafe setrlimit call; returns the soft limit now in force.
pub fn raise_open_files_limit() -> u64 {
    let soft_and_hard = || {
        let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
        let line = limits.lines().find(|l| l.starts_with("Max open files")).unwrap().to_owned();
        let fields: Vec<u64> = line.split_whitespace().filter_map(|f| f.parse().ok()).collect();
        (fields[0], fields.get(1).copied().unwrap_or(fields[0]))
    };
    let (soft, hard) = soft_and_hard();
    if soft < hard {
        let limit = format!("--nofile={hard}:{hard}");
        let pid = std::process::id().to_string();
        let _ = Command::new("prlimit").args(["--pid", &pid, &limit]).stderr(Stdio::null()).status();
    }
    soft_and_hard().0
}

/// Parses a complete response.
pub fn parse_response(received: &[u8]) -> Response {
    let end = received.windows(4).position(|w| w == b"\r\n\r\n").expect("a complete response head");
    let head = String::from_utf8_lossy(&received[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Response { status, headers, body: received[end + 4..].to_vec() }
}

/// Writes an artifact into a local storage root following the documented layout.
pub fn seed_local(root: &Path, namespace: &str, name: &str, body: &[u8]) -> ArtifactKey {
    let key = ArtifactKey::new(namespace, name, Digest::of(body)).unwrap();
    let path = root.join(key.relative_path());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, body).unwrap();
    key
}

/// Deterministic, incompressible-looking bytes.
pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}
