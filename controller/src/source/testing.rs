//! Test support for the source module: tarballs crafted entry by entry (unsafe names included, which the `tar`
//! crate's own setters refuse) and a tiny HTTP server on 127.0.0.1 that serves them and counts its requests.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::args::SourceLimits;

/// Limits of 1 MiB (100 files) for the tests; a test lowers the one it checks.
pub const LIMITS: SourceLimits =
    SourceLimits { max_archive_bytes: 1 << 20, max_extracted_bytes: 1 << 20, max_entry_bytes: 1 << 20, max_files: 100 };

/// One entry of a crafted tarball; names and link targets are written byte for byte.
pub enum TestEntry {
    /// A regular file.
    File(&'static str, Vec<u8>),
    /// A directory.
    Dir(&'static str),
    /// A symlink `name -> target`.
    Symlink(&'static str, &'static str),
    /// A GNU long-name extension header whose payload is this many zero bytes (the `tar` crate buffers it).
    LongName(usize),
}

/// A gzip'd tar of `entries`, in order.
pub fn tar_gz(entries: &[TestEntry]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for entry in entries {
        let (name, kind, data, link): (&[u8], tar::EntryType, Vec<u8>, &[u8]) = match entry {
            TestEntry::File(name, data) => (name.as_bytes(), tar::EntryType::Regular, data.clone(), b""),
            TestEntry::Dir(name) => (name.as_bytes(), tar::EntryType::Directory, Vec::new(), b""),
            TestEntry::Symlink(name, target) => {
                (name.as_bytes(), tar::EntryType::Symlink, Vec::new(), target.as_bytes())
            }
            TestEntry::LongName(len) => (b"././@LongLink", tar::EntryType::GNULongName, vec![0; *len], b""),
        };
        let mut header = tar::Header::new_gnu();
        let gnu = header.as_gnu_mut().expect("a GNU header");
        gnu.name[..name.len()].copy_from_slice(name);
        gnu.linkname[..link.len()].copy_from_slice(link);
        header.set_entry_type(kind);
        header.set_mode(if kind == tar::EntryType::Directory { 0o755 } else { 0o644 });
        header.set_size(data.len() as u64);
        header.set_cksum();
        builder.append(&header, data.as_slice()).expect("appending to a Vec");
    }
    let tar = builder.into_inner().expect("finishing a Vec");
    gzip(&tar)
}

/// `bytes` gzip'd.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).expect("writing to a Vec");
    encoder.finish().expect("finishing a Vec")
}

/// The `sha256:<hex>` digest of `bytes`, as Flux writes it.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// What the server answers on one path.
#[derive(Clone)]
struct Route {
    status: u16,
    body: Vec<u8>,
    /// Whether to send `Content-Length` (without it the body ends when the connection closes).
    announce_length: bool,
}

/// An HTTP/1.1 server on 127.0.0.1 that answers `GET path` with the route set for it (404 otherwise), after an
/// optional delay, and counts the requests it received.
pub struct TestServer {
    address: String,
    routes: Arc<Mutex<HashMap<String, Route>>>,
    requests: Arc<AtomicUsize>,
}

impl TestServer {
    /// Starts a server whose answers each wait `delay` (to let concurrent requests overlap).
    pub async fn start(delay: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binding 127.0.0.1:0");
        let address = listener.local_addr().expect("a local address").to_string();
        let routes: Arc<Mutex<HashMap<String, Route>>> = Arc::default();
        let requests = Arc::new(AtomicUsize::new(0));
        let (server_routes, server_requests) = (routes.clone(), requests.clone());
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let (routes, requests) = (server_routes.clone(), server_requests.clone());
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buffer = [0u8; 1024];
                    while !head.windows(4).any(|window| window == b"\r\n\r\n") {
                        match stream.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(count) => head.extend_from_slice(&buffer[..count]),
                        }
                    }
                    requests.fetch_add(1, Ordering::SeqCst);
                    let head = String::from_utf8_lossy(&head);
                    let path = head.split(' ').nth(1).unwrap_or_default().to_owned();
                    let route = routes.lock().expect("routes").get(&path).cloned();
                    let route =
                        route.unwrap_or(Route { status: 404, body: b"not found".to_vec(), announce_length: true });
                    tokio::time::sleep(delay).await;
                    let length = if route.announce_length {
                        format!("Content-Length: {}\r\n", route.body.len())
                    } else {
                        String::new()
                    };
                    let header = format!("HTTP/1.1 {} X\r\n{length}Connection: close\r\n\r\n", route.status);
                    let _ = stream.write_all(header.as_bytes()).await;
                    let _ = stream.write_all(&route.body).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Self { address, routes, requests }
    }

    /// Serves `body` with status 200 on `path`.
    pub fn serve(&self, path: &str, body: Vec<u8>) {
        self.routes.lock().expect("routes").insert(path.to_owned(), Route { status: 200, body, announce_length: true });
    }

    /// Serves `body` with status 200 on `path` without announcing its length.
    pub fn serve_unannounced(&self, path: &str, body: Vec<u8>) {
        let route = Route { status: 200, body, announce_length: false };
        self.routes.lock().expect("routes").insert(path.to_owned(), route);
    }

    /// Answers `path` with `status` and an empty body.
    pub fn fail(&self, path: &str, status: u16) {
        self.routes
            .lock()
            .expect("routes")
            .insert(path.to_owned(), Route { status, body: Vec::new(), announce_length: true });
    }

    /// The `http://` URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// The `host:port` the server listens on.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// How many requests arrived so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}
