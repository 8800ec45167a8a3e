//! The commands a newcomer types: run, validate, verify, bench.

use crate::{capsim, root, text};

#[test]
fn run_prints_a_report_and_writes_tables() {
    let temp = crate::TempDir::create();
    let scenario = root().join("scenarios/mmc-example.yaml");
    let output = capsim(
        temp.path(),
        &[
            "run",
            scenario.to_str().expect("utf-8"),
            "--replications",
            "2",
            "--out",
            "out",
        ],
    );
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stdout.starts_with("mmc-example · 2 replications · seed 7"),
        "{stdout}"
    );
    assert!(
        stdout.contains("centralized (64 GPUs at the start)")
            && stdout.contains("distributed (64 GPUs at the start)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("utilization") && stdout.contains("M events/s"),
        "{stdout}"
    );
    assert!(
        stdout.contains("wrote out/runs.parquet") && stdout.contains("wrote out/summary.parquet"),
        "{stdout}"
    );
    assert!(temp.path().join("out/runs.parquet").is_file());
}

#[test]
fn quiet_run_prints_nothing() {
    let temp = crate::TempDir::create();
    let scenario = root().join("scenarios/mmc-example.yaml");
    let output = capsim(
        temp.path(),
        &[
            "run",
            scenario.to_str().expect("utf-8"),
            "--replications",
            "1",
            "--quiet",
        ],
    );
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
    assert_eq!(
        stdout
            .lines()
            .filter(|line| line.starts_with("ok "))
            .count(),
        paths.len(),
        "{stdout}"
    );
}

/// Every bundled scenario runs from the CLI and writes every table (two replications
/// each, to keep the suite fast; the scenarios' own counts are for users).
#[test]
fn every_bundled_scenario_runs() {
    let temp = crate::TempDir::create();
    for entry in std::fs::read_dir(root().join("scenarios")).expect("scenarios/") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|ext| ext != "yaml") {
            continue;
        }
        let name = path
            .file_stem()
            .expect("stem")
            .to_string_lossy()
            .into_owned();
        let output = capsim(
            temp.path(),
            &[
                "run",
                path.to_str().expect("utf-8"),
                "--replications",
                "2",
                "--out",
                &name,
                "--quiet",
            ],
        );
        assert!(output.status.success(), "{name}: {:?}", text(&output));
        let scenario = capsim::scenario::load(&path).expect("valid");
        let mut tables = vec![
            "runs",
            "summary",
            "timeseries",
            "yields",
            "returns",
            "yields_summary",
            "weeks",
        ];
        if scenario.systems().len() == 2 {
            tables.push("savings");
        }
        for table in tables {
            let frame = capsim::output::read_table(
                &temp.path().join(&name).join(format!("{table}.parquet")),
            )
            .expect("table reads");
            assert!(frame.height() > 0, "{name}: {table} is empty");
        }
        // Every system has its whole-system rows for years 0…n in both replications, and
        // a yield in every year after 0 (capital is employed in all bundled scenarios).
        let yields = capsim::output::read_table(&temp.path().join(&name).join("yields.parquet"))
            .expect("yields reads");
        // The whole architecture's rows: no provider, no cohort.
        let (provider, cohort) = (
            yields.column("provider").expect("provider"),
            yields.column("cohort").expect("cohort"),
        );
        let whole = (0..yields.height())
            .filter(|&i| {
                provider.get(i).is_ok_and(|v| v.is_null())
                    && cohort.get(i).is_ok_and(|v| v.is_null())
            })
            .count();
        let years = capsim::units::finance_years(scenario.simulation.horizon_hours) as usize + 1;
        assert_eq!(
            whole,
            2 * scenario.systems().len() * years,
            "{name}: whole-system rows"
        );
        let yield_nulls = yields.column("yield").expect("yield").null_count();
        let year_zero = yields
            .column("year")
            .expect("year")
            .u32()
            .expect("u32")
            .iter()
            .filter(|y| *y == Some(0))
            .count();
        assert_eq!(
            yield_nulls, year_zero,
            "{name}: a yield in every year but year 0"
        );
    }
}

#[test]
fn validate_reports_every_bad_file_and_exits_2() {
    let good = root().join("scenarios/mmc-example.yaml");
    let bad = root().join("tests/fixtures/invalid/unknown-key.yaml");
    let worse = root().join("tests/fixtures/invalid/negative-count.yaml");
    let output = capsim(
        &root(),
        &[
            "validate",
            good.to_str().expect("utf-8"),
            bad.to_str().expect("utf-8"),
            worse.to_str().expect("utf-8"),
        ],
    );
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stdout.contains("ok ") && stdout.contains("mmc-example"),
        "{stdout}"
    );
    assert!(
        stderr.contains("unknown-key.yaml:6:7") && stderr.contains("negative-count.yaml:8:21"),
        "{stderr}"
    );
}

#[test]
fn bench_reports_events_per_second() {
    let output = capsim(
        &root(),
        &["bench", "--replications", "1", "--horizon-hours", "2000"],
    );
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.contains("M events/s"), "{stdout}");
}

/// `bench --suite` times both built-in benchmarks (here on 0.2% of their hours) with
/// events and jobs per second and peak memory; a scale outside (0, 1] is refused.
#[test]
fn bench_suite_times_both_benchmarks() {
    let output = capsim(&root(), &["bench", "--suite", "--scale", "0.002"]);
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    for file in [
        "scenarios/bench/mm64.yaml",
        "scenarios/bench/seed-scale-probe.yaml",
    ] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(file))
            .unwrap_or_else(|| panic!("{stdout}"));
        assert!(
            line.contains("M events/s")
                && line.contains("M jobs/s")
                && line.contains("peak memory"),
            "{line}"
        );
    }
    let refused = capsim(&root(), &["bench", "--suite", "--scale", "0"]);
    assert_eq!(refused.status.code(), Some(2));
}

/// Regression for issue 2: the minimal scenario, exactly as the issue gives it, is valid
/// and must stay valid as the schema grows.
#[test]
fn r2_minimal_scenario_from_the_issue_stays_valid() {
    let minimal = "name: mmc-example
simulation: {horizon_hours: 20000, warmup_hours: 500, replications: 8, seed: 7}
demand:
  segments:
    - name: jobs
      arrivals_per_hour: 57.6
      gpus_per_job: 1                            # or {1: 0.8, 2: 0.1, 4: 0.07, 8: 0.03}
      duration_hours: {exponential: {mean: 1.0}}
      patience_hours: {exponential: {mean: 2.0}} # optional; omitted = waits forever, 0 = never waits
centralized: {gpus: 64}
distributed: {gpus: 64}                          # either system may be omitted, not both
";
    let scenario = crate::scenario(minimal);
    assert_eq!(scenario.simulation.replications, 8);
    assert_eq!(scenario.systems().len(), 2);
    let with_mix = minimal.replace(
        "gpus_per_job: 1 ",
        "gpus_per_job: {1: 0.8, 2: 0.1, 4: 0.07, 8: 0.03} ",
    );
    assert!((crate::scenario(&with_mix).segments[0].gpus_per_job.mean() - 1.52).abs() < 1e-12);
}

/// CI runs exactly the README's two commands, so what a newcomer types is what is tested.
#[test]
fn ci_runs_the_readme_commands_verbatim() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let ci = std::fs::read_to_string(root().join(".ci/run")).expect(".ci/run");
    let block = readme
        .split("```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a ```sh block in README");
    // Whole lines, comments and spacing included: the block is what people copy.
    let commands: Vec<&str> = block
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    assert_eq!(commands.len(), 2, "README lists two commands: {commands:?}");
    for command in commands {
        assert!(
            ci.lines().any(|line| line == command),
            ".ci/run does not run `{command}` verbatim"
        );
    }
}
