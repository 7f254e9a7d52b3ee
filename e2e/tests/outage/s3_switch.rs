//! The test's S3 power switch: a TCP proxy on 127.0.0.1 between both JaaS processes and the shared S3 server,
//! which itself is never touched (other tests and people use it). Up, it forwards every connection to S3. Down,
//! it accepts each new connection and closes it at once, counting it, and going down cuts every connection open
//! so far, so pooled keep-alive connections die as they would when S3 goes away.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use anyhow::{Context, Result};

/// What the acceptor thread and the test share.
#[derive(Default)]
struct Shared {
    down: AtomicBool,
    stopping: AtomicBool,
    forwarded: AtomicU64,
    refused: AtomicU64,
    /// Both ends of every forwarded connection, to cut them when S3 goes down.
    open: Mutex<Vec<TcpStream>>,
}

/// A running switch; stopped (and every connection cut) when dropped.
pub struct S3Switch {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl S3Switch {
    /// Starts forwarding to the S3 endpoint `upstream_url` (`http://HOST:PORT`).
    pub fn start(upstream_url: &str) -> Result<Self> {
        let upstream = upstream_address(upstream_url)?;
        let listener = TcpListener::bind("127.0.0.1:0").context("cannot bind the S3 proxy")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let acceptor = {
            let shared = shared.clone();
            std::thread::spawn(move || accept(&listener, upstream, &shared))
        };
        Ok(Self { addr, shared, acceptor: Some(acceptor) })
    }

    /// The proxy as the S3 endpoint URL the processes are given.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// S3 goes away: new connections are closed at once, open ones are cut.
    pub fn go_down(&self) {
        self.shared.down.store(true, Ordering::SeqCst);
        cut_all(&self.shared);
    }

    /// S3 is back: new connections are forwarded again.
    pub fn come_back(&self) {
        self.shared.down.store(false, Ordering::SeqCst);
    }

    /// Connections closed unanswered while S3 was down (every process, every SDK retry included).
    pub fn refused(&self) -> u64 {
        self.shared.refused.load(Ordering::SeqCst)
    }

    /// Connections forwarded to S3 so far.
    pub fn forwarded(&self) -> u64 {
        self.shared.forwarded.load(Ordering::SeqCst)
    }
}

impl Drop for S3Switch {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        cut_all(&self.shared);
        // Wakes the acceptor, which then sees `stopping`.
        let _ = TcpStream::connect(self.addr);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// `http://127.0.0.1:7480` (a path, if any, ignored) as a socket address.
fn upstream_address(url: &str) -> Result<SocketAddr> {
    let authority = url
        .strip_prefix("http://")
        .with_context(|| format!("the S3 endpoint {url:?} is not http://HOST:PORT"))?
        .split('/')
        .next()
        .unwrap_or_default();
    authority
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve the S3 endpoint {url:?}"))?
        .next()
        .with_context(|| format!("the S3 endpoint {url:?} resolves to nothing"))
}

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, Vec<TcpStream>> {
    shared.open.lock().unwrap_or_else(PoisonError::into_inner)
}

fn cut_all(shared: &Shared) {
    for stream in lock(shared).drain(..) {
        let _ = stream.shutdown(Shutdown::Both);
    }
}

/// The acceptor thread: forwards or refuses each connection until the switch is dropped.
fn accept(listener: &TcpListener, upstream: SocketAddr, shared: &Arc<Shared>) {
    for client in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let Ok(client) = client else { continue };
        if shared.down.load(Ordering::SeqCst) {
            shared.refused.fetch_add(1, Ordering::SeqCst);
            let _ = client.shutdown(Shutdown::Both);
            continue;
        }
        if let Err(error) = forward(client, upstream, shared) {
            eprintln!("outage: the S3 proxy could not forward a connection: {error}");
        }
    }
}

/// Connects `client` to `upstream` with a copying thread each way.
fn forward(client: TcpStream, upstream: SocketAddr, shared: &Shared) -> io::Result<()> {
    let server = TcpStream::connect(upstream)?;
    lock(shared).extend([client.try_clone()?, server.try_clone()?]);
    shared.forwarded.fetch_add(1, Ordering::SeqCst);
    let (client_in, server_out) = (client.try_clone()?, server.try_clone()?);
    std::thread::spawn(move || copy(client_in, server_out));
    std::thread::spawn(move || copy(server, client));
    Ok(())
}

/// Copies `from` to `to` until either side closes or is cut.
fn copy(mut from: TcpStream, mut to: TcpStream) -> io::Result<()> {
    let mut buffer = vec![0; 64 << 10];
    loop {
        let n = from.read(&mut buffer)?;
        if n == 0 {
            let _ = to.shutdown(Shutdown::Write);
            return Ok(());
        }
        to.write_all(&buffer[..n])?;
    }
}
