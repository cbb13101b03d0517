//! The `yardstick` command: parses the arguments, calls the library, prints.

mod cli;

/// mimalloc: records are parsed and dropped on worker threads by the million, and glibc's
/// allocator spends much of a run consolidating memory freed on another thread.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(cli::main_with(std::env::args_os()));
}
