//! Why a binary cannot start with the configuration it was given, and how it says so: one line on stderr and exit
//! status 2 (`--help` and `--version` print their text and exit 0).

use std::path::PathBuf;

use crate::store::StoreError;

/// Why the configuration cannot be loaded. `Display` is a single line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A flag or environment value is invalid (or `--help`/`--version` was asked for).
    #[error("{}", one_line(.0))]
    Cli(#[from] clap::Error),
    /// The config file cannot be read or holds an unknown key or a bad value.
    #[error("config file {}: {message}", path.display())]
    File {
        /// The file given with `--config`.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A value or a combination of values is not allowed; the message names the flag.
    #[error("{0}")]
    Invalid(String),
    /// The storage backend failed its start-up check.
    #[error("{0}")]
    Storage(#[from] StoreError),
}

/// clap renders an error over several lines (usage, hints); keep what says what is wrong.
fn one_line(err: &clap::Error) -> String {
    let rendered = err.render().to_string();
    let lines: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .filter(|l| !l.is_empty())
        .collect();
    lines.join(" ").trim_start_matches("error: ").to_owned()
}

/// Prints `--help`/`--version` output and exits 0, or prints the error as one line to stderr and exits 2.
pub fn exit_on_error<T>(result: Result<T, ConfigError>) -> T {
    match result {
        Ok(value) => value,
        Err(ConfigError::Cli(err)) if !err.use_stderr() => err.exit(),
        Err(err) => {
            eprintln!("error: {err}");
            std::process::exit(2)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_clap_error_becomes_one_line_without_usage_or_hints() {
        let command =
            clap::Command::new("t").arg(clap::Arg::new("port").long("port").value_parser(clap::value_parser!(u16)));
        let err = ConfigError::from(command.try_get_matches_from(["t", "--port", "x"]).unwrap_err()).to_string();
        assert!(!err.contains('\n') && !err.starts_with("error:"), "{err:?}");
        assert!(err.contains("--port") && !err.contains("Usage"), "{err:?}");
    }
}
