//! The command line of the `jaas` binary: one subcommand per job, each delegating to the module that owns it.

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::RunArgs;

/// Jsonnet as a Service: renders JsonnetSnippets into Flux ExternalArtifacts.
#[derive(Debug, Parser)]
#[command(name = "jaas", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the controller (flags also from `--config FILE` and `JAAS_*` environment variables).
    Run(Box<RunArgs>),
    /// Render a JsonnetSnippet YAML file or a .jsonnet entry file locally, exactly as the controller would.
    Render(Box<crate::render_command::RenderArgs>),
    /// Print the CRDs as multi-document YAML.
    Crdgen(crate::crd::gen_crds::CrdgenArgs),
    /// Internal: evaluate one request read from stdin in an isolated, killable process.
    #[command(hide = true, name = "eval-worker")]
    EvalWorker,
}

fn block_on<F: Future<Output = ExitCode>>(future: F) -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime.block_on(future),
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run_controller(args: RunArgs) -> ExitCode {
    match crate::run::run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(crate::error::Error::Config(error)) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
        Err(error) => {
            tracing::error!(%error, "the controller stopped");
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Parses the command line and runs the chosen subcommand.
pub fn main() -> ExitCode {
    // `jaas run` goes through the layered loader (defaults < --config file < env < flags), which parses its own
    // flags; every other subcommand is plain clap.
    if std::env::args_os().nth(1).is_some_and(|arg| arg == "run") {
        let args = std::iter::once(OsString::from("jaas run")).chain(std::env::args_os().skip(2));
        let run_args = jaas_shared::config::exit_on_error(jaas_shared::config::load_from::<RunArgs, _>(args));
        return block_on(run_controller(run_args));
    }
    let cli = Cli::parse();
    match cli.command {
        Command::EvalWorker => jaas_render::worker::run_from_stdio(),
        Command::Crdgen(args) => crate::crd::gen_crds::run(&args),
        Command::Run(args) => block_on(run_controller(*args)),
        Command::Render(args) => block_on(crate::render_command::run(*args)),
    }
}
