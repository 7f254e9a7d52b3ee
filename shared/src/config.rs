//! The storage flags both binaries flatten into their arguments ([`StorageArgs`]), turning them into a checked
//! [`ArtifactStore`], and the background sweep of write residue. The layered loader (defaults < YAML file < env <
//! flags) lives in [`loader`], its file layer in [`flag_file`] and its errors in [`error`]; all are re-exported here.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::local::LocalStore;
use crate::s3::{ChecksumMode, S3Credentials, S3Settings, S3Store};
use crate::store::ArtifactStore;

pub mod error;
pub mod flag_file;
pub mod loader;
pub use error::{ConfigError, exit_on_error};
pub use loader::{load, load_from, load_from_matches, with_config_flag};

/// Which backend holds the artifacts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageBackend {
    /// Files under `--storage-path` (a volume shared by the controller and the artifact server).
    #[default]
    Local,
    /// Objects in an S3 bucket.
    S3,
}

/// A secret flag value: never printed by `Debug`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

/// The storage flags, identical in the controller and the artifact server. Flatten it with both
/// `#[command(flatten)]` and `#[serde(flatten)]` so that [`load`] can layer a config file under it.
#[derive(Debug, Clone, PartialEq, clap::Args, Serialize, Deserialize)]
pub struct StorageArgs {
    /// Storage backend for rendered artifacts.
    #[arg(long, env = "JAAS_STORAGE_BACKEND", value_enum, default_value_t = StorageBackend::Local)]
    pub storage_backend: StorageBackend,
    /// Root directory of the local backend.
    #[arg(long, env = "JAAS_STORAGE_PATH", default_value = "/var/lib/jaas/artifacts")]
    pub storage_path: PathBuf,
    /// How often leftovers of interrupted writes are swept (e.g. "10m"); 0 disables the sweep.
    #[arg(long, env = "JAAS_STORAGE_SWEEP_INTERVAL", default_value = "10m", value_parser = humantime::parse_duration)]
    #[serde(with = "humantime_serde")]
    pub storage_sweep_interval: Duration,
    /// Temporary files at least this old are leftovers of interrupted writes (e.g. "30m").
    #[arg(long, env = "JAAS_STORAGE_SWEEP_MAX_TMP_AGE", default_value = "30m", value_parser = humantime::parse_duration)]
    #[serde(with = "humantime_serde")]
    pub storage_sweep_max_tmp_age: Duration,
    /// S3 endpoint: `host:port`, or a URL `http(s)://host:port` whose scheme overrides --s3-use-ssl.
    #[arg(long, env = "JAAS_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// S3 bucket; it must exist.
    #[arg(long, env = "JAAS_S3_BUCKET")]
    pub s3_bucket: Option<String>,
    /// Key prefix inside the bucket.
    #[arg(long, env = "JAAS_S3_PREFIX", default_value = "")]
    pub s3_prefix: String,
    /// S3 signing region.
    #[arg(long, env = "JAAS_S3_REGION", default_value = "us-east-1")]
    pub s3_region: String,
    /// Use https for an endpoint given as `host:port`.
    #[arg(long, env = "JAAS_S3_USE_SSL", default_value_t = true, num_args = 0..=1, default_missing_value = "true",
        action = clap::ArgAction::Set)]
    pub s3_use_ssl: bool,
    /// S3 access key id (with --s3-secret-key); without keys the AWS default credential chain is used.
    #[arg(long, env = "JAAS_S3_ACCESS_KEY")]
    pub s3_access_key: Option<Secret>,
    /// S3 secret access key.
    #[arg(long, env = "JAAS_S3_SECRET_KEY")]
    pub s3_secret_key: Option<Secret>,
    /// S3 session token, for temporary keys.
    #[arg(long, env = "JAAS_S3_SESSION_TOKEN")]
    pub s3_session_token: Option<Secret>,
    /// Send unsigned requests (a public bucket).
    #[arg(long, env = "JAAS_S3_ANONYMOUS")]
    pub s3_anonymous: bool,
    /// When payload checksums are computed and validated; many non-AWS servers need when-required.
    #[arg(long, env = "JAAS_S3_CHECKSUM", value_enum, default_value_t = ChecksumMode::WhenRequired)]
    pub s3_checksum: ChecksumMode,
}

fn invalid(message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid(message.into())
}

/// Turns `host:port` or `http(s)://host[:port][/]` into a URL and says whether it is AWS itself.
fn endpoint_url(raw: &str, use_ssl: bool) -> Result<(String, bool), ConfigError> {
    let bad = |why: &str| {
        invalid(format!("--s3-endpoint {raw:?} is malformed: {why} (expected host:port or http(s)://host:port)"))
    };
    let (scheme, authority) = match raw.split_once("://") {
        Some((scheme @ ("http" | "https"), rest)) => (scheme, rest.strip_suffix('/').unwrap_or(rest)),
        Some(_) => return Err(bad("the scheme must be http or https")),
        None => (if use_ssl { "https" } else { "http" }, raw),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !authority.ends_with(']') => (host, Some(port)),
        _ => (authority, None),
    };
    let host_ok = if let Some(ipv6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        ipv6.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    };
    if !host_ok {
        return Err(bad("invalid host"));
    }
    if port.is_some_and(|p| p.parse::<u16>().map_or(true, |p| p == 0)) {
        return Err(bad("invalid port"));
    }
    Ok((format!("{scheme}://{authority}"), host.ends_with(".amazonaws.com")))
}

impl StorageArgs {
    /// Checks the combination of flags; the error is one line naming the flag to fix.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.storage_sweep_max_tmp_age.is_zero() {
            return Err(invalid(
                "--storage-sweep-max-tmp-age must be greater than 0 (it would sweep files being written)",
            ));
        }
        if self.storage_backend == StorageBackend::Local {
            if self.storage_path.as_os_str().is_empty() {
                return Err(invalid("--storage-path must not be empty when --storage-backend=local"));
            }
            return Ok(());
        }
        let Some(endpoint) = self.s3_endpoint.as_deref().filter(|e| !e.is_empty()) else {
            return Err(invalid("--s3-endpoint is required when --storage-backend=s3"));
        };
        endpoint_url(endpoint, self.s3_use_ssl)?;
        match self.s3_bucket.as_deref() {
            None | Some("") => return Err(invalid("--s3-bucket is required when --storage-backend=s3")),
            Some(bucket) if bucket.contains('/') => {
                return Err(invalid(format!("--s3-bucket {bucket:?} must not contain '/'")));
            }
            Some(_) => {}
        }
        if self.s3_access_key.is_some() != self.s3_secret_key.is_some() {
            return Err(invalid("--s3-access-key and --s3-secret-key must be given together"));
        }
        if self.s3_session_token.is_some() && self.s3_access_key.is_none() {
            return Err(invalid("--s3-session-token needs --s3-access-key and --s3-secret-key"));
        }
        if self.s3_anonymous && self.s3_access_key.is_some() {
            return Err(invalid("--s3-anonymous cannot be combined with --s3-access-key/--s3-secret-key"));
        }
        Ok(())
    }

    /// The S3 settings these flags describe (after [`validate`](Self::validate)).
    pub fn s3_settings(&self) -> Result<S3Settings, ConfigError> {
        self.validate()?;
        let (endpoint, bucket) =
            (self.s3_endpoint.as_deref().unwrap_or_default(), self.s3_bucket.clone().unwrap_or_default());
        let (endpoint_url, is_aws) = endpoint_url(endpoint, self.s3_use_ssl)?;
        let credentials = match (&self.s3_access_key, &self.s3_secret_key) {
            (Some(access), Some(secret)) => S3Credentials::Static {
                access_key: access.0.clone(),
                secret_key: secret.0.clone(),
                session_token: self.s3_session_token.as_ref().map(|t| t.0.clone()),
            },
            _ if self.s3_anonymous => S3Credentials::Anonymous,
            _ => S3Credentials::DefaultChain,
        };
        Ok(S3Settings {
            endpoint_url,
            force_path_style: !is_aws,
            bucket,
            prefix: self.s3_prefix.clone(),
            region: self.s3_region.clone(),
            credentials,
            checksum: self.s3_checksum,
        })
    }

    /// Validates the flags, builds the backend and checks it (an S3 bucket must exist, a local root must be a
    /// readable directory, created if missing), so a misconfiguration fails at start-up.
    pub async fn open(&self) -> Result<Arc<dyn ArtifactStore>, ConfigError> {
        self.validate()?;
        let store: Arc<dyn ArtifactStore> = match self.storage_backend {
            StorageBackend::Local => {
                Arc::new(LocalStore::new(self.storage_path.clone(), self.storage_sweep_max_tmp_age))
            }
            StorageBackend::S3 => Arc::new(S3Store::new(self.s3_settings()?).await),
        };
        store.check().await?;
        Ok(store)
    }
}

/// Runs [`ArtifactStore::sweep`] every `interval` (the first right away) until the task is aborted; `None` when the
/// interval is 0 (sweeping disabled). Failures are logged and retried at the next tick.
pub fn spawn_sweeper(store: Arc<dyn ArtifactStore>, interval: Duration) -> Option<tokio::task::JoinHandle<()>> {
    if interval.is_zero() {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match store.sweep().await {
                Ok(report) if report.removed > 0 => {
                    tracing::info!(removed = report.removed, "swept leftover temp files");
                }
                Ok(_) => tracing::debug!("sweep found nothing to remove"),
                Err(err) => tracing::warn!(error = %err, "storage sweep failed; retrying at the next interval"),
            }
        }
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_accept_host_port_and_urls() {
        let cases: &[(&str, bool, &str)] = &[
            ("127.0.0.1:7480", false, "http://127.0.0.1:7480"),
            ("minio.svc:9000", true, "https://minio.svc:9000"),
            ("http://127.0.0.1:7480", true, "http://127.0.0.1:7480"),
            ("https://s3.example.com/", false, "https://s3.example.com"),
            ("[::1]:9000", false, "http://[::1]:9000"),
        ];
        for (raw, ssl, expected) in cases {
            assert_eq!(endpoint_url(raw, *ssl).unwrap().0, *expected, "{raw}");
        }
        assert!(endpoint_url("https://s3.eu-west-1.amazonaws.com", true).unwrap().1);
    }

    #[tokio::test]
    async fn the_sweeper_removes_old_residue_and_zero_disables_it() {
        let dir = tempfile::tempdir().unwrap();
        let snippet_dir = dir.path().join("ns/app");
        std::fs::create_dir_all(&snippet_dir).unwrap();
        let residue = snippet_dir.join(format!("sha256-{}.1-0.tar.gz.tmp", "0".repeat(64)));
        std::fs::write(&residue, b"partial").unwrap();
        let store: Arc<dyn ArtifactStore> = Arc::new(LocalStore::new(dir.path().into(), Duration::from_millis(1)));
        assert!(spawn_sweeper(store.clone(), Duration::ZERO).is_none());
        let sweeper = spawn_sweeper(store, Duration::from_millis(20)).unwrap();
        for _ in 0..250 {
            if !residue.exists() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        sweeper.abort();
        assert!(!residue.exists(), "the sweeper did not remove {}", residue.display());
    }

    #[test]
    fn malformed_endpoints_are_rejected_with_the_flag_named() {
        for raw in ["", "ftp://h:1", "http://", "h:0", "h:99999", "h:x", "h/path", "http://h:1/bucket", "a b:1", "[::1"]
        {
            let err = endpoint_url(raw, false).expect_err(raw).to_string();
            assert!(err.starts_with("--s3-endpoint"), "{raw}: {err}");
        }
    }
}
