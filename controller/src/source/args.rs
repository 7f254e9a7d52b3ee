//! The flags of source fetching ([`SourceArgs`]) and the limits they set ([`SourceLimits`]). Flattened into
//! `jaas run`'s flags; serde field names are the clap ids, as the layered config loader expects.

use std::path::PathBuf;
use std::time::Duration;

use jaas_shared::config::ConfigError;
use serde::{Deserialize, Serialize};

use super::cache::SourceCache;
use super::error::SourceError;
use super::fetch::Fetcher;

const MIB: u64 = 1024 * 1024;

/// Bounds on one downloaded archive and the tree it extracts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceLimits {
    /// Maximum size of the compressed archive in bytes.
    pub max_archive_bytes: u64,
    /// Maximum number of bytes the archive decompresses to (the tar stream, headers included).
    pub max_extracted_bytes: u64,
    /// Maximum size of one entry in bytes.
    pub max_entry_bytes: u64,
    /// Maximum number of entries.
    pub max_files: u64,
}

/// Flags of fetching Flux source artifacts (GitRepository, OCIRepository, Bucket, ExternalArtifact).
#[derive(Debug, Clone, PartialEq, Eq, clap::Args, Serialize, Deserialize)]
pub struct SourceArgs {
    /// Replace the host:port of every source artifact URL with this one, to reach source-controller from outside
    /// the cluster during development (e.g. `localhost:9090` with a port-forward), like Flux's
    /// SOURCE_CONTROLLER_LOCALHOST.
    #[arg(long, env = "JAAS_SOURCE_CONTROLLER_LOCALHOST")]
    pub source_controller_localhost: Option<String>,
    /// Give up on a download (connect and transfer together) after this long.
    #[arg(long, env = "JAAS_SOURCE_FETCH_TIMEOUT", default_value = "1m", value_parser = humantime::parse_duration)]
    #[serde(with = "humantime_serde")]
    pub source_fetch_timeout: Duration,
    /// Reject source archives larger than this many bytes (compressed).
    #[arg(long, env = "JAAS_SOURCE_MAX_ARCHIVE_BYTES", default_value_t = 100 * MIB)]
    pub source_max_archive_bytes: u64,
    /// Reject source archives that decompress to more than this many bytes (catches gzip bombs).
    #[arg(long, env = "JAAS_SOURCE_MAX_EXTRACTED_BYTES", default_value_t = 512 * MIB)]
    pub source_max_extracted_bytes: u64,
    /// Reject source archives with a file larger than this many bytes.
    #[arg(long, env = "JAAS_SOURCE_MAX_ENTRY_BYTES", default_value_t = 64 * MIB)]
    pub source_max_entry_bytes: u64,
    /// Reject source archives with more entries than this.
    #[arg(long, env = "JAAS_SOURCE_MAX_FILES", default_value_t = 100_000)]
    pub source_max_files: u64,
    /// Directory of extracted source trees, one per digest (default: `jaas-source-cache-<pid>` in the temp
    /// directory, so two processes never share one). Its `trees` and `downloads` subdirectories are emptied at
    /// start.
    #[arg(long, env = "JAAS_SOURCE_CACHE_DIR")]
    pub source_cache_dir: Option<PathBuf>,
    /// Keep extracted trees up to this many bytes; beyond it, trees no render holds are evicted, least recently
    /// used first.
    #[arg(long, env = "JAAS_SOURCE_CACHE_MAX_BYTES", default_value_t = 2048 * MIB)]
    pub source_cache_max_bytes: u64,
    /// Refuse a `spec.sourceRef.namespace` other than the referring object's own (`CrossNamespaceRefRejected`),
    /// as Flux's `--no-cross-namespace-refs` does; `=false` lets a snippet read sources of any namespace.
    #[arg(long, env = "JAAS_NO_CROSS_NAMESPACE_REFS", default_value_t = true, num_args = 0..=1,
        default_missing_value = "true", action = clap::ArgAction::Set)]
    pub no_cross_namespace_refs: bool,
}

impl Default for SourceArgs {
    fn default() -> Self {
        Self {
            source_controller_localhost: None,
            source_fetch_timeout: Duration::from_mins(1),
            source_max_archive_bytes: 100 * MIB,
            source_max_extracted_bytes: 512 * MIB,
            source_max_entry_bytes: 64 * MIB,
            source_max_files: 100_000,
            source_cache_dir: None,
            source_cache_max_bytes: 2048 * MIB,
            no_cross_namespace_refs: true,
        }
    }
}

impl SourceArgs {
    /// The per-archive limits these flags set.
    pub fn limits(&self) -> SourceLimits {
        SourceLimits {
            max_archive_bytes: self.source_max_archive_bytes,
            max_extracted_bytes: self.source_max_extracted_bytes,
            max_entry_bytes: self.source_max_entry_bytes,
            max_files: self.source_max_files,
        }
    }

    /// The cache directory: the flag, else `jaas-source-cache-<pid>` in the system's temp directory.
    pub fn cache_dir(&self) -> PathBuf {
        self.source_cache_dir
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join(format!("jaas-source-cache-{}", std::process::id())))
    }

    /// Checks the combinations clap cannot check alone.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(host) = &self.source_controller_localhost
            && (host.is_empty() || host.contains('/'))
        {
            return Err(ConfigError::Invalid(format!(
                "--source-controller-localhost {host:?} must be HOST or HOST:PORT, without scheme or path"
            )));
        }
        if self.source_fetch_timeout.is_zero() {
            return Err(ConfigError::Invalid("--source-fetch-timeout must be more than 0".into()));
        }
        if self.source_max_extracted_bytes > self.source_cache_max_bytes {
            return Err(ConfigError::Invalid(format!(
                "--source-max-extracted-bytes ({}) must not exceed --source-cache-max-bytes ({}): one tree must fit",
                self.source_max_extracted_bytes, self.source_cache_max_bytes
            )));
        }
        Ok(())
    }

    /// The shared, coalescing cache of source trees these flags describe, with its directory prepared.
    pub async fn build_cache(&self) -> Result<SourceCache, SourceError> {
        let fetcher = Fetcher::new(self.limits(), self.source_fetch_timeout, self.source_controller_localhost.clone())?;
        SourceCache::open(&self.cache_dir(), self.source_cache_max_bytes, fetcher).await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Flags {
        #[command(flatten)]
        sources: SourceArgs,
    }

    #[test]
    fn defaults_match_the_documented_values() {
        let flags = Flags::try_parse_from(["jaas"]).unwrap();
        assert_eq!(flags.sources, SourceArgs::default());
        assert_eq!(
            flags.sources.limits(),
            SourceLimits {
                max_archive_bytes: 100 * MIB,
                max_extracted_bytes: 512 * MIB,
                max_entry_bytes: 64 * MIB,
                max_files: 100_000
            }
        );
        let default_dir = flags.sources.cache_dir();
        assert!(default_dir.ends_with(format!("jaas-source-cache-{}", std::process::id())), "{default_dir:?}");
        flags.sources.validate().unwrap();
    }

    #[test]
    fn serde_keys_are_the_clap_ids() {
        let json = serde_json::to_value(SourceArgs::default()).unwrap();
        let mut keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        let command = <Flags as clap::CommandFactory>::command();
        let mut ids: Vec<&str> = command
            .get_arguments()
            .map(|arg| arg.get_id().as_str())
            .filter(|id| !["help", "version"].contains(id))
            .collect();
        ids.sort_unstable();
        assert_eq!(keys, ids);
        assert_eq!(json["source_fetch_timeout"], "1m");
    }

    #[test]
    fn flags_parse_and_validation_names_the_flag() {
        let flags = Flags::try_parse_from([
            "jaas",
            "--source-controller-localhost=localhost:9090",
            "--source-fetch-timeout=30s",
            "--source-max-files=7",
            "--source-cache-dir=/var/cache/jaas",
            "--no-cross-namespace-refs=false",
        ])
        .unwrap();
        assert_eq!(flags.sources.source_controller_localhost.as_deref(), Some("localhost:9090"));
        assert_eq!(flags.sources.source_fetch_timeout, Duration::from_secs(30));
        assert_eq!(flags.sources.limits().max_files, 7);
        assert_eq!(flags.sources.cache_dir(), PathBuf::from("/var/cache/jaas"));
        assert!(!flags.sources.no_cross_namespace_refs);
        flags.sources.validate().unwrap();

        let with_scheme = Flags::try_parse_from(["jaas", "--source-controller-localhost=http://localhost"]).unwrap();
        let error = with_scheme.sources.validate().unwrap_err().to_string();
        assert!(error.contains("--source-controller-localhost"), "{error}");
        let too_small = Flags::try_parse_from(["jaas", "--source-cache-max-bytes=10"]).unwrap();
        let error = too_small.sources.validate().unwrap_err().to_string();
        assert!(error.contains("--source-cache-max-bytes"), "{error}");
    }
}
