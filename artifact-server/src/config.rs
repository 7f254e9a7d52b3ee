//! The server's flags. Every flag has a `JAAS_*` environment variable and a key in the optional `--config` YAML
//! file; [`jaas_shared::config::load`] layers them (defaults < file < env < flags). The storage flags are the
//! shared [`StorageArgs`], identical to the controller's; the server only reads storage and never sweeps it, so
//! `--storage-sweep-*` are accepted and ignored.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use jaas_shared::config::StorageArgs;
use jaas_shared::process::{BindAddress, LogFormat};
use serde::{Deserialize, Serialize};

use crate::routing::Records;
use crate::server::{ConnectionLimits, ServerSettings};

/// Command-line arguments of `jaas-artifact-server`.
#[derive(Debug, Clone, clap::Parser, Serialize, Deserialize)]
#[command(name = "jaas-artifact-server", version, about = "Serves rendered JaaS artifacts to Flux over HTTP.")]
pub struct ServerArgs {
    /// Address the artifact port listens on.
    #[arg(long, env = "JAAS_STORAGE_LISTEN_ADDRESS", default_value_t = IpAddr::V4(Ipv4Addr::UNSPECIFIED))]
    pub storage_listen_address: IpAddr,
    /// The artifact port.
    #[arg(long, env = "JAAS_STORAGE_PORT", default_value_t = 8082)]
    pub storage_port: u16,
    /// Address of `/healthz`, `/readyz` and `/metrics`: HOST:PORT, or :PORT for all interfaces.
    #[arg(long, env = "JAAS_METRICS_BIND_ADDRESS", default_value = "0.0.0.0:8084")]
    pub metrics_bind_address: BindAddress,
    /// Memory for cached artifact bodies, in bytes (suffixes KiB, MiB, GiB allowed); 0 disables the cache.
    #[arg(long, env = "JAAS_CACHE_MAX_BYTES", default_value = "64MiB")]
    pub cache_max_bytes: ByteSize,
    /// Largest artifact kept in the cache; larger ones are always streamed from storage.
    #[arg(long, env = "JAAS_CACHE_MAX_OBJECT_BYTES", default_value = "1MiB")]
    pub cache_max_object_bytes: ByteSize,
    /// How long a cached artifact is served without asking storage whether it still exists (e.g. "10s"; 0 asks on
    /// every hit). Deleted artifacts stop being served from the cache within this interval; if storage cannot
    /// answer, the cached copy is served anyway.
    #[arg(long, env = "JAAS_CACHE_REVALIDATE_AFTER", default_value = "10s", value_parser = humantime::parse_duration)]
    #[serde(with = "humantime_serde")]
    pub cache_revalidate_after: Duration,
    /// Overall limit on each storage call and on each wait for the next body chunk (e.g. "10s"); past it the
    /// request gets 503 (or, mid-body, the connection is closed).
    #[arg(long, env = "JAAS_BACKEND_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    #[serde(with = "humantime_serde")]
    pub backend_timeout: Duration,
    /// What a 503 advises clients to wait in `Retry-After` (whole seconds, at least 1).
    #[arg(long, env = "JAAS_RETRY_AFTER", default_value = "5s", value_parser = humantime::parse_duration)]
    #[serde(with = "humantime_serde")]
    pub retry_after: Duration,
    /// Log line format.
    #[arg(long, env = "JAAS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Json)]
    pub log_format: LogFormat,
    /// How long in-flight responses may take to finish after SIGTERM (whole seconds, at least 1).
    #[arg(long, env = "JAAS_SHUTDOWN_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    #[serde(with = "humantime_serde")]
    pub shutdown_timeout: Duration,
    /// Worker threads serving artifacts; 0 means one per CPU.
    #[arg(long, env = "JAAS_WORKERS", default_value_t = 0)]
    pub workers: usize,
    /// Most connections open at once, over all workers (at least 1 per worker); beyond it new connections wait in
    /// the listen backlog until one closes. Each costs two file descriptors and about 10 KiB of memory while open
    /// (glibc's allocator may keep up to twice that after waves of connections): the default stays inside the
    /// chart's 256 MiB memory limit with a full cache.
    #[arg(long, env = "JAAS_MAX_CONNECTIONS", default_value_t = 8192)]
    pub max_connections: usize,
    /// Connections the kernel queues before they are accepted (the kernel caps it at `net.core.somaxconn`).
    #[arg(long, env = "JAAS_LISTEN_BACKLOG", default_value_t = 1024)]
    pub listen_backlog: u32,
    /// How long a connection may wait, idle, for its next request (e.g. "5s"); 0 closes it after each response.
    #[arg(long, env = "JAAS_KEEP_ALIVE", default_value = "5s", value_parser = humantime::parse_duration)]
    #[serde(with = "humantime_serde")]
    pub keep_alive: Duration,
    /// Time a client has to send a whole request head, however slowly it trickles in (e.g. "5s"): the first
    /// request of a connection is answered 408, a later one has its connection closed; 0 turns the limit off.
    #[arg(long, env = "JAAS_CLIENT_REQUEST_TIMEOUT", default_value = "5s", value_parser = humantime::parse_duration)]
    #[serde(with = "humantime_serde")]
    pub client_request_timeout: Duration,
    /// Time a client has to acknowledge the end of a connection once the server closes it (e.g. "1s").
    #[arg(long, env = "JAAS_CLIENT_DISCONNECT_TIMEOUT", default_value = "1s", value_parser = humantime::parse_duration)]
    #[serde(with = "humantime_serde")]
    pub client_disconnect_timeout: Duration,
    /// Longest a response may go without its client taking the next chunk (up to 256 KiB), or wait for storage,
    /// before the connection is closed (e.g. "60s"; keep it above --backend-timeout); 0 turns the limit off.
    #[arg(long, env = "JAAS_CLIENT_SEND_TIMEOUT", default_value = "60s", value_parser = humantime::parse_duration)]
    #[serde(with = "humantime_serde")]
    pub client_send_timeout: Duration,
    /// Also serve each revision's record (`…/sha256-<hex>.record.zst`, provenance), uncached and without ETag or
    /// ranges; off, a record path is 404 like any unknown path.
    #[arg(long, env = "JAAS_SERVE_RECORDS", default_value_t = false, num_args = 0..=1, default_missing_value = "true",
        action = clap::ArgAction::Set)]
    pub serve_records: bool,
    /// Where the artifacts are.
    #[command(flatten)]
    #[serde(flatten)]
    pub storage: StorageArgs,
}

impl ServerArgs {
    /// The settings the servers run with.
    pub fn settings(&self) -> ServerSettings {
        ServerSettings {
            artifact_address: SocketAddr::new(self.storage_listen_address, self.storage_port),
            metrics_address: self.metrics_bind_address.socket_addr(),
            cache_max_bytes: self.cache_max_bytes.0,
            cache_max_object_bytes: self.cache_max_object_bytes.0,
            cache_revalidate_after: self.cache_revalidate_after,
            backend_timeout: self.backend_timeout,
            retry_after: self.retry_after,
            shutdown_timeout: self.shutdown_timeout,
            workers: self.workers,
            records: Records::served_if(self.serve_records),
            connections: ConnectionLimits {
                max_connections: self.max_connections,
                listen_backlog: self.listen_backlog,
                keep_alive: self.keep_alive,
                client_request_timeout: self.client_request_timeout,
                client_disconnect_timeout: self.client_disconnect_timeout,
                client_send_timeout: self.client_send_timeout,
            },
        }
    }
}

/// A number of bytes, written as an integer with an optional binary suffix (`KiB`, `MiB`, `GiB`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ByteSizeRepr", into = "u64")]
pub struct ByteSize(pub u64);

/// A byte size as a config file may spell it: a number or a string with a suffix.
#[derive(Deserialize)]
#[serde(untagged)]
enum ByteSizeRepr {
    Number(u64),
    Text(String),
}

impl TryFrom<ByteSizeRepr> for ByteSize {
    type Error = String;

    fn try_from(repr: ByteSizeRepr) -> Result<Self, Self::Error> {
        match repr {
            ByteSizeRepr::Number(n) => Ok(Self(n)),
            ByteSizeRepr::Text(text) => text.parse(),
        }
    }
}

impl From<ByteSize> for u64 {
    fn from(size: ByteSize) -> Self {
        size.0
    }
}

impl FromStr for ByteSize {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (number, suffix) = s.split_at(digits);
        let unit: u64 = match suffix.trim() {
            "" | "B" => 1,
            "KiB" => 1 << 10,
            "MiB" => 1 << 20,
            "GiB" => 1 << 30,
            other => return Err(format!("unknown size suffix {other:?} in {s:?}: use B, KiB, MiB or GiB")),
        };
        let number: u64 = number.parse().map_err(|_| format!("{s:?} is not a size such as 1048576 or 64MiB"))?;
        number.checked_mul(unit).map(Self).ok_or_else(|| format!("{s:?} is too large"))
    }
}

impl std::fmt::Display for ByteSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn sizes_parse_with_binary_suffixes() {
        let cases: &[(&str, Option<u64>)] = &[
            ("0", Some(0)),
            ("1048576", Some(1 << 20)),
            ("64MiB", Some(64 << 20)),
            ("1 KiB", Some(1024)),
            ("2GiB", Some(2 << 30)),
            ("10B", Some(10)),
            ("1MB", None),
            ("-1", None),
            ("MiB", None),
            ("", None),
            ("99999999999999GiB", None),
        ];
        for (text, expected) in cases {
            assert_eq!(text.parse::<ByteSize>().ok().map(|s| s.0), *expected, "{text:?}");
        }
    }

    #[test]
    fn defaults_match_the_documented_ones() {
        let args = ServerArgs::try_parse_from(["jaas-artifact-server"]).unwrap();
        let settings = args.settings();
        assert_eq!(settings.artifact_address.to_string(), "0.0.0.0:8082");
        assert_eq!(settings.metrics_address.to_string(), "0.0.0.0:8084");
        assert_eq!(settings.cache_max_bytes, 64 << 20);
        assert_eq!(settings.cache_max_object_bytes, 1 << 20);
        assert_eq!(settings.cache_revalidate_after, Duration::from_secs(10));
        assert_eq!(settings.shutdown_timeout, Duration::from_secs(30));
        assert_eq!(args.log_format, LogFormat::Json);
        let connections = settings.connections;
        assert_eq!(connections.max_connections, 8192);
        assert_eq!(connections.listen_backlog, 1024);
        assert_eq!(connections.keep_alive, Duration::from_secs(5));
        assert_eq!(connections.client_request_timeout, Duration::from_secs(5));
        assert_eq!(connections.client_disconnect_timeout, Duration::from_secs(1));
        assert_eq!(connections.client_send_timeout, Duration::from_mins(1));
        assert_eq!(settings.records, Records::Hidden);
    }

    #[test]
    fn records_are_served_only_when_asked() {
        let records = |args: &[&str]| {
            let args = [&["jaas-artifact-server"], args].concat();
            ServerArgs::try_parse_from(args).map(|parsed| parsed.settings().records)
        };
        assert_eq!(records(&["--serve-records"]).unwrap(), Records::Served);
        assert_eq!(records(&["--serve-records=true"]).unwrap(), Records::Served);
        assert_eq!(records(&["--serve-records=false"]).unwrap(), Records::Hidden);
        assert!(records(&["--serve-records=maybe"]).is_err());
    }

    #[test]
    fn the_revalidation_interval_takes_humantime_and_zero() {
        for (text, expected) in
            [("1s", Duration::from_secs(1)), ("0", Duration::ZERO), ("250ms", Duration::from_millis(250))]
        {
            let args = ServerArgs::try_parse_from(["jaas-artifact-server", "--cache-revalidate-after", text]).unwrap();
            assert_eq!(args.settings().cache_revalidate_after, expected, "{text}");
        }
        assert!(ServerArgs::try_parse_from(["jaas-artifact-server", "--cache-revalidate-after", "soon"]).is_err());
    }

    #[test]
    fn connection_limits_take_flags_and_zero() {
        let args = ServerArgs::try_parse_from([
            "jaas-artifact-server",
            "--max-connections",
            "50",
            "--listen-backlog",
            "16",
            "--keep-alive",
            "0",
            "--client-request-timeout",
            "250ms",
            "--client-disconnect-timeout",
            "2s",
            "--client-send-timeout",
            "0",
        ])
        .unwrap();
        let connections = args.settings().connections;
        assert_eq!((connections.max_connections, connections.listen_backlog), (50, 16));
        assert_eq!(connections.keep_alive, Duration::ZERO);
        assert_eq!(connections.client_request_timeout, Duration::from_millis(250));
        assert_eq!(connections.client_disconnect_timeout, Duration::from_secs(2));
        assert_eq!(connections.client_send_timeout, Duration::ZERO);
        assert!(ServerArgs::try_parse_from(["jaas-artifact-server", "--keep-alive", "forever"]).is_err());
        assert!(ServerArgs::try_parse_from(["jaas-artifact-server", "--max-connections", "-1"]).is_err());
    }

    #[test]
    fn a_config_file_value_round_trips_through_serde() {
        let size: ByteSize = serde_json::from_str("\"2MiB\"").unwrap();
        assert_eq!(size.0, 2 << 20);
        let size: ByteSize = serde_json::from_str("4096").unwrap();
        assert_eq!(serde_json::to_string(&size).unwrap(), "4096");
    }
}
