//! The commands a newcomer types: run, validate, verify, bench.

use crate::{capsim, root, text};

#[test]
fn run_prints_a_report_and_writes_tables() {
    let temp = tempfile::tempdir().expect("temp dir");
    let scenario = root().join("scenarios/mmc-example.yaml");
    let output = capsim(temp.path(), &["run", scenario.to_str().expect("utf-8"), "--replications", "2", "--out", "out"]);
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.starts_with("mmc-example · 2 replications · seed 7"), "{stdout}");
    assert!(stdout.contains("centralized (64 GPUs)") && stdout.contains("distributed (64 GPUs)"), "{stdout}");
    assert!(stdout.contains("utilization") && stdout.contains("M events/s"), "{stdout}");
    assert!(stdout.contains("wrote out/runs.parquet") && stdout.contains("wrote out/summary.parquet"), "{stdout}");
    assert!(temp.path().join("out/runs.parquet").is_file());
}

#[test]
fn quiet_run_prints_nothing() {
    let temp = tempfile::tempdir().expect("temp dir");
    let scenario = root().join("scenarios/mmc-example.yaml");
    let output = capsim(temp.path(), &["run", scenario.to_str().expect("utf-8"), "--replications", "1", "--quiet"]);
    assert!(output.status.success());
    assert!(output.stdout.is_empty() && output.stderr.is_empty());
}

#[test]
fn every_bundled_scenario_validates() {
    let mut paths: Vec<String> = std::fs::read_dir(root().join("scenarios"))
        .expect("scenarios/")
        .map(|entry| entry.expect("entry").path().display().to_string())
        .filter(|path| path.ends_with(".yaml"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 2);
    let mut args = vec!["validate"];
    args.extend(paths.iter().map(String::as_str));
    let output = capsim(&root(), &args);
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(stdout.lines().filter(|line| line.starts_with("ok ")).count(), paths.len(), "{stdout}");
}

#[test]
fn validate_reports_every_bad_file_and_exits_2() {
    let good = root().join("scenarios/mmc-example.yaml");
    let bad = root().join("tests/fixtures/invalid/unknown-key.yaml");
    let worse = root().join("tests/fixtures/invalid/negative-count.yaml");
    let output =
        capsim(&root(), &["validate", good.to_str().expect("utf-8"), bad.to_str().expect("utf-8"), worse.to_str().expect("utf-8")]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2));
    assert!(stdout.contains("ok ") && stdout.contains("mmc-example"), "{stdout}");
    assert!(stderr.contains("unknown-key.yaml:6:7") && stderr.contains("negative-count.yaml:8:21"), "{stderr}");
}

#[test]
fn bench_reports_events_per_second() {
    let output = capsim(&root(), &["bench", "--replications", "1", "--horizon-hours", "2000"]);
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.contains("M events/s"), "{stdout}");
}
