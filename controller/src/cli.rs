//! The command line of the `jaas` binary: one subcommand per job, each delegating to the module that owns it.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Jsonnet as a Service: renders JsonnetSnippets into Flux ExternalArtifacts.
#[derive(Debug, Parser)]
#[command(name = "jaas", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Render a JsonnetSnippet YAML file or a .jsonnet entry file locally, exactly as the controller would.
    Render(crate::render::cli::RenderArgs),
    /// Internal: evaluate one request read from stdin in an isolated, killable process.
    #[command(hide = true, name = "eval-worker")]
    EvalWorker,
}

/// Parses the command line and runs the chosen subcommand.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::EvalWorker => crate::render::worker::run_from_stdio(),
        Command::Render(args) => match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
            Ok(runtime) => runtime.block_on(crate::render::cli::run(args)),
            Err(error) => {
                eprintln!("error: cannot start the async runtime: {error}");
                ExitCode::FAILURE
            }
        },
    }
}
