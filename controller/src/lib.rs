//! The JaaS controller: CRD types, rendering (evaluation → manifests → tarball), reconcile, retention,
//! leader election and metrics. Rendering has no Kubernetes in it, so `jaas render` runs exactly the same code.

pub mod cli;
pub mod render;
