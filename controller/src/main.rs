//! The `jaas` binary: the controller (`jaas run`), local rendering (`jaas render`) and `jaas crdgen`.

/// mimalloc instead of the system allocator: Jsonnet evaluation allocates and frees millions of small values,
/// and glibc's malloc spends a large share of a render's time on them (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    keep_memory_in_small_pages();
    jaas_controller::cli::main()
}

/// Opts this process (and the evaluation workers it starts, which inherit the flag) out of transparent huge pages.
/// mimalloc asks the kernel for huge pages on its arenas (`madvise(MADV_HUGEPAGE)`), so a 2 MiB page stays resident
/// while any of its objects lives: at 10,000 snippets the controller's RSS was 177 MiB with them and 100 MiB
/// without (docs/benchmarks.md, "The controller at scale"). Best effort: a kernel without the flag keeps its pages.
fn keep_memory_in_small_pages() {
    #[cfg(target_os = "linux")]
    if let Err(error) = rustix::thread::disable_transparent_huge_pages(true) {
        eprintln!("jaas: cannot opt out of transparent huge pages ({error}); memory use may be higher");
    }
}
