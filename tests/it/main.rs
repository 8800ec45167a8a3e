//! capsim's integration tests, one binary (faster to link), a module per concern.

mod aging;
mod antithetic;
mod catalog;
mod cli;
mod closed_form;
mod compare;
mod conservation;
mod contracts;
mod demand;
mod determinism;
mod economics;
mod finance;
mod fuzz;
#[path = "../support/generate.rs"]
mod generate;
mod hardware;
mod hash;
mod invalid_input;
mod layers;
mod market;
mod mutations;
mod overrides;
mod parquet;
mod placement;
mod pool;
mod prices;
mod properties;
mod providers;
mod reliability;
mod report;
#[path = "../support/robustness.rs"]
mod robustness;
mod scale;
mod schema;
mod segments;
mod spot;
mod sweep;
mod technology;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};

/// Asserts the mean of `values` (one per replication) is within its t band of
/// `expected`: t·s/√n at 99% confidence, Bonferroni-corrected over a test's `checks`.
pub fn within_band(label: &str, values: &[f64], expected: f64, checks: u32) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let t = capsim::metrics::t_critical(1.0 - 0.01 / f64::from(checks), values.len() as u64 - 1);
    let half_width = t * (variance / n).sqrt();
    assert!(
        (mean - expected).abs() <= half_width,
        "{label}: mean {mean} outside {expected} ± {half_width}"
    );
}

/// A case count a long run may raise through the environment variable `name`.
pub fn cases_from_env(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The repository root, where `scenarios/` and `tests/fixtures/` live.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the `capsim` binary with `args` in `cwd`.
pub fn capsim(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_capsim"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("capsim binary runs")
}

/// stdout and stderr as text, for assertion messages.
pub fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Parses a scenario written inline in a test.
/// Every replication of every system of a scenario text (panics on an invalid one).
pub fn simulate(yaml: &str) -> Vec<capsim::metrics::RunMetrics> {
    capsim::montecarlo::run(&scenario(yaml), None).unwrap_or_else(|e| panic!("{e}\n{yaml}"))
}

/// An operator group's row of one replication, by its label.
pub fn group_of<'r>(
    row: &'r capsim::metrics::RunMetrics,
    label: &str,
) -> &'r capsim::metrics::GroupRow {
    row.groups
        .iter()
        .find(|g| g.group == label)
        .unwrap_or_else(|| panic!("no group {label} in {:?}", row.groups))
}

pub fn scenario(yaml: &str) -> capsim::scenario::Scenario {
    match capsim::scenario::parse("<test>", yaml) {
        Ok(scenario) => scenario,
        Err(error) => panic!(
            "test scenario is invalid:\n{}",
            capsim::cli::render_scenario_error(&error)
        ),
    }
}

/// A fresh directory under the system's temp dir, removed when dropped.
///
/// Written here rather than taken from the `tempfile` crate: a dev-dependency that
/// shares dependencies with polars changes their features, and then `cargo test` and
/// `cargo run` each compile polars, doubling the build.
pub struct TempDir(PathBuf);

static NEXT_TEMP: AtomicU64 = AtomicU64::new(0);

impl TempDir {
    /// Creates the directory.
    pub fn create() -> Self {
        let unique = format!(
            "capsim-test-{}-{}",
            std::process::id(),
            NEXT_TEMP.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(unique);
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Best effort: a leftover directory in the temp dir harms nothing.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
