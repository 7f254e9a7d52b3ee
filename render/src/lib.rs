//! Rendering: a [`RenderRequest`] (Jsonnet files, libraries, variables) becomes a reproducible tar.gz
//! ([`RenderedArtifact`]) that Flux can apply. Evaluation runs in isolated, killable worker processes kept warm in
//! a pool ([`Renderer`]); shaping the output into manifests and packing the tarball happen in the caller.
//!
//! Nothing here knows about Kubernetes objects, so the controller and `jaas render` run the same code.

mod compat;
mod directory;
mod error;
mod eval;
mod evaluate;
mod gzip;
mod limits;
mod mount;
mod output;
mod parallel;
mod pool;
mod pool_process;
mod pool_stderr;
mod protocol;
pub mod record;
mod renderer;
mod request;
mod resolver;
mod source_tree;
mod tarball;
pub mod worker;
mod yaml;

pub use directory::{DIRECTORY_ENTRY_FILE, default_import_paths, plain_request, tree_request};
pub use error::RenderError;
pub use eval::{EVALUATION_STACK_BYTES, EvalFormat, EvalOutput, EvalRequest};
pub use evaluate::{Cleanup, evaluate};
pub use limits::{LimitArgs, Limits, Recycling, WorkerCommand};
pub use output::{RENDERED_JSON, shape_manifests};
pub use pool::PoolStats;
pub use renderer::{RenderedArtifact, Renderer};
pub use request::{Library, OutputMode, RenderRequest, Variable};
pub use tarball::{TarEntry, read_tar_gz, reproducible_tar_gz};
pub use yaml::{pretty_json, yaml_documents};
