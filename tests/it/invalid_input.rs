//! Bad scenarios: exit code 2, a message with file:line:col, the key path and a hint,
//! no panic, and nothing written. Each fixture's exact stderr is part of the interface
//! and pinned in `tests/fixtures/invalid/<name>.stderr`; run with UPDATE_EXPECT=1 to
//! rewrite them after a deliberate change, then review the diff.

use std::path::Path;

use crate::{capsim, root, text};

/// Runs `capsim run` on a fixture from inside a fresh directory, so that the default
/// output location (`notebooks-output/…`) can be checked for absence too.
fn run_fixture(name: &str) -> (i32, String) {
    let temp = crate::TempDir::create();
    let fixture = root()
        .join("tests/fixtures/invalid")
        .join(format!("{name}.yaml"));
    std::fs::copy(&fixture, temp.path().join(format!("{name}.yaml"))).expect("copy fixture");
    let output = capsim(temp.path(), &["run", &format!("{name}.yaml")]);
    let (stdout, stderr) = text(&output);
    assert!(stdout.is_empty(), "{name}: nothing on stdout, got {stdout}");
    assert!(!stderr.contains("panicked"), "{name}: panic: {stderr}");
    let leftovers: Vec<_> = std::fs::read_dir(temp.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        1,
        "{name}: something was written: {leftovers:?}"
    );
    (output.status.code().unwrap_or(-1), stderr)
}

fn check_golden(name: &str, stderr: &str) {
    let golden = root()
        .join("tests/fixtures/invalid")
        .join(format!("{name}.stderr"));
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&golden, stderr).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&golden)
        .unwrap_or_else(|_| panic!("missing {}; run with UPDATE_EXPECT=1", golden.display()));
    assert_eq!(
        stderr, expected,
        "{name}: stderr changed (UPDATE_EXPECT=1 rewrites it)"
    );
}

/// (fixture, "line:col", key path, a phrase of the hint)
const CASES: &[(&str, &str, &str, &str)] = &[
    ("syntax-error", ":6:27", "", "YAML syntax error"),
    (
        "unknown-key",
        ":6:7",
        "demand.segments[0].arrival_per_hour",
        "did you mean `arrivals_per_hour`?",
    ),
    (
        "wrong-type",
        ":7:38",
        "demand.segments[0].duration_hours.exponential.mean",
        "hint",
    ),
    (
        "negative-count",
        ":8:21",
        "centralized.gpus",
        "whole number",
    ),
    (
        "unknown-distribution",
        ":7:24",
        "demand.segments[0].duration_hours",
        "did you mean `exponential`?",
    ),
    (
        "cross-field",
        ":3:",
        "simulation.warmup_hours",
        "measurement window",
    ),
    (
        "probabilities",
        ":7:",
        "demand.segments[0].gpus_per_job",
        "add up to exactly 1",
    ),
    ("no-system", ":1:", "", "centralized: {gpus: 64}"),
    ("missing-section", ":1:", "", "add `simulation:`"),
    ("alias-bomb", ":", "name", "hint"),
    ("empty", ":1:1", "", "start from scenarios/mmc-example.yaml"),
    (
        "seasonality-length",
        ":7:",
        "demand.segments[0].seasonality.daily",
        "rescaled to average 1",
    ),
    (
        "finance-horizon",
        ":10:18",
        "finance.horizon_years",
        "lengthen simulation.horizon_hours",
    ),
    (
        "finance-method",
        ":10:17",
        "finance.depreciation",
        "`declining_balance`",
    ),
    (
        "finance-rates",
        ":10:18",
        "finance.discount_rate",
        "10% a year",
    ),
    ("finance-tax", ":10:13", "finance.tax_rate", "0.2 for 20%"),
    (
        "finance-typo",
        ":10:3",
        "finance.discount",
        "did you mean `discount_rate`?",
    ),
    (
        "pricing-foreign-key",
        ":13:25",
        "distributed.pricing.target_utilization",
        "choose the policy that uses it (policy: utilization_target or market_clearing)",
    ),
    (
        "availability-zero-cycle",
        ":11:21",
        "distributed.operators[0].availability",
        "raise availability above 0",
    ),
    (
        "follows-demand-full-time",
        ":12:36",
        "distributed.operators[0].availability_follows_demand",
        "set availability_cycle_hours",
    ),
    (
        "follows-demand-unreachable",
        ":15:36",
        "distributed.operators[0].availability_follows_demand",
        "lengthen availability_cycle_hours",
    ),
    (
        "cost-plus-whole-take",
        ":10:14",
        "distributed.take_rate",
        "lower take_rate below 1",
    ),
    (
        "pricing-full-step",
        ":14:15",
        "distributed.pricing.max_step",
        "use a step below 1",
    ),
    (
        "pricing-cost-plus-list",
        ":13:23",
        "distributed.pricing.usd_per_gpu_hour",
        "policy `cost_plus` does not use `usd_per_gpu_hour`",
    ),
    (
        "pricing-cost-plus-planned",
        ":11:5",
        "distributed.pricing.planned_utilization",
        "e.g. planned_utilization: 0.7",
    ),
    (
        "pricing-no-list",
        ":11:5",
        "distributed.pricing.usd_per_gpu_hour",
        "or policy: cost_plus to price from costs",
    ),
    (
        "pricing-scheduled-foreign-key",
        ":14:15",
        "centralized.pricing.max_step",
        "remove `max_step`",
    ),
    (
        "uncertainty-inverted",
        ":11:31",
        "uncertainty.training.arrivals_per_hour",
        "expected [LOW, HIGH]",
    ),
    (
        "uncertainty-short",
        ":11:3",
        "uncertainty.training.arrivals_per_hour",
        "each entry is KEY.PATH",
    ),
    (
        "uncertainty-scalar",
        ":11:3",
        "uncertainty.training.arrivals_per_hour",
        "each entry is KEY.PATH",
    ),
    (
        "uncertainty-triangular-missing-mode",
        ":11:53",
        "uncertainty.training.arrivals_per_hour.triangular",
        "{triangular: {min, mode, max}}",
    ),
    (
        "uncertainty-unknown-belief",
        ":11:32",
        "uncertainty.training.arrivals_per_hour",
        "valid here: `uniform`, `triangular`",
    ),
    (
        "uncertainty-bad-path",
        ":11:21",
        "uncertainty.demand..segments",
        "a key path such as",
    ),
    (
        "max-price-change-alone",
        ":8:32",
        "demand.segments[0].max_price_annual_change",
        "add max_price_usd_per_gpu_hour",
    ),
    (
        "procurement-unknown-class",
        ":13:25",
        "centralized.procurement.gpu_classes[1]",
        "did you mean `B200`? valid GPU classes",
    ),
    (
        "age-of-bought-gpus",
        ":10:22",
        "centralized.costs.age_years",
        "set capex_usd_per_gpu: 0",
    ),
    (
        "age-past-life",
        ":10:44",
        "centralized.costs.age_years",
        "lower age_years below",
    ),
    (
        "cost-decline-whole",
        ":11:85",
        "gpu_classes[0].annual_cost_decline",
        "costs 15% less each year",
    ),
];

#[test]
fn invalid_scenarios_are_refused_with_located_messages() {
    for (name, location, key_path, hint) in CASES {
        let (code, stderr) = run_fixture(name);
        assert_eq!(code, 2, "{name}: exit code\n{stderr}");
        assert!(
            stderr.starts_with("capsim: error: invalid scenario"),
            "{name}:\n{stderr}"
        );
        assert!(
            stderr.contains(&format!("{name}.yaml{location}")),
            "{name}: no {location}\n{stderr}"
        );
        if !key_path.is_empty() {
            assert!(
                stderr.contains(&format!("= key: {key_path}\n")),
                "{name}: no key path {key_path}\n{stderr}"
            );
        }
        assert!(stderr.contains(hint), "{name}: no hint {hint:?}\n{stderr}");
    }
}

/// Every file in the bad-input corpus (`tests/fixtures/invalid/*.yaml`): exit 2 within a
/// second, no panic, nothing written, a location and a hint (or, for a file that cannot
/// be read as text, the reason), and exactly the pinned stderr.
#[test]
fn every_invalid_fixture_is_refused() {
    let mut names: Vec<String> = std::fs::read_dir(root().join("tests/fixtures/invalid"))
        .expect("fixtures")
        .filter_map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_str()?
                .strip_suffix(".yaml")
                .map(str::to_string)
        })
        .collect();
    names.sort();
    assert!(names.len() >= 40, "the corpus shrank: {}", names.len());
    for name in &names {
        // Timing the refusal is part of the contract; no result depends on it.
        #[allow(clippy::disallowed_methods)]
        let started = std::time::Instant::now();
        let (code, stderr) = run_fixture(name);
        assert!(
            started.elapsed().as_secs_f64() < 1.0,
            "{name}: took {:?}",
            started.elapsed()
        );
        assert_eq!(code, 2, "{name}: exit code\n{stderr}");
        assert!(stderr.starts_with("capsim: error: "), "{name}:\n{stderr}");
        if !stderr.contains("cannot read scenario") {
            assert!(
                stderr.contains(&format!(" --> {name}.yaml:")),
                "{name}: no location\n{stderr}"
            );
            assert!(stderr.contains("   = hint: "), "{name}: no hint\n{stderr}");
        }
        check_golden(name, &stderr);
    }
}

/// Cross-value problems are all reported in one pass, in file order.
#[test]
fn several_problems_are_reported_together() {
    let (_, stderr) = run_fixture("cross-field");
    assert!(stderr.contains("(2 problems)"), "{stderr}");
    let warmup = stderr.find("warmup_hours").expect("warm-up problem");
    let gpus = stderr
        .find("asks for up to 8 GPUs")
        .expect("job-size problem");
    assert!(warmup < gpus);
}

#[test]
fn missing_file_and_bad_flags_exit_2_without_output() {
    let temp = crate::TempDir::create();
    let output = capsim(temp.path(), &["run", "no-such.yaml"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output)
            .1
            .contains("cannot read scenario no-such.yaml")
    );
    // A directory, and a file far larger than any scenario (read no further than its size).
    let output = capsim(temp.path(), &["run", "."]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output).1.contains("not a regular file"),
        "{:?}",
        text(&output)
    );
    // 100 MB (sparse: the test costs no disk), refused from its size before any read.
    let huge = temp.path().join("huge.yaml");
    std::fs::File::create(&huge)
        .and_then(|file| file.set_len(100 * 1024 * 1024))
        .expect("write");
    let output = capsim(temp.path(), &["validate", "huge.yaml"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output)
            .1
            .contains("larger than the 4194304 byte limit"),
        "{:?}",
        text(&output)
    );
    std::fs::remove_file(&huge).expect("remove");
    let scenario = root().join("scenarios/mmc-example.yaml");
    for flags in [
        &["--replications", "0"][..],
        &["--threads", "0"],
        &["--seed", "-1"],
        &["--bogus"],
    ] {
        let mut args = vec!["run", scenario.to_str().expect("utf-8")];
        args.extend_from_slice(flags);
        let output = capsim(temp.path(), &args);
        assert_eq!(output.status.code(), Some(2), "{flags:?}");
    }
    assert_eq!(
        std::fs::read_dir(temp.path()).expect("list").count(),
        0,
        "nothing written"
    );
}

/// An existing result directory survives a failed run untouched.
#[test]
fn existing_results_survive_an_invalid_run() {
    let temp = crate::TempDir::create();
    let out = temp.path().join("results");
    std::fs::create_dir(&out).expect("mkdir");
    std::fs::write(out.join("runs.parquet"), b"previous results").expect("write");
    let fixture = root().join("tests/fixtures/invalid/negative-count.yaml");
    let output = capsim(
        temp.path(),
        &["run", fixture.to_str().expect("utf-8"), "--out", "results"],
    );
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        std::fs::read(out.join("runs.parquet")).expect("still there"),
        b"previous results"
    );
    assert!(Path::new(&out).read_dir().expect("list").count() == 1);
}

/// Valid scenarios whose runs would take years or exhaust memory are refused before
/// anything starts: exit 2 within a second, the estimate in the message, nothing written.
#[test]
fn absurd_runs_are_refused_before_starting() {
    for (name, phrase) in [
        ("absurd-rate", "events expected, more than --max-events"),
        ("unbounded-queue", "GiB of memory expected"),
    ] {
        let temp = crate::TempDir::create();
        let fixture = root()
            .join("tests/fixtures/refused")
            .join(format!("{name}.yaml"));
        // Timing the refusal is the point of this test; no result depends on it.
        #[allow(clippy::disallowed_methods)]
        let started = std::time::Instant::now();
        let output = capsim(temp.path(), &["run", fixture.to_str().expect("utf-8")]);
        let (_, stderr) = text(&output);
        assert!(
            started.elapsed().as_secs_f64() < 1.0,
            "{name}: took {:?}",
            started.elapsed()
        );
        assert_eq!(output.status.code(), Some(2), "{name}: {stderr}");
        assert!(
            stderr.contains(phrase) && stderr.contains("--force"),
            "{name}: {stderr}"
        );
        assert_eq!(
            std::fs::read_dir(temp.path()).expect("list").count(),
            0,
            "{name}: nothing written"
        );
        // `validate` says the same before anyone tries to run it, unless forced.
        let checked = capsim(temp.path(), &["validate", fixture.to_str().expect("utf-8")]);
        assert_eq!(checked.status.code(), Some(2), "{name}: validate");
        assert!(text(&checked).1.contains(phrase));
        let forced = capsim(
            temp.path(),
            &["validate", "--force", fixture.to_str().expect("utf-8")],
        );
        assert!(
            forced.status.success() && text(&forced).0.starts_with("ok "),
            "{name}: validate --force"
        );
    }
}

/// The event budget is a flag, and `--force` overrides it.
#[test]
fn event_budget_can_be_lowered_and_forced() {
    let temp = crate::TempDir::create();
    let scenario = root().join("scenarios/mmc-example.yaml");
    let base = [
        "run",
        scenario.to_str().expect("utf-8"),
        "--replications",
        "1",
        "--quiet",
        "--max-events",
        "1000",
    ];
    let refused = capsim(temp.path(), &base);
    assert_eq!(refused.status.code(), Some(2));
    let forced = capsim(temp.path(), &[&base[..], &["--force"]].concat());
    assert!(forced.status.success(), "{:?}", text(&forced));
}

/// A run killed (SIGKILL) at any moment leaves the previous complete results or the
/// new complete ones, never a truncated file; and the next run cleans up the staging
/// directory a killed run left behind.
///
/// Method: a run that takes a few milliseconds, killed after 0, 1, 2, … 39 ms, so the
/// kills land in start-up, simulation, writing and renaming alike.
#[test]
fn killed_runs_never_leave_a_broken_file() {
    use std::process::{Command, Stdio};
    let temp = crate::TempDir::create();
    let scenario = temp.path().join("tiny.yaml");
    std::fs::write(
        &scenario,
        "name: tiny\nsimulation: {horizon_hours: 300, replications: 2, seed: 1}\ndemand:\n  segments:\n    - name: jobs\n      arrivals_per_hour: 50\n      duration_hours: {exponential: {mean: 1}}\ncentralized: {gpus: 64}\n",
    )
    .expect("write scenario");
    let args = ["run", "tiny.yaml", "--out", "out", "--quiet"];
    assert!(capsim(temp.path(), &args).status.success());
    for delay_ms in 0..40u64 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_capsim"))
            .args(args)
            .args(["--seed", &delay_ms.to_string()])
            .current_dir(temp.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        let set = capsim::output::TableSet::open(&temp.path().join("out"))
            .unwrap_or_else(|e| panic!("after a kill at {delay_ms} ms: {e}"));
        let mut names: Vec<String> = capsim::output::TABLE_ORDER
            .iter()
            .filter(|stem| set.get(stem).is_some())
            .map(|stem| format!("{stem}.parquet"))
            .collect();
        names.sort();
        let expected_names = [
            "groups.parquet",
            "providers.parquet",
            "providers_summary.parquet",
            "returns.parquet",
            "runs.parquet",
            "segments.parquet",
            "segments_summary.parquet",
            "summary.parquet",
            "timeseries.parquet",
            "weeks.parquet",
            "yields.parquet",
            "yields_summary.parquet",
        ];
        assert_eq!(names, expected_names, "after a kill at {delay_ms} ms");
        for name in &names {
            let stem = name.trim_end_matches(".parquet");
            let table = capsim::output::read_table(set.get(stem).expect("listed"))
                .unwrap_or_else(|e| panic!("{name} after a kill at {delay_ms} ms: {e}"));
            // 2 replications × 1 system; 52 metrics × 1 system; 1 week × 7 metrics;
            // 2 replications × years 0 and 1; 2 replications; 2 years × 22 columns + 3 returns;
            // 2 replications × 1 week; 2 replications × 1 segment; 11 measures × 1 segment;
            // 2 replications × 1 provider; 12 measures × 1 provider; no operator groups
            // (a centralized system).
            let expected_rows = match name.as_str() {
                "groups.parquet" => 0,
                "runs.parquet" | "returns.parquet" | "weeks.parquet" | "segments.parquet"
                | "providers.parquet" => 2,
                "segments_summary.parquet" => 11,
                "providers_summary.parquet" => 12,
                "summary.parquet" => 52,
                "timeseries.parquet" => 7,
                "yields.parquet" => 4,
                _ => 47,
            };
            assert_eq!(
                table.height(),
                expected_rows,
                "{name} after a kill at {delay_ms} ms"
            );
        }
    }
    assert!(capsim(temp.path(), &args).status.success());
    let leftovers: Vec<String> = std::fs::read_dir(temp.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("capsim-staging"))
        .collect();
    assert!(leftovers.is_empty(), "staging left behind: {leftovers:?}");
    assert!(
        !temp.path().join("out/.capsim-previous").exists(),
        "a whole commit leaves no previous versions behind"
    );
}

/// An output location that cannot be written is reported before the simulation starts,
/// as invalid input, naming the path.
#[test]
fn unwritable_output_is_refused_up_front() {
    let temp = crate::TempDir::create();
    std::fs::write(temp.path().join("a-file"), b"not a directory").expect("write");
    let scenario = root().join("scenarios/mmc-example.yaml");
    let output = capsim(
        temp.path(),
        &[
            "run",
            scenario.to_str().expect("utf-8"),
            "--out",
            "a-file/results",
        ],
    );
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--out a-file/results is not writable"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("running"),
        "refused before simulating: {stderr}"
    );
    assert!(stdout.is_empty());
}
