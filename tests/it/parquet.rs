//! The output tables read back by a real Parquet reader (polars), with the documented
//! columns, row counts and provenance.

use capsim::output::read_table;
use polars::prelude::*;

use crate::{capsim, root, text};

/// The documented columns of `runs.parquet` (README, "Output"), in order.
const RUNS_COLUMNS: &[&str] = &[
    "replication",
    "system",
    "utilization",
    "p_wait",
    "mean_wait_hours",
    "p95_wait_hours",
    "mean_wait_hours_reserved",
    "mean_wait_hours_on_demand",
    "mean_wait_hours_spot",
    "abandon_fraction",
    "priced_out_fraction",
    "unserved_fraction",
    "lost_demand_fraction",
    "lost_demand_gpu_hours",
    "mean_queue_length",
    "arrival_rate_per_hour",
    "jobs_arrived",
    "jobs_completed",
    "jobs_abandoned",
    "jobs_priced_out",
    "jobs_unserved",
    "jobs_unserved_too_large",
    "jobs_stranded",
    "jobs_failed",
    "jobs_interrupted",
    "jobs_preempted",
    "preemptions_per_spot_job",
    "jobs_in_system_at_horizon",
    "busy_gpu_hours",
    "idle_gpu_hours",
    "down_gpu_hours",
    "withdrawn_gpu_hours",
    "installed_gpu_hours",
    "withdrawn_demand_ratio",
    "useful_work_gpu_hours",
    "lost_work_gpu_hours",
    "gpus_initial",
    "gpus_at_horizon",
    "gpus_ordered",
    "gpus_retired",
    "customer_spend_usd",
    "egress_usd",
    "spend_usd_per_gpu_hour",
    "provider_revenue_usd",
    "protocol_revenue_usd",
    "opex_power_usd",
    "opex_facility_usd",
    "opex_fixed_usd",
    "depreciation_usd",
    "capex_usd",
    "operators_joined",
    "operators_left",
    "price_at_horizon_usd",
    "events",
    "scenario",
    "scenario_hash",
    "seed",
    "capsim_version",
];

const SEGMENTS_COLUMNS: &[&str] = &[
    "replication",
    "system",
    "segment",
    "jobs_arrived",
    "jobs_served",
    "jobs_abandoned",
    "jobs_priced_out",
    "jobs_unserved",
    "jobs_stranded",
    "jobs_failed",
    "jobs_lost",
    "lost_demand_fraction",
    "work_offered_gpu_hours",
    "work_served_gpu_hours",
    "spend_usd",
    "spend_usd_per_gpu_hour",
    "spend_usd_per_useful_gpu_hour",
    "contract_utilization",
    "contract_spend_usd",
    "committed_gpu_hours",
    "committed_used_gpu_hours",
    "reserved_work_offered_gpu_hours",
    "reserved_work_served_gpu_hours",
    "reserved_spend_usd",
    "on_demand_work_offered_gpu_hours",
    "on_demand_work_served_gpu_hours",
    "on_demand_spend_usd",
    "spot_work_offered_gpu_hours",
    "spot_work_served_gpu_hours",
    "spot_spend_usd",
    "scenario",
    "scenario_hash",
    "seed",
    "capsim_version",
];

const SUMMARY_COLUMNS: &[&str] = &[
    "system",
    "metric",
    "mean",
    "std",
    "ci95_low",
    "ci95_high",
    "p05",
    "p50",
    "p95",
    "n",
    "scenario",
    "scenario_hash",
    "seed",
    "capsim_version",
];

fn names(frame: &DataFrame) -> Vec<String> {
    frame
        .get_column_names()
        .iter()
        .map(|name| name.to_string())
        .collect()
}

fn strings(frame: &DataFrame, name: &str) -> Vec<String> {
    frame
        .column(name)
        .expect("column")
        .str()
        .expect("string")
        .iter()
        .map(|value| value.expect("no nulls").to_string())
        .collect()
}

fn floats(frame: &DataFrame, name: &str) -> Vec<f64> {
    frame
        .column(name)
        .expect("column")
        .f64()
        .expect("f64")
        .into_no_null_iter()
        .collect()
}

fn counts(frame: &DataFrame, name: &str) -> Vec<u64> {
    frame
        .column(name)
        .expect("column")
        .u64()
        .expect("u64")
        .into_no_null_iter()
        .collect()
}

#[test]
fn tables_round_trip_with_documented_columns() {
    let temp = crate::TempDir::create();
    let scenario = root().join("scenarios/mmc-example.yaml");
    let output = capsim(
        temp.path(),
        &[
            "run",
            scenario.to_str().expect("utf-8"),
            "--replications",
            "3",
        ],
    );
    assert!(output.status.success(), "{:?}", text(&output));
    let dir = temp.path().join("notebooks-output/mmc-example");

    let runs = read_table(&dir.join("runs.parquet")).expect("runs.parquet reads back");
    assert_eq!(names(&runs), RUNS_COLUMNS);
    assert_eq!(runs.height(), 3 * 2, "3 replications × 2 systems");
    assert_eq!(counts(&runs, "replication"), vec![0, 0, 1, 1, 2, 2]);
    assert_eq!(
        strings(&runs, "system"),
        ["centralized", "distributed"].repeat(3)
    );
    assert!(
        strings(&runs, "scenario")
            .iter()
            .all(|s| s == "mmc-example")
    );
    assert!(counts(&runs, "seed").iter().all(|&s| s == 7));
    assert!(
        strings(&runs, "capsim_version")
            .iter()
            .all(|v| v == env!("CARGO_PKG_VERSION"))
    );
    let hashes = strings(&runs, "scenario_hash");
    assert!(hashes.iter().all(|h| h.len() == 16 && *h == hashes[0]));
    // Each row's counts add up, and its GPU-hours too.
    let (arrived, completed, abandoned) = (
        counts(&runs, "jobs_arrived"),
        counts(&runs, "jobs_completed"),
        counts(&runs, "jobs_abandoned"),
    );
    let (priced_out, unserved, stranded) = (
        counts(&runs, "jobs_priced_out"),
        counts(&runs, "jobs_unserved"),
        counts(&runs, "jobs_stranded"),
    );
    let failed = counts(&runs, "jobs_failed");
    for idx in 0..runs.height() {
        assert_eq!(
            arrived[idx],
            completed[idx]
                + abandoned[idx]
                + priced_out[idx]
                + unserved[idx]
                + stranded[idx]
                + failed[idx]
        );
    }
    let (busy, idle, down) = (
        floats(&runs, "busy_gpu_hours"),
        floats(&runs, "idle_gpu_hours"),
        floats(&runs, "down_gpu_hours"),
    );
    let withdrawn = floats(&runs, "withdrawn_gpu_hours");
    let installed = floats(&runs, "installed_gpu_hours");
    for idx in 0..runs.height() {
        assert!(
            (busy[idx] + idle[idx] + down[idx] + withdrawn[idx] - installed[idx]).abs()
                < 1e-9 * installed[idx]
        );
        assert!((installed[idx] - 64.0 * 19_500.0).abs() < 1e-6);
    }

    let summary = read_table(&dir.join("summary.parquet")).expect("summary.parquet reads back");
    assert_eq!(names(&summary), SUMMARY_COLUMNS);
    let metrics_per_system = RUNS_COLUMNS.len() - 6;
    // Seven paired metrics, and for each how much pairing cut its variance.
    let paired_metrics = 7 + 7;
    assert_eq!(summary.height(), 2 * metrics_per_system + paired_metrics);
    // mmc-example sets no prices, so spend per GPU-hour and savings are undefined (n = 0),
    // and it has no reserved or spot jobs and no part-time owners.
    let undefined = [
        "spend_usd_per_gpu_hour",
        "savings_fraction",
        "savings_like_for_like",
        "mean_wait_hours_reserved",
        "mean_wait_hours_spot",
        "preemptions_per_spot_job",
        "withdrawn_demand_ratio",
    ];
    let metric = strings(&summary, "metric");
    for (idx, n) in counts(&summary, "n").into_iter().enumerate() {
        assert_eq!(
            n,
            if undefined.contains(&metric[idx].as_str()) {
                0
            } else {
                3
            },
            "{}",
            metric[idx]
        );
    }

    let savings = read_table(&dir.join("savings.parquet")).expect("savings.parquet reads back");
    assert_eq!(
        names(&savings),
        [
            "replication",
            "savings_fraction",
            "utilization_difference",
            "p95_wait_hours_difference",
            "lost_demand_fraction_difference",
            "savings_like_for_like",
            "work_served_only_in_a",
            "work_served_only_in_b",
            "scenario",
            "scenario_hash",
            "seed",
            "capsim_version"
        ]
    );
    assert_eq!(savings.height(), 3);

    let segments = read_table(&dir.join("segments.parquet")).expect("segments.parquet reads back");
    assert_eq!(names(&segments), SEGMENTS_COLUMNS);
    assert_eq!(
        segments.height(),
        3 * 2,
        "3 replications × 2 systems × 1 segment"
    );
    // One segment: its counts are the system's.
    assert_eq!(
        counts(&segments, "jobs_arrived"),
        counts(&runs, "jobs_arrived")
    );
    assert_eq!(
        counts(&segments, "jobs_served"),
        counts(&runs, "jobs_completed")
    );
    let segment_summary = read_table(&dir.join("segments_summary.parquet"))
        .expect("segments_summary.parquet reads back");
    assert_eq!(
        segment_summary.height(),
        2 * capsim::results::summaries::SEGMENT_MEASURES.len()
    );
    // One provider per system: its row is the system's own figures.
    let providers =
        read_table(&dir.join("providers.parquet")).expect("providers.parquet reads back");
    assert_eq!(
        names(&providers)[..13],
        [
            "replication",
            "system",
            "provider",
            "gpus_at_start",
            "gpus_at_horizon",
            "jobs_started",
            "busy_gpu_hours",
            "up_gpu_hours",
            "spend_usd",
            "revenue_usd",
            "protocol_revenue_usd",
            "price_at_horizon_usd",
            "utilization"
        ]
    );
    assert_eq!(strings(&providers, "provider"), strings(&runs, "system"));
    assert_eq!(
        counts(&providers, "gpus_at_start"),
        counts(&runs, "gpus_initial")
    );
    for (column, of_runs) in [
        ("busy_gpu_hours", "busy_gpu_hours"),
        ("spend_usd", "customer_spend_usd"),
        ("utilization", "utilization"),
    ] {
        for (a, b) in floats(&providers, column)
            .iter()
            .zip(floats(&runs, of_runs))
        {
            assert!(
                (a - b).abs() <= 1e-9 * b.abs().max(1.0),
                "{column}: {a} vs {b}"
            );
        }
    }
    let provider_summary = read_table(&dir.join("providers_summary.parquet"))
        .expect("providers_summary.parquet reads back");
    assert_eq!(
        provider_summary.height(),
        2 * capsim::results::summaries::PROVIDER_MEASURES.len()
    );
    let timeseries =
        read_table(&dir.join("timeseries.parquet")).expect("timeseries.parquet reads back");
    assert_eq!(
        names(&timeseries)[..7],
        ["system", "week", "metric", "mean", "p05", "p50", "p95"]
    );
    // The 20,000 h from time 0 hold 119 whole weeks; every weekly metric per week and
    // system (GPUs installed, utilization, queue, price, lost jobs, listed and verified).
    assert_eq!(capsim::metrics::catalog::Weekly::ALL.len(), 7);
    assert_eq!(timeseries.height(), 2 * 119 * 7);
    // The summary's mean of utilization is the mean of the runs' column.
    let metric = strings(&summary, "metric");
    let system = strings(&summary, "system");
    let idx = (0..summary.height())
        .find(|&i| metric[i] == "utilization" && system[i] == "centralized")
        .expect("row");
    let from_runs: Vec<f64> = floats(&runs, "utilization")
        .into_iter()
        .step_by(2)
        .collect();
    let mean = from_runs.iter().sum::<f64>() / 3.0;
    assert!((floats(&summary, "mean")[idx] - mean).abs() < 1e-15);
    let (low, high) = (
        floats(&summary, "ci95_low")[idx],
        floats(&summary, "ci95_high")[idx],
    );
    assert!(low < mean && mean < high);
}

/// Other readers users have: pyarrow (pandas' engine) and DuckDB open the files and see
/// the same rows and values as polars. Runs when `CAPSIM_PYTHON_READERS=1` (set by
/// `.ci/run`, which installs both); elsewhere it says so on stderr and checks nothing.
#[test]
fn other_readers_see_the_same_tables() {
    if std::env::var("CAPSIM_PYTHON_READERS").as_deref() != Ok("1") {
        eprintln!(
            "other_readers_see_the_same_tables: set CAPSIM_PYTHON_READERS=1 (needs python3 with pyarrow and duckdb)"
        );
        return;
    }
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
            "--quiet",
        ],
    );
    assert!(output.status.success(), "{:?}", text(&output));
    let dir = temp.path().join("out");
    let python = std::process::Command::new("python3")
        .arg(root().join("tests/readers/read_back.py"))
        .arg(&dir)
        .output()
        .expect("python3 runs");
    let (stdout, stderr) = text(&python);
    assert!(python.status.success(), "read_back.py failed: {stderr}");
    let runs = read_table(&dir.join("runs.parquet")).expect("polars reads");
    let events: u64 = counts(&runs, "events").iter().sum();
    let utilization: f64 = floats(&runs, "utilization").iter().sum();
    let yields = read_table(&dir.join("yields.parquet")).expect("polars reads");
    let returns = read_table(&dir.join("returns.parquet")).expect("polars reads");
    let expected_columns = format!(
        "\"pyarrow_runs_columns\": [{}]",
        RUNS_COLUMNS
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    assert!(stdout.contains(&expected_columns), "{stdout}");
    for fragment in [
        "\"pyarrow_runs_rows\": 4".to_string(),
        // Every runs column but the six of identity and provenance, per system, plus the four paired ones.
        format!(
            "\"pyarrow_summary_rows\": {}",
            2 * (RUNS_COLUMNS.len() - 6) + 7 + 7
        ),
        format!("\"pyarrow_events\": {events}"),
        "\"pyarrow_scenario_metadata\": \"mmc-example\"".to_string(),
        "\"duckdb_rows\": 4".to_string(),
        "\"pyarrow_savings_rows\": 2".to_string(),
        // mmc-example runs 20,000 h: 119 whole weeks.
        "\"duckdb_timeseries_weeks\": 119".to_string(),
        format!("\"duckdb_events\": {events}"),
        format!("\"duckdb_yields_rows\": {}", yields.height()),
        format!(
            "\"duckdb_yields_cohort_rows\": {}",
            yields.height() - yields.column("cohort").expect("cohort").null_count()
        ),
        format!("\"pyarrow_returns_rows\": {}", returns.height()),
        format!(
            "\"pyarrow_returns_null_irr\": {}",
            returns.column("irr").expect("irr").null_count()
        ),
    ] {
        assert!(stdout.contains(&fragment), "missing {fragment} in {stdout}");
    }
    let duck_sum: f64 = stdout
        .split("\"duckdb_utilization_sum\": ")
        .nth(1)
        .and_then(|rest| rest.trim_end_matches(['}', '\n']).parse().ok())
        .expect("sum");
    assert!(
        (duck_sum - utilization).abs() < 1e-12,
        "{duck_sum} vs {utilization}"
    );
    let book_value: f64 = floats(&yields, "book_value_usd").iter().sum();
    let duck_book: f64 = stdout
        .split("\"duckdb_book_value_sum\": ")
        .nth(1)
        .and_then(|rest| rest.split([',', '}']).next()?.trim().parse().ok())
        .expect("sum");
    assert!(
        (duck_book - book_value).abs() <= 1e-9 * book_value.abs().max(1.0),
        "{duck_book} vs {book_value}"
    );
}

/// The documented columns of `yields.parquet`, in order.
const YIELDS_COLUMNS: &[&str] = &[
    "replication",
    "system",
    "provider",
    "cohort",
    "year",
    "hours",
    "revenue_usd",
    "opex_power_usd",
    "opex_facility_usd",
    "opex_staff_usd",
    "protocol_fee_usd",
    "opex_usd",
    "ebitda_usd",
    "depreciation_usd",
    "tax_usd",
    "operating_cash_flow_usd",
    "capex_usd",
    "owned_hardware_usd",
    "disposals_usd",
    "terminal_value_usd",
    "net_cash_flow_usd",
    "cumulative_cash_usd",
    "capital_employed_usd",
    "book_value_usd",
    "yield",
    "utilization",
    "gpus",
    "scenario",
    "scenario_hash",
    "seed",
    "capsim_version",
];

/// The yield tables read back: documented columns, one row per replication × system ×
/// cohort × year, nulls exactly where a value does not exist, with a note saying why.
#[test]
fn yield_tables_round_trip_with_nulls_where_undefined() {
    let temp = crate::TempDir::create();
    std::fs::write(
        temp.path().join("yields.yaml"),
        "name: yields\nsimulation: {horizon_hours: 13140, replications: 3, seed: 4}\n\
         demand:\n  segments:\n    - name: jobs\n      arrivals_per_hour: 12\n      annual_growth: 1.0\n      duration_hours: {exponential: {mean: 2}}\n      patience_hours: 2\n\
         centralized:\n  gpus: 32\n  pricing: {usd_per_gpu_hour: 4.0}\n  costs: {capex_usd_per_gpu: 30000}\n\
         distributed:\n  pricing: {usd_per_gpu_hour: 2.0}\n  operators:\n    - {count: 4, gpus: 4}\n\
         \x20 entry: {hurdle_yield: 0.05, onboarding_weeks: 1, template: {gpus: 4}}\n",
    )
    .expect("write scenario");
    let output = capsim(
        temp.path(),
        &["run", "yields.yaml", "--out", "out", "--quiet"],
    );
    assert!(output.status.success(), "{:?}", text(&output));
    let dir = temp.path().join("out");

    let yields = read_table(&dir.join("yields.parquet")).expect("yields.parquet reads back");
    assert_eq!(names(&yields), YIELDS_COLUMNS);
    let cohort = yields
        .column("cohort")
        .expect("cohort")
        .u32()
        .expect("u32")
        .clone();
    let year = yields
        .column("year")
        .expect("year")
        .u32()
        .expect("u32")
        .clone();
    let system = strings(&yields, "system");
    let whole_rows = (0..yields.height())
        .filter(|&i| cohort.get(i).is_none())
        .count();
    // 13,140 h = a full year and a half year; years 0, 1, 2 for each system and replication.
    assert_eq!(whole_rows, 3 * 2 * 3);
    assert!(
        (0..yields.height()).all(|i| cohort.get(i).is_none() || system[i] == "distributed"),
        "cohorts only for the network"
    );
    let joined_later = (0..yields.height())
        .filter(|&i| cohort.get(i).is_some_and(|c| c > 0))
        .count();
    assert!(joined_later > 0, "operators joined after the start");
    let hours = floats(&yields, "hours");
    let yield_column = yields
        .column("yield")
        .expect("yield")
        .f64()
        .expect("f64")
        .clone();
    for (i, hours) in hours.iter().enumerate() {
        let expected_hours = match year.get(i) {
            Some(0) => 0.0,
            Some(1) => 8760.0,
            _ => 4380.0,
        };
        assert_eq!(*hours, expected_hours);
        // No capital is employed in year 0, so its yield is null.
        assert_eq!(
            yield_column.get(i).is_none(),
            year.get(i) == Some(0),
            "row {i}"
        );
    }

    let returns = read_table(&dir.join("returns.parquet")).expect("returns.parquet reads back");
    assert_eq!(
        names(&returns)[..10],
        [
            "replication",
            "system",
            "provider",
            "cohort",
            "npv_usd",
            "irr",
            "irr_note",
            "beats_hurdle",
            "payback_years",
            "payback_note"
        ]
    );
    let irr = returns
        .column("irr")
        .expect("irr")
        .f64()
        .expect("f64")
        .clone();
    let irr_note = returns
        .column("irr_note")
        .expect("note")
        .str()
        .expect("str")
        .clone();
    let payback = returns
        .column("payback_years")
        .expect("payback")
        .f64()
        .expect("f64")
        .clone();
    let payback_note = returns
        .column("payback_note")
        .expect("note")
        .str()
        .expect("str")
        .clone();
    for i in 0..returns.height() {
        assert_eq!(
            irr.get(i).is_none(),
            irr_note.get(i).is_some(),
            "an IRR or a reason, never both: row {i}"
        );
        assert_eq!(
            payback.get(i).is_none(),
            payback_note.get(i).is_some(),
            "a payback or a reason: row {i}"
        );
    }

    let summary =
        read_table(&dir.join("yields_summary.parquet")).expect("yields_summary.parquet reads back");
    assert_eq!(
        names(&summary)[..14],
        [
            "system",
            "provider",
            "cohort",
            "year",
            "metric",
            "mean",
            "std",
            "ci95_low",
            "ci95_high",
            "p05",
            "p50",
            "p95",
            "n",
            "n_undefined"
        ]
    );
    let (metric, n, undefined) = (
        strings(&summary, "metric"),
        counts(&summary, "n"),
        counts(&summary, "n_undefined"),
    );
    let summary_cohort = summary
        .column("cohort")
        .expect("cohort")
        .u32()
        .expect("u32")
        .clone();
    for i in (0..summary.height()).filter(|&i| summary_cohort.get(i).is_none()) {
        assert_eq!(
            n[i] + undefined[i],
            3,
            "{}: every replication counted once",
            metric[i]
        );
    }
}
