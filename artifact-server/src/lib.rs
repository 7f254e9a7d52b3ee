//! The JaaS artifact server: a stateless HTTP tier that serves rendered tarballs from the same storage the
//! controller writes (local directory or S3), with a small in-memory cache of immutable artifacts.
//!
//! Only `GET`/`HEAD` of `/<namespace>/<name>/sha256-<hex>.tar.gz` are served, and with `--serve-records` of the
//! revision records beside them (`….record.zst`, uncached, since a record can change); see [`routing`] for what is
//! rejected and why, [`conditional`] for `If-None-Match`/`Range`, [`response`] for the headers, [`cache`] for what
//! stays in memory, [`coalesce`] for concurrent misses on one artifact. The binary (`src/main.rs`) only loads the
//! configuration and calls [`server::run`].

// Tests may unwrap: a panic is how they fail.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod backend;
pub mod cache;
pub mod coalesce;
pub mod conditional;
pub mod config;
pub mod metrics;
pub mod response;
pub mod routing;
pub mod serve;
pub mod server;
