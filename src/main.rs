//! The `yardstick` command: parses the arguments, calls the library, prints.

mod cli;

fn main() {
    std::process::exit(cli::main_with(std::env::args_os()));
}
