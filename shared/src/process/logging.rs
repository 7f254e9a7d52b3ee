//! Log output of both binaries: one line per event on stderr, JSON or human-readable text, filtered by `RUST_LOG`
//! (default `info`). An event's fields are top-level keys of its JSON object, next to `timestamp`, `level`,
//! `target` and `spans`. The artifact server's access-log lines use the target `access`, so
//! `RUST_LOG=info,access=off` silences them.

use serde::{Deserialize, Serialize};
use tracing_subscriber::EnvFilter;

/// How log lines are written (`--log-format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line, for log collectors.
    #[default]
    Json,
    /// Human-readable text.
    Text,
}

/// The filter without `RUST_LOG`: `info`, but not actix-http's ERROR line for every malformed request a client
/// sends (a hostile client could flood the log with them; the access log and `jaas_server_requests_total` still
/// count each one).
pub const DEFAULT_FILTER: &str = "info,actix_http::h1::dispatcher=off";

/// Installs the global subscriber. Calling it twice keeps the first one (tests may race to install theirs).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    // Colours only on a terminal: escape codes in a log file or a collector are noise.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    let _already_installed = match format {
        // `spans` lists the spans an event happened in, innermost last; a separate `span` key would repeat it.
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(false).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use clap::ValueEnum;

    use super::*;

    #[test]
    fn the_format_parses_from_flags_and_config_files_alike() {
        assert_eq!(LogFormat::from_str("json", false).unwrap(), LogFormat::Json);
        assert_eq!(LogFormat::from_str("text", false).unwrap(), LogFormat::Text);
        assert!(LogFormat::from_str("xml", false).is_err());
        assert_eq!(serde_json::from_str::<LogFormat>("\"text\"").unwrap(), LogFormat::Text);
        assert_eq!(serde_json::to_string(&LogFormat::Json).unwrap(), "\"json\"");
        assert!(serde_json::from_str::<LogFormat>("\"Text\"").is_err(), "flag values are lowercase");
        assert_eq!(LogFormat::default(), LogFormat::Json);
    }
}
