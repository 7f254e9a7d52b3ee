//! The custom resources the controller reads (`JsonnetSnippet`, `JsonnetLibrary`, Flux's sources) and writes
//! (Flux's `ExternalArtifact`), `jaas crdgen`, which prints their CRDs, and [`admission`], which judges a manifest
//! as the API server would.

pub mod admission;
pub mod bounds;
pub mod duration;
pub mod external_artifact;
pub mod field_error;
pub mod flux_sources;
pub mod gen_crds;
pub mod library;
pub mod snippet;
pub mod source_ref;
pub mod structural;
pub mod validate;

pub use external_artifact::{
    Artifact, ExternalArtifact, ExternalArtifactSpec, ExternalArtifactStatus, SourceReference,
};
pub use flux_sources::{Bucket, FluxSourceStatus, GitRepository, OCIRepository};
pub use library::{JsonnetLibrary, JsonnetLibrarySpec};
pub use snippet::{
    HistoryEntry, JsonnetSnippet, JsonnetSnippetSpec, JsonnetSnippetStatus, OutputFormat, SnippetVariable,
};
pub use source_ref::{FluxSourceKind, FluxSourceRef, SourceChoice, validate_source_choice};
