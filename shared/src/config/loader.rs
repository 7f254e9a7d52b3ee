//! The layered configuration loader both binaries use: defaults < YAML config file (`--config` / `JAAS_CONFIG`) <
//! environment (`JAAS_*`) < command-line flags. clap parses and checks every flag and environment variable and says
//! where each value came from; figment stacks the four layers and deserializes the result.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{Arg, ArgMatches, FromArgMatches, Parser};
use figment::Figment;
use figment::providers::Serialized;
use figment::value::{Dict, Value};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::{ConfigError, exit_on_error};
use super::flag_file::FlagFile;

/// The clap id of the `--config` flag the loader adds to every command (unlikely to clash with a field name).
const CONFIG_ID: &str = "jaas_config_file";

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
    let mut matches = with_config_flag(T::command()).try_get_matches_from(args)?;
    load_from_matches(&mut matches)
}

/// `command` with the `--config FILE` flag (env `JAAS_CONFIG`) that [`load_from_matches`] reads. For a binary
/// whose clap command has subcommands: add it to the subcommand that is loaded in layers.
pub fn with_config_flag(command: clap::Command) -> clap::Command {
    command.arg(
        Arg::new(CONFIG_ID)
            .long("config")
            .env("JAAS_CONFIG")
            .value_name("FILE")
            .value_parser(clap::value_parser!(PathBuf))
            .help("YAML file of flag values (keys are flag names); environment and flags override it"),
    )
}

/// Loads `T` from matches of a command that [`with_config_flag`] extended (a binary's subcommand, say), layering
/// the config file as [`load_from`] describes.
pub fn load_from_matches<T>(matches: &mut ArgMatches) -> Result<T, ConfigError>
where
    T: FromArgMatches + Serialize + DeserializeOwned,
{
    let config_file = matches.remove_one::<PathBuf>(CONFIG_ID);
    let sources: HashMap<String, ValueSource> =
        matches.ids().filter_map(|id| Some((id.as_str().to_owned(), matches.value_source(id.as_str())?))).collect();
    let parsed = T::from_arg_matches_mut(matches)?;
    let Ok(Value::Dict(_, values)) = Value::serialize(&parsed) else {
        return Err(ConfigError::Invalid(
            "the arguments do not serialize to a map; flatten argument groups with #[serde(flatten)]".into(),
        ));
    };
    let from = |wanted: Option<ValueSource>| -> Dict {
        let chosen = |key: &String| match sources.get(key) {
            Some(source @ (ValueSource::EnvVariable | ValueSource::CommandLine)) => Some(*source) == wanted,
            _ => wanted.is_none(),
        };
        values.iter().filter(|(key, _)| chosen(key)).map(|(key, value)| (key.clone(), value.clone())).collect()
    };
    let mut layers = Figment::from(Serialized::defaults(from(None)));
    if let Some(path) = &config_file {
        layers = layers.merge(FlagFile::new(path));
    }
    let layers = layers
        .merge(Serialized::defaults(from(Some(ValueSource::EnvVariable))))
        .merge(Serialized::defaults(from(Some(ValueSource::CommandLine))));
    let Some(path) = config_file else {
        return layers.extract().map_err(|e| ConfigError::Invalid(describe(&e)));
    };
    let file_error = |message: String| ConfigError::File { path: path.clone(), message };
    let merged: Dict = layers.extract().map_err(|e| file_error(describe(&e)))?;
    if let Some(unknown) = merged.keys().find(|key| !values.contains_key(*key)) {
        return Err(file_error(format!("unknown key {unknown:?}")));
    }
    layers.extract().map_err(|e| file_error(describe(&e)))
}

/// figment's errors as one line, each naming the key it is about.
fn describe(error: &figment::Error) -> String {
    let described: Vec<String> = error
        .clone()
        .into_iter()
        .map(|e| if e.path.is_empty() { e.kind.to_string() } else { format!("{}: {}", e.path.join("."), e.kind) })
        .collect();
    described.join("; ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    //! Environment variables cannot be set inside a test process (edition 2024 makes that unsafe and it races with
    //! other tests), so each case re-runs this test binary as a child with a clean environment, as a binary would
    //! be run.

    use std::process::Command;
    use std::time::Duration;

    use clap::Parser;
    use serde::{Deserialize, Serialize};

    use super::*;
    use crate::config::{Secret, StorageArgs, StorageBackend};

    /// Stands in for a binary's arguments: the storage flags flattened, plus one of its own.
    #[derive(Debug, Parser, Serialize, Deserialize)]
    #[command(name = "jaas-test")]
    struct TestArgs {
        #[command(flatten)]
        #[serde(flatten)]
        storage: StorageArgs,
        /// A flag of the binary itself.
        #[arg(long, env = "JAAS_TEST_PORT", default_value_t = 8080)]
        port: u16,
    }

    const CHILD_ARGS: &str = "JAAS_TEST_CHILD_ARGS";

    /// The child side: loads and validates like a binary's `main` (exit 2 on error), then prints the result.
    #[test]
    #[ignore = "run by the loader tests as a child process"]
    fn child_load() {
        let Ok(raw) = std::env::var(CHILD_ARGS) else { return };
        let args: Vec<String> = serde_json::from_str(&raw).unwrap();
        let loaded: TestArgs = exit_on_error(load_from(std::iter::once("jaas-test".to_owned()).chain(args)));
        exit_on_error(loaded.storage.validate());
        println!("RESULT:{}", serde_json::to_string(&loaded).unwrap());
    }

    struct Outcome {
        code: Option<i32>,
        stderr: String,
        loaded: Option<TestArgs>,
    }

    fn run(args: &[&str], env: &[(&str, &str)]) -> Outcome {
        let output = Command::new(std::env::current_exe().unwrap())
            .args(["--ignored", "--exact", "config::loader::tests::child_load", "--nocapture", "--test-threads=1"])
            .env_clear()
            .env(CHILD_ARGS, serde_json::to_string(args).unwrap())
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let loaded = stdout
            .lines()
            .find_map(|l| l.split_once("RESULT:").map(|(_, json)| json))
            .map(|json| serde_json::from_str(json).unwrap());
        Outcome { code: output.status.code(), stderr: String::from_utf8_lossy(&output.stderr).into_owned(), loaded }
    }

    fn loaded(args: &[&str], env: &[(&str, &str)]) -> TestArgs {
        let outcome = run(args, env);
        outcome.loaded.unwrap_or_else(|| panic!("child failed ({:?}): {}", outcome.code, outcome.stderr))
    }

    /// Asserts exit code 2 with exactly one error line that contains `needle`.
    fn rejected(args: &[&str], env: &[(&str, &str)], needle: &str) {
        let outcome = run(args, env);
        assert_eq!(outcome.code, Some(2), "{args:?} should exit 2; stderr: {}", outcome.stderr);
        let errors: Vec<&str> = outcome.stderr.lines().filter(|l| l.starts_with("error: ")).collect();
        assert_eq!(errors.len(), 1, "{args:?}: {}", outcome.stderr);
        assert!(errors[0].contains(needle), "{args:?}: {:?} lacks {needle:?}", errors[0]);
        assert!(outcome.loaded.is_none());
    }

    fn config_file(yaml: &str) -> tempfile::NamedTempFile {
        let file = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
        std::fs::write(file.path(), yaml).unwrap();
        file
    }

    #[test]
    fn defaults_apply_without_anything_set() {
        let args = loaded(&[], &[]);
        assert_eq!(args.storage.storage_backend, StorageBackend::Local);
        assert_eq!(args.storage.storage_path, std::path::Path::new("/var/lib/jaas/artifacts"));
        assert_eq!(args.storage.storage_sweep_interval, Duration::from_mins(10));
        assert_eq!(args.storage.storage_sweep_max_tmp_age, Duration::from_mins(30));
        assert_eq!(args.storage.s3_region, "us-east-1");
        assert!(args.storage.s3_use_ssl && !args.storage.s3_anonymous);
        assert_eq!(args.port, 8080);
    }

    #[test]
    fn file_beats_defaults() {
        let file = config_file(
            "storage-backend: s3\ns3-endpoint: \"127.0.0.1:7480\"\ns3_bucket: from-file\nstorage-sweep-interval: 1m\nport: 9000\n",
        );
        let args = loaded(&["--config", file.path().to_str().unwrap()], &[]);
        assert_eq!(args.storage.storage_backend, StorageBackend::S3);
        assert_eq!(args.storage.s3_bucket.as_deref(), Some("from-file"));
        assert_eq!(args.storage.storage_sweep_interval, Duration::from_mins(1));
        assert_eq!(args.port, 9000);
        assert_eq!(args.storage.s3_region, "us-east-1", "keys absent from the file keep their defaults");
    }

    #[test]
    fn env_beats_file_and_flags_beat_env() {
        let file =
            config_file("storage-backend: s3\ns3-endpoint: \"127.0.0.1:7480\"\ns3-bucket: from-file\nport: 9000\n");
        let path = file.path().to_str().unwrap();
        let env = [("JAAS_CONFIG", path), ("JAAS_S3_BUCKET", "from-env"), ("JAAS_TEST_PORT", "9001")];
        let args = loaded(&[], &env);
        assert_eq!(args.storage.s3_bucket.as_deref(), Some("from-env"));
        assert_eq!(args.port, 9001);
        let args = loaded(&["--s3-bucket", "from-flag"], &env);
        assert_eq!(args.storage.s3_bucket.as_deref(), Some("from-flag"));
        assert_eq!(args.storage.storage_backend, StorageBackend::S3, "the file still applies under them");
    }

    #[test]
    fn booleans_and_zero_durations_parse() {
        let env = [("JAAS_S3_USE_SSL", "false"), ("JAAS_S3_ANONYMOUS", "true")];
        let args = loaded(&["--storage-sweep-interval", "0"], &env);
        assert!(!args.storage.s3_use_ssl && args.storage.s3_anonymous);
        assert_eq!(args.storage.storage_sweep_interval, Duration::ZERO);
        let args = loaded(&["--s3-use-ssl=false"], &[]);
        assert!(!args.storage.s3_use_ssl);
    }

    #[test]
    fn invalid_values_exit_2_with_one_line_naming_the_problem() {
        rejected(&["--storage-backend", "floppy"], &[], "--storage-backend");
        rejected(&[], &[("JAAS_STORAGE_BACKEND", "floppy")], "--storage-backend");
        rejected(
            &["--storage-backend=s3", "--s3-endpoint=127.0.0.1:7480"],
            &[],
            "--s3-bucket is required when --storage-backend=s3",
        );
        rejected(
            &["--storage-backend=s3", "--s3-bucket=b"],
            &[],
            "--s3-endpoint is required when --storage-backend=s3",
        );
        rejected(&["--storage-sweep-interval=-5s"], &[], "--storage-sweep-interval");
        rejected(&["--storage-sweep-interval", "10 parsecs"], &[], "--storage-sweep-interval");
        rejected(&["--storage-sweep-max-tmp-age", "0s"], &[], "--storage-sweep-max-tmp-age");
        rejected(&["--storage-backend=s3", "--s3-bucket=b", "--s3-endpoint=ftp://h:1"], &[], "--s3-endpoint");
        rejected(&["--storage-backend=s3", "--s3-bucket=b", "--s3-endpoint=h:port"], &[], "--s3-endpoint");
        rejected(
            &["--storage-backend=s3", "--s3-bucket=b", "--s3-endpoint=h:1", "--s3-access-key=k"],
            &[],
            "--s3-access-key and --s3-secret-key",
        );
    }

    #[test]
    fn a_bad_config_file_exits_2_naming_the_file() {
        rejected(&["--config", "/nonexistent/jaas.yaml"], &[], "/nonexistent/jaas.yaml");
        let unknown = config_file("s3-buckett: typo\n");
        rejected(&["--config", unknown.path().to_str().unwrap()], &[], "unknown key \"s3_buckett\"");
        let bad_value = config_file("storage-backend: floppy\n");
        rejected(&["--config", bad_value.path().to_str().unwrap()], &[], "config file");
        let bad_duration = config_file("storage-sweep-interval: soon\n");
        rejected(&["--config", bad_duration.path().to_str().unwrap()], &[], "config file");
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let args =
            TestArgs::try_parse_from(["t", "--s3-access-key", "AKIDVISIBLE", "--s3-secret-key", "hunter2"]).unwrap();
        let printed = format!("{args:?}");
        assert!(!printed.contains("hunter2") && !printed.contains("AKIDVISIBLE"), "{printed}");
        assert_eq!(args.storage.s3_secret_key, Some(Secret("hunter2".into())));
    }
}
