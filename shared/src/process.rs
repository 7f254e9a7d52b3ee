//! What every JaaS binary does to run as a well-behaved process, written once: logging set-up ([`logging`]), the
//! SIGTERM/SIGINT shutdown signal ([`shutdown`]), the `/healthz` `/readyz` `/metrics` server ([`probes`]) and the
//! `--metrics-bind-address` value ([`bind_address`]).

pub mod bind_address;
pub mod logging;
pub mod probes;
pub mod shutdown;

pub use bind_address::BindAddress;
pub use logging::LogFormat;
pub use probes::{ProcessProbes, Readiness, registry_text, serve_probes};
pub use shutdown::{ShutdownSignal, shutdown_signal};
