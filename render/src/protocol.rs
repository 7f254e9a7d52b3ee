//! The messages between a [`super::Renderer`] and its worker process: one JSON job on the worker's stdin,
//! one JSON reply on its stdout.

use serde::{Deserialize, Serialize};

use super::{RenderError, RenderRequest};

/// What the worker evaluates, and how deep Jsonnet may recurse.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerJob {
    /// The request to evaluate.
    pub request: RenderRequest,
    /// Maximum Jsonnet stack depth.
    pub max_stack: usize,
}

/// The worker's answer. For `Evaluated`, the worker splices the JSON text jrsonnet produced into this encoding (so
/// the value is never parsed and re-encoded there); the renderer reads it as a parsed [`serde_json::Value`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum WorkerReply {
    /// The entry file's value (top-level arguments applied), as JSON.
    Evaluated(serde_json::Value),
    /// Evaluation failed for a reason the snippet's author can act on.
    Failed(RenderError),
}
