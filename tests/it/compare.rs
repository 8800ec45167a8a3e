//! `capsim compare`: differences between two runs, paired when they share a seed.

use crate::{capsim, text};

const POOL: &str = "name: pool
simulation: {horizon_hours: 400, warmup_hours: 40, replications: 12, seed: 5}
demand:
  segments:
    - name: jobs
      arrivals_per_hour: 6
      duration_hours: {exponential: {mean: 1}}
      patience_hours: {exponential: {mean: 0.5}}
centralized: {gpus: 6}
";

fn floats(frame: &polars::prelude::DataFrame, name: &str) -> Vec<f64> {
    let column = frame.column(name).expect("column").f64().expect("f64");
    (0..column.len())
        .map(|i| column.get(i).unwrap_or(f64::NAN))
        .collect()
}

fn strings(frame: &polars::prelude::DataFrame, name: &str) -> Vec<String> {
    let column = frame.column(name).expect("column").str().expect("str");
    (0..column.len())
        .map(|i| column.get(i).unwrap_or_default().to_string())
        .collect()
}

/// The utilization difference of a run with 7 GPUs against 6, from compare.parquet,
/// equals the mean and t interval of the per-replication differences in runs.parquet.
#[test]
fn same_seed_runs_are_compared_replication_by_replication() {
    let temp = crate::TempDir::create();
    std::fs::write(temp.path().join("pool.yaml"), POOL).expect("write");
    assert!(
        capsim(temp.path(), &["run", "pool.yaml", "--out", "a", "--quiet"])
            .status
            .success()
    );
    assert!(
        capsim(
            temp.path(),
            &[
                "run",
                "pool.yaml",
                "--out",
                "b",
                "--quiet",
                "--set",
                "centralized.gpus=7"
            ]
        )
        .status
        .success()
    );
    let output = capsim(temp.path(), &["compare", "a", "b", "--out", "cmp"]);
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stdout.contains("same seed: differences are paired"),
        "{stdout}"
    );
    assert!(stdout.contains("wrote cmp/compare.parquet"), "{stdout}");
    let table = capsim::output::read_table(&temp.path().join("cmp/compare.parquet"))
        .expect("compare.parquet");
    let (metrics, methods) = (strings(&table, "metric"), strings(&table, "method"));
    assert!(methods.iter().all(|m| m == "paired"), "{methods:?}");
    let row = metrics
        .iter()
        .position(|m| m == "utilization")
        .expect("utilization row");
    let utilization = |dir: &str| {
        floats(
            &capsim::output::read_table(&temp.path().join(dir).join("runs.parquet")).expect("runs"),
            "utilization",
        )
    };
    let differences: Vec<f64> = utilization("b")
        .iter()
        .zip(utilization("a"))
        .map(|(b, a)| b - a)
        .collect();
    let expected = capsim::metrics::summarise(&differences);
    let close = |x: f64, y: f64| (x - y).abs() < 1e-12;
    assert!(close(floats(&table, "difference")[row], expected.mean));
    assert!(
        close(floats(&table, "ci95_low")[row], expected.ci95_low)
            && close(floats(&table, "ci95_high")[row], expected.ci95_high)
    );
    // One more GPU under the same jobs lowers utilization in every replication.
    assert!(expected.ci95_high < 0.0, "{expected:?}");
    assert_eq!(strings(&table, "a_scenario")[row], "pool");
}

/// Different seeds: independent samples, Welch intervals, and the output says so.
#[test]
fn runs_with_different_seeds_get_welch_intervals() {
    let temp = crate::TempDir::create();
    std::fs::write(temp.path().join("pool.yaml"), POOL).expect("write");
    assert!(
        capsim(temp.path(), &["run", "pool.yaml", "--out", "a", "--quiet"])
            .status
            .success()
    );
    assert!(
        capsim(
            temp.path(),
            &["run", "pool.yaml", "--out", "b", "--quiet", "--seed", "6"]
        )
        .status
        .success()
    );
    let output = capsim(
        temp.path(),
        &["compare", "a", "b", "--out", "cmp", "--quiet"],
    );
    assert!(output.status.success(), "{:?}", text(&output));
    assert!(text(&output).0.is_empty());
    let table = capsim::output::read_table(&temp.path().join("cmp/compare.parquet"))
        .expect("compare.parquet");
    assert!(strings(&table, "method").iter().all(|m| m == "welch"));
    let (low, high) = (floats(&table, "ci95_low"), floats(&table, "ci95_high"));
    let differences = floats(&table, "difference");
    let row = strings(&table, "metric")
        .iter()
        .position(|m| m == "utilization")
        .expect("row");
    // The same scenario on other seeds: the interval holds the true difference, 0.
    assert!(
        low[row] < differences[row]
            && differences[row] < high[row]
            && low[row] < 0.0
            && high[row] > 0.0
    );
}

#[test]
fn compare_refuses_what_is_not_a_run() {
    let temp = crate::TempDir::create();
    std::fs::create_dir(temp.path().join("empty")).expect("mkdir");
    std::fs::write(temp.path().join("pool.yaml"), POOL).expect("write");
    assert!(
        capsim(temp.path(), &["run", "pool.yaml", "--out", "a", "--quiet"])
            .status
            .success()
    );
    let output = capsim(temp.path(), &["compare", "a", "empty"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output).1.contains("cannot compare empty"),
        "{:?}",
        text(&output)
    );
    assert!(
        capsim(
            temp.path(),
            &[
                "run",
                "pool.yaml",
                "--out",
                "s",
                "--quiet",
                "--shard",
                "0/2"
            ]
        )
        .status
        .success()
    );
    let output = capsim(temp.path(), &["compare", "a", "s/shard=0"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output).1.contains("merge the shards first"),
        "{:?}",
        text(&output)
    );
    assert!(
        !temp.path().join("notebooks-output").exists(),
        "nothing written"
    );
}
