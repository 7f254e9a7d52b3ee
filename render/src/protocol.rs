//! The messages between a [`super::Renderer`] and its worker processes, and how they are framed on the worker's
//! stdin and stdout: each message is one frame, the payload's length in ASCII decimal and a newline, then the
//! payload (JSON). A length prefix lets a reply carry any text (a later job kind replies with YAML or plain strings,
//! whose newlines would break a line-delimited protocol), and a textual one makes a worker that prints anything else
//! on stdout fail at once, as garbage, instead of being read as a huge length.

use std::io::{self, BufRead, Read, Write};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

use super::{RenderError, RenderRequest};

/// Longest frame header accepted: 20 digits (`u64::MAX`) and the newline.
const MAX_HEADER_BYTES: usize = 21;
/// Most of a frame's payload allocated before its bytes arrive, so that a bogus length cannot reserve gigabytes.
const MAX_PREALLOCATED_BYTES: usize = 64 * 1024 * 1024;

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
    /// with [`WorkerReply::Evaluated`].
    #[serde(rename_all = "camelCase")]
    Evaluate {
        /// The request to evaluate.
        request: RenderRequest,
        /// Maximum Jsonnet stack depth.
        max_stack: usize,
    },
}

/// The worker's answer to one job. For `Evaluated`, the worker splices the JSON text jrsonnet produced into this
/// encoding (so the value is never parsed and re-encoded there); the renderer reads it as a parsed
/// [`serde_json::Value`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum WorkerReply {
    /// The entry file's value (top-level arguments applied), as JSON.
    Evaluated(serde_json::Value),
    /// The job failed. `Internal` failures (a panic, an unreadable job) also end the worker.
    Failed(RenderError),
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

/// Reads one frame's payload from an async stream; an ended stream is an error, since a reply was due.
pub async fn read_frame_async(input: &mut (impl AsyncBufRead + Unpin)) -> io::Result<Vec<u8>> {
    let mut header = Vec::new();
    (&mut *input).take(MAX_HEADER_BYTES as u64).read_until(b'\n', &mut header).await?;
    if header.is_empty() {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the stream ended before a frame"));
    }
    let length = parse_frame_header(&header)?;
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
        assert_eq!(read_frame_async(&mut input).await.unwrap(), b"one");
        assert_eq!(read_frame_async(&mut input).await.unwrap(), b"two\n");
        let ended = read_frame_async(&mut input).await.unwrap_err();
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
            let async_ = read_frame_async(&mut &bytes[..]).await.unwrap_err();
            for error in [sync, async_] {
                assert_eq!(error.kind(), kind, "{:?}", String::from_utf8_lossy(bytes));
                assert!(error.to_string().contains(message), "{error} lacks {message:?}");
            }
        }
    }

    #[test]
    fn a_bogus_length_reserves_little_memory() {
        let bytes = b"18446744073709551615\nabc";
        let error = read_frame(&mut &bytes[..]).unwrap_err();
        assert!(error.to_string().contains("3 bytes into a frame of 18446744073709551615"), "{error}");
    }

    #[test]
    fn jobs_are_tagged_by_task() {
        let job =
            WorkerJob { task: WorkerTask::Evaluate { request: RenderRequest::default(), max_stack: 7 }, last: true };
        let json = serde_json::to_value(&job).unwrap();
        assert_eq!(json["task"]["evaluate"]["maxStack"], 7);
        assert_eq!(json["last"], true);
        let read: WorkerJob =
            serde_json::from_str(r#"{"task":{"evaluate":{"request":{"entryFile":"m"},"maxStack":1}}}"#).unwrap();
        assert!(!read.last);
        let WorkerTask::Evaluate { request, max_stack } = read.task;
        assert_eq!((request.entry_file.as_str(), max_stack), ("m", 1));
    }
}
