//! The real binary over the local backend under hostile input and load: raw hostile paths never reach storage and
//! never cause a 5xx, memory stays bounded while a 100 MiB artifact streams to slow readers, and SIGTERM lets
//! in-flight downloads finish.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{Server, parse_response, request_bytes, seed_local};
use tempfile::TempDir;

const LARGE: usize = 100 << 20;

/// The large artifact repeats this 1 MiB pattern, so readers can check every byte cheaply (a memcmp per chunk,
/// where hashing 600 MiB in an unoptimised test binary would take longer than the download).
fn pattern() -> Vec<u8> {
    common::pseudo_random(1 << 20, 7)
}

fn large_body() -> Vec<u8> {
    pattern().repeat(LARGE >> 20)
}

/// Compares `data`, found at `offset` of the large body, with the pattern.
fn matches_pattern(pattern: &[u8], mut offset: usize, mut data: &[u8]) -> bool {
    while !data.is_empty() {
        let start = offset % pattern.len();
        let n = data.len().min(pattern.len() - start);
        if data[..n] != pattern[start..start + n] {
            return false;
        }
        (offset, data) = (offset + n, &data[n..]);
    }
    true
}

#[test]
fn hostile_paths_sent_raw_never_reach_storage_nor_5xx() {
    let dir = TempDir::new().unwrap();
    let root = dir.path().join("artifacts");
    let key = seed_local(&root, "team-a", "web", b"inside");
    // A file the traversals below would reach if anything decoded or resolved them.
    let outside = seed_local(dir.path(), "team-a", "web", b"outside the storage root");
    let file = outside.digest().file_name();
    let server =
        Server::start(dir.path(), &["--storage-backend", "local", "--storage-path", root.to_str().unwrap()], &[]);
    assert_eq!(server.get(&key.url_path(), &[]).status, 200);
    let calls = server.backend_calls();

    let hostile: Vec<String> = vec![
        format!("/team-a/web/../../team-a/web/{file}"),
        format!("/../team-a/web/{file}"),
        format!("/team-a/%2e%2e/%2e%2e/team-a/web/{file}"),
        format!("/team-a/web%2f..%2f..%2fteam-a%2fweb/{file}"),
        format!("/team-a/%252e%252e/web/{file}"),
        format!("/team-a\\..\\..\\team-a\\web/{file}"),
        format!("/team-a/web/{file}%00"),
        format!("/team-a/web%00/{file}"),
        format!("/team-a/web/%73ha256-{}.tar.gz", outside.digest().hex()),
        format!("/TEAM-A/web/{file}"),
        format!("//team-a/web/{file}"),
        format!("/team-a/web/{file}/"),
        format!("/team-a/web/{file}?x=1"),
        format!("/team-a/{}/{file}", "a".repeat(16 * 1024)),
        format!("http://127.0.0.1/../team-a/web/{file}"),
        // Backslashes, overlong UTF-8 and look-alike dots, percent-encoded, in the forms other servers decoded.
        format!("/team-a/web%5c..%5c..%5cteam-a%5cweb/{file}"),
        format!("/team-a/%2E%2E/%2E%2E%2Fteam-a/web/{file}"),
        format!("/team-a/.%2e/.%2e/team-a/web/{file}"),
        format!("/team-a/%c0%ae%c0%ae/%c0%ae%c0%ae%c0%afteam-a/web/{file}"),
        format!("/team-a/%e0%80%ae%e0%80%ae/web/{file}"),
        format!("/team-a/%e2%80%a4%e2%80%a4/web/{file}"),
        format!("/team-a/%ef%bc%8e%ef%bc%8e/web/{file}"),
        format!("/team-a/%u002e%u002e/web/{file}"),
        format!("/team-a/..;/..;/team-a/web/{file}"),
        format!("/team-a/./web/{file}"),
        // Absolute and doubled paths.
        "/etc/passwd".to_owned(),
        "//etc/passwd".to_owned(),
        format!("/team-a/web//{file}"),
        format!("/team-a/web/%2fetc%2fpasswd/{file}"),
        "file:///etc/passwd".to_owned(),
        "*".to_owned(),
        "/".to_owned(),
        "/team-a".to_owned(),
        "/team-a/web/".to_owned(),
    ];
    for path in &hostile {
        for method in ["GET", "HEAD"] {
            let raw = format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            let response = request_bytes(server.port, raw.as_bytes()).unwrap();
            assert!((400..500).contains(&response.status), "{method} {path}: {}", response.status);
            assert!(!String::from_utf8_lossy(&response.body).contains("outside"), "{path} escaped the root");
        }
        assert!(server.backend_calls() - calls < 0.5, "{path} reached storage");
    }
    // A raw NUL byte and raw non-ASCII in the request target.
    for raw in [
        &b"GET /team-a/web\0/x HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        "GET /tëam/web/x HTTP/1.1\r\nHost: x\r\n\r\n".as_bytes(),
        "GET /team-a/\u{2024}\u{2024}/web/x HTTP/1.1\r\nHost: x\r\n\r\n".as_bytes(),
        &b"GET /team-a/\xc0\xae\xc0\xae/web/x HTTP/1.1\r\nHost: x\r\n\r\n"[..],
    ] {
        if let Ok(response) = request_bytes(server.port, raw) {
            assert!((400..500).contains(&response.status), "{raw:?}: {}", response.status);
        }
    }
    assert!(server.backend_calls() - calls < 0.5, "a hostile path reached storage");
    // The HTTP parser drops a fragment (invalid in a request target), leaving a canonical artifact path: it is
    // looked up like that path, inside the root, where this digest does not exist.
    let fragment = server.get(&format!("/team-a/web/{file}#../../x"), &[]);
    assert_eq!(fragment.status, 404);
    assert!(server.metric_with("jaas_server_requests_total", "status=\"5") < 0.5, "a hostile path caused a 5xx");
}

/// Reads a response slowly: `chunk` bytes, then a pause, until the end; returns the body's length and whether every
/// byte matched the pattern.
fn slow_download(port: u16, path: &str, chunk: usize, pause: Duration) -> (usize, bool) {
    let pattern = pattern();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_mins(1))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut head = Vec::new();
    let mut buffer = vec![0; chunk];
    let mut intact = true;
    let mut body_len = 0;
    loop {
        let n = stream.read(&mut buffer).unwrap();
        if n == 0 {
            break;
        }
        if head.is_empty() || !head.windows(4).any(|w| w == b"\r\n\r\n") {
            head.extend_from_slice(&buffer[..n]);
            if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                let response = parse_response(&head[..end + 4]);
                assert_eq!(response.status, 200);
                intact &= matches_pattern(&pattern, 0, &head[end + 4..]);
                body_len += head.len() - end - 4;
            }
        } else {
            intact &= matches_pattern(&pattern, body_len, &buffer[..n]);
            body_len += n;
        }
        std::thread::sleep(pause);
    }
    (body_len, intact)
}

#[test]
fn memory_stays_bounded_while_streaming_a_large_artifact_to_slow_readers() {
    let dir = TempDir::new().unwrap();
    let root = dir.path().join("artifacts");
    let key = seed_local(&root, "team-a", "big", &large_body());
    let server =
        Server::start(dir.path(), &["--storage-backend", "local", "--storage-path", root.to_str().unwrap()], &[]);
    let baseline = server.rss_kib();
    let path = key.url_path();
    let readers: Vec<_> = (0..6)
        .map(|_| {
            let (port, path) = (server.port, path.clone());
            std::thread::spawn(move || slow_download(port, &path, 256 << 10, Duration::from_millis(2)))
        })
        .collect();
    let peak = server.peak_rss_kib_while(&readers).max(baseline);
    for reader in readers {
        assert_eq!(reader.join().unwrap(), (LARGE, true), "short or corrupt download");
    }
    eprintln!("RSS baseline {baseline} KiB, peak {peak} KiB while sending 6 x 100 MiB");
    // Buffering whole bodies would need 600 MiB; bounded streaming needs a few chunks per connection.
    assert!(peak < baseline + 64 * 1024, "RSS grew from {baseline} KiB to {peak} KiB");
}

#[test]
fn sigterm_lets_an_in_flight_download_finish_and_refuses_new_ones() {
    let dir = TempDir::new().unwrap();
    let root = dir.path().join("artifacts");
    let key = seed_local(&root, "team-a", "big", &large_body());
    let args = ["--storage-backend", "local", "--storage-path", root.to_str().unwrap(), "--shutdown-timeout", "30s"];
    let mut server = Server::start(dir.path(), &args, &[]);
    let (port, path) = (server.port, key.url_path());
    // About 100 MiB / 1 MiB per 20 ms: a couple of seconds in flight.
    let reader = std::thread::spawn(move || slow_download(port, &path, 1 << 20, Duration::from_millis(20)));
    std::thread::sleep(Duration::from_millis(300));
    server.terminate();
    std::thread::sleep(Duration::from_millis(300));
    assert!(TcpStream::connect(("127.0.0.1", server.port)).is_err(), "new connections accepted after SIGTERM");
    assert_eq!(reader.join().unwrap(), (LARGE, true), "the in-flight download was cut");
    let status = server.wait_exit(Duration::from_secs(30)).expect("server exits after draining");
    assert!(status.success(), "exit status {status}:\n{}", server.logs());
}
