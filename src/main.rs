//! The `capsim` binary: everything happens in `capsim::cli`.

fn main() -> std::process::ExitCode {
    capsim::cli::main()
}
