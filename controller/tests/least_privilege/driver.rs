//! The [`scenario`](crate::scenario)'s stages, driven against one controller process: each poll looks at the API
//! server and runs the next stage's action once the current stage is reached; after the restore, a controller that
//! exited is started again (and one that could not release its Lease is succeeded by one that can).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::case::Shared;
use crate::controller::{Launch, LimitedController};
use crate::scenario::{Objects, Snapshot, Stage};

/// How often the API server and the log are looked at.
pub const POLL: Duration = Duration::from_millis(300);
/// How many of the controller log's last lines a failure quotes.
const LOG_TAIL: usize = 15;

/// The stages, driven against one controller process.
pub struct Driver {
    shared: Arc<Shared>,
    /// The case's objects.
    pub objects: Objects,
    /// How its controller is started.
    pub launch: Launch,
    controller: LimitedController,
    /// The stage it waits for.
    pub stage: Stage,
    revisions: BTreeMap<String, String>,
    /// When the last stage was reached.
    pub progressed: Instant,
    /// The Lease holder a controller left behind when it could not release the Lease on SIGTERM (its successor,
    /// started after the restore, must take the Lease over before it is stopped in turn).
    unreleased: Option<String>,
}

impl Driver {
    /// Starts the controller for the first stage.
    pub fn start(shared: Arc<Shared>, objects: Objects, launch: Launch) -> Self {
        let controller = LimitedController::start(&launch);
        Self {
            shared,
            objects,
            launch,
            controller,
            stage: Stage::Published,
            revisions: BTreeMap::new(),
            progressed: Instant::now(),
            unreleased: None,
        }
    }

    /// After the restore: drives the stages to the end within `timeout`, restarting the controller as needed;
    /// returns the restarts.
    pub async fn finish(&mut self, timeout: Duration) -> usize {
        let restored = Instant::now();
        self.progressed = restored;
        let mut restarts = 0;
        while self.stage != Stage::Done && restored.elapsed() < timeout {
            if let Some(snapshot) = self.step().await
                && self.restart_if_needed(snapshot.lease_holder)
            {
                restarts += 1;
            }
            tokio::time::sleep(POLL).await;
        }
        restarts
    }

    /// Looks at the API server once and runs the next stage's action when the current one is reached.
    pub async fn step(&mut self) -> Option<Snapshot> {
        let snapshot = self.objects.snapshot().await?;
        let reached = match self.stage {
            Stage::Published => match snapshot.published(&BTreeMap::new()) {
                Some(revisions) if snapshot.broken_reported() => {
                    self.revisions = revisions;
                    self.objects.edit(&self.shared.server).await;
                    true
                }
                _ => false,
            },
            Stage::Edited => {
                let edited = snapshot.published(&self.revisions).is_some();
                if edited {
                    self.objects.delete_snippets().await;
                }
                edited
            }
            Stage::Withdrawn => {
                let withdrawn = snapshot.snippets.is_empty();
                if withdrawn {
                    self.controller.terminate();
                }
                withdrawn
            }
            Stage::Stopped => self.stopped(&snapshot),
            Stage::Done => false,
        };
        if reached {
            self.stage = match self.stage {
                Stage::Published => Stage::Edited,
                Stage::Edited => Stage::Withdrawn,
                Stage::Withdrawn => Stage::Stopped,
                Stage::Stopped | Stage::Done => Stage::Done,
            };
            self.progressed = Instant::now();
        }
        Some(snapshot)
    }

    /// Whether the controller exited on SIGTERM and released the Lease. After a restore, one that could not release
    /// it is succeeded by a new process, stopped in turn once it holds the Lease.
    fn stopped(&mut self, snapshot: &Snapshot) -> bool {
        let exited = self.controller.exited();
        match (&self.unreleased, exited) {
            (None, Some(status)) if status.success() && snapshot.lease_holder.is_none() => true,
            (Some(old), None) if snapshot.lease_holder.as_ref().is_some_and(|holder| holder != old) => {
                self.unreleased = None;
                self.controller.terminate();
                false
            }
            _ => false,
        }
    }

    /// After the restore: a controller that exited before its stop is started again, and one that exited without
    /// releasing the Lease is succeeded by a new one (see [`Self::stopped`]). Returns whether it started one.
    fn restart_if_needed(&mut self, snapshot_holder: Option<String>) -> bool {
        let exited = self.controller.exited().is_some();
        if !exited {
            return false;
        }
        if self.stage < Stage::Stopped {
            self.controller = LimitedController::start(&self.launch);
            return true;
        }
        if self.stage == Stage::Stopped && self.unreleased.is_none() && snapshot_holder.is_some() {
            self.unreleased = snapshot_holder;
            self.controller = LimitedController::start(&self.launch);
            return true;
        }
        false
    }

    /// Where the case stands, for a failure's message: the stage, the controller process, the Lease holder the last
    /// look saw (and the one left behind unreleased), and the controller log's last lines.
    pub fn describe(&mut self, holder: Option<&str>) -> String {
        let process = match self.controller.exited() {
            Some(status) => format!("exited ({status})"),
            None => "running".to_owned(),
        };
        let lines = crate::controller::log_lines(&self.launch.log);
        let tail: Vec<String> = lines
            .iter()
            .skip(lines.len().saturating_sub(LOG_TAIL))
            .map(|line| format!("  {} {}", line.level, line.text.chars().take(300).collect::<String>()))
            .collect();
        format!(
            "stage {:?}, controller {process}, Lease holder {holder:?} (left unreleased: {:?}); the log's last {} \
             lines:\n{}",
            self.stage,
            self.unreleased,
            tail.len(),
            tail.join("\n")
        )
    }

    /// Whether the controller exited before it was told to.
    pub fn exited_early(&mut self) -> Option<String> {
        if self.stage >= Stage::Stopped {
            return None;
        }
        self.controller.exited().map(|status| status.to_string())
    }
}
