//! The isolated evaluation worker (`jaas eval-worker`): reads one [`WorkerJob`] as JSON from stdin,
//! evaluates it on a thread with a large stack, writes one [`WorkerReply`] as JSON to stdout and exits.
//!
//! Running each evaluation in its own process lets the parent kill a runaway evaluation and survive a
//! crash (such as a native stack overflow) that would otherwise take the controller down.

use std::{
    io::{self, Read, Write},
    process::ExitCode,
    thread,
};

use super::{
    RenderError,
    evaluate::evaluate,
    protocol::{WorkerJob, WorkerReply},
};

/// Native stack of the evaluation thread. jrsonnet recurses on the native stack; `--max-stack` is meant to
/// stop runaway recursion long before this is exhausted. Only touched pages are backed by memory.
const EVALUATION_STACK_BYTES: usize = 256 * 1024 * 1024;

/// Reads one request from stdin, evaluates it, writes the reply to stdout.
///
/// Exits with success whenever a reply was written (evaluation errors are replies too).
pub fn run_from_stdio() -> ExitCode {
    let reply = match read_job() {
        Ok(job) => evaluate_on_big_stack(job),
        Err(error) => {
            WorkerReply::Failed(RenderError::Internal(format!("the evaluation worker got no valid job: {error}")))
        }
    };
    match write_reply(&reply) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: the evaluation worker cannot write its reply: {error}");
            ExitCode::FAILURE
        }
    }
}

fn read_job() -> io::Result<WorkerJob> {
    let mut input = Vec::new();
    io::stdin().lock().read_to_end(&mut input)?;
    serde_json::from_slice(&input).map_err(io::Error::from)
}

fn evaluate_on_big_stack(job: WorkerJob) -> WorkerReply {
    let spawned = thread::Builder::new()
        .name("jsonnet-eval".to_owned())
        .stack_size(EVALUATION_STACK_BYTES)
        .spawn(move || evaluate(&job.request, job.max_stack));
    let outcome = match spawned {
        Ok(handle) => handle.join().unwrap_or_else(|panic| {
            let message = panic
                .downcast_ref::<&str>()
                .map(ToString::to_string)
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            Err(RenderError::Internal(format!("the evaluation panicked: {message}")))
        }),
        Err(error) => Err(RenderError::Internal(format!("cannot start the evaluation thread: {error}"))),
    };
    match outcome {
        Ok(value) => WorkerReply::Evaluated(value),
        Err(error) => WorkerReply::Failed(error),
    }
}

fn write_reply(reply: &WorkerReply) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    serde_json::to_writer(&mut stdout, reply)?;
    stdout.flush()
}
