//! Rendering: a [`RenderRequest`] (Jsonnet files, libraries, variables) becomes a reproducible tar.gz
//! ([`RenderedArtifact`]) that Flux can apply. Evaluation runs in an isolated, killable worker process
//! ([`Renderer`]); shaping the output into manifests and packing the tarball happen in the caller.
//!
//! Nothing here knows about Kubernetes objects, so the controller and `jaas render` run the same code.

mod compat;
mod directory;
mod error;
mod evaluate;
mod gzip;
mod limits;
mod mount;
mod output;
mod parallel;
mod protocol;
mod renderer;
mod request;
mod resolver;
mod source_tree;
mod tarball;
pub mod worker;
mod yaml;

pub use directory::{DIRECTORY_ENTRY_FILE, default_import_paths, plain_request};
pub use error::RenderError;
pub use evaluate::evaluate;
pub use limits::{LimitArgs, Limits, WorkerCommand};
pub use output::{RENDERED_JSON, shape_manifests};
pub use renderer::{RenderedArtifact, Renderer};
pub use request::{Library, OutputMode, RenderRequest, Variable};
pub use tarball::{TarEntry, read_tar_gz, reproducible_tar_gz};
