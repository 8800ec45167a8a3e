//! capsim's integration tests, one binary (faster to link), a module per concern.

mod cli;
mod closed_form;
mod conservation;
mod determinism;
mod invalid_input;
mod parquet;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root, where `scenarios/` and `tests/fixtures/` live.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the `capsim` binary with `args` in `cwd`.
pub fn capsim(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_capsim")).args(args).current_dir(cwd).output().expect("capsim binary runs")
}

/// stdout and stderr as text, for assertion messages.
pub fn text(output: &Output) -> (String, String) {
    (String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// Parses a scenario written inline in a test.
pub fn scenario(yaml: &str) -> capsim::scenario::Scenario {
    match capsim::scenario::parse("<test>", yaml) {
        Ok(scenario) => scenario,
        Err(error) => panic!("test scenario is invalid:\n{}", capsim::cli::render_scenario_error(&error)),
    }
}
