//! The probe server both binaries run next to their real work: `/healthz` (200 while the process answers),
//! `/readyz` (200, or 503 with the reason, from a check the process supplies) and `/metrics` (its Prometheus
//! registry in the text format), all `GET` on one address.

use std::net::SocketAddr;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::http::StatusCode;
use actix_web::{App, HttpResponse, HttpServer, web};
use prometheus::{Encoder, Registry, TextEncoder};

/// The content type of the Prometheus text exposition format.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Whether a process should receive traffic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// `/readyz` answers 200 `ok`.
    Ready,
    /// `/readyz` answers 503 with this reason (e.g. `starting`, `storage: unreachable`).
    NotReady(String),
}

/// What the probe server asks the process it reports on.
pub trait ProcessProbes: Send + Sync + 'static {
    /// Whether the process should receive traffic; asked on every `/readyz`.
    fn readiness(&self) -> impl Future<Output = Readiness>;

    /// The process's metrics in the Prometheus text format (see [`registry_text`]); asked on every `/metrics`.
    fn metrics_text(&self) -> Result<String, prometheus::Error>;
}

/// Everything in `registry`, in the Prometheus text format.
pub fn registry_text(registry: &Registry) -> Result<String, prometheus::Error> {
    let mut out = Vec::new();
    TextEncoder::new().encode(&registry.gather(), &mut out)?;
    String::from_utf8(out).map_err(|err| prometheus::Error::Msg(err.to_string()))
}

/// Binds `address` and returns the probe server, not yet polled: the caller spawns or awaits it and owns its
/// shutdown through [`Server::handle`]. It ignores signals (the process decides when to stop) and gives in-flight
/// probes `shutdown_timeout` (at least a second) to finish once stopped gracefully.
pub fn serve_probes<P: ProcessProbes>(
    address: SocketAddr,
    probes: P,
    shutdown_timeout: Duration,
) -> std::io::Result<Server> {
    let probes = web::Data::new(probes);
    Ok(HttpServer::new(move || App::new().configure(routes(probes.clone())))
        .disable_signals()
        .workers(1)
        .shutdown_timeout(shutdown_timeout.as_secs().max(1))
        .bind(address)?
        .run())
}

/// The three probe routes, answering from `probes`.
fn routes<P: ProcessProbes>(probes: web::Data<P>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |config| {
        config
            .app_data(probes)
            .route("/healthz", web::get().to(healthz))
            .route("/readyz", web::get().to(readyz::<P>))
            .route("/metrics", web::get().to(metrics::<P>));
    }
}

fn plain_text(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status).content_type("text/plain").body(body)
}

/// Alive as long as the process answers.
async fn healthz() -> HttpResponse {
    plain_text(StatusCode::OK, "ok\n".to_owned())
}

async fn readyz<P: ProcessProbes>(probes: web::Data<P>) -> HttpResponse {
    match probes.readiness().await {
        Readiness::Ready => plain_text(StatusCode::OK, "ok\n".to_owned()),
        Readiness::NotReady(reason) => plain_text(StatusCode::SERVICE_UNAVAILABLE, format!("{reason}\n")),
    }
}

async fn metrics<P: ProcessProbes>(probes: web::Data<P>) -> HttpResponse {
    match probes.metrics_text() {
        Ok(text) => HttpResponse::Ok().content_type(PROMETHEUS_TEXT).body(text),
        Err(err) => plain_text(StatusCode::INTERNAL_SERVER_ERROR, format!("metrics: {err}\n")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::io::{Read, Write};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use actix_web::dev::{Service, ServiceResponse};
    use actix_web::{http::Method, test};
    use prometheus::IntCounter;

    use super::*;

    /// A process whose readiness the test flips and whose registry holds one counter.
    #[derive(Clone)]
    struct FakeProcess {
        ready: Arc<AtomicBool>,
        registry: Registry,
    }

    impl FakeProcess {
        fn new() -> (Self, IntCounter) {
            let registry = Registry::new();
            let counter = IntCounter::new("jaas_test_events_total", "Events the test counted.").unwrap();
            registry.register(Box::new(counter.clone())).unwrap();
            (Self { ready: Arc::new(AtomicBool::new(false)), registry }, counter)
        }
    }

    impl ProcessProbes for FakeProcess {
        async fn readiness(&self) -> Readiness {
            if self.ready.load(Ordering::SeqCst) { Readiness::Ready } else { Readiness::NotReady("starting".into()) }
        }

        fn metrics_text(&self) -> Result<String, prometheus::Error> {
            registry_text(&self.registry)
        }
    }

    async fn get(process: &FakeProcess, path: &str) -> ServiceResponse {
        let app = test::init_service(App::new().configure(routes(web::Data::new(process.clone())))).await;
        app.call(test::TestRequest::get().uri(path).to_request()).await.unwrap()
    }

    async fn status_and_body(process: &FakeProcess, path: &str) -> (u16, String) {
        let response = get(process, path).await;
        let status = response.status().as_u16();
        (status, String::from_utf8(test::read_body(response).await.to_vec()).unwrap())
    }

    #[actix_web::test]
    async fn readyz_follows_the_readiness_check_and_healthz_is_always_ok() {
        let (process, _) = FakeProcess::new();
        assert_eq!(status_and_body(&process, "/readyz").await, (503, "starting\n".to_owned()));
        assert_eq!(status_and_body(&process, "/healthz").await, (200, "ok\n".to_owned()));
        process.ready.store(true, Ordering::SeqCst);
        assert_eq!(status_and_body(&process, "/readyz").await, (200, "ok\n".to_owned()));
    }

    #[actix_web::test]
    async fn metrics_serves_the_registry_as_prometheus_text() {
        let (process, counter) = FakeProcess::new();
        counter.inc_by(3);
        let response = get(&process, "/metrics").await;
        assert_eq!(response.headers().get("content-type").unwrap(), PROMETHEUS_TEXT);
        let text = String::from_utf8(test::read_body(response).await.to_vec()).unwrap();
        assert!(text.contains("# TYPE jaas_test_events_total counter"), "{text}");
        assert!(text.contains("jaas_test_events_total 3"), "{text}");
    }

    #[actix_web::test]
    async fn other_paths_and_methods_are_not_served() {
        let (process, _) = FakeProcess::new();
        assert_eq!(status_and_body(&process, "/").await.0, 404);
        let app = test::init_service(App::new().configure(routes(web::Data::new(process)))).await;
        let post = test::TestRequest::default().method(Method::POST).uri("/healthz").to_request();
        assert_eq!(app.call(post).await.unwrap().status(), StatusCode::NOT_FOUND);
    }

    /// One raw HTTP/1.0 exchange; the server closes the connection after answering.
    fn raw_get(address: SocketAddr, path: &str) -> String {
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        write!(stream, "GET {path} HTTP/1.0\r\n\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    }

    #[actix_web::test]
    async fn the_server_binds_serves_and_stops_when_told() {
        let address = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let (process, _) = FakeProcess::new();
        let server = serve_probes(address, process, Duration::from_secs(1)).unwrap();
        let handle = server.handle();
        let running = actix_web::rt::spawn(server);
        let response = actix_web::rt::task::spawn_blocking(move || raw_get(address, "/healthz")).await.unwrap();
        assert!(response.contains(" 200 OK\r\n") && response.ends_with("\r\n\r\nok\n"), "{response:?}");
        handle.stop(true).await;
        running.await.unwrap().unwrap();
    }

    #[actix_web::test]
    async fn an_address_in_use_is_an_error_not_a_panic() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let (process, _) = FakeProcess::new();
        let Err(err) = serve_probes(taken.local_addr().unwrap(), process, Duration::ZERO) else {
            panic!("bound an address that is in use");
        };
        assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse, "{err}");
    }
}
