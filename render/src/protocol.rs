//! The messages between a [`super::Renderer`] and its worker processes, and how they are framed on the worker's
//! stdin and stdout: each message is one frame, the payload's length in ASCII decimal and a newline, then the
//! payload (JSON). A length prefix lets a reply carry any text (a later job kind replies with YAML or plain strings,
//! whose newlines would break a line-delimited protocol), and a textual one makes a worker that prints anything else
//! on stdout fail at once, as garbage, instead of being read as a huge length.

use std::io::{self, BufRead, Read, Write};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

use super::{RenderError, RenderRequest, record::PackedInputs};

/// Longest frame header accepted: 20 digits (`u64::MAX`) and the newline.
const MAX_HEADER_BYTES: usize = 21;
/// Most of a frame's payload allocated before its bytes arrive, so that a bogus length cannot reserve gigabytes.
const MAX_PREALLOCATED_BYTES: usize = 64 * 1024 * 1024;
/// The deepest value a reply can carry: serde_json reads 127 levels of arrays and objects (its recursion limit,
/// which keeps a hostile value from overflowing the renderer's native stack), two of which are the reply's envelope
/// (`{"evaluated":{"filesRead":[..],"value":..}}`).
pub const MAX_VALUE_DEPTH: usize = 125;

/// One message to a worker: a task, and whether another will follow.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerJob {
    /// What to do.
    pub task: WorkerTask,
    /// No job follows this one: the worker replies and exits, leaving its heap to the operating system instead of
    /// freeing it first (the pool sets it when the worker is retired after this job anyway).
    #[serde(default)]
    pub last: bool,
}

/// The kinds of work a worker does. Each kind names the [`WorkerReply`] it succeeds with.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum WorkerTask {
    /// Evaluate the request's entry file, top-level arguments applied, recursing at most `max_stack` deep; succeeds
    /// with [`WorkerReply::Evaluated`], followed, when `record_inputs` asks for it, by one more frame: the files
    /// read, packed for a revision record ([`crate::record::PackedInputs`]; empty when they could not be packed).
    #[serde(rename_all = "camelCase")]
    Evaluate {
        /// The request to evaluate.
        request: RenderRequest,
        /// Maximum Jsonnet stack depth.
        max_stack: usize,
        /// Send the files read, packed, after the value.
        #[serde(default)]
        record_inputs: bool,
    },
}

/// The worker's answer to one job. For `Evaluated`, the worker splices the JSON text jrsonnet produced into this
/// encoding (so the value is never parsed and re-encoded there); the renderer reads it as a parsed
/// [`serde_json::Value`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum WorkerReply {
    /// The entry file's value (top-level arguments applied), and the files it read.
    Evaluated(Evaluation),
    /// The job failed. `Internal` failures (a panic, an unreadable job) also end the worker.
    Failed(RenderError),
}

/// A successful evaluation. `files_read` comes first in the encoding, so the worker can write the value's JSON
/// text last, as jrsonnet produced it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Evaluation {
    /// The tree paths of the files the evaluation read, in the order first read (what a revision record keeps).
    pub files_read: Vec<String>,
    /// The entry file's value (top-level arguments applied), as JSON.
    pub value: serde_json::Value,
    /// The files read, packed: from the frame after the reply's, when the job asked for them.
    #[serde(skip)]
    pub inputs: Option<PackedInputs>,
}

/// A frame announced as longer than its reader accepts; its payload was left unread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a frame of {length} bytes, more than the {limit} bytes accepted")]
pub struct FrameTooLarge {
    /// The length the frame's header announced.
    pub length: u64,
    /// The most the reader accepts.
    pub limit: u64,
}

/// How a successful reply's payload begins: serde's encoding of `WorkerReply::Evaluated(Evaluation { files_read,
/// .. })`, which the worker writes by hand (it splices the value's JSON text in after the files).
pub const EVALUATED_PREFIX: &[u8] = b"{\"evaluated\":{\"filesRead\":";

/// Whether a reply's payload is a successful evaluation, whatever [`decode_reply`] makes of it: after one, a worker
/// asked for the files read sends them in the next frame, which must be read before its next job.
pub fn is_evaluated(payload: &[u8]) -> bool {
    payload.starts_with(EVALUATED_PREFIX)
}

/// Decodes a reply's payload. A value nested deeper than [`MAX_VALUE_DEPTH`] is the snippet's
/// [`RenderError::InvalidOutput`], not a broken worker: its reply was complete.
pub fn decode_reply(payload: &[u8]) -> io::Result<WorkerReply> {
    serde_json::from_slice(payload).or_else(|error| {
        let depth = nesting_depth(payload).saturating_sub(2);
        if depth <= MAX_VALUE_DEPTH {
            return Err(error.into());
        }
        Ok(WorkerReply::Failed(RenderError::InvalidOutput(format!(
            "the value nests arrays and objects {depth} levels deep; at most {MAX_VALUE_DEPTH} levels are supported"
        ))))
    })
}

/// The deepest nesting of arrays and objects in a JSON text; brackets inside strings do not count. Counted
/// without recursion, so any depth is safe to measure.
fn nesting_depth(json: &[u8]) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0_usize, 0_usize, false, false);
    for &byte in json {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
        } else {
            match byte {
                b'"' => in_string = true,
                b'[' | b'{' => {
                    depth += 1;
                    deepest = deepest.max(depth);
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
    }
    deepest
}

/// How a worker words a panic of the evaluation it answers for: an `Internal` failure, since the worker ends after
/// it (its state after a panic is unknown).
const PANICKED: &str = "the evaluation panicked: ";
/// The panic std raises when a size to allocate does not fit the address space: a string or array the program
/// builds by repetition (`'x' * 1e20`).
const CAPACITY_OVERFLOW: &str = "capacity overflow";

/// The failure a worker replies for a panic with `message`.
pub fn panic_failure(message: &str) -> RenderError {
    RenderError::Internal(format!("{PANICKED}{message}"))
}

/// The failure a renderer reports for the one its worker replied: a capacity overflow is the program's own
/// `EvaluationFailed` (it asked for a value larger than memory); every other failure stays as it is.
pub fn reported_failure(failure: RenderError) -> RenderError {
    match failure {
        RenderError::Internal(message) if message.strip_prefix(PANICKED) == Some(CAPACITY_OVERFLOW) => {
            RenderError::EvaluationFailed(format!(
                "the evaluation builds a value too large for memory ({CAPACITY_OVERFLOW}), such as a string \
                 repeated 1e20 times"
            ))
        }
        other => other,
    }
}

/// The header that goes before a payload of `length` bytes.
pub fn frame_header(length: usize) -> String {
    format!("{length}\n")
}

/// The payload length a header line announces; an error names what came instead.
fn parse_frame_header(line: &[u8]) -> io::Result<usize> {
    let digits = line.strip_suffix(b"\n").filter(|digits| !digits.is_empty() && digits.iter().all(u8::is_ascii_digit));
    let parsed = digits.and_then(|digits| std::str::from_utf8(digits).ok());
    parsed.and_then(|text| text.parse().ok()).ok_or_else(|| {
        let shown: String = String::from_utf8_lossy(line).chars().take(40).collect();
        io::Error::new(io::ErrorKind::InvalidData, format!("expected a frame length, got {shown:?}"))
    })
}

/// Writes one frame holding `payload`.
pub fn write_frame(out: &mut impl Write, payload: &[u8]) -> io::Result<()> {
    out.write_all(frame_header(payload.len()).as_bytes())?;
    out.write_all(payload)?;
    out.flush()
}

/// Reads one frame's payload; `None` when the input ended cleanly before a frame began.
pub fn read_frame(input: &mut impl BufRead) -> io::Result<Option<Vec<u8>>> {
    let mut header = Vec::new();
    input.take(MAX_HEADER_BYTES as u64).read_until(b'\n', &mut header)?;
    if header.is_empty() {
        return Ok(None);
    }
    let length = parse_frame_header(&header)?;
    let mut payload = Vec::with_capacity(length.min(MAX_PREALLOCATED_BYTES));
    input.take(length as u64).read_to_end(&mut payload)?;
    check_complete(&payload, length)?;
    Ok(Some(payload))
}

/// Reads one frame's payload from an async stream; an ended stream is an error, since a reply was due. A frame
/// longer than `max_length` is not read: the error (kind `FileTooLarge`) carries a [`FrameTooLarge`].
pub async fn read_frame_async(input: &mut (impl AsyncBufRead + Unpin), max_length: u64) -> io::Result<Vec<u8>> {
    let mut header = Vec::new();
    (&mut *input).take(MAX_HEADER_BYTES as u64).read_until(b'\n', &mut header).await?;
    if header.is_empty() {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the stream ended before a frame"));
    }
    let length = parse_frame_header(&header)?;
    if length as u64 > max_length {
        let too_large = FrameTooLarge { length: length as u64, limit: max_length };
        return Err(io::Error::new(io::ErrorKind::FileTooLarge, too_large));
    }
    let mut payload = Vec::with_capacity(length.min(MAX_PREALLOCATED_BYTES));
    (&mut *input).take(length as u64).read_to_end(&mut payload).await?;
    check_complete(&payload, length)?;
    Ok(payload)
}

fn check_complete(payload: &[u8], length: usize) -> io::Result<()> {
    if payload.len() == length {
        return Ok(());
    }
    Err(io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("the stream ended {} bytes into a frame of {length}", payload.len()),
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn framed(payloads: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for payload in payloads {
            write_frame(&mut out, payload).unwrap();
        }
        out
    }

    #[test]
    fn frames_round_trip_in_order_and_end_cleanly() {
        let text = b"a\nmulti-line\n\npayload";
        let bytes = framed(&[b"{}", b"", text]);
        assert!(bytes.starts_with(b"2\n{}0\n21\na\n"));
        let mut input = bytes.as_slice();
        assert_eq!(read_frame(&mut input).unwrap().unwrap(), b"{}");
        assert_eq!(read_frame(&mut input).unwrap().unwrap(), b"");
        assert_eq!(read_frame(&mut input).unwrap().unwrap(), text);
        assert!(read_frame(&mut input).unwrap().is_none());
    }

    #[tokio::test]
    async fn the_async_reader_reads_what_the_writer_wrote() {
        let bytes = framed(&[b"one", b"two\n"]);
        let mut input = bytes.as_slice();
        assert_eq!(read_frame_async(&mut input, u64::MAX).await.unwrap(), b"one");
        assert_eq!(read_frame_async(&mut input, 4).await.unwrap(), b"two\n");
        let ended = read_frame_async(&mut input, u64::MAX).await.unwrap_err();
        assert_eq!(ended.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[tokio::test]
    async fn garbage_and_truncation_are_errors() {
        let cases: [(&[u8], io::ErrorKind, &str); 6] = [
            (b"{\"evaluated\":{}}", io::ErrorKind::InvalidData, "expected a frame length, got \"{\\\"evaluated"),
            (b"12x\n", io::ErrorKind::InvalidData, "got \"12x\\n\""),
            (b"-1\n", io::ErrorKind::InvalidData, "got \"-1\\n\""),
            (b"12", io::ErrorKind::InvalidData, "got \"12\""),
            (b"99999999999999999999999\n", io::ErrorKind::InvalidData, "expected a frame length"),
            (b"10\nshort", io::ErrorKind::UnexpectedEof, "5 bytes into a frame of 10"),
        ];
        for (bytes, kind, message) in cases {
            let sync = read_frame(&mut &bytes[..]).unwrap_err();
            let async_ = read_frame_async(&mut &bytes[..], u64::MAX).await.unwrap_err();
            for error in [sync, async_] {
                assert_eq!(error.kind(), kind, "{:?}", String::from_utf8_lossy(bytes));
                assert!(error.to_string().contains(message), "{error} lacks {message:?}");
            }
        }
    }

    #[tokio::test]
    async fn a_frame_over_the_limit_is_refused_unread() {
        let bytes = framed(&[b"0123456789", b"next"]);
        let mut input = bytes.as_slice();
        let error = read_frame_async(&mut input, 9).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::FileTooLarge);
        let too_large = error.get_ref().and_then(|e| e.downcast_ref::<FrameTooLarge>()).unwrap();
        assert_eq!(*too_large, FrameTooLarge { length: 10, limit: 9 });
        assert!(input.starts_with(b"0123456789"), "the payload is left unread");
    }

    /// A reply carrying `depth` levels of nested arrays, with brackets in a string that must not count.
    fn nested_reply(depth: usize) -> Vec<u8> {
        format!(
            r#"{{"evaluated":{{"filesRead":["a[b"],"value":{}"[[{{\"]]"{}}}}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        )
        .into_bytes()
    }

    #[test]
    fn a_value_nested_deeper_than_serde_reads_is_invalid_output() {
        let deepest = decode_reply(&nested_reply(MAX_VALUE_DEPTH)).unwrap();
        assert!(matches!(deepest, WorkerReply::Evaluated(_)), "{deepest:?}");
        let WorkerReply::Failed(error) = decode_reply(&nested_reply(MAX_VALUE_DEPTH + 1)).unwrap() else { panic!() };
        assert_eq!(error.reason(), "InvalidOutput");
        assert!(error.to_string().contains("126 levels deep; at most 125"), "{error}");
        let garbage = decode_reply(b"{\"evaluated\":{\"filesRead\":[],\"value\":[1,}}").unwrap_err();
        assert_eq!(garbage.kind(), io::ErrorKind::InvalidData);
        // Too deep to decode, yet a success of the worker's: it sends the files read after it.
        assert!(is_evaluated(&nested_reply(MAX_VALUE_DEPTH + 1)));
        assert!(!is_evaluated(
            &serde_json::to_vec(&WorkerReply::Failed(RenderError::Internal(String::new()))).unwrap()
        ));
    }

    #[test]
    fn a_capacity_overflow_is_the_programs_failure_and_other_panics_are_internal() {
        let overflow = reported_failure(panic_failure("capacity overflow"));
        assert_eq!(overflow.reason(), "EvaluationFailed");
        assert!(overflow.to_string().contains("too large for memory (capacity overflow)"), "{overflow}");
        let other = panic_failure("index out of bounds");
        assert_eq!(reported_failure(other.clone()), other);
        assert_eq!(other.to_string(), "internal error: the evaluation panicked: index out of bounds");
    }

    #[test]
    fn a_bogus_length_reserves_little_memory() {
        let bytes = b"18446744073709551615\nabc";
        let error = read_frame(&mut &bytes[..]).unwrap_err();
        assert!(error.to_string().contains("3 bytes into a frame of 18446744073709551615"), "{error}");
    }

    #[test]
    fn jobs_are_tagged_by_task() {
        let task = WorkerTask::Evaluate { request: RenderRequest::default(), max_stack: 7, record_inputs: true };
        let json = serde_json::to_value(WorkerJob { task, last: true }).unwrap();
        assert_eq!(json["task"]["evaluate"]["maxStack"], 7);
        assert_eq!(json["task"]["evaluate"]["recordInputs"], true);
        assert_eq!(json["last"], true);
        let read: WorkerJob =
            serde_json::from_str(r#"{"task":{"evaluate":{"request":{"entryFile":"m"},"maxStack":1}}}"#).unwrap();
        assert!(!read.last);
        let WorkerTask::Evaluate { request, max_stack, record_inputs } = read.task;
        assert_eq!((request.entry_file.as_str(), max_stack, record_inputs), ("m", 1, false));
    }
}
