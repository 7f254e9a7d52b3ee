//! Closes connections that actix-web's own timers would leave open forever. actix-web limits the time to send the
//! *first* request head of a connection (answered 408) and the idle time between requests, but once a connection
//! has been answered once, a client that then trickles the next head a byte at a time (slowloris) is never timed
//! out, and neither is one that stops reading a response (slow read). Both would pin a connection slot, its
//! buffers and a file descriptor for as long as the client likes.
//!
//! The guard keeps a duplicate of each accepted socket's descriptor and records, per connection, when it last made
//! progress (a request head completed, a body chunk taken by the HTTP layer, a response finished) and how many
//! responses are in flight. A sweeper thread shuts down (`shutdown(2)`, which wakes actix-web's dispatcher with
//! EOF/EPIPE so it drops the connection itself) every connection that is idle with no response in flight for
//! longer than keep-alive plus the request timeout, or whose response has made no progress for the send timeout.

use std::any::Any;
use std::net::Shutdown;
use std::os::fd::AsFd as _;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{Extensions, ServiceRequest};
use actix_web::web::Bytes;

use super::ConnectionLimits;

/// How long a connection may go without progress before the sweeper closes it; `None`: no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct GuardLimits {
    /// No response in flight: the wait for the next request plus the time to send its head.
    idle: Option<Duration>,
    /// A response in flight: the wait for storage or for the client to take the next chunk.
    stalled_response: Option<Duration>,
}

impl GuardLimits {
    /// A connection may idle for keep-alive and then take the request timeout to send a head; with the request
    /// timeout off there is no idle limit (actix-web's keep-alive timer still closes quiet connections).
    pub(super) fn of(limits: &ConnectionLimits) -> Self {
        let nonzero = |d: Duration| (!d.is_zero()).then_some(d);
        Self {
            idle: nonzero(limits.client_request_timeout).map(|request| limits.keep_alive + request),
            stalled_response: nonzero(limits.client_send_timeout),
        }
    }

    /// Whether any limit is on.
    fn watch_anything(self) -> bool {
        self.idle.is_some() || self.stalled_response.is_some()
    }

    /// Why a connection idle for `idle` with `in_flight` responses must be closed, if it must.
    fn verdict(self, idle: Duration, in_flight: u32) -> Option<Stall> {
        let (limit, stall) =
            if in_flight == 0 { (self.idle, Stall::Request) } else { (self.stalled_response, Stall::Response) };
        limit.filter(|limit| idle > *limit).map(|_| stall)
    }

    /// How often the sweeper looks: a quarter of the shortest limit, between 50 ms and 1 s.
    fn tick(self) -> Duration {
        let shortest = [self.idle, self.stalled_response].into_iter().flatten().min().unwrap_or(Duration::from_secs(4));
        (shortest / 4).clamp(Duration::from_millis(50), Duration::from_secs(1))
    }
}

/// What a closed connection was stuck on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stall {
    /// No request completed in time (a head trickling in, or nothing at all).
    Request,
    /// A response made no progress in time (a client not reading, or storage not answering).
    Response,
}

/// The guard shared by all workers; the sweeper thread stops once the last clone is dropped.
#[derive(Clone)]
pub(super) struct ConnectionGuard {
    registry: Arc<Registry>,
}

struct Registry {
    epoch: Instant,
    limits: GuardLimits,
    connections: Mutex<Vec<Weak<WatchedConnection>>>,
    /// Connections accepted without a guard because their descriptor could not be duplicated (EMFILE).
    unguarded: AtomicU64,
}

/// One accepted connection as the guard sees it; owned by actix-web's connection data, so it (and the duplicate
/// descriptor) is dropped with the connection.
struct WatchedConnection {
    socket: std::net::TcpStream,
    epoch: Instant,
    last_progress_ms: AtomicU64,
    responses_in_flight: AtomicU32,
}

impl WatchedConnection {
    fn touch(&self) {
        self.last_progress_ms.store(millis_since(self.epoch), Ordering::Relaxed);
    }
}

fn millis_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
}

impl ConnectionGuard {
    /// Starts the sweeper thread; with both limits off the guard watches nothing and starts no thread.
    pub(super) fn start(limits: GuardLimits) -> std::io::Result<Self> {
        let registry = Arc::new(Registry {
            epoch: Instant::now(),
            limits,
            connections: Mutex::new(Vec::new()),
            unguarded: AtomicU64::new(0),
        });
        if limits.watch_anything() {
            let weak = Arc::downgrade(&registry);
            std::thread::Builder::new().name("connection-guard".to_owned()).spawn(move || {
                loop {
                    std::thread::sleep(limits.tick());
                    let Some(registry) = weak.upgrade() else { break };
                    registry.sweep();
                }
            })?;
        }
        Ok(Self { registry })
    }

    /// Registers a freshly accepted connection (actix-web's `on_connect` hook).
    pub(super) fn on_connect(&self, io: &dyn Any, extensions: &mut Extensions) {
        let registry = &self.registry;
        if !registry.limits.watch_anything() {
            return;
        }
        let Some(stream) = io.downcast_ref::<actix_web::rt::net::TcpStream>() else { return };
        let Ok(duplicate) = stream.as_fd().try_clone_to_owned() else {
            registry.unguarded.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let connection = Arc::new(WatchedConnection {
            socket: duplicate.into(),
            epoch: registry.epoch,
            last_progress_ms: AtomicU64::new(millis_since(registry.epoch)),
            responses_in_flight: AtomicU32::new(0),
        });
        registry
            .connections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(Arc::downgrade(&connection));
        extensions.insert(connection);
    }
}

impl Registry {
    /// Forgets closed connections and shuts down stalled ones.
    fn sweep(&self) {
        let now = millis_since(self.epoch);
        let mut stalled = Vec::new();
        self.connections.lock().unwrap_or_else(std::sync::PoisonError::into_inner).retain(|weak| {
            let Some(connection) = weak.upgrade() else { return false };
            let idle = Duration::from_millis(now.saturating_sub(connection.last_progress_ms.load(Ordering::Relaxed)));
            match self.limits.verdict(idle, connection.responses_in_flight.load(Ordering::Relaxed)) {
                Some(stall) => {
                    stalled.push((connection, stall));
                    false
                }
                None => true,
            }
        });
        let (mut requests, mut responses) = (0, 0);
        for (connection, stall) in stalled {
            // NotConnected: the client is already gone and actix-web is closing the connection anyway.
            let _ = connection.socket.shutdown(Shutdown::Both);
            match stall {
                Stall::Request => requests += 1,
                Stall::Response => responses += 1,
            }
        }
        if requests + responses > 0 {
            tracing::info!(stalled_requests = requests, stalled_responses = responses, "closed stalled connections");
        }
        let unguarded = self.unguarded.swap(0, Ordering::Relaxed);
        if unguarded > 0 {
            tracing::warn!(connections = unguarded, "could not watch new connections for stalls (out of descriptors?)");
        }
    }
}

/// Marks a response in flight on its connection from the moment its request head is complete until its body is
/// finished or dropped; created by the middleware for every request.
pub(super) struct ResponseInFlight {
    connection: Option<Arc<WatchedConnection>>,
}

impl ResponseInFlight {
    /// A request head just completed on `request`'s connection.
    pub(super) fn begin(request: &ServiceRequest) -> Self {
        let connection = request.conn_data::<Arc<WatchedConnection>>().cloned();
        if let Some(connection) = &connection {
            connection.responses_in_flight.fetch_add(1, Ordering::Relaxed);
            connection.touch();
        }
        Self { connection }
    }

    /// Wraps the response body so that every chunk the HTTP layer takes counts as progress.
    pub(super) fn track<B: MessageBody + Unpin>(self, body: B) -> TrackedBody<B> {
        if let Some(connection) = &self.connection {
            connection.touch();
        }
        TrackedBody { body, in_flight: Some(self) }
    }
}

impl Drop for ResponseInFlight {
    fn drop(&mut self) {
        if let Some(connection) = &self.connection {
            connection.touch();
            connection.responses_in_flight.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// A response body that reports its progress to the guard.
pub(super) struct TrackedBody<B> {
    body: B,
    in_flight: Option<ResponseInFlight>,
}

impl<B: MessageBody + Unpin> MessageBody for TrackedBody<B> {
    type Error = B::Error;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let next = Pin::new(&mut self.body).poll_next(cx);
        match &next {
            Poll::Ready(Some(Ok(_))) => {
                if let Some(ResponseInFlight { connection: Some(connection) }) = &self.in_flight {
                    connection.touch();
                }
            }
            // The body is complete (or failed): the response no longer waits for anything of ours.
            Poll::Ready(_) => self.in_flight = None,
            Poll::Pending => {}
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(idle: Option<u64>, stalled_response: Option<u64>) -> GuardLimits {
        GuardLimits { idle: idle.map(Duration::from_secs), stalled_response: stalled_response.map(Duration::from_secs) }
    }

    #[test]
    fn limits_follow_the_flags() {
        let flags = |keep_alive: u64, request: u64, send: u64| ConnectionLimits {
            max_connections: 1,
            listen_backlog: 1,
            keep_alive: Duration::from_secs(keep_alive),
            client_request_timeout: Duration::from_secs(request),
            client_disconnect_timeout: Duration::from_secs(1),
            client_send_timeout: Duration::from_secs(send),
        };
        assert_eq!(GuardLimits::of(&flags(5, 5, 60)), limits(Some(10), Some(60)));
        assert_eq!(GuardLimits::of(&flags(0, 5, 60)), limits(Some(5), Some(60)));
        assert_eq!(GuardLimits::of(&flags(5, 0, 0)), limits(None, None));
    }

    #[test]
    fn verdicts_depend_on_whether_a_response_is_in_flight() {
        let cases = [
            (limits(Some(10), Some(60)), 9, 0, None),
            (limits(Some(10), Some(60)), 11, 0, Some(Stall::Request)),
            (limits(Some(10), Some(60)), 11, 1, None),
            (limits(Some(10), Some(60)), 61, 2, Some(Stall::Response)),
            (limits(None, Some(60)), 1000, 0, None),
            (limits(Some(10), None), 1000, 1, None),
        ];
        for (limits, idle, in_flight, expected) in cases {
            assert_eq!(limits.verdict(Duration::from_secs(idle), in_flight), expected, "{limits:?} {idle} {in_flight}");
        }
    }

    #[test]
    fn the_sweeper_ticks_at_a_quarter_of_the_shortest_limit() {
        assert_eq!(limits(Some(10), Some(60)).tick(), Duration::from_secs(1));
        assert_eq!(limits(Some(2), None).tick(), Duration::from_millis(500));
        assert_eq!(
            GuardLimits { idle: Some(Duration::from_millis(100)), stalled_response: None }.tick(),
            Duration::from_millis(50)
        );
    }

    #[test]
    fn a_stalled_connection_is_shut_down_and_forgotten() {
        use std::io::Read as _;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server_side, _) = listener.accept().unwrap();
        let guard = ConnectionGuard::start(GuardLimits { idle: Some(Duration::ZERO), stalled_response: None }).unwrap();
        let connection = Arc::new(WatchedConnection {
            socket: server_side,
            epoch: guard.registry.epoch,
            last_progress_ms: AtomicU64::new(0),
            responses_in_flight: AtomicU32::new(0),
        });
        guard.registry.connections.lock().unwrap().push(Arc::downgrade(&connection));
        std::thread::sleep(Duration::from_millis(5));
        guard.registry.sweep();
        client.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        assert_eq!(client.read(&mut [0; 1]).unwrap(), 0, "the client sees the connection end");
        assert!(guard.registry.connections.lock().unwrap().is_empty());
    }
}
