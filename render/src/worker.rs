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

use super::{
    RenderError,
    evaluate::{Cleanup, evaluate_to_json_text},
    protocol::{WorkerJob, WorkerReply},
};

/// Native stack of the evaluation thread. jrsonnet recurses on the native stack; `--max-stack` is meant to
/// stop runaway recursion long before this is exhausted. Only touched pages are backed by memory.
const EVALUATION_STACK_BYTES: usize = 256 * 1024 * 1024;

/// What goes before and after the value's JSON text in a successful reply: serde's encoding of
/// `WorkerReply::Evaluated`.
const EVALUATED_PREFIX: &[u8] = b"{\"evaluated\":";
const EVALUATED_SUFFIX: &[u8] = b"}";

/// Reads one request from stdin, evaluates it, writes the reply to stdout.
///
/// Exits with success whenever a reply was written (evaluation errors are replies too).
pub fn run_from_stdio() -> ExitCode {
    let job = match read_job() {
        Ok(job) => job,
        Err(error) => {
            return send_failure(RenderError::Internal(format!("the evaluation worker got no valid job: {error}")));
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
    send_failure(RenderError::Internal(failure))
}

/// Runs on the evaluation thread: evaluates, writes the reply and ends the process without freeing anything.
fn evaluate_reply_and_exit(job: &WorkerJob) -> std::convert::Infallible {
    let sent = match evaluate_to_json_text(&job.request, job.max_stack, Cleanup::LeaveToProcessExit) {
        Ok(json) => send_evaluated(&json),
        Err(error) => send_failure(error),
    };
    process::exit(i32::from(sent != ExitCode::SUCCESS))
}

fn read_job() -> io::Result<WorkerJob> {
    let mut input = Vec::new();
    io::stdin().lock().read_to_end(&mut input)?;
    serde_json::from_slice(&input).map_err(io::Error::from)
}

/// Writes a successful reply: jrsonnet's JSON text spliced into the envelope as it is. jrsonnet wrote it, so it is
/// valid JSON, and the renderer parses it anyway; checking it here would only delay the reply.
fn send_evaluated(json: &str) -> ExitCode {
    report_write_error(write_evaluated(&mut io::stdout().lock(), json))
}

fn write_evaluated(out: &mut impl Write, json: &str) -> io::Result<()> {
    out.write_all(EVALUATED_PREFIX)?;
    out.write_all(json.as_bytes())?;
    out.write_all(EVALUATED_SUFFIX)?;
    out.flush()
}

fn send_failure(error: RenderError) -> ExitCode {
    let mut stdout = io::stdout().lock();
    let written = serde_json::to_writer(&mut stdout, &WorkerReply::Failed(error))
        .map_err(io::Error::from)
        .and_then(|()| stdout.flush());
    report_write_error(written)
}

/// A reply that cannot be written is reported on stderr, where the renderer quotes it.
fn report_write_error(written: io::Result<()>) -> ExitCode {
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: the evaluation worker cannot write its reply: {error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_spliced_reply_is_what_the_renderer_reads_as_evaluated() {
        let json = r#"{"a":[1,"x\"y"],"b":{}}"#;
        let mut written = Vec::new();
        write_evaluated(&mut written, json).unwrap();
        let value: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(written, serde_json::to_vec(&WorkerReply::Evaluated(value.clone())).unwrap());
        match serde_json::from_slice::<WorkerReply>(&written).unwrap() {
            WorkerReply::Evaluated(read) => assert_eq!(read, value),
            WorkerReply::Failed(error) => panic!("read back as a failure: {error}"),
        }
    }
}
