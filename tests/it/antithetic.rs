//! Antithetic variates: replication 2k + 1 mirrors every random number of 2k. The pairs
//! must still reproduce the closed forms (with intervals over pair means), the summary's
//! intervals must be those of the pair means, a run must be the same bytes whatever the
//! thread count or shard split, and odd replication counts are refused.

use std::path::Path;

use capsim::metrics::{antithetic_pairs, summarise, t_critical};
use capsim::model::SystemKind;
use capsim::verify::{self, Case, QueueModel};

use crate::{capsim, text};

/// Every built-in closed form still holds when the replications are antithetic pairs.
#[test]
fn antithetic_pairs_reproduce_the_closed_forms() {
    let scenarios: Vec<(Case, capsim::scenario::Scenario)> = verify::builtin_cases()
        .into_iter()
        .map(|case| {
            let mut scenario = case.scenario(20, 77);
            scenario.simulation.antithetic = true;
            (case, scenario)
        })
        .collect();
    let checks = verify::run_scenarios(&scenarios, None).expect("cases run");
    let failures: Vec<String> = checks
        .iter()
        .filter(|c| !c.passed())
        .map(|c| format!("{c:?}"))
        .collect();
    assert!(
        failures.is_empty(),
        "checks outside their band:\n{}",
        failures.join("\n")
    );
    assert!(
        checks.iter().all(|c| c.n == 10),
        "20 replications are 10 independent pairs"
    );
}

/// A loaded M/M/8 (ρ = 0.75) measured over 200 hours: a replication with many arrivals
/// and long jobs is mirrored by one with few and short, so pair means vary less than
/// single replications. Measured over seeds 1–8 with 100 pairs each: utilization
/// 2.2–3.1×, probability of waiting 1.8–2.3× (mean wait only 1.1–1.3×: the queue's
/// response to load is too nonlinear for mirroring to cancel much). Asserted on seed 5
/// (2.60× and 1.81×) with a margin for the estimate's own noise.
#[test]
fn antithetic_pairs_cut_the_variance_of_queue_metrics() {
    let case = Case {
        label: "M/M/8",
        model: QueueModel::ErlangC,
        gpus: 8,
        arrival_rate: 6.0,
        service_rate: 1.0,
        horizon_hours: 400.0,
    };
    let mut scenario = case.scenario(200, 5);
    scenario.simulation.antithetic = true;
    let rows = capsim::montecarlo::run(&scenario, None).expect("runs");
    let factor = |extract: fn(&capsim::metrics::RunMetrics) -> f64| {
        let tagged: Vec<(u64, f64)> = rows
            .iter()
            .filter(|r| r.system == SystemKind::Centralized)
            .map(|r| (r.replication, extract(r)))
            .collect();
        capsim::metrics::antithetic_variance_reduction(&tagged)
    };
    let (utilization, p_wait) = (factor(|r| r.utilization), factor(|r| r.p_wait));
    assert!(
        utilization > 1.8,
        "utilization variance cut only {utilization}×"
    );
    assert!(
        p_wait > 1.4,
        "probability-of-waiting variance cut only {p_wait}×"
    );
}

const SCENARIO: &str = "name: pairs\nsimulation: {horizon_hours: 300, warmup_hours: 20, replications: 10, seed: 9, antithetic: true}\n\
demand:\n  segments:\n    - name: jobs\n      arrivals_per_hour: 6\n      gpus_per_job: {1: 0.7, 2: 0.3}\n      duration_hours: {lognormal: {median: 1.2, sigma: 0.8}}\n      patience_hours: {exponential: {mean: 2}}\n\
centralized:\n  gpus: 10\n  pricing: {usd_per_gpu_hour: 4.0}\n\
distributed:\n  pricing: {usd_per_gpu_hour: 2.0}\n  operators:\n    - {count: 3, gpus: 4, mtbf_hours: 500}\n";

fn ok(dir: &Path, args: &[&str]) {
    let output = capsim(dir, args);
    assert!(
        output.status.success(),
        "capsim {args:?}: {:?}",
        text(&output)
    );
}

/// The summary's interval for a metric is the Student-t interval of the pair means of
/// the values in runs.parquet, and it reports the antithetic variance-reduction factor;
/// the run is the same bytes on 1 or 2 threads and when shards split its pairs.
#[test]
fn antithetic_runs_summarise_pairs_and_split_anywhere() {
    let temp = crate::TempDir::create();
    let dir = temp.path();
    std::fs::write(dir.join("s.yaml"), SCENARIO).expect("write scenario");
    ok(
        dir,
        &["run", "s.yaml", "--out", "one", "--quiet", "--threads", "1"],
    );
    ok(
        dir,
        &["run", "s.yaml", "--out", "two", "--quiet", "--threads", "2"],
    );
    // 10 replications in 3 shards: 0..3, 3..6, 6..10 (pairs 2–3 and 4–5 are split).
    for shard in ["0/3", "1/3", "2/3"] {
        ok(
            dir,
            &[
                "run", "s.yaml", "--out", "sharded", "--shard", shard, "--quiet",
            ],
        );
    }
    ok(dir, &["merge", "sharded", "--out", "merged", "--quiet"]);
    for table in [
        "runs",
        "summary",
        "timeseries",
        "savings",
        "yields",
        "returns",
        "yields_summary",
        "weeks",
    ] {
        let read =
            |run: &str| std::fs::read(dir.join(format!("{run}/{table}.parquet"))).expect("table");
        assert!(
            read("one") == read("two") && read("one") == read("merged"),
            "{table} differs"
        );
    }

    let runs = capsim::output::read_table(&dir.join("one/runs.parquet")).expect("runs");
    let summary = capsim::output::read_table(&dir.join("one/summary.parquet")).expect("summary");
    let (system, metric) = (
        summary.column("system").expect("s").str().expect("str"),
        summary.column("metric").expect("m").str().expect("str"),
    );
    let row = |s: &str, m: &str| {
        (0..summary.height())
            .find(|&i| system.get(i) == Some(s) && metric.get(i) == Some(m))
            .expect("row")
    };
    let stat = |i: usize, name: &str| {
        summary
            .column(name)
            .expect("column")
            .f64()
            .expect("f64")
            .get(i)
            .expect("value")
    };

    let kinds = runs.column("system").expect("system").str().expect("str");
    let replications = runs
        .column("replication")
        .expect("replication")
        .u64()
        .expect("u64");
    let utilization = runs
        .column("utilization")
        .expect("utilization")
        .f64()
        .expect("f64");
    let tagged: Vec<(u64, f64)> = (0..runs.height())
        .filter(|&i| kinds.get(i) == Some("centralized"))
        .map(|i| {
            (
                replications.get(i).expect("r"),
                utilization.get(i).expect("u"),
            )
        })
        .collect();
    let means: Vec<f64> = antithetic_pairs(&tagged)
        .into_iter()
        .map(|(a, b)| 0.5 * (a + b))
        .collect();
    assert_eq!(means.len(), 5);
    let pair = summarise(&means);
    let half_width = t_critical(0.95, 4) * pair.std / 5f64.sqrt();
    let at = row("centralized", "utilization");
    assert!((stat(at, "mean") - pair.mean).abs() < 1e-12);
    assert!(
        (stat(at, "ci95_high") - stat(at, "ci95_low") - 2.0 * half_width).abs() < 1e-12,
        "interval over 5 pair means"
    );
    assert_eq!(
        summary.column("n").expect("n").u64().expect("u64").get(at),
        Some(10)
    );
    let factor = stat(
        row(
            "distributed_vs_centralized",
            "utilization_difference_antithetic_variance_reduction",
        ),
        "mean",
    );
    assert!(factor.is_finite() && factor > 0.0, "factor {factor}");

    // Odd counts cannot be paired.
    for args in [
        &["run", "s.yaml", "--replications", "5", "--out", "odd"][..],
        &["run", "s.yaml", "--replications-from", "3", "--out", "odd"][..],
    ] {
        let output = capsim(dir, args);
        let (_, stderr) = text(&output);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("must be even") && !dir.join("odd").exists(),
            "{stderr}"
        );
    }
}
