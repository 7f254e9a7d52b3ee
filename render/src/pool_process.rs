//! One worker process of the pool: started with piped stdio, exchanging a job frame for a reply frame, asked for
//! its resident memory, and killed and reaped when it must go. A worker that ends or answers garbage is diagnosed
//! from its exit status and the tail of its stderr.

use std::{io, process::Stdio, time::Duration};

use tokio::{
    io::{AsyncWriteExt, BufReader},
    process::{Child, ChildStdin, ChildStdout, Command},
    task::JoinHandle,
};

use crate::{RenderError, WorkerCommand, pool_stderr::StderrTail, protocol::read_frame_async};

/// Text the Rust runtime prints when a thread overflows its native stack, just before aborting.
const NATIVE_STACK_OVERFLOW: &str = "has overflowed its stack";
/// The start of the line the Rust runtime prints when an allocation fails, just before aborting: `memory allocation
/// of N bytes failed`. A snippet causes it by building a value larger than memory, e.g. a string doubled in a loop
/// (jrsonnet concatenates lazily, then allocates the whole string at once to write it out).
const ALLOCATION_FAILED: &str = "memory allocation of ";
/// How much of a crashed worker's stderr is quoted in the error.
const STDERR_TAIL_CHARS: usize = 2000;
/// How long a worker that stopped answering may take to exit before it is killed.
const EXIT_GRACE: Duration = Duration::from_secs(2);
/// How long the rest of a dead worker's stderr may take to arrive (a process it started may still hold the pipe).
const STDERR_GRACE: Duration = Duration::from_secs(1);

/// A running worker process.
#[derive(Debug)]
pub struct WorkerProcess {
    child: Child,
    pid: u32,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    stderr: StderrTail,
    stderr_task: JoinHandle<()>,
    /// Jobs answered so far.
    pub evaluations: u64,
}

impl WorkerProcess {
    /// Starts `command` with piped stdio; the process is killed if this value is dropped.
    pub fn start(command: &WorkerCommand) -> Result<Self, RenderError> {
        let program = command.program.display();
        let mut child = Command::new(&command.program)
            .args(&command.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|error| RenderError::Internal(format!("cannot start the evaluation worker {program}: {error}")))?;
        let (Some(pid), Some(stdin), Some(stdout), Some(stderr)) =
            (child.id(), child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(RenderError::Internal(format!("the evaluation worker {program} has no stdio pipes")));
        };
        let (stderr, stderr_task) = StderrTail::drain(stderr);
        Ok(Self { child, pid, stdin, stdout: BufReader::new(stdout), stderr, stderr_task, evaluations: 0 })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Whether the process has ended (an idle worker may have been killed from outside, e.g. by the OOM killer).
    pub fn has_exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends one job frame and reads the reply frame's payload, refusing (unread) one over `max_reply_bytes`.
    pub async fn exchange(&mut self, job_frame: &[u8], max_reply_bytes: u64) -> io::Result<Vec<u8>> {
        self.stdin.write_all(job_frame).await?;
        self.stdin.flush().await?;
        self.read_reply(max_reply_bytes).await
    }

    /// Reads one more reply frame's payload (a reply in two frames), refusing (unread) one over `max_reply_bytes`.
    pub async fn read_reply(&mut self, max_reply_bytes: u64) -> io::Result<Vec<u8>> {
        read_frame_async(&mut self.stdout, max_reply_bytes).await
    }

    /// The resident set size in bytes, as the kernel reports it; `None` where there is no `/proc`. Read after
    /// every job, so from `statm` (a few numbers) rather than `status` (dozens of formatted lines).
    pub fn resident_bytes(&self) -> Option<u64> {
        let statm = std::fs::read_to_string(format!("/proc/{}/statm", self.pid)).ok()?;
        parse_statm_resident(&statm, rustix::param::page_size())
    }

    /// What the worker wrote to stderr since the last call.
    pub fn take_stderr(&self) -> String {
        self.stderr.take()
    }

    /// Kills the process and reaps it, so it stops burning a core and leaves no zombie.
    pub async fn kill(mut self) {
        if let Err(error) = self.child.kill().await {
            tracing::warn!(%error, pid = self.pid, "cannot kill an evaluation worker");
        }
    }

    /// The error for a worker whose exchange failed with `cause`: waits (briefly) for it to end, killing it if it
    /// does not, and explains the end from its exit status and stderr.
    pub async fn into_crash_error(mut self, cause: &io::Error) -> RenderError {
        let status = match tokio::time::timeout(EXIT_GRACE, self.child.wait()).await {
            Ok(Ok(status)) => status.to_string(),
            Ok(Err(error)) => format!("cannot wait for it: {error}"),
            Err(_) => {
                let _ = self.child.kill().await;
                "killed, as it went on running".to_owned()
            }
        };
        let _ = tokio::time::timeout(STDERR_GRACE, &mut self.stderr_task).await;
        crashed(&status, cause, &self.stderr.take())
    }
}

/// The resident size of a `/proc/<pid>/statm` text (its second field, in pages of `page_size` bytes), in bytes.
fn parse_statm_resident(statm: &str, page_size: usize) -> Option<u64> {
    let pages = statm.split_ascii_whitespace().nth(1)?.parse::<u64>().ok()?;
    pages.checked_mul(u64::try_from(page_size).ok()?)
}

/// The error for a worker that ended (with `status`) without a readable reply to a job.
fn crashed(status: &str, cause: &io::Error, diagnostics: &str) -> RenderError {
    if diagnostics.contains(NATIVE_STACK_OVERFLOW) {
        return RenderError::StackOverflow(
            "the evaluation overflowed the worker's native stack; reduce recursion depth".to_owned(),
        );
    }
    if let Some(failed) =
        diagnostics.lines().find(|line| line.starts_with(ALLOCATION_FAILED) && line.ends_with("failed"))
    {
        return RenderError::EvaluationFailed(format!(
            "the evaluation builds a value too large for memory ({failed}), such as a string doubled in a loop"
        ));
    }
    let tail: String = {
        let chars: Vec<char> = diagnostics.trim().chars().collect();
        chars[chars.len().saturating_sub(STDERR_TAIL_CHARS)..].iter().collect()
    };
    let reply = match cause.kind() {
        io::ErrorKind::UnexpectedEof | io::ErrorKind::BrokenPipe => "without a reply".to_owned(),
        _ => format!("after an unreadable reply ({cause})"),
    };
    RenderError::Internal(format!("the evaluation worker ended ({status}) {reply}: {tail}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn eof() -> io::Error {
        io::Error::new(io::ErrorKind::UnexpectedEof, "the stream ended before a frame")
    }

    #[test]
    fn crash_messages_distinguish_native_stack_overflow_and_failed_allocations() {
        let overflow =
            crashed("signal: 6", &eof(), "thread 'jsonnet-eval' has overflowed its stack\nfatal runtime error");
        assert_eq!(overflow.reason(), "StackOverflow");
        let huge = crashed("signal: 6 (SIGABRT)", &eof(), "memory allocation of 281474976710689 bytes failed\n");
        assert_eq!(huge.reason(), "EvaluationFailed");
        assert!(huge.to_string().contains("too large for memory (memory allocation of 281474976710689 bytes failed)"));
        let other = crashed("signal: 11 (SIGSEGV)", &eof(), "boom");
        assert_eq!(
            other,
            RenderError::Internal(
                "the evaluation worker ended (signal: 11 (SIGSEGV)) without a reply: boom".to_owned()
            )
        );
    }

    #[test]
    fn garbage_replies_are_named() {
        let garbage = io::Error::new(io::ErrorKind::InvalidData, "expected a frame length, got \"hello\"");
        let error = crashed("exit status: 0", &garbage, "");
        assert_eq!(
            error.to_string(),
            "internal error: the evaluation worker ended (exit status: 0) after an unreadable reply (expected a \
             frame length, got \"hello\"): "
        );
    }

    #[test]
    fn long_stderr_is_quoted_by_its_end() {
        let diagnostics = format!("{}END", "x".repeat(5000));
        let RenderError::Internal(message) = crashed("exit status: 1", &eof(), &diagnostics) else { panic!() };
        assert!(message.ends_with(&format!("{}END", "x".repeat(STDERR_TAIL_CHARS - 3))), "{message}");
        assert!(message.len() < STDERR_TAIL_CHARS + 100);
    }

    #[test]
    fn resident_size_is_read_from_proc_statm() {
        assert_eq!(parse_statm_resident("2500 512 100 20 0 300 0\n", 4096), Some(512 * 4096));
        assert_eq!(parse_statm_resident("2500\n", 4096), None);
        let own = std::fs::read_to_string("/proc/self/statm").unwrap();
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let status_kib: u64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|kib| kib.trim().strip_suffix("kB")?.trim().parse().ok())
            .unwrap();
        let statm_bytes = parse_statm_resident(&own, rustix::param::page_size()).unwrap();
        // Both are the kernel's count of this process's resident pages, read a moment apart.
        assert!(statm_bytes.abs_diff(status_kib * 1024) < 16 << 20, "{statm_bytes} vs {status_kib} KiB");
    }
}
