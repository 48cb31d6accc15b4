//! The `millwright` binary: the allocator, and the CLI (`millwright::cli`).

use std::process::ExitCode;

/// Every message through a route is many small allocations made on one thread and freed on another. glibc's
/// malloc spent about a quarter of the host's CPU on them; with mimalloc the host needs 14-30 % less CPU per
/// document (docs/BENCHMARKS.md, "The allocator: mimalloc in the binary").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    millwright::cli::main()
}
