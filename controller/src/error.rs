//! The controller's one error type, with the condition reason each failure is reported under.

use jaas_shared::config::ConfigError;
use jaas_shared::{LayoutError, StoreError};

use crate::conditions::{
    REASON_CROSS_NAMESPACE_REF_REJECTED, REASON_DEPENDENCY_CYCLE, REASON_INTERNAL, REASON_INVALID_SPEC,
    REASON_PUBLISH_FAILED, REASON_SOURCE_FETCH_FAILED, REASON_SOURCE_NOT_FOUND, REASON_SOURCE_NOT_READY,
    REASON_STORAGE_FAILED,
};
use jaas_render::RenderError;

/// Everything that can make a reconcile or the controller's start-up fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The spec is invalid in a way the schema cannot express; retrying cannot help until it changes.
    #[error("invalid spec: {0}")]
    InvalidSpec(String),
    /// A Flux source a snippet or library names cannot be read (see [`SourceFailure`]).
    #[error(transparent)]
    Source(#[from] SourceFailure),
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
            Self::Source(failure) => failure.reason(),
            Self::Render(error) => error.reason(),
            Self::Storage(_) | Self::Layout(_) => REASON_STORAGE_FAILED,
            Self::Kube(_) => REASON_PUBLISH_FAILED,
            Self::Config(_) | Self::Startup(_) | Self::LeaseLost(_) => REASON_INTERNAL,
        }
    }

    /// True when retrying without a spec change cannot succeed.
    pub fn is_stalled(&self) -> bool {
        matches!(
            self,
            Self::InvalidSpec(_)
                | Self::Render(RenderError::InvalidSpec(_))
                | Self::Source(SourceFailure::CrossNamespaceRefRejected(_))
        )
    }
}

/// Why the Flux source of a snippet or library cannot be used; each message names the source (kind, namespace,
/// name) and, where there is one, its revision.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceFailure {
    /// The source object does not exist, its kind is not served (Flux is not installed), or the tree has no
    /// `sourceRef.path`.
    #[error("{0}")]
    NotFound(String),
    /// The source exists but has no artifact yet.
    #[error("{0}")]
    NotReady(String),
    /// Downloading, verifying or extracting the artifact failed.
    #[error("{0}")]
    FetchFailed(String),
    /// The source is in another namespace and `--no-cross-namespace-refs` is on.
    #[error("{0}")]
    CrossNamespaceRefRejected(String),
    /// Snippets source each other's artifacts in a circle.
    #[error("{0}")]
    DependencyCycle(String),
}

impl SourceFailure {
    /// The condition reason the failure is reported under.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NotFound(_) => REASON_SOURCE_NOT_FOUND,
            Self::NotReady(_) => REASON_SOURCE_NOT_READY,
            Self::FetchFailed(_) => REASON_SOURCE_FETCH_FAILED,
            Self::CrossNamespaceRefRejected(_) => REASON_CROSS_NAMESPACE_REF_REJECTED,
            Self::DependencyCycle(_) => REASON_DEPENDENCY_CYCLE,
        }
    }
}

/// A `Result` with the controller's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
