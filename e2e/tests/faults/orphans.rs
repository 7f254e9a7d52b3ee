//! Evaluation workers (`jaas eval-worker`) a killed controller leaves behind. A worker ends when its parent's end
//! of its stdin closes, which a SIGKILL does too; this checks it, from `/proc`: the workers of each controller are
//! noted just before the kill, and at the end of the test none of them may still run.

use std::time::{Duration, Instant};

/// The argument that makes `jaas` an evaluation worker.
const WORKER_ARG: &[u8] = b"eval-worker";

/// The process ids of `parent`'s children that are evaluation workers.
pub fn workers_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| parent_of(pid) == Some(parent) && is_worker(pid))
        .collect()
}

/// Of `pids`, those still running as evaluation workers after waiting up to `timeout` for them to end.
pub async fn survivors(pids: &[u32], timeout: Duration) -> Vec<u32> {
    let start = Instant::now();
    loop {
        let alive: Vec<u32> = pids.iter().copied().filter(|&pid| is_worker(pid)).collect();
        if alive.is_empty() || start.elapsed() > timeout {
            return alive;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The parent pid, from `/proc/<pid>/stat` (the field after the parenthesised command name).
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(1)?.parse().ok()
}

/// A live (not zombie: its command line would be empty) process whose arguments include `eval-worker`.
fn is_worker(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|cmdline| cmdline.split(|&b| b == 0).any(|arg| arg == WORKER_ARG))
}
