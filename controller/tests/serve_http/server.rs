//! `jaas serve` as a child process on free loopback ports, with helpers to request it: through reqwest for
//! ordinary requests, and over a raw TCP connection for paths no HTTP client would send as written.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `jaas serve`.
pub struct Server {
    child: Child,
    /// The render port.
    pub port: u16,
    /// The probe port.
    pub probe_port: u16,
    /// Where its stderr goes.
    pub log: std::path::PathBuf,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Server {
    /// Starts `jaas serve --snippet-directory <snippets>` with `extra` flags and waits until it answers.
    pub fn start(snippets: &Path, extra: &[&str]) -> Self {
        let (port, probe_port) = (free_port(), free_port());
        let log = std::env::temp_dir().join(format!("jaas-serve-{port}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_jaas"))
            .arg("serve")
            .arg(format!("--snippet-directory={}", snippets.display()))
            .arg(format!("--bind-address=127.0.0.1:{port}"))
            .arg(format!("--metrics-bind-address=127.0.0.1:{probe_port}"))
            .arg("--log-format=text")
            .arg("--reload-interval=200ms")
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("jaas serve starts");
        let server = Self { child, port, probe_port, log };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "jaas serve did not listen; log:\n{}", server.logs());
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The process's log so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends `request_line` and headers as written, and returns the status code and the whole response.
    pub fn raw(&self, request_line: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        write!(stream, "{request_line}\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
        let mut response = String::new();
        let _ = stream.read_to_string(&mut response);
        let status = response.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
        (status, response)
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
