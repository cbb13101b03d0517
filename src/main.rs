fn main() {
    std::process::exit(yardstick::cli::main_with(std::env::args_os()));
}
