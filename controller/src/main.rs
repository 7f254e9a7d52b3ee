//! The `jaas` binary: the controller (`jaas run`), local rendering (`jaas render`) and `jaas crdgen`.

fn main() -> std::process::ExitCode {
    jaas_controller::cli::main()
}
