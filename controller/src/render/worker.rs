//! The isolated evaluation worker (skeleton; being built).

/// Reads one request from stdin, evaluates it, writes the reply to stdout.
pub fn run_from_stdio() -> std::process::ExitCode {
    std::process::ExitCode::FAILURE
}
