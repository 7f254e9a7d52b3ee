//! A TCP proxy the test controls, put between the server and S3 to cause real outages: connections refused (reset
//! right after accept) or black-holed (accepted and never answered), with every open connection cut on a switch,
//! so pooled keep-alive connections die as they would when S3 goes away. It can also make S3 slow: a delay before
//! each chunk S3 sends is passed on.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// What the proxy does with connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    /// Forward to the upstream.
    Forward = 0,
    /// Close each new connection at once: S3 is down.
    Reject = 1,
    /// Accept and never answer: S3 hangs.
    Blackhole = 2,
}

/// A running proxy on 127.0.0.1; stopped when dropped.
pub struct Proxy {
    /// The address to use instead of the upstream.
    pub addr: SocketAddr,
    mode: Arc<AtomicU8>,
    delay_ms: Arc<AtomicU64>,
    stopping: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
    acceptor: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Starts forwarding to `upstream`.
    pub fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mode = Arc::new(AtomicU8::new(Mode::Forward as u8));
        let delay_ms = Arc::new(AtomicU64::new(0));
        let stopping = Arc::new(AtomicBool::new(false));
        let open: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let acceptor = {
            let (mode, delay_ms, stopping, open) = (mode.clone(), delay_ms.clone(), stopping.clone(), open.clone());
            std::thread::spawn(move || {
                for client in listener.incoming() {
                    if stopping.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(client) = client else { continue };
                    match mode.load(Ordering::SeqCst) {
                        0 => {
                            if let Ok(server) = TcpStream::connect(upstream) {
                                open.lock().unwrap().extend([client.try_clone().unwrap(), server.try_clone().unwrap()]);
                                pipe(client.try_clone().unwrap(), server.try_clone().unwrap(), None);
                                pipe(server, client, Some(delay_ms.clone()));
                            }
                        }
                        1 => drop(client.shutdown(Shutdown::Both)),
                        _ => open.lock().unwrap().push(client),
                    }
                }
            })
        };
        Self { addr, mode, delay_ms, stopping, open, acceptor: Some(acceptor) }
    }

    /// The proxy as an S3 endpoint URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Holds back each chunk S3 sends by `delay`, on open connections too (zero: no delay).
    pub fn set_delay(&self, delay: Duration) {
        self.delay_ms.store(u64::try_from(delay.as_millis()).unwrap(), Ordering::SeqCst);
    }

    /// Switches the mode and cuts every connection opened so far.
    pub fn set_mode(&self, mode: Mode) {
        self.mode.store(mode as u8, Ordering::SeqCst);
        for stream in self.open.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.set_mode(Mode::Reject);
        let _ = TcpStream::connect(self.addr);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// Copies `from` to `to` on a thread until either side closes, waiting `delay_ms` (read at each chunk) before
/// passing a chunk on.
fn pipe(mut from: TcpStream, mut to: TcpStream, delay_ms: Option<Arc<AtomicU64>>) {
    std::thread::spawn(move || -> io::Result<()> {
        let mut buffer = vec![0; 64 << 10];
        loop {
            let n = from.read(&mut buffer)?;
            if n == 0 {
                let _ = to.shutdown(Shutdown::Write);
                return Ok(());
            }
            let delay = delay_ms.as_ref().map_or(0, |d| d.load(Ordering::SeqCst));
            if delay > 0 {
                std::thread::sleep(Duration::from_millis(delay));
            }
            to.write_all(&buffer[..n])?;
        }
    });
}
