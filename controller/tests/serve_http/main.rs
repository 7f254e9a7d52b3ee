//! `jaas serve` end to end, as a real process on loopback: values and YAML streams, top-level arguments from the
//! query, every problem code, traversal in every encoding (sent raw over TCP), the evaluation timeout, 503 when
//! every place is taken, a client that disconnects mid-evaluation, ETags, and reload after a file changes.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod server;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use server::Server;

/// A snippet tree: `web` (a ConfigMap from TLAs), `teams/a/list` (an array), `slow` (a long evaluation),
/// `broken` (a runtime error), `huge` (a large output), `uses-lib` (imports a library path), and outside the
/// snippet root a `secret/main.jsonnet` that must never be served.
fn snippet_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let write = |path: &str, text: &str| {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "snippets/web/main.jsonnet",
        "function(name='web', replicas='1', tag=[]) { apiVersion: 'v1', kind: 'ConfigMap', \
         metadata: { name: name }, data: { replicas: replicas, tags: std.join(',', if std.isArray(tag) then tag else [tag]) } }",
    );
    write("snippets/teams/a/list/main.jsonnet", "[{ a: 1 }, { b: [1, 2] }]");
    write(
        "snippets/slow/main.jsonnet",
        "local f(n) = if n == 0 then 0 else 1 + f(n - 1); { n: [f(400) for i in std.range(1, 200000)] }",
    );
    write("snippets/broken/main.jsonnet", "{ a: error 'this snippet is broken' }");
    write("snippets/huge/main.jsonnet", "{ data: std.repeat('x', 100000) }");
    write("snippets/uses-lib/main.jsonnet", "(import 'shared.libsonnet') { local_: true }");
    write("libs/shared.libsonnet", "{ shared: 'from the library path' }");
    write("secret/main.jsonnet", "{ secret: 'never served' }");
    std::os::unix::fs::symlink(dir.path().join("secret"), dir.path().join("snippets/escape")).unwrap();
    dir
}

fn start(dir: &tempfile::TempDir, extra: &[&str]) -> Server {
    let library = format!("--library-path={}", dir.path().join("libs").display());
    let mut flags = vec![library.as_str()];
    flags.extend_from_slice(extra);
    Server::start(&dir.path().join("snippets"), &flags)
}

async fn json(response: reqwest::Response) -> Value {
    serde_json::from_str(&response.text().await.unwrap()).unwrap()
}

async fn problem(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert_eq!(content_type, "application/problem+json", "status {status}");
    (status, json(response).await)
}

#[tokio::test]
async fn values_yaml_streams_and_arguments_from_the_query() {
    let dir = snippet_tree();
    let server = start(&dir, &[]);
    let http = reqwest::Client::new();

    let response = http.get(server.url("/jsonnet/web?name=api&tag=a&tag=b")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let value = json(response).await;
    assert_eq!(value["metadata"]["name"], "api");
    assert_eq!(value["data"], json!({"replicas": "1", "tags": "a,b"}), "a repeated parameter is a list");

    let yaml = http.get(server.url("/jsonnet/teams/a/list")).header("accept", "application/yaml").send().await.unwrap();
    assert_eq!(yaml.headers()["content-type"], "application/yaml");
    assert_eq!(yaml.text().await.unwrap(), "a: 1\n---\nb:\n- 1\n- 2\n");

    let library = json(http.get(server.url("/jsonnet/uses-lib")).send().await.unwrap()).await;
    assert_eq!(library, json!({"shared": "from the library path", "local_": true}));

    let head = http.head(server.url("/jsonnet/web")).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert!(head.headers().contains_key("etag"));

    let probes = format!("http://127.0.0.1:{}", server.probe_port);
    for probe in ["/healthz", "/readyz"] {
        assert_eq!(http.get(format!("{probes}{probe}")).send().await.unwrap().status(), 200, "{probe}");
    }
    let metrics = http.get(format!("{probes}/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("jaas_serve_requests_total{outcome=\"ok\"}"), "{metrics}");
}

#[tokio::test]
async fn the_readme_example_answers_as_documented() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/serve");
    let library = format!("--library-path={}", examples.join("libraries").display());
    let server = Server::start(&examples.join("snippets"), &[&library]);
    let response = reqwest::get(server.url("/jsonnet/greeting?name=Ada&tag=a&tag=b")).await.unwrap();
    assert_eq!(json(response).await, json!({"message": "Hello, Ada!", "tags": ["a", "b"]}));
    let missing = reqwest::get(server.url("/jsonnet/nope")).await.unwrap();
    let (status, body) = problem(missing).await;
    assert_eq!((status, body["detail"].as_str()), (404, Some("no snippet is named \"nope\"")));
}

#[tokio::test]
async fn every_problem_code_with_its_status_and_headers() {
    let dir = snippet_tree();
    let server = start(&dir, &["--evaluation-timeout=1s", "--max-output-bytes=50000", "--max-tlas=2"]);
    let http = reqwest::Client::new();

    let (status, body) = problem(http.get(server.url("/jsonnet/nope")).send().await.unwrap()).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("snippet_not_found")));
    assert_eq!(body["instance"], "/jsonnet/nope");

    let post = http.post(server.url("/jsonnet/web")).send().await.unwrap();
    assert_eq!(post.headers()["allow"], "GET, HEAD");
    let (status, body) = problem(post).await;
    assert_eq!((status, body["code"].as_str()), (405, Some("method_not_allowed")));

    let (status, body) = problem(http.get(server.url("/jsonnet/broken")).send().await.unwrap()).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("evaluation_failed")));
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("this snippet is broken"), "{detail}");
    assert!(!detail.contains(dir.path().to_str().unwrap()), "no host paths: {detail}");

    let (status, body) = problem(http.get(server.url("/jsonnet/web?a=1&b=2&c=3")).send().await.unwrap()).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("request_invalid")));
    let (status, body) = problem(http.get(server.url("/jsonnet/web?not-an-identifier=1")).send().await.unwrap()).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("request_invalid")));
    let (status, body) = problem(http.get(server.url("/jsonnet/web?name=x&color=red")).send().await.unwrap()).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("evaluation_failed")), "an argument the function lacks");

    let (status, body) = problem(http.get(server.url("/jsonnet/huge")).send().await.unwrap()).await;
    assert_eq!((status, body["code"].as_str()), (413, Some("output_too_large")));

    let started = Instant::now();
    let (status, body) = problem(http.get(server.url("/jsonnet/slow")).send().await.unwrap()).await;
    assert_eq!((status, body["code"].as_str()), (504, Some("evaluation_timeout")));
    assert!(started.elapsed() < Duration::from_secs(10), "killed at the timeout: {:?}", started.elapsed());
    let after = http.get(server.url("/jsonnet/web")).send().await.unwrap();
    assert_eq!(after.status(), 200, "a killed evaluation costs nothing else");

    let probes = format!("http://127.0.0.1:{}/metrics", server.probe_port);
    let metrics = http.get(probes).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("jaas_eval_workers_retired_total{reason=\"timeout\"} 1"), "{metrics}");
    let started_workers = metrics
        .lines()
        .find_map(|line| line.strip_prefix("jaas_eval_workers_started_total "))
        .and_then(|count| count.parse::<u64>().ok());
    assert!(started_workers >= Some(2), "the killed worker was replaced: {metrics}");
}

#[tokio::test]
async fn no_encoding_of_a_name_reaches_a_file_outside_the_snippet_root() {
    let dir = snippet_tree();
    let mut server = start(&dir, &[]);
    let hostile = [
        "/jsonnet/../secret",
        "/jsonnet/%2e%2e/secret",
        "/jsonnet/%2E%2E%2Fsecret",
        "/jsonnet/.%2e/secret",
        "/jsonnet/web/../../secret",
        "/jsonnet/..%5csecret",
        "/jsonnet/%252e%252e/secret",
        "/jsonnet/escape",
        "/jsonnet//secret",
        "/jsonnet/%00",
        "/jsonnet/",
        "/secret",
    ];
    for path in hostile {
        let (status, response) = server.raw(&format!("GET {path} HTTP/1.1"));
        assert!(matches!(status, 400 | 404), "{path}: {status}\n{response}");
        assert!(!response.contains("never served"), "{path} leaked the file outside the root:\n{response}");
    }
    let (status, _) = server.raw("GET /jsonnet/web HTTP/1.1");
    assert_eq!(status, 200, "the server still answers");
    assert!(server.alive());
}

#[tokio::test]
async fn a_full_server_answers_503_and_a_disconnecting_client_frees_its_place() {
    let dir = snippet_tree();
    let server = start(&dir, &["--evaluation-timeout=3s", "--max-pending-evaluations=1", "--max-concurrent-evals=1"]);
    let http = reqwest::Client::new();

    let slow = tokio::spawn({
        let (http, url) = (http.clone(), server.url("/jsonnet/slow"));
        async move { http.get(url).send().await.unwrap().status().as_u16() }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let busy = http.get(server.url("/jsonnet/web?name=busy")).send().await.unwrap();
    let retry_after = busy.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    let (status, body) = problem(busy).await;
    assert_eq!((status, body["code"].as_str()), (503, Some("evaluation_unavailable")));
    assert_eq!(retry_after.as_deref(), Some("1"));
    assert_eq!(slow.await.unwrap(), 504);

    // A client that gives up after 300 ms, mid-evaluation: its place comes back by the evaluation timeout at
    // the latest, and the server goes on answering.
    let impatient = http.get(server.url("/jsonnet/slow")).timeout(Duration::from_millis(300)).send().await;
    assert!(impatient.is_err(), "the slow snippet takes longer than 300 ms");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = http.get(server.url("/jsonnet/web?name=free")).send().await.unwrap();
        if response.status() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the place never came back: {}", response.status());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn etags_answer_304_and_a_changed_file_is_served_without_a_restart() {
    let dir = snippet_tree();
    let server = start(&dir, &[]);
    let http = reqwest::Client::new();
    let url = server.url("/jsonnet/web");

    let first = http.get(&url).send().await.unwrap();
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let again = http.get(&url).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);

    write_entry(&dir.path().join("snippets/web"), "{ edited: true }");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let value = json(http.get(&url).send().await.unwrap()).await;
        if value == json!({"edited": true}) {
            break;
        }
        assert!(Instant::now() < deadline, "the edit was not picked up: {value}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let changed = http.get(&url).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(changed.status(), 200, "the old ETag no longer matches");
}

fn write_entry(directory: &Path, text: &str) {
    std::fs::write(directory.join("main.jsonnet"), text).unwrap();
}
