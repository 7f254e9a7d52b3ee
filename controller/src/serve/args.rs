//! The flags of `jaas serve`: where snippets and libraries are, the endpoint, the ports, the bounds on requests and
//! responses, the response cache, hot reload, and the rendering limits shared with the controller.

use std::path::PathBuf;
use std::time::Duration;

use jaas_render::LimitArgs;
use jaas_shared::process::{BindAddress, LogFormat};

const MIB: usize = 1024 * 1024;

/// Flags of `jaas serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// A directory of snippets, each `<name>/main.jsonnet` (names may contain `/`); repeatable or comma separated.
    #[arg(long = "snippet-directory", env = "JAAS_SNIPPET_DIRECTORY", value_name = "DIR", value_delimiter = ',')]
    pub snippet_directories: Vec<PathBuf>,
    /// A single snippet file, served under its file name without `.jsonnet`; repeatable or comma separated.
    #[arg(long = "snippet", env = "JAAS_SNIPPET", value_name = "FILE", value_delimiter = ',')]
    pub snippets: Vec<PathBuf>,
    /// A directory searched by imports, as `jsonnet -J` (the right-most first), e.g. a mounted ConfigMap or image
    /// volume of libraries; repeatable or comma separated.
    #[arg(long = "library-path", env = "JAAS_LIBRARY_PATH", value_name = "DIR", value_delimiter = ',')]
    pub library_paths: Vec<PathBuf>,
    /// The first path segment of the render endpoint: `GET /<path>/<snippet>`.
    #[arg(long, env = "JAAS_JSONNET_ENDPOINT_PATH", default_value = "jsonnet")]
    pub jsonnet_endpoint_path: String,
    /// Address of the render endpoint: HOST:PORT, or :PORT for all interfaces.
    #[arg(long, env = "JAAS_BIND_ADDRESS", default_value = ":8080")]
    pub bind_address: BindAddress,
    /// Address of /metrics, /healthz and /readyz: HOST:PORT, or :PORT for all interfaces.
    #[arg(long, env = "JAAS_METRICS_BIND_ADDRESS", default_value = ":8081")]
    pub metrics_bind_address: BindAddress,
    /// Refuse queries longer than this many bytes.
    #[arg(long, env = "JAAS_MAX_QUERY_BYTES", default_value_t = 8192)]
    pub max_query_bytes: usize,
    /// Refuse queries with more distinct parameters (top-level arguments) than this.
    #[arg(long, env = "JAAS_MAX_TLAS", default_value_t = 64)]
    pub max_tlas: usize,
    /// Refuse to send a rendered response larger than this many bytes (problem `output_too_large`).
    #[arg(long, env = "JAAS_MAX_OUTPUT_BYTES", default_value_t = 16 * MIB)]
    pub max_output_bytes: usize,
    /// How many requests may wait for or run an evaluation at once; beyond it, 503 with Retry-After.
    #[arg(long, env = "JAAS_MAX_PENDING_EVALUATIONS", default_value_t = 64)]
    pub max_pending_evaluations: usize,
    /// Cache up to this many rendered responses (0 disables the cache).
    #[arg(long, env = "JAAS_CACHE_MAX_ENTRIES", default_value_t = 1024)]
    pub cache_max_entries: usize,
    /// Cache up to this many bytes of rendered responses.
    #[arg(long, env = "JAAS_CACHE_MAX_BYTES", default_value_t = 64 * MIB)]
    pub cache_max_bytes: usize,
    /// How often the snippet and library directories are checked for changes (cached renders are dropped on one).
    #[arg(long, env = "JAAS_RELOAD_INTERVAL", default_value = "2s", value_parser = humantime::parse_duration)]
    pub reload_interval: Duration,
    /// Log format.
    #[arg(long, env = "JAAS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Json)]
    pub log_format: LogFormat,
    /// Rendering limits.
    #[command(flatten)]
    pub limits: LimitArgs,
}

impl ServeArgs {
    /// Checks what clap cannot check alone.
    pub fn validate(&self) -> Result<(), String> {
        let path = &self.jsonnet_endpoint_path;
        if path.is_empty() || path.contains(['/', '?', '#', '%']) {
            return Err(format!("--jsonnet-endpoint-path {path:?} must be one non-empty path segment, e.g. jsonnet"));
        }
        if self.max_pending_evaluations == 0 || self.limits.max_concurrent_evals == 0 {
            return Err("--max-pending-evaluations and --max-concurrent-evals must be at least 1".to_owned());
        }
        if self.reload_interval.is_zero() {
            return Err("--reload-interval must be more than 0".to_owned());
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        serve: ServeArgs,
    }

    #[test]
    fn defaults_and_lists_parse_and_bad_values_are_named() {
        let flags = Flags::try_parse_from(["jaas", "--snippet-directory=/a,/b", "--library-path=/lib"]).unwrap();
        assert_eq!(flags.serve.snippet_directories, [PathBuf::from("/a"), PathBuf::from("/b")]);
        assert_eq!(flags.serve.jsonnet_endpoint_path, "jsonnet");
        assert_eq!(flags.serve.bind_address.socket_addr().port(), 8080);
        flags.serve.validate().unwrap();
        let bad = Flags::try_parse_from(["jaas", "--jsonnet-endpoint-path=a/b"]).unwrap();
        assert!(bad.serve.validate().unwrap_err().contains("--jsonnet-endpoint-path"));
    }
}
