//! The `jaas` binary: the controller (`jaas run`), local rendering (`jaas render`) and `jaas crdgen`.

/// mimalloc instead of the system allocator: Jsonnet evaluation allocates and frees millions of small values,
/// and glibc's malloc spends a large share of a render's time on them (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    jaas_controller::cli::main()
}
