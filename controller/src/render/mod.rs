//! Rendering: evaluation → manifests → tarball. (Skeleton; being built.)

pub mod cli;
pub mod worker;
