//! What a test reads about a running process from `/proc`: its resident memory, the CPU time it used, and its
//! child processes (a controller's evaluation workers), so a test can say whether a process came back to its
//! baseline after a burst of work.

use std::time::Duration;

/// `VmRSS` of `pid` in bytes; `None` once the process is gone.
pub fn resident_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib = status.lines().find_map(|line| line.strip_prefix("VmRSS:"))?;
    Some(kib.trim().strip_suffix("kB")?.trim().parse::<u64>().ok()? * 1024)
}

/// The fields of `/proc/<pid>/stat` after the command name (which may hold spaces): state is the first, the parent
/// pid the second, user and system CPU ticks the 12th and 13th.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// CPU time (user and system) `pid` used so far; `None` once the process is gone.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let fields = stat_fields(pid)?;
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    let per_second = rustix::param::clock_ticks_per_second().max(1);
    Some(Duration::from_micros(ticks * 1_000_000 / per_second))
}

/// The live (not zombie) children of `parent`, in ascending pid order.
pub fn children(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    let parent = parent.to_string();
    let mut pids: Vec<u32> = entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| {
            stat_fields(pid).is_some_and(|f| f.first().map(String::as_str) != Some("Z") && f.get(1) == Some(&parent))
        })
        .collect();
    pids.sort_unstable();
    pids
}

/// A process and its children at one moment: resident memory and CPU time, summed over the children.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcessTreeSample {
    /// Resident memory of the process itself.
    pub resident: u64,
    /// Resident memory of its live children together.
    pub children_resident: u64,
    /// How many live children it has.
    pub children: usize,
    /// CPU time of the process itself (its reaped children's time is not included).
    pub cpu: Duration,
    /// CPU time of its live children together.
    pub children_cpu: Duration,
}

/// Samples `pid` and its children; `None` once `pid` is gone.
pub fn sample_tree(pid: u32) -> Option<ProcessTreeSample> {
    let kids = children(pid);
    Some(ProcessTreeSample {
        resident: resident_bytes(pid)?,
        children_resident: kids.iter().filter_map(|&child| resident_bytes(child)).sum(),
        children: kids.len(),
        cpu: cpu_time(pid)?,
        children_cpu: kids.iter().filter_map(|&child| cpu_time(child)).sum(),
    })
}

/// Bytes in MiB, for reports.
#[allow(clippy::cast_precision_loss)] // a figure to print
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1 << 20)
}
