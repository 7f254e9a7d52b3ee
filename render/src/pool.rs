//! The warm worker pool: jobs go to an idle worker process, or to one started for them (lazily, so a pool never
//! holds more workers than jobs ran at once), and the worker goes back to the pool afterwards. A worker is
//! replaced after `--worker-max-evaluations` jobs or once its resident memory exceeds `--worker-max-rss-bytes`; one
//! that times out is killed, and one that ends, answers garbage, fails internally or replies more than
//! `--max-evaluation-output-bytes` (its reply left unread) is discarded. The caller bounds how many jobs run at once.

use std::{
    collections::BTreeSet,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use crate::{
    RenderError, WorkerCommand,
    limits::{DEFAULT_MAX_EVALUATION_OUTPUT_BYTES, Recycling},
    pool_process::WorkerProcess,
    protocol::{
        FrameTooLarge, WorkerJob, WorkerReply, WorkerTask, decode_reply, frame_header, is_evaluated, reported_failure,
    },
    record::PackedInputs,
};

/// Counts of what happened to the pool's workers, since the pool was made. Workers alive = `started` minus all the
/// others.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Worker processes started.
    pub started: u64,
    /// Workers replaced after `--worker-max-evaluations` jobs.
    pub recycled_max_evaluations: u64,
    /// Workers replaced because their resident memory exceeded `--worker-max-rss-bytes`.
    pub recycled_max_rss: u64,
    /// Workers killed because a job outran the evaluation timeout.
    pub killed_timeout: u64,
    /// Workers discarded because they ended or crashed, answered garbage, failed internally, or were abandoned by
    /// a cancelled job.
    pub discarded: u64,
}

/// Why a worker leaves the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retirement {
    MaxEvaluations,
    MaxRss,
    Timeout,
    Discarded,
}

/// Worker processes kept warm between jobs.
#[derive(Debug)]
pub struct WorkerPool {
    command: WorkerCommand,
    recycling: Recycling,
    /// The longest reply read from a worker; a longer one fails the job with `OutputTooLarge`.
    max_reply_bytes: u64,
    idle: Mutex<Vec<WorkerProcess>>,
    /// Pids of the workers started and not yet retired, idle or busy.
    live: Arc<Mutex<BTreeSet<u32>>>,
    started: AtomicU64,
    retired: [AtomicU64; 4],
}

impl WorkerPool {
    /// An empty pool whose workers run `command` and are replaced as `recycling` says.
    pub fn new(command: WorkerCommand, recycling: Recycling) -> Self {
        Self {
            command,
            recycling,
            max_reply_bytes: DEFAULT_MAX_EVALUATION_OUTPUT_BYTES,
            idle: Mutex::new(Vec::new()),
            live: Arc::default(),
            started: AtomicU64::new(0),
            retired: Default::default(),
        }
    }

    /// The same pool, replacing workers as `recycling` says.
    #[must_use]
    pub fn with_recycling(self, recycling: Recycling) -> Self {
        Self { recycling, ..self }
    }

    /// The same pool, failing a job whose reply is longer than `max_reply_bytes` (read no further) with
    /// [`RenderError::OutputTooLarge`] and discarding its worker.
    #[must_use]
    pub fn with_max_reply_bytes(self, max_reply_bytes: u64) -> Self {
        Self { max_reply_bytes, ..self }
    }

    /// Runs `task` on a worker, which must answer within `timeout` (the packed inputs an `Evaluate` task asks for
    /// included).
    pub async fn run(&self, task: WorkerTask, timeout: Duration) -> Result<WorkerReply, RenderError> {
        let wants_inputs = matches!(task, WorkerTask::Evaluate { record_inputs: true, .. });
        let mut checkout = self.checkout()?;
        let worker = checkout.worker();
        let last = self.recycling.max_evaluations != 0 && worker.evaluations + 1 >= self.recycling.max_evaluations;
        let job = encode_job(&WorkerJob { task, last })?;
        if last {
            // Its successor starts while it does its last job, so no job waits for a process start.
            self.start_spare();
        }
        let max_reply_bytes = self.max_reply_bytes;
        let mut reading_inputs = false;
        let exchanged = async {
            let payload = worker.exchange(&job, max_reply_bytes).await?;
            let mut reply = decode_reply(&payload)?;
            // A success the renderer cannot use (a value too deep to decode) is followed by the inputs all the same.
            if wants_inputs && is_evaluated(&payload) {
                reading_inputs = true;
                let frame = worker.read_reply(max_reply_bytes).await?;
                if let WorkerReply::Evaluated(evaluation) = &mut reply {
                    evaluation.inputs = (!frame.is_empty()).then(|| PackedInputs::from_frame(frame));
                }
            }
            Ok::<_, std::io::Error>(reply)
        };
        let outcome = tokio::time::timeout(timeout, exchanged).await;
        let reply = match outcome {
            Err(_elapsed) => {
                checkout.retire(Retirement::Timeout).await;
                return Err(RenderError::EvaluationTimeout(timeout));
            }
            Ok(exchanged) => exchanged,
        };
        let reply = match reply {
            Ok(reply) => reply,
            Err(cause) => {
                if let Some(too_large) = cause.get_ref().and_then(|e| e.downcast_ref::<FrameTooLarge>()) {
                    // The worker is blocked writing the rest of its reply: it goes, and its heap with it.
                    let (size, limit) = (too_large.length, too_large.limit);
                    let error = if reading_inputs {
                        RenderError::InvalidSpec(format!(
                            "the files the evaluation read compress to {size} bytes, more than the {limit} bytes a \
                             revision record may hold (--max-evaluation-output-bytes)"
                        ))
                    } else {
                        RenderError::OutputTooLarge { size, limit }
                    };
                    checkout.retire(Retirement::Discarded).await;
                    return Err(error);
                }
                return Err(checkout.into_crash_error(&cause).await);
            }
        };
        worker_answered(checkout.worker());
        match retirement_after(checkout.worker(), &reply, self.recycling) {
            Some(reason) => checkout.retire(reason).await,
            None => checkout.release(),
        }
        Ok(match reply {
            WorkerReply::Failed(failure) => WorkerReply::Failed(reported_failure(failure)),
            evaluated @ WorkerReply::Evaluated(_) => evaluated,
        })
    }

    /// What happened to the workers so far.
    pub fn stats(&self) -> PoolStats {
        let retired = |reason: Retirement| self.retired[reason as usize].load(Ordering::Relaxed);
        PoolStats {
            started: self.started.load(Ordering::Relaxed),
            recycled_max_evaluations: retired(Retirement::MaxEvaluations),
            recycled_max_rss: retired(Retirement::MaxRss),
            killed_timeout: retired(Retirement::Timeout),
            discarded: retired(Retirement::Discarded),
        }
    }

    /// The process ids of the live workers, idle or busy, in ascending order.
    pub fn worker_pids(&self) -> Vec<u32> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner).iter().copied().collect()
    }

    /// An idle worker that is still running, else a new one.
    fn checkout(&self) -> Result<Checkout<'_>, RenderError> {
        loop {
            let idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
            let Some(mut worker) = idle else { break };
            if !worker.has_exited() {
                return Ok(Checkout { pool: self, worker: Some(worker) });
            }
            tracing::debug!(pid = worker.pid(), output = %worker.take_stderr(), "an idle evaluation worker had ended");
            self.count(Retirement::Discarded, worker.pid());
        }
        Ok(Checkout { pool: self, worker: Some(self.start_worker()?) })
    }

    /// A new worker process, counted as live.
    fn start_worker(&self) -> Result<WorkerProcess, RenderError> {
        let worker = WorkerProcess::start(&self.command)?;
        self.started.fetch_add(1, Ordering::Relaxed);
        self.live.lock().unwrap_or_else(PoisonError::into_inner).insert(worker.pid());
        Ok(worker)
    }

    /// Starts a worker ahead of need and parks it idle; a failure is only logged (the next checkout tries again).
    fn start_spare(&self) {
        match self.start_worker() {
            Ok(worker) => self.idle.lock().unwrap_or_else(PoisonError::into_inner).push(worker),
            Err(error) => tracing::warn!(%error, "cannot start a spare evaluation worker"),
        }
    }

    fn count(&self, reason: Retirement, pid: u32) {
        self.retired[reason as usize].fetch_add(1, Ordering::Relaxed);
        self.live.lock().unwrap_or_else(PoisonError::into_inner).remove(&pid);
    }
}

/// A worker taken from the pool for one job. It goes back with [`Checkout::release`] or leaves with
/// [`Checkout::retire`]; dropped otherwise (a cancelled job), it is killed, since its state is unknown.
struct Checkout<'a> {
    pool: &'a WorkerPool,
    worker: Option<WorkerProcess>,
}

impl Checkout<'_> {
    fn worker(&mut self) -> &mut WorkerProcess {
        self.worker.as_mut().unwrap_or_else(|| unreachable!("a checkout holds its worker until it is consumed"))
    }

    fn take(mut self, reason: Retirement) -> WorkerProcess {
        let worker = self.worker.take().unwrap_or_else(|| unreachable!("a checkout is consumed once"));
        self.pool.count(reason, worker.pid());
        worker
    }

    fn release(mut self) {
        if let Some(worker) = self.worker.take() {
            self.pool.idle.lock().unwrap_or_else(PoisonError::into_inner).push(worker);
        }
    }

    async fn retire(self, reason: Retirement) {
        self.take(reason).kill().await;
    }

    async fn into_crash_error(self, cause: &std::io::Error) -> RenderError {
        self.take(Retirement::Discarded).into_crash_error(cause).await
    }
}

impl Drop for Checkout<'_> {
    fn drop(&mut self) {
        if let Some(worker) = self.worker.take() {
            // Dropping the process kills it (kill_on_drop); tokio reaps it in the background.
            self.pool.count(Retirement::Discarded, worker.pid());
        }
    }
}

/// Counts the answered job and logs what the worker printed meanwhile (e.g. `std.trace`).
fn worker_answered(worker: &mut WorkerProcess) {
    worker.evaluations += 1;
    let output = worker.take_stderr();
    if !output.is_empty() {
        tracing::debug!(pid = worker.pid(), %output, "evaluation worker stderr");
    }
}

/// Whether a worker that just answered `reply` must leave the pool, and why.
fn retirement_after(worker: &WorkerProcess, reply: &WorkerReply, recycling: Recycling) -> Option<Retirement> {
    retirement(worker.evaluations, || worker.resident_bytes(), reply, recycling)
}

/// The decision of [`retirement_after`], given the jobs answered and a way to read the resident size (read only
/// when a limit is set).
fn retirement(
    evaluations: u64,
    resident_bytes: impl FnOnce() -> Option<u64>,
    reply: &WorkerReply,
    recycling: Recycling,
) -> Option<Retirement> {
    if matches!(reply, WorkerReply::Failed(RenderError::Internal(_))) {
        // The worker reports internal failures (a panic, an unreadable job) as it ends.
        return Some(Retirement::Discarded);
    }
    if recycling.max_evaluations != 0 && evaluations >= recycling.max_evaluations {
        return Some(Retirement::MaxEvaluations);
    }
    let over_rss = recycling.max_rss_bytes != 0 && resident_bytes().is_some_and(|rss| rss > recycling.max_rss_bytes);
    over_rss.then_some(Retirement::MaxRss)
}

/// The frame carrying `job`.
fn encode_job(job: &WorkerJob) -> Result<Vec<u8>, RenderError> {
    let payload = serde_json::to_vec(job)
        .map_err(|error| RenderError::Internal(format!("cannot encode the evaluation job: {error}")))?;
    let mut frame = frame_header(payload.len()).into_bytes();
    frame.extend_from_slice(&payload);
    Ok(frame)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn evaluated() -> WorkerReply {
        let value = serde_json::json!({});
        WorkerReply::Evaluated(crate::protocol::Evaluation { files_read: Vec::new(), value, inputs: None })
    }

    #[test]
    fn workers_are_recycled_by_count_memory_and_internal_failure() {
        let limits = Recycling { max_evaluations: 3, max_rss_bytes: 100 * MIB };
        let failed = |error: RenderError| WorkerReply::Failed(error);
        let cases = [
            (1, Some(10 * MIB), evaluated(), None),
            (2, Some(100 * MIB), evaluated(), None),
            (3, Some(10 * MIB), evaluated(), Some(Retirement::MaxEvaluations)),
            (2, Some(100 * MIB + 1), evaluated(), Some(Retirement::MaxRss)),
            (2, None, evaluated(), None),
            (1, Some(10 * MIB), failed(RenderError::EvaluationFailed("x".to_owned())), None),
            (1, Some(10 * MIB), failed(RenderError::StackOverflow("x".to_owned())), None),
            (1, Some(10 * MIB), failed(RenderError::Internal("panicked".to_owned())), Some(Retirement::Discarded)),
            (3, Some(200 * MIB), evaluated(), Some(Retirement::MaxEvaluations)),
        ];
        for (evaluations, rss, reply, expected) in cases {
            assert_eq!(retirement(evaluations, || rss, &reply, limits), expected, "{evaluations} {rss:?} {reply:?}");
        }
    }

    #[test]
    fn zero_limits_never_recycle() {
        let unlimited = Recycling { max_evaluations: 0, max_rss_bytes: 0 };
        let read = || -> Option<u64> { panic!("the resident size is not read without a limit") };
        assert_eq!(retirement(1_000_000, read, &evaluated(), unlimited), None);
    }

    #[test]
    fn jobs_are_framed() {
        let job = WorkerJob {
            task: WorkerTask::Evaluate { request: crate::RenderRequest::default(), max_stack: 1, record_inputs: false },
            last: false,
        };
        let frame = encode_job(&job).unwrap();
        let payload = crate::protocol::read_frame(&mut frame.as_slice()).unwrap().unwrap();
        let read: WorkerJob = serde_json::from_slice(&payload).unwrap();
        assert!(!read.last);
    }
}
