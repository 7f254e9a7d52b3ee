//! The isolated evaluation worker (`jaas eval-worker`): serves [`WorkerJob`]s, one frame each on stdin (see
//! [`crate::protocol`]), on a thread with a large stack, and answers each with one [`WorkerReply`] frame on stdout.
//!
//! Evaluating in a process of its own lets the parent kill a runaway evaluation and survive a crash (such as a
//! native stack overflow) that would otherwise take the controller down; serving many jobs per process saves a
//! process start per render. After each reply the evaluator's heap is freed and the thread's cycle collector runs,
//! so the worker stays flat in memory. A job marked `last` is answered and the process exits at once instead: its
//! heap goes back to the operating system in one piece rather than object by object.
//!
//! The main thread only reads stdin and hands jobs to the evaluation thread. When stdin ends, the parent has closed
//! it or is gone (even killed with SIGKILL), so the worker exits at once, in the middle of an evaluation too: a
//! runaway job never outlives the process that asked for it.

use std::{
    any::Any,
    io::{self, BufRead, Write},
    panic::{self, AssertUnwindSafe},
    process::{self, ExitCode},
    sync::mpsc::{Receiver, sync_channel},
    thread,
};

use jrsonnet_evaluator::manifest::JsonFormat;

use super::{
    EVALUATION_STACK_BYTES, RenderError,
    evaluate::{Cleanup, FilesLoaded, evaluate_and_manifest, prepare_thread},
    protocol::{
        EVALUATED_PREFIX, WorkerJob, WorkerReply, WorkerTask, frame_header, panic_failure, read_frame, write_frame,
    },
    record::PackedInputs,
};

/// What goes between and after the files read and the value's JSON text in a successful reply, after
/// [`EVALUATED_PREFIX`]: serde's encoding of `WorkerReply::Evaluated(Evaluation { files_read, value })`.
const VALUE_PREFIX: &[u8] = b",\"value\":";
const EVALUATED_SUFFIX: &[u8] = b"}}";

/// Serves jobs from stdin until it ends, replying to each on stdout.
///
/// Exits with success when stdin ends; a job that cannot be read, a panic or a reply that cannot be written is
/// answered with an internal failure where possible and ends the worker with a failure status.
pub fn run_from_stdio() -> ExitCode {
    let (jobs, queued) = sync_channel(1);
    let spawned =
        thread::Builder::new().name("jsonnet-eval".to_owned()).stack_size(EVALUATION_STACK_BYTES).spawn(move || {
            serve_jobs(&queued);
        });
    if let Err(error) = spawned {
        let _ = send_failure(RenderError::Internal(format!("cannot start the evaluation thread: {error}")));
        return ExitCode::FAILURE;
    }
    let mut input = io::stdin().lock();
    loop {
        match read_job(&mut input) {
            // The evaluation thread ends the process itself when it cannot go on, so a send cannot fail here.
            Ok(Some(job)) => {
                if jobs.send(job).is_err() {
                    return ExitCode::FAILURE;
                }
            }
            // Returning from main ends the process, and with it any evaluation still running.
            Ok(None) => return ExitCode::SUCCESS,
            Err(error) => {
                let _ = send_failure(RenderError::Internal(format!("the evaluation worker got no valid job: {error}")));
                return ExitCode::FAILURE;
            }
        }
    }
}

/// Runs on the evaluation thread: answers each job; exits the process after a `last` job, a panic or a reply that
/// cannot be written.
fn serve_jobs(jobs: &Receiver<WorkerJob>) {
    // A fresh worker is often started ahead of need (replacing a recycled one): have `std` ready before the job.
    prepare_thread();
    for job in jobs {
        let last = job.last;
        let sent = match panic::catch_unwind(AssertUnwindSafe(|| answer(job))) {
            Ok(sent) => sent,
            Err(panic) => {
                let _ = send_failure(panic_failure(&panic_message(panic.as_ref())));
                process::exit(1);
            }
        };
        if last || sent.is_err() {
            // Exit here, without unwinding: nothing of the evaluator's heap is worth freeing now.
            process::exit(i32::from(sent.is_err()));
        }
    }
}

/// Does the job and writes its reply. A value is sent while the evaluator is still live, so that freeing its heap
/// (milliseconds for a large render) happens after the parent has the reply, while it shapes the manifests.
fn answer(job: WorkerJob) -> io::Result<()> {
    let cleanup = if job.last { Cleanup::LeaveToProcessExit } else { Cleanup::Collect };
    match job.task {
        WorkerTask::Evaluate { request, max_stack, record_inputs } => {
            let sent = evaluate_and_manifest(&request, None, max_stack, cleanup, |value, files_read| {
                let json = value.manifest(JsonFormat::minify())?;
                let sent = send_evaluated(&files_read.paths(), &json);
                // The inputs are packed while the renderer reads the value.
                Ok(if record_inputs { sent.and_then(|()| send_inputs(files_read)) } else { sent })
            });
            sent.unwrap_or_else(send_failure)
        }
    }
}

/// The message a panic carried, for an error report.
pub(crate) fn panic_message(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(ToString::to_string)
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned())
}

/// The next job; `None` when stdin ended between jobs.
fn read_job(input: &mut impl BufRead) -> io::Result<Option<WorkerJob>> {
    let Some(payload) = read_frame(input)? else { return Ok(None) };
    serde_json::from_slice(&payload).map(Some).map_err(io::Error::from)
}

/// Writes a successful reply: jrsonnet's JSON text spliced into the envelope as it is. jrsonnet wrote it, so it is
/// valid JSON, and the renderer parses it anyway; checking it here would only delay the reply.
fn send_evaluated(files_read: &[String], json: &str) -> io::Result<()> {
    report_write_error(write_evaluated(&mut io::stdout().lock(), files_read, json))
}

fn write_evaluated(out: &mut impl Write, files_read: &[String], json: &str) -> io::Result<()> {
    let files_read = serde_json::to_vec(files_read).map_err(io::Error::from)?;
    let length = EVALUATED_PREFIX.len() + files_read.len() + VALUE_PREFIX.len() + json.len() + EVALUATED_SUFFIX.len();
    out.write_all(frame_header(length).as_bytes())?;
    out.write_all(EVALUATED_PREFIX)?;
    out.write_all(&files_read)?;
    out.write_all(VALUE_PREFIX)?;
    out.write_all(json.as_bytes())?;
    out.write_all(EVALUATED_SUFFIX)?;
    out.flush()
}

/// Writes the frame that follows the reply to a job that asked for the files read: them, packed, or nothing when
/// they could not be packed (why goes to stderr, where the renderer quotes it).
fn send_inputs(files_read: &FilesLoaded<'_>) -> io::Result<()> {
    let packed = files_read.pack();
    if let Err(error) = &packed {
        eprintln!("error: the evaluation worker cannot pack the files it read: {error}");
    }
    let frame = packed.as_ref().map_or(&[][..], PackedInputs::frame);
    report_write_error(write_frame(&mut io::stdout().lock(), frame))
}

fn send_failure(error: RenderError) -> io::Result<()> {
    let written = serde_json::to_vec(&WorkerReply::Failed(error))
        .map_err(io::Error::from)
        .and_then(|reply| write_frame(&mut io::stdout().lock(), &reply));
    report_write_error(written)
}

/// A reply that cannot be written is reported on stderr, where the renderer quotes it.
fn report_write_error(written: io::Result<()>) -> io::Result<()> {
    if let Err(error) = &written {
        eprintln!("error: the evaluation worker cannot write its reply: {error}");
    }
    written
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::protocol::Evaluation;

    #[test]
    fn the_spliced_reply_is_one_frame_the_renderer_reads_as_evaluated() {
        let json = r#"{"a":[1,"x\"y\n"],"b":{}}"#;
        let files_read = vec!["main.jsonnet".to_owned(), "lib/\"odd\".libsonnet".to_owned()];
        let mut written = Vec::new();
        write_evaluated(&mut written, &files_read, json).unwrap();
        let value: serde_json::Value = serde_json::from_str(json).unwrap();
        let evaluation = Evaluation { files_read, value, inputs: None };
        let mut expected = Vec::new();
        write_frame(&mut expected, &serde_json::to_vec(&WorkerReply::Evaluated(evaluation.clone())).unwrap()).unwrap();
        assert_eq!(written, expected);
        let mut input = written.as_slice();
        let payload = read_frame(&mut input).unwrap().unwrap();
        assert!(input.is_empty());
        match serde_json::from_slice::<WorkerReply>(&payload).unwrap() {
            WorkerReply::Evaluated(read) => assert_eq!(read, evaluation),
            WorkerReply::Failed(error) => panic!("read back as a failure: {error}"),
        }
    }

    #[test]
    fn panic_messages_are_quoted() {
        let caught = panic::catch_unwind(|| panic!("boom {}", 1)).unwrap_err();
        assert_eq!(panic_message(caught.as_ref()), "boom 1");
        let caught = panic::catch_unwind(|| panic::panic_any(7_u8)).unwrap_err();
        assert_eq!(panic_message(caught.as_ref()), "unknown panic");
    }

    #[test]
    fn jobs_are_read_until_the_input_ends() {
        let job = br#"{"task":{"evaluate":{"request":{"entryFile":"m"},"maxStack":3}},"last":true}"#;
        let mut input = Vec::new();
        write_frame(&mut input, job).unwrap();
        write_frame(&mut input, b"not json").unwrap();
        let mut input = input.as_slice();
        let read = read_job(&mut input).unwrap().unwrap();
        assert!(read.last);
        assert_eq!(read_job(&mut input).unwrap_err().kind(), io::ErrorKind::InvalidData);
        assert!(read_job(&mut input).unwrap().is_none());
    }
}
