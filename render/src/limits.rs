//! The resource limits of rendering, the flags that set them, when a worker process is replaced, and the command
//! that starts a worker.

use std::{io, path::PathBuf, time::Duration};

use serde::{Deserialize, Serialize};

/// Limits applied to every render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock time an evaluation may take before its worker process is killed.
    pub evaluation_timeout: Duration,
    /// Maximum Jsonnet stack depth (as `jsonnet --max-stack`).
    pub max_stack: usize,
    /// Maximum size of the tarball in bytes; 0 disables the check.
    pub max_artifact_bytes: u64,
}

/// When a warm worker process is replaced by a fresh one. Replacing bounds what one process can accumulate: heap the
/// allocator keeps, native stack pages a deep recursion touched, anything a bug in the evaluator leaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recycling {
    /// Replace a worker after this many jobs; 0 never does.
    pub max_evaluations: u64,
    /// Replace a worker whose resident set is larger than this many bytes right after a reply (before the worker
    /// frees the job's heap, so close to the job's peak); 0 never does.
    pub max_rss_bytes: u64,
}

impl Default for Recycling {
    fn default() -> Self {
        Self { max_evaluations: DEFAULT_WORKER_MAX_EVALUATIONS, max_rss_bytes: DEFAULT_WORKER_MAX_RSS_BYTES }
    }
}

/// A worker stays flat in memory over many jobs (its heap is freed and its cycles collected after each; the
/// memory soak and `worker_memory_stays_flat_over_500_evaluations` check it), and `--worker-max-rss-bytes` catches
/// growth: recycling is insurance, while a process start costs ~5 ms of CPU, 10x a small evaluation.
const DEFAULT_WORKER_MAX_EVALUATIONS: u64 = 1000;
const DEFAULT_WORKER_MAX_RSS_BYTES: u64 = 512 * 1024 * 1024;
/// The renderer holds an evaluated value several times over while it shapes, encodes and packs it (peak resident
/// memory grew by about 7x the JSON: 245 MiB for 30 MiB, 435 MiB for 60 MiB), so this bounds what one snippet can
/// make the controller allocate, well inside the chart's 512 MiB, while staying far above real outputs (a
/// kube-prometheus stack is a few MiB).
pub(crate) const DEFAULT_MAX_EVALUATION_OUTPUT_BYTES: u64 = 32 * 1024 * 1024;

/// Rendering flags, flattened into the controller's flags and into `jaas render`'s. Serde field names are the
/// clap ids (`max_stack`), as the layered config loader expects.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args, Serialize, Deserialize)]
pub struct LimitArgs {
    /// Kill an evaluation that runs longer than this (e.g. `5s`, `1m`).
    #[arg(long, env = "JAAS_EVALUATION_TIMEOUT", default_value = "5s", value_parser = humantime::parse_duration)]
    #[serde(with = "humantime_serde")]
    pub evaluation_timeout: Duration,
    /// Maximum Jsonnet stack depth; deeper recursion fails with StackOverflow.
    #[arg(long, env = "JAAS_MAX_STACK", default_value_t = 500)]
    pub max_stack: usize,
    /// How many evaluations may run at the same time, each in a worker process of its own (up to this many warm
    /// workers are kept).
    #[arg(long, env = "JAAS_MAX_CONCURRENT_EVALS", default_value_t = available_cores())]
    pub max_concurrent_evals: usize,
    /// Replace a worker process after this many evaluations; 0 keeps it for as long as it is healthy.
    #[arg(long, env = "JAAS_WORKER_MAX_EVALUATIONS", default_value_t = DEFAULT_WORKER_MAX_EVALUATIONS)]
    pub worker_max_evaluations: u64,
    /// Replace a worker process whose resident memory exceeds this many bytes after an evaluation (read as it
    /// replies); 0 disables it.
    #[arg(long, env = "JAAS_WORKER_MAX_RSS_BYTES", default_value_t = DEFAULT_WORKER_MAX_RSS_BYTES)]
    pub worker_max_rss_bytes: u64,
    /// Reject artifacts whose tarball is larger than this many bytes; 0 disables the check.
    #[arg(long, env = "JAAS_MAX_ARTIFACT_BYTES", default_value_t = 0)]
    pub max_artifact_bytes: u64,
    /// Fail an evaluation whose value is more than this many bytes of (compact) JSON with OutputTooLarge, without
    /// reading it: bounds the memory one snippet can make this process use.
    #[arg(long, env = "JAAS_MAX_EVALUATION_OUTPUT_BYTES", default_value_t = DEFAULT_MAX_EVALUATION_OUTPUT_BYTES)]
    pub max_evaluation_output_bytes: u64,
}

impl Default for LimitArgs {
    fn default() -> Self {
        Self {
            evaluation_timeout: Duration::from_secs(5),
            max_stack: 500,
            max_concurrent_evals: available_cores(),
            worker_max_evaluations: DEFAULT_WORKER_MAX_EVALUATIONS,
            worker_max_rss_bytes: DEFAULT_WORKER_MAX_RSS_BYTES,
            max_artifact_bytes: 0,
            max_evaluation_output_bytes: DEFAULT_MAX_EVALUATION_OUTPUT_BYTES,
        }
    }
}

impl LimitArgs {
    /// The per-render limits these flags set.
    pub fn limits(&self) -> Limits {
        Limits {
            evaluation_timeout: self.evaluation_timeout,
            max_stack: self.max_stack,
            max_artifact_bytes: self.max_artifact_bytes,
        }
    }

    /// When the worker processes these flags configure are replaced.
    pub fn recycling(&self) -> Recycling {
        Recycling { max_evaluations: self.worker_max_evaluations, max_rss_bytes: self.worker_max_rss_bytes }
    }
}

/// The number of cores this process may use (at least 1).
fn available_cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// The program (and its arguments) of a worker process: reads jobs on stdin, answers each on stdout (see
/// [`crate::worker`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerCommand {
    /// The executable.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
}

impl WorkerCommand {
    /// The running `jaas` binary's hidden `eval-worker` subcommand.
    pub fn current_exe() -> io::Result<Self> {
        Ok(Self { program: std::env::current_exe()?, args: vec!["eval-worker".to_owned()] })
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
        limits: LimitArgs,
    }

    #[test]
    fn defaults_match_the_documented_values() {
        let flags = Flags::try_parse_from(["jaas"]).unwrap();
        assert_eq!(flags.limits, LimitArgs::default());
        assert_eq!(
            flags.limits.limits(),
            Limits { evaluation_timeout: Duration::from_secs(5), max_stack: 500, max_artifact_bytes: 0 }
        );
        assert!(flags.limits.max_concurrent_evals >= 1);
        assert_eq!(flags.limits.recycling(), Recycling { max_evaluations: 1000, max_rss_bytes: 512 << 20 });
        assert_eq!(flags.limits.recycling(), Recycling::default());
    }

    #[test]
    fn serde_keys_are_the_clap_ids() {
        let json = serde_json::to_value(LimitArgs::default()).unwrap();
        let keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "evaluation_timeout",
                "max_artifact_bytes",
                "max_concurrent_evals",
                "max_evaluation_output_bytes",
                "max_stack",
                "worker_max_evaluations",
                "worker_max_rss_bytes"
            ]
        );
        assert_eq!(json["evaluation_timeout"], "5s");
    }

    #[test]
    fn flags_parse_human_durations() {
        let flags = Flags::try_parse_from([
            "jaas",
            "--evaluation-timeout=1m 30s",
            "--max-stack=20",
            "--max-concurrent-evals=3",
            "--max-artifact-bytes=1024",
            "--worker-max-evaluations=0",
            "--worker-max-rss-bytes=1048576",
            "--max-evaluation-output-bytes=4096",
        ])
        .unwrap();
        assert_eq!(flags.limits.evaluation_timeout, Duration::from_secs(90));
        assert_eq!(flags.limits.max_stack, 20);
        assert_eq!(flags.limits.max_concurrent_evals, 3);
        assert_eq!(flags.limits.max_artifact_bytes, 1024);
        assert_eq!(flags.limits.max_evaluation_output_bytes, 4096);
        assert_eq!(flags.limits.recycling(), Recycling { max_evaluations: 0, max_rss_bytes: 1 << 20 });
    }
}
