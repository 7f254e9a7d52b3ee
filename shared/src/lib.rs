//! Everything the JaaS controller and artifact server must agree on about storage.
//!
//! # Layout and naming
//! A rendered snippet is a reproducible `tar.gz` named by the sha256 of its bytes ([`Digest`], written
//! `sha256:<64 lowercase hex>`). One revision lives at `<namespace>/<name>/sha256-<hex>.tar.gz` relative to the
//! storage root ([`ArtifactKey::relative_path`]): under `--storage-path` for the local backend, under
//! `--s3-prefix` in the bucket for S3. The artifact server serves it at `/<namespace>/<name>/sha256-<hex>.tar.gz`
//! under the base URL, and [`ArtifactKey::parse_url_path`] is the only way back from a request path to a key.
//! Beside each tarball lies its revision record, `sha256-<hex>.record.zst` with the tarball's `<hex>`
//! ([`ObjectKind::Record`], [`ArtifactKey::record_key`]); [`gc::records_to_delete`] keeps the two together.
//!
//! # Where supersession times live
//! Retention must be decidable from storage alone, so that a restarted (or newly elected) controller makes the same
//! decision. It needs no index or extra object: each stored revision's `last_modified` is the time it last became
//! the current revision (a `put` of an existing key refreshes it, on disk by writing a new file and renaming it
//! over the old one, on S3 by writing the object again). Sorted newest first, the revision at position `k >= N`
//! (with `N = spec.history`) left the keep-set when the revision at position `k - N` was written, so its grace
//! period runs from that revision's `last_modified`. [`gc::plan_deletions`] computes this as a pure function.
//!
//! # Flags
//! [`config::StorageArgs`] holds the storage flags both binaries flatten into their arguments, and
//! [`config::load`] layers defaults < YAML config file < environment < flags for any clap argument struct.
//!
//! # Running as a process
//! [`process`] holds what both binaries do the same way around their work: `--log-format` and the log set-up, the
//! SIGTERM/SIGINT [`process::ShutdownSignal`], the `/healthz` `/readyz` `/metrics` server and the
//! `--metrics-bind-address` value. It has no Kubernetes in it, like the rest of this crate.
//!
//! # Backends
//! [`local::LocalStore`] (atomic temp file + fsync + rename, with a sweep of `*.tar.gz.tmp` and `*.record.zst.tmp` residue) and
//! [`s3::S3Store`] (aws-sdk-s3 on rustls/ring). Both pass the same conformance suite (`tests/conformance/`).

pub mod config;
pub mod gc;
pub mod layout;
pub mod local;
pub mod process;
pub mod s3;
pub mod store;

pub use config::{ConfigError, StorageArgs, StorageBackend, load, load_from, spawn_sweeper};
pub use gc::{Revision, plan_deletions};
pub use layout::{ArtifactKey, Digest, LayoutError, ObjectKind, SnippetRef};
pub use local::LocalStore;
pub use s3::{ChecksumMode, S3Credentials, S3Settings, S3Store};
pub use store::{ArtifactStore, ByteRange, GetResult, ObjectMeta, StoreError, SweepReport, etag_for};
