//! A worker's stderr (`std.trace` output, panic messages, the runtime's report of a native stack overflow): read
//! continuously so the worker never blocks on a full pipe, keeping only a bounded tail for error messages and logs.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::{
    io::{AsyncRead, AsyncReadExt},
    task::JoinHandle,
};

/// How much of a worker's stderr is kept in memory; older output is dropped.
const STDERR_KEEP_BYTES: usize = 64 * 1024;

/// The last bytes a worker wrote to stderr since they were last taken.
#[derive(Debug, Clone, Default)]
pub struct StderrTail {
    kept: Arc<Mutex<Vec<u8>>>,
}

impl StderrTail {
    /// Reads `pipe` to its end on a task of its own, keeping the tail here; the task ends when the pipe does.
    pub fn drain(pipe: impl AsyncRead + Send + Unpin + 'static) -> (Self, JoinHandle<()>) {
        let tail = Self::default();
        let task = tokio::spawn(tail.clone().read_to_end(pipe));
        (tail, task)
    }

    async fn read_to_end(self, mut pipe: impl AsyncRead + Unpin) {
        let mut chunk = vec![0_u8; 8192];
        while let Ok(read @ 1..) = pipe.read(&mut chunk).await {
            self.push(&chunk[..read]);
        }
    }

    fn push(&self, bytes: &[u8]) {
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        kept.extend_from_slice(bytes);
        // Trim in batches, so that a chatty worker does not cost a memmove per chunk.
        if kept.len() > 2 * STDERR_KEEP_BYTES {
            let excess = kept.len() - STDERR_KEEP_BYTES;
            kept.drain(..excess);
        }
    }

    /// The last (at most 64 KiB of) output since the previous call, as text; what is taken is forgotten.
    pub fn take(&self) -> String {
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        let start = kept.len().saturating_sub(STDERR_KEEP_BYTES);
        let text = String::from_utf8_lossy(&kept[start..]).into_owned();
        kept.clear();
        text
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keeps_the_end_of_long_output() {
        let text: Vec<u8> = (0..100_000_u32).map(|i| b'a' + u8::try_from(i % 26).unwrap()).collect();
        let (tail, task) = StderrTail::drain(std::io::Cursor::new(text.clone()));
        task.await.unwrap();
        assert_eq!(tail.take().as_bytes(), &text[text.len() - STDERR_KEEP_BYTES..]);
        assert_eq!(tail.take(), "");
    }

    #[test]
    fn taking_starts_a_new_tail() {
        let tail = StderrTail::default();
        tail.push(b"first job\n");
        assert_eq!(tail.take(), "first job\n");
        tail.push(b"second ");
        tail.push(b"job\n");
        assert_eq!(tail.take(), "second job\n");
    }
}
