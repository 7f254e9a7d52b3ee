//! The layered configuration loader both binaries use: defaults < YAML config file (`--config` / `JAAS_CONFIG`) <
//! environment (`JAAS_*`) < command-line flags. clap resolves defaults, env and flags; the file is laid under
//! everything that was not explicitly set.

use std::collections::HashSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{Arg, Parser};
use figment::Figment;
use figment::providers::{Format, Yaml};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::store::StoreError;

/// The clap id of the `--config` flag the loader adds to every command (unlikely to clash with a field name).
const CONFIG_ID: &str = "jaas_config_file";

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

/// Loads `T` from the process's arguments and environment (see [`load_from`]); on error prints one line and exits 2.
pub fn load<T: Parser + Serialize + DeserializeOwned>() -> T {
    exit_on_error(load_from(std::env::args_os()))
}

/// Loads `T` from `args` (the first is the program name) and the environment, with precedence
/// defaults < YAML config file < env < flags. The file (`--config FILE` or `JAAS_CONFIG`, added to `T`'s flags by
/// this loader, so `T` must not define its own) maps flag names to values, e.g. `s3-bucket: artifacts` (`-` and
/// `_` are interchangeable); an unknown key is an error. `T` must serialize to a flat map keyed by its clap ids:
/// flatten argument groups with both `#[command(flatten)]` and `#[serde(flatten)]`.
pub fn load_from<T, I>(args: I) -> Result<T, ConfigError>
where
    T: Parser + Serialize + DeserializeOwned,
    I: IntoIterator,
    I::Item: Into<OsString> + Clone,
{
    let command = T::command().arg(
        Arg::new(CONFIG_ID)
            .long("config")
            .env("JAAS_CONFIG")
            .value_name("FILE")
            .value_parser(clap::value_parser!(PathBuf))
            .help("YAML file of flag values (keys are flag names); environment and flags override it"),
    );
    let mut matches = command.try_get_matches_from(args)?;
    let explicit: HashSet<String> = matches
        .ids()
        .filter(|id| {
            matches!(matches.value_source(id.as_str()), Some(ValueSource::EnvVariable | ValueSource::CommandLine))
        })
        .map(|id| id.as_str().to_owned())
        .collect();
    let config_file = matches.remove_one::<PathBuf>(CONFIG_ID);
    let parsed = T::from_arg_matches_mut(&mut matches)?;
    let Some(path) = config_file else { return Ok(parsed) };

    let file_error = |message: String| ConfigError::File { path: path.clone(), message };
    let Value::Object(mut merged) = serde_json::to_value(&parsed).map_err(|e| file_error(e.to_string()))? else {
        return Err(file_error("the arguments do not serialize to a map; flatten them with #[serde(flatten)]".into()));
    };
    for (key, value) in read_yaml_map(&path).map_err(file_error)? {
        if !merged.contains_key(&key) {
            return Err(file_error(format!("unknown key {key:?}")));
        }
        if !explicit.contains(&key) {
            merged.insert(key, value);
        }
    }
    serde_json::from_value(Value::Object(merged)).map_err(|e| file_error(e.to_string()))
}

/// Reads a YAML mapping, with keys spelled like flags (`s3-bucket`) turned into clap ids (`s3_bucket`).
fn read_yaml_map(path: &Path) -> Result<Map<String, Value>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot be read: {e}"))?;
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    let map: Map<String, Value> =
        Figment::from(Yaml::string(&text)).extract().map_err(|e| format!("is not a YAML map of flag values: {e}"))?;
    Ok(map.into_iter().map(|(key, value)| (key.replace('-', "_"), value)).collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
#[path = "loader_tests.rs"]
mod tests;
