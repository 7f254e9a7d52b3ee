//! Fetching Flux source artifacts (GitRepository, OCIRepository, Bucket, ExternalArtifact) the way Flux's own
//! consumers do: an artifact description (`status.artifact`) in, a verified, safely extracted local tree out.
//! Nothing here talks to Kubernetes; the reconciler reads the source object and maps [`SourceError`] to the
//! `SourceFetchFailed` reason.

mod args;
mod cache;
#[cfg(test)]
mod crafted_archive;
mod digest;
#[cfg(test)]
mod digest_properties;
mod error;
mod fetch;
mod symlink;
#[cfg(test)]
mod testing;
mod untar;
#[cfg(test)]
mod untar_properties;

pub use args::{SourceArgs, SourceLimits};
pub use cache::{SourceCache, SourceTree};
pub use digest::{ArtifactDigest, DigestAlgorithm};
pub use error::SourceError;
pub(crate) use fetch::error_chain;
pub use fetch::{Fetcher, SourceArtifact, artifact_url};
pub(crate) use untar::clean_entry_name;
pub use untar::{ExtractedTree, extract_archive};
