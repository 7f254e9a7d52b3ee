//! The controller's one error type, with the condition reason each failure is reported under.

use jaas_shared::config::ConfigError;
use jaas_shared::{LayoutError, StoreError};

use crate::conditions::{REASON_INTERNAL, REASON_INVALID_SPEC, REASON_PUBLISH_FAILED, REASON_STORAGE_FAILED};
use jaas_render::RenderError;

/// Everything that can make a reconcile or the controller's start-up fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The spec is invalid in a way the schema cannot express; retrying cannot help until it changes.
    #[error("invalid spec: {0}")]
    InvalidSpec(String),
    /// Rendering failed (the snippet's fault, or the renderer's for `Internal`).
    #[error(transparent)]
    Render(#[from] RenderError),
    /// A storage operation failed.
    #[error("storage: {0}")]
    Storage(#[from] StoreError),
    /// A call to the Kubernetes API failed.
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// The namespace or name cannot be used as a storage key.
    #[error("invalid storage name: {0}")]
    Layout(#[from] LayoutError),
    /// Adding or removing the finalizer failed.
    #[error("finalizer: {0}")]
    Finalizer(String),
    /// The configuration is invalid, or start-up failed.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// Start-up failed for another reason.
    #[error("{0}")]
    Startup(String),
    /// The leader Lease was lost while reconciling.
    #[error("the leader lease {0} was lost")]
    LeaseLost(String),
}

impl Error {
    /// The reason written into the Ready condition, the Warning Event and the metrics (a `conditions` constant, or
    /// the render error's own reason).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::InvalidSpec(_) => REASON_INVALID_SPEC,
            Self::Render(error) => error.reason(),
            Self::Storage(_) | Self::Layout(_) => REASON_STORAGE_FAILED,
            Self::Kube(_) | Self::Finalizer(_) => REASON_PUBLISH_FAILED,
            Self::Config(_) | Self::Startup(_) | Self::LeaseLost(_) => REASON_INTERNAL,
        }
    }

    /// True when retrying without a spec change cannot succeed.
    pub fn is_stalled(&self) -> bool {
        matches!(self, Self::InvalidSpec(_) | Self::Render(RenderError::InvalidSpec(_)))
    }
}

/// A `Result` with the controller's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
