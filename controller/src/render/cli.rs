//! `jaas render` (skeleton; being built).

/// Arguments of `jaas render`.
#[derive(Debug, clap::Args)]
pub struct RenderArgs {}

/// Runs `jaas render`.
pub async fn run(_args: RenderArgs) -> std::process::ExitCode {
    std::process::ExitCode::FAILURE
}
