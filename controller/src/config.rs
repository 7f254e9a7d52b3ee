//! The flags of `jaas run`, read by the shared layered loader (defaults < `--config` YAML < `JAAS_*` env < flags),
//! and the checks that need more than one flag. Storage and rendering flags are flattened from their owners.

use std::time::Duration;

use jaas_shared::config::{ConfigError, StorageArgs};
use jaas_shared::process::{BindAddress, LogFormat};
use serde::{Deserialize, Serialize};

use jaas_render::LimitArgs;

use crate::source::SourceArgs;

/// Flags of `jaas run`.
#[derive(Debug, Clone, PartialEq, clap::Parser, Serialize, Deserialize)]
#[command(
    name = "run",
    about = "Run the controller (flags also from `--config FILE` and `JAAS_*` environment variables)."
)]
pub struct RunArgs {
    /// Base URL under which the artifact server serves storage, e.g. http://jaas-artifacts.flux-system.svc:8082
    /// (required); stamped into every ExternalArtifact's URL.
    #[arg(long, env = "JAAS_STORAGE_BASE_URL")]
    pub storage_base_url: Option<String>,
    /// Namespaces to watch, comma separated; empty watches all namespaces.
    #[arg(long, env = "JAAS_WATCH_NAMESPACES", value_delimiter = ',')]
    pub watch_namespaces: Vec<String>,
    /// Only reconcile JsonnetSnippets matching this label selector.
    #[arg(long, env = "JAAS_LABEL_SELECTOR")]
    pub label_selector: Option<String>,
    /// How long a superseded revision stays downloadable after it left the history (0 deletes at once).
    #[arg(long, env = "JAAS_ARTIFACT_GC_GRACE", default_value = "5m", value_parser = humantime::parse_duration)]
    #[serde(with = "humantime_serde")]
    pub artifact_gc_grace: Duration,
    /// How long a deleted snippet waits for storage to delete its artifacts before its finalizer is released anyway.
    #[arg(long, env = "JAAS_MAX_WITHDRAW_WAIT", default_value = "1h", value_parser = humantime::parse_duration)]
    #[serde(with = "humantime_serde")]
    pub max_withdraw_wait: Duration,
    /// Elect a leader among replicas through a coordination.k8s.io Lease; only the leader reconciles.
    #[arg(long, env = "JAAS_LEADER_ELECTION", default_value_t = true, num_args = 0..=1, default_missing_value = "true",
        action = clap::ArgAction::Set)]
    pub leader_election: bool,
    /// Name of the Lease.
    #[arg(long, env = "JAAS_LEADER_ELECTION_ID", default_value = "jaas-controller")]
    pub leader_election_id: String,
    /// Namespace of the Lease (default: $POD_NAMESPACE, else `default`).
    #[arg(long, env = "JAAS_LEADER_ELECTION_NAMESPACE")]
    pub leader_election_namespace: Option<String>,
    /// How many snippets are reconciled at once (per watched namespace); the render itself is bounded by
    /// --max-concurrent-evals.
    #[arg(long, env = "JAAS_MAX_CONCURRENT_RECONCILES", default_value_t = default_concurrent_reconciles(),
        value_parser = clap::value_parser!(u16).range(1..))]
    pub max_concurrent_reconciles: u16,
    /// Renders per second each snippet may sustain (a token bucket per snippet; 0 = no limit). A render beyond it
    /// waits for its token, with a Warning Event `RerenderThrottled`.
    #[arg(long, env = "JAAS_RERENDER_RATE", default_value_t = 0.0)]
    pub rerender_rate: f64,
    /// Renders a snippet may do in a burst above --rerender-rate.
    #[arg(long, env = "JAAS_RERENDER_BURST", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub rerender_burst: u32,
    /// Requests per second to the Kubernetes API server, sustained (0 = no limit).
    #[arg(long, env = "JAAS_KUBE_API_QPS", default_value_t = 1000.0)]
    pub kube_api_qps: f64,
    /// Requests to the Kubernetes API server in a burst above --kube-api-qps.
    #[arg(long, env = "JAAS_KUBE_API_BURST", default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..))]
    pub kube_api_burst: u32,
    /// Address of the /metrics, /healthz and /readyz endpoints: HOST:PORT, or :PORT for all interfaces.
    #[arg(long, env = "JAAS_METRICS_BIND_ADDRESS", default_value = ":8083")]
    pub metrics_bind_address: BindAddress,
    /// Log format.
    #[arg(long, env = "JAAS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Json)]
    pub log_format: LogFormat,
    /// Storage backend flags.
    #[command(flatten)]
    #[serde(flatten)]
    pub storage: StorageArgs,
    /// Rendering limits.
    #[command(flatten)]
    #[serde(flatten)]
    pub limits: LimitArgs,
    /// Fetching Flux source artifacts.
    #[command(flatten)]
    #[serde(flatten)]
    pub sources: SourceArgs,
}

/// Four reconciles per core: most of a reconcile's time is spent waiting for the API server and storage.
fn default_concurrent_reconciles() -> u16 {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    u16::try_from(cores * 4).unwrap_or(u16::MAX).max(4)
}

impl RunArgs {
    /// The validated base URL, without a trailing slash.
    pub fn base_url(&self) -> Result<String, ConfigError> {
        let url = self.storage_base_url.as_deref().map(str::trim).unwrap_or_default();
        if url.is_empty() {
            return Err(ConfigError::Invalid(
                "--storage-base-url is required (e.g. http://jaas-artifacts:8082)".into(),
            ));
        }
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(ConfigError::Invalid(format!(
                "--storage-base-url {url:?} must start with http:// or https://"
            )));
        }
        Ok(url.trim_end_matches('/').to_owned())
    }

    /// The namespace of the leader election Lease.
    pub fn lease_namespace(&self) -> String {
        self.leader_election_namespace
            .clone()
            .filter(|ns| !ns.is_empty())
            .or_else(|| std::env::var("POD_NAMESPACE").ok().filter(|ns| !ns.is_empty()))
            .unwrap_or_else(|| "default".to_owned())
    }

    /// Checks every flag that clap cannot check alone.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.base_url()?;
        self.storage.validate()?;
        self.sources.validate()?;
        if self.limits.max_concurrent_evals == 0 {
            return Err(ConfigError::Invalid("--max-concurrent-evals must be at least 1".into()));
        }
        for (flag, value) in [("--rerender-rate", self.rerender_rate), ("--kube-api-qps", self.kube_api_qps)] {
            if !value.is_finite() || value < 0.0 {
                return Err(ConfigError::Invalid(format!("{flag} must be a number of at least 0, not {value}")));
            }
        }
        if self.leader_election_id.is_empty() {
            return Err(ConfigError::Invalid("--leader-election-id must not be empty".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use jaas_shared::config::load_from;

    fn parse(args: &[&str]) -> Result<RunArgs, ConfigError> {
        load_from::<RunArgs, _>(std::iter::once("jaas run").chain(args.iter().copied()))
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let args = parse(&["--storage-base-url", "http://srv:8082/"]).unwrap();
        assert_eq!(args.base_url().unwrap(), "http://srv:8082");
        assert_eq!(args.artifact_gc_grace, Duration::from_mins(5));
        assert_eq!(args.max_withdraw_wait, Duration::from_hours(1));
        assert!(args.leader_election);
        assert_eq!(args.leader_election_id, "jaas-controller");
        assert_eq!(args.metrics_bind_address.socket_addr(), "0.0.0.0:8083".parse().unwrap());
        assert_eq!(args.log_format, LogFormat::Json);
        assert!(args.watch_namespaces.is_empty());
        args.validate().unwrap();
    }

    #[test]
    fn lists_and_booleans_parse() {
        let args =
            parse(&["--storage-base-url=http://a", "--watch-namespaces=a,b", "--leader-election=false"]).unwrap();
        assert_eq!(args.watch_namespaces, ["a", "b"]);
        assert!(!args.leader_election);
    }

    #[test]
    fn the_metrics_address_is_host_port_or_port_only() {
        let args = parse(&["--metrics-bind-address=127.0.0.1:9090"]).unwrap();
        assert_eq!(args.metrics_bind_address.to_string(), "127.0.0.1:9090");
        let err = parse(&["--metrics-bind-address=somewhere"]).unwrap_err().to_string();
        assert!(err.contains("--metrics-bind-address") && err.contains(":PORT"), "{err}");
    }

    #[test]
    fn a_config_file_sets_controller_storage_and_limit_flags() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("jaas.yaml");
        let yaml =
            "storage-base-url: http://file:8082\nartifact-gc-grace: 1m\nstorage-path: /srv/jaas\nmax-stack: 42\n";
        std::fs::write(&file, yaml).unwrap();
        let config = format!("--config={}", file.display());
        let args = parse(&[&config, "--max-stack=7"]).unwrap();
        assert_eq!(args.base_url().unwrap(), "http://file:8082");
        assert_eq!(args.artifact_gc_grace, Duration::from_mins(1));
        assert_eq!(args.storage.storage_path, std::path::PathBuf::from("/srv/jaas"));
        assert_eq!(args.limits.max_stack, 7, "flags win over the file");
        assert_eq!(parse(&[&config]).unwrap().limits.max_stack, 42);
    }

    #[test]
    fn a_missing_base_url_names_the_flag() {
        let err = parse(&[]).unwrap().validate().unwrap_err().to_string();
        assert!(err.contains("--storage-base-url"), "{err}");
        let err = parse(&["--storage-base-url=srv:8082"]).unwrap().validate().unwrap_err().to_string();
        assert!(err.contains("http://"), "{err}");
    }
}
