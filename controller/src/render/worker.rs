//! The isolated evaluation worker (`jaas eval-worker`): reads one [`WorkerJob`] as JSON from stdin,
//! evaluates it on a thread with a large stack, writes one [`WorkerReply`] as JSON to stdout and exits.
//!
//! Running each evaluation in its own process lets the parent kill a runaway evaluation and survive a
//! crash (such as a native stack overflow) that would otherwise take the controller down. Because the
//! process ends right after its reply, the evaluation thread writes the reply and exits the process itself:
//! the evaluator's heap goes back to the operating system in one piece instead of being freed object by object.

use std::{
    io::{self, Read, Write},
    process::{self, ExitCode},
    thread,
};

use serde_json::value::RawValue;

use super::{
    RenderError,
    evaluate::{Cleanup, evaluate_to_json_text},
    protocol::{WorkerJob, WorkerReply},
};

/// Native stack of the evaluation thread. jrsonnet recurses on the native stack; `--max-stack` is meant to
/// stop runaway recursion long before this is exhausted. Only touched pages are backed by memory.
const EVALUATION_STACK_BYTES: usize = 256 * 1024 * 1024;

/// The reply as the worker sends it: the value is jrsonnet's JSON text, passed through unparsed.
type RawReply = WorkerReply<Box<RawValue>>;

/// Reads one request from stdin, evaluates it, writes the reply to stdout.
///
/// Exits with success whenever a reply was written (evaluation errors are replies too).
pub fn run_from_stdio() -> ExitCode {
    let job = match read_job() {
        Ok(job) => job,
        Err(error) => {
            return send(&WorkerReply::Failed(RenderError::Internal(format!(
                "the evaluation worker got no valid job: {error}"
            ))));
        }
    };
    let spawned = thread::Builder::new()
        .name("jsonnet-eval".to_owned())
        .stack_size(EVALUATION_STACK_BYTES)
        .spawn(move || evaluate_reply_and_exit(&job));
    let failure = match spawned {
        Ok(handle) => match handle.join() {
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(ToString::to_string)
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".to_owned());
                format!("the evaluation panicked: {message}")
            }
            Ok(never) => match never {},
        },
        Err(error) => format!("cannot start the evaluation thread: {error}"),
    };
    send(&WorkerReply::Failed(RenderError::Internal(failure)))
}

/// Runs on the evaluation thread: evaluates, writes the reply and ends the process without freeing anything.
fn evaluate_reply_and_exit(job: &WorkerJob) -> std::convert::Infallible {
    let reply = match evaluate_to_json_text(&job.request, job.max_stack, Cleanup::LeaveToProcessExit).and_then(|json| {
        RawValue::from_string(json)
            .map_err(|error| RenderError::Internal(format!("jrsonnet produced JSON that does not parse: {error}")))
    }) {
        Ok(value) => WorkerReply::Evaluated(value),
        Err(error) => WorkerReply::Failed(error),
    };
    process::exit(i32::from(send(&reply) != ExitCode::SUCCESS))
}

fn read_job() -> io::Result<WorkerJob> {
    let mut input = Vec::new();
    io::stdin().lock().read_to_end(&mut input)?;
    serde_json::from_slice(&input).map_err(io::Error::from)
}

/// Writes `reply` to stdout; failure to do so is reported on stderr, where the renderer quotes it.
fn send(reply: &RawReply) -> ExitCode {
    let mut stdout = io::stdout().lock();
    match serde_json::to_writer(&mut stdout, reply).map_err(io::Error::from).and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: the evaluation worker cannot write its reply: {error}");
            ExitCode::FAILURE
        }
    }
}
