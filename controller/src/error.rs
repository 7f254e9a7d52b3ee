//! The controller's one error type, with the condition reason each failure is reported under.

use jaas_shared::config::ConfigError;
use jaas_shared::{LayoutError, StoreError};

use crate::conditions::{
    REASON_CROSS_NAMESPACE_REF_REJECTED, REASON_DEPENDENCY_CYCLE, REASON_FORBIDDEN, REASON_INTERNAL,
    REASON_INVALID_SPEC, REASON_PUBLISH_FAILED, REASON_SOURCE_FETCH_FAILED, REASON_SOURCE_NOT_FOUND,
    REASON_SOURCE_NOT_READY, REASON_STORAGE_FAILED,
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
    /// A call to the Kubernetes API failed (other than [`Error::Forbidden`]).
    #[error("kubernetes API: {0}")]
    Kube(kube::Error),
    /// The API server denied a request (403): the controller's ServiceAccount lacks a permission. Holds the API
    /// server's message, which names the verb, the resource and the namespace.
    #[error(
        "permission denied by the API server: {0}; grant it to the controller's ServiceAccount (the Helm chart's ClusterRole and Role do)"
    )]
    Forbidden(String),
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
            Self::Forbidden(_) => REASON_FORBIDDEN,
            Self::Config(_) | Self::Startup(_) | Self::LeaseLost(_) => REASON_INTERNAL,
        }
    }

    /// The error of a server-side apply of a `K` in `namespace`. An apply that creates the object also needs
    /// `create`, and the API server's denial of that half names neither verb nor resource (`... is forbidden: `), so
    /// it is completed in the API server's own words.
    pub fn from_apply<K: kube::Resource<DynamicType = ()>>(error: kube::Error, namespace: &str) -> Self {
        match Self::from(error) {
            Self::Forbidden(message) if !message.contains(" cannot ") => Self::Forbidden(format!(
                "{message}the controller cannot create resource \"{}\" in API group \"{}\" in the namespace \"{namespace}\" \
                 (a server-side apply that creates an object needs create as well as patch)",
                K::plural(&()),
                K::group(&())
            )),
            other => other,
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

/// A 403 becomes [`Error::Forbidden`] (reported under its own reason, with the API server's words), anything else
/// [`Error::Kube`].
impl From<kube::Error> for Error {
    fn from(error: kube::Error) -> Self {
        match error {
            kube::Error::Api(status) if status.is_forbidden() => Self::Forbidden(status.message),
            error => Self::Kube(error),
        }
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use kube::core::Status;

    use super::*;
    use crate::crd::ExternalArtifact;

    #[test]
    fn a_denied_request_names_the_permission_under_its_own_reason() {
        let message = "jsonnetsnippets.jaas.metio.wtf \"web\" is forbidden: User \"system:serviceaccount:jaas:jaas\" \
                       cannot patch resource \"jsonnetsnippets/status\" in API group \"jaas.metio.wtf\" in the namespace \"team\"";
        let denied = Status::failure(message, "Forbidden").with_code(403).boxed();
        let error = Error::from(kube::Error::Api(denied));
        assert_eq!(error.reason(), REASON_FORBIDDEN);
        assert!(!error.is_stalled(), "granting the permission fixes it without a spec change");
        let text = error.to_string();
        assert!(
            text.contains("cannot patch resource \"jsonnetsnippets/status\" in API group \"jaas.metio.wtf\""),
            "{text}"
        );
        assert!(!text.contains("Status {"), "no debug dump of the API's Status: {text}");

        // What a 1.20 API server answers when the create half of a server-side apply is denied.
        let create_denied =
            Status::failure("externalartifacts.source.toolkit.fluxcd.io \"web\" is forbidden: ", "Forbidden");
        let error =
            Error::from_apply::<ExternalArtifact>(kube::Error::Api(create_denied.with_code(403).boxed()), "team");
        assert_eq!(error.reason(), REASON_FORBIDDEN);
        let text = error.to_string();
        assert!(
            text.contains("cannot create resource \"externalartifacts\" in API group \"source.toolkit.fluxcd.io\" in the namespace \"team\""),
            "{text}"
        );

        let conflict = Status::failure("the object has been modified", "Conflict").with_code(409).boxed();
        let error = Error::from(kube::Error::Api(conflict));
        assert!(matches!(error, Error::Kube(_)));
        assert_eq!(error.reason(), REASON_PUBLISH_FAILED);
    }
}
