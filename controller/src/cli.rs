//! The command line of the `jaas` binary: one subcommand per job, each delegating to the module that owns it.
//! clap parses the command line once; `jaas run`'s matches then go to the shared layered loader, which lays the
//! `--config` file under its environment variables and flags.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use jaas_shared::config::{ConfigError, exit_on_error, load_from_matches, with_config_flag};

use crate::config::RunArgs;

/// The name of the subcommand that runs the controller.
const RUN: &str = "run";

/// What `jaas --help` says of the design's one-binary form (see [`crate::legacy_flags`]).
const ONE_BINARY_FORM: &str = "\
Without a subcommand the flags of the one-binary form work too: `jaas --enable-flux-integration ...` is
`jaas run ...` (operator mode), `jaas --snippet-directory DIR ...` is `jaas serve ...` (the render server), and
Go-style `-flag` is read as `--flag`.";

/// Jsonnet as a Service: renders JsonnetSnippets into Flux ExternalArtifacts.
#[derive(Debug, Parser)]
// Display order 0 is left for `run`, added by [`command`].
#[command(name = "jaas", version, about, next_display_order = 1, after_help = ONE_BINARY_FORM)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The subcommands clap turns into values by itself. `jaas run` is not one of them: its flags are loaded in
/// layers from clap's matches (see [`command`]).
#[derive(Debug, Subcommand)]
enum Command {
    /// Render a JsonnetSnippet YAML file or a .jsonnet entry file locally, exactly as the controller would.
    Render(Box<crate::render_command::RenderArgs>),
    /// Compare two revisions object by object (artifact files, stored revisions, URLs or local renders).
    Diff(Box<crate::diff::DiffArgs>),
    /// Render revisions again from their records alone and check that each comes out with its recorded digest.
    Verify(Box<crate::verify_command::VerifyArgs>),
    /// Evaluate a Jsonnet file or -e CODE and print the value as the `jsonnet` command does (-S, -y, -m, -J, ...).
    Eval(Box<crate::eval_command::EvalArgs>),
    /// Serve renders over HTTP: GET /jsonnet/<snippet>?<tla>=<value> from snippet directories.
    Serve(Box<crate::serve::ServeArgs>),
    /// Print the CRDs as multi-document YAML.
    Crdgen(crate::crd::gen_crds::CrdgenArgs),
    /// Internal: a warm evaluation worker, evaluating the framed jobs read from stdin in an isolated, killable process.
    #[command(hide = true, name = "eval-worker")]
    EvalWorker,
}

/// The whole command line: [`Cli`]'s subcommands with `run` (and its `--config` flag) listed first.
pub fn command() -> clap::Command {
    let run = with_config_flag(RunArgs::command()).name(RUN).display_order(0);
    Cli::command().subcommand(run)
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

async fn serve(args: crate::serve::ServeArgs) -> ExitCode {
    match crate::serve::run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "the render server stopped");
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Parses the command line and runs the chosen subcommand. A command line clap rejects is one line on stderr
/// and exit status 2, for every subcommand.
pub fn main() -> ExitCode {
    let args = crate::legacy_flags::rewrite(std::env::args_os().collect());
    let mut matches = exit_on_error(command().try_get_matches_from(args).map_err(ConfigError::from));
    if matches.subcommand_name() == Some(RUN)
        && let Some((_, mut run_matches)) = matches.remove_subcommand()
    {
        let args = exit_on_error(load_from_matches::<RunArgs>(&mut run_matches));
        return block_on(run_controller(args));
    }
    let cli = exit_on_error(Cli::from_arg_matches_mut(&mut matches).map_err(ConfigError::from));
    match cli.command {
        Command::EvalWorker => jaas_render::worker::run_from_stdio(),
        Command::Crdgen(args) => crate::crd::gen_crds::run(&args),
        Command::Render(args) => block_on(crate::render_command::run(*args)),
        Command::Diff(args) => block_on(crate::diff::run(*args)),
        Command::Verify(args) => block_on(crate::verify_command::run(*args)),
        Command::Eval(args) => crate::eval_command::run(&args),
        Command::Serve(args) => block_on(serve(*args)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn help(args: &[&str]) -> String {
        let err = command().try_get_matches_from(args).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::DisplayHelp, "{args:?}");
        err.render().to_string()
    }

    #[test]
    fn the_top_level_help_lists_run_first() {
        let text = help(&["jaas", "--help"]);
        let listed: Vec<&str> = text
            .lines()
            .skip_while(|line| !line.starts_with("Commands:"))
            .skip(1)
            .map_while(|line| line.split_whitespace().next())
            .collect();
        assert_eq!(listed, ["run", "render", "diff", "verify", "eval", "serve", "crdgen", "help"], "{text}");
    }

    #[test]
    fn run_help_shows_its_flags_and_the_config_file() {
        let text = help(&["jaas", "run", "--help"]);
        for flag in ["--config <FILE>", "--storage-base-url", "--metrics-bind-address", "--storage-backend"] {
            assert!(text.contains(flag), "{flag} missing from\n{text}");
        }
    }

    #[test]
    fn run_is_loaded_from_the_one_parse() {
        let mut matches = command()
            .try_get_matches_from(["jaas", "run", "--storage-base-url=http://srv:8082", "--max-stack=9"])
            .unwrap();
        let (name, mut run_matches) = matches.remove_subcommand().unwrap();
        assert_eq!(name, RUN);
        let args = load_from_matches::<RunArgs>(&mut run_matches).unwrap();
        assert_eq!(args.base_url().unwrap(), "http://srv:8082");
        assert_eq!(args.limits.max_stack, 9);
    }

    #[test]
    fn other_subcommands_parse_into_the_enum() {
        let mut matches = command().try_get_matches_from(["jaas", "crdgen"]).unwrap();
        let cli = Cli::from_arg_matches_mut(&mut matches).unwrap();
        assert!(matches!(cli.command, Command::Crdgen(_)), "{cli:?}");
        assert!(command().try_get_matches_from(["jaas", "run", "--no-such-flag"]).is_err());
    }
}
