//! The custom resources the controller reads (`JsonnetSnippet`, `JsonnetLibrary`) and writes (Flux's
//! `ExternalArtifact`), and `jaas crdgen`, which prints their CRDs.

pub mod duration;
pub mod external_artifact;
pub mod gen_crds;
pub mod library;
pub mod snippet;

pub use external_artifact::{
    Artifact, ExternalArtifact, ExternalArtifactSpec, ExternalArtifactStatus, SourceReference,
};
pub use library::{JsonnetLibrary, JsonnetLibrarySpec};
pub use snippet::{
    HistoryEntry, JsonnetSnippet, JsonnetSnippetSpec, JsonnetSnippetStatus, OutputFormat, SnippetVariable,
};
