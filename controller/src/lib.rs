//! The JaaS controller: CRD types, rendering (evaluation → manifests → tarball), reconcile, retention,
//! leader election and metrics. Rendering has no Kubernetes in it, so `jaas render` runs exactly the same code.

pub mod cli;
pub mod conditions;
pub mod config;
pub mod crd;
pub mod diff;
pub mod error;
pub mod eval_command;
pub mod events;
pub mod kube_client;
pub mod kube_requests;
pub mod leader;
pub mod legacy_flags;
pub mod metrics;
pub mod pool_metrics;
pub mod reconcile;
pub mod render_command;
mod render_input;
pub mod report_limit;
pub mod revision_ref;
pub mod run;
pub mod serve;
pub mod snippet_request;
pub mod source;
pub mod time;
pub mod verify_command;
