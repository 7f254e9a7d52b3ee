//! Entry point of `jaas-artifact-server`: load the configuration, open storage, serve until SIGTERM.

use std::process::ExitCode;

use jaas_artifact_server::config::ServerArgs;
use jaas_artifact_server::server;
use jaas_shared::config::{exit_on_error, load};
use jaas_shared::process::logging;

#[actix_web::main]
async fn main() -> ExitCode {
    let args: ServerArgs = load();
    logging::init(args.log_format);
    let store = exit_on_error(args.storage.open().await);
    tracing::info!(backend = ?args.storage.storage_backend, "storage is reachable");
    match server::run(args.settings(), store).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "artifact server failed");
            ExitCode::FAILURE
        }
    }
}
