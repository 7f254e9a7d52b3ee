//! The one error type of rendering, with a stable machine-readable reason for status conditions.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Why a render failed. Messages are written for the author of the snippet: they name the file, import,
/// document or limit involved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum RenderError {
    /// The request itself is malformed (entry file missing, bad file or library name, ...).
    #[error("invalid spec: {0}")]
    InvalidSpec(String),
    /// A library listed by the snippet does not exist (raised by the controller).
    #[error("library not found: {0}")]
    LibraryNotFound(String),
    /// An import tried to leave the in-memory file tree (absolute path, `..` escape, URL).
    #[error("import forbidden: {0}")]
    ImportForbidden(String),
    /// Jsonnet reported an error; the message carries the error text and its location.
    #[error("evaluation failed: {0}")]
    EvaluationFailed(String),
    /// The evaluation did not finish in time; its worker process was killed.
    #[error("evaluation timed out after {}", humantime::format_duration(*.0))]
    EvaluationTimeout(Duration),
    /// The evaluation recursed deeper than `--max-stack` (or overflowed the worker's native stack).
    #[error("stack overflow: {0}")]
    StackOverflow(String),
    /// The tarball is larger than `--max-artifact-bytes`.
    #[error("artifact is {size} bytes, more than the limit of {limit} bytes")]
    ArtifactTooLarge {
        /// Size of the tarball in bytes.
        size: u64,
        /// The configured limit in bytes.
        limit: u64,
    },
    /// The evaluated value's JSON is longer than `--max-evaluation-output-bytes`; it was not read, so the renderer's
    /// memory stays bounded whatever a snippet produces.
    #[error("the evaluated value is {size} bytes of JSON, more than the limit of {limit} bytes")]
    OutputTooLarge {
        /// Length of the worker's reply in bytes.
        size: u64,
        /// The configured limit in bytes.
        limit: u64,
    },
    /// The evaluated value is not something Flux can apply (e.g. a document without `kind`).
    #[error("invalid output: {0}")]
    InvalidOutput(String),
    /// Something went wrong that is not the snippet's fault (worker crashed, I/O error, ...).
    #[error("internal error: {0}")]
    Internal(String),
}

impl RenderError {
    /// The variant's name, suitable as a Kubernetes condition reason (`"EvaluationFailed"`, ...).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::InvalidSpec(_) => "InvalidSpec",
            Self::LibraryNotFound(_) => "LibraryNotFound",
            Self::ImportForbidden(_) => "ImportForbidden",
            Self::EvaluationFailed(_) => "EvaluationFailed",
            Self::EvaluationTimeout(_) => "EvaluationTimeout",
            Self::StackOverflow(_) => "StackOverflow",
            Self::ArtifactTooLarge { .. } => "ArtifactTooLarge",
            Self::OutputTooLarge { .. } => "OutputTooLarge",
            Self::InvalidOutput(_) => "InvalidOutput",
            Self::Internal(_) => "Internal",
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_the_variant_names() {
        let cases = [
            (RenderError::InvalidSpec(String::new()), "InvalidSpec"),
            (RenderError::LibraryNotFound(String::new()), "LibraryNotFound"),
            (RenderError::ImportForbidden(String::new()), "ImportForbidden"),
            (RenderError::EvaluationFailed(String::new()), "EvaluationFailed"),
            (RenderError::EvaluationTimeout(Duration::from_secs(1)), "EvaluationTimeout"),
            (RenderError::StackOverflow(String::new()), "StackOverflow"),
            (RenderError::ArtifactTooLarge { size: 2, limit: 1 }, "ArtifactTooLarge"),
            (RenderError::OutputTooLarge { size: 2, limit: 1 }, "OutputTooLarge"),
            (RenderError::InvalidOutput(String::new()), "InvalidOutput"),
            (RenderError::Internal(String::new()), "Internal"),
        ];
        for (error, reason) in cases {
            assert_eq!(error.reason(), reason);
        }
    }

    #[test]
    fn timeout_message_is_human_readable() {
        let message = RenderError::EvaluationTimeout(Duration::from_millis(1500)).to_string();
        assert_eq!(message, "evaluation timed out after 1s 500ms");
    }
}
