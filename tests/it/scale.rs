//! Monte Carlo at scale: any split of a run's replications, merged, gives exactly the
//! tables one run writes; extending a run later does too; a merge refuses incomplete or
//! mixed inputs; `--target-ci` stops when the interval is narrow enough; the summary says
//! how much common random numbers cut the variance of paired metrics.

use std::path::Path;

use crate::{capsim, text};

/// Both systems, prices, failures, part-time operators, entry and exit: every table and
/// every column has something in it.
const SCENARIO: &str = "name: shards\nsimulation: {horizon_hours: 700, warmup_hours: 50, replications: 6, seed: 31}\n\
demand:\n  segments:\n    - name: jobs\n      arrivals_per_hour: 20\n      gpus_per_job: {1: 0.8, 2: 0.2}\n      duration_hours: {exponential: {mean: 1.5}}\n      patience_hours: 3\n\
centralized:\n  gpus: 32\n  pricing: {usd_per_gpu_hour: 4.0}\n  costs: {capex_usd_per_gpu: 30000}\n\
distributed:\n  pricing: {usd_per_gpu_hour: 2.0}\n  operators:\n    - {count: 4, gpus: 8, mtbf_hours: 2000, availability: 0.7, availability_cycle_hours: 24}\n\
\x20 entry: {hurdle_yield: 0.05, onboarding_weeks: 1, template: {gpus: 8}}\n\
\x20 exit: {below_yield: 0.0, after_reviews: 2}\n";

const TABLES: [&str; 8] = [
    "runs",
    "summary",
    "timeseries",
    "savings",
    "yields",
    "returns",
    "yields_summary",
    "weeks",
];

fn ok(dir: &Path, args: &[&str]) {
    let output = capsim(dir, args);
    assert!(
        output.status.success(),
        "capsim {args:?}: {:?}",
        text(&output)
    );
}

fn same_tables(a: &Path, b: &Path) {
    for table in TABLES {
        let name = format!("{table}.parquet");
        let (left, right) = (
            std::fs::read(a.join(&name)).expect("left"),
            std::fs::read(b.join(&name)).expect("right"),
        );
        assert!(
            left == right,
            "{name} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

#[test]
fn shards_merged_give_the_bytes_of_one_run() {
    let temp = crate::TempDir::create();
    let dir = temp.path();
    std::fs::write(dir.join("s.yaml"), SCENARIO).expect("write scenario");
    ok(dir, &["run", "s.yaml", "--out", "one", "--quiet"]);
    // 6 replications in 4 shards: blocks of 1, 2, 1 and 2.
    for shard in ["0/4", "1/4", "2/4", "3/4"] {
        ok(
            dir,
            &[
                "run",
                "s.yaml",
                "--out",
                "sharded",
                "--shard",
                shard,
                "--quiet",
                "--threads",
                "1",
            ],
        );
    }
    let shard_runs =
        capsim::output::read_table(&dir.join("sharded/shard=1/runs.parquet")).expect("shard table");
    assert_eq!(
        shard_runs.height(),
        2 * 2,
        "shard 1 holds replications 1 and 2 of both systems"
    );
    assert!(
        !dir.join("sharded/shard=0/summary.parquet").exists(),
        "shards write raw tables only"
    );
    ok(dir, &["merge", "sharded", "--out", "merged", "--quiet"]);
    same_tables(&dir.join("one"), &dir.join("merged"));

    // The index may come from the array job's environment.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_capsim"))
        .args([
            "run", "s.yaml", "--out", "from-env", "--shard", "2", "--quiet",
        ])
        .env("SLURM_ARRAY_TASK_ID", "1")
        .current_dir(dir)
        .output()
        .expect("runs");
    assert!(output.status.success(), "{:?}", text(&output));
    let from_env = std::fs::read(dir.join("from-env/shard=1/runs.parquet")).expect("shard 1 of 2");
    let direct = capsim(
        dir,
        &[
            "run", "s.yaml", "--out", "direct", "--shard", "1/2", "--quiet",
        ],
    );
    assert!(direct.status.success());
    assert_eq!(
        from_env,
        std::fs::read(dir.join("direct/shard=1/runs.parquet")).expect("direct")
    );

    // A run extended later by replications 3..6 merges into the same tables too.
    ok(
        dir,
        &[
            "run",
            "s.yaml",
            "--replications",
            "3",
            "--out",
            "first",
            "--quiet",
        ],
    );
    ok(
        dir,
        &[
            "run",
            "s.yaml",
            "--replications",
            "3",
            "--replications-from",
            "3",
            "--out",
            "later",
            "--quiet",
        ],
    );
    ok(
        dir,
        &["merge", "first", "later", "--out", "extended", "--quiet"],
    );
    same_tables(&dir.join("one"), &dir.join("extended"));
}

/// Small enough to run hundreds of replications in a second or two.
const MANY: &str = "name: many\nsimulation: {horizon_hours: 400, warmup_hours: 20, replications: 600, seed: 5}\n\
demand:\n  segments:\n    - name: jobs\n      arrivals_per_hour: 1\n      gpus_per_job: 1\n      duration_hours: {exponential: {mean: 2}}\n      patience_hours: 4\n\
centralized:\n  gpus: 4\n  pricing: {usd_per_gpu_hour: 4.0}\n\
distributed:\n  pricing: {usd_per_gpu_hour: 2.0}\n  operators:\n    - {count: 2, gpus: 2}\n";

/// Row groups in a Parquet file.
fn row_groups(path: &Path) -> usize {
    use polars::prelude::*;
    let mut reader = ParquetReader::new(std::fs::File::open(path).expect("open"));
    reader.get_metadata().expect("metadata").row_groups.len()
}

/// Records go to disk in row groups of 256 replications as they finish; shards cut
/// mid-group and whatever the thread count, the merged files are the same bytes.
#[test]
fn streamed_row_groups_are_the_same_for_any_split_or_thread_count() {
    let temp = crate::TempDir::create();
    let dir = temp.path();
    std::fs::write(dir.join("s.yaml"), MANY).expect("write scenario");
    ok(
        dir,
        &["run", "s.yaml", "--out", "one", "--quiet", "--threads", "1"],
    );
    ok(
        dir,
        &["run", "s.yaml", "--out", "two", "--quiet", "--threads", "2"],
    );
    same_tables(&dir.join("one"), &dir.join("two"));
    assert_eq!(capsim::results::REPLICATIONS_PER_ROW_GROUP, 256);
    for table in ["runs", "weeks", "yields", "returns"] {
        assert_eq!(
            row_groups(&dir.join(format!("one/{table}.parquet"))),
            3,
            "{table}: 600 replications in groups of 256"
        );
    }
    assert_eq!(
        capsim::output::read_table(&dir.join("one/runs.parquet"))
            .expect("runs")
            .height(),
        2 * 600
    );
    // Shards of 200 replications: every boundary falls inside a row group.
    for shard in ["0/3", "1/3", "2/3"] {
        ok(
            dir,
            &[
                "run", "s.yaml", "--out", "sharded", "--shard", shard, "--quiet",
            ],
        );
    }
    ok(dir, &["merge", "sharded", "--out", "merged", "--quiet"]);
    same_tables(&dir.join("one"), &dir.join("merged"));
}

#[test]
fn merge_refuses_missing_doubled_or_foreign_inputs() {
    let temp = crate::TempDir::create();
    let dir = temp.path();
    std::fs::write(dir.join("s.yaml"), SCENARIO).expect("write scenario");
    for shard in ["0/3", "2/3"] {
        ok(
            dir,
            &[
                "run", "s.yaml", "--out", "gappy", "--shard", shard, "--quiet",
            ],
        );
    }
    let refused = |args: &[&str], phrase: &str| {
        let output = capsim(dir, args);
        let (_, stderr) = text(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(phrase),
            "{args:?}: expected {phrase:?} in {stderr}"
        );
        assert!(!dir.join("never").exists(), "nothing written");
    };
    refused(
        &["merge", "gappy", "--out", "never"],
        "shard 1 of 3 (replications 0..6) is missing",
    );
    ok(
        dir,
        &[
            "run",
            "s.yaml",
            "--replications",
            "2",
            "--out",
            "a",
            "--quiet",
        ],
    );
    refused(
        &["merge", "a", "a", "--out", "never"],
        "in more than one input",
    );
    ok(
        dir,
        &[
            "run",
            "s.yaml",
            "--replications",
            "2",
            "--replications-from",
            "3",
            "--out",
            "c",
            "--quiet",
        ],
    );
    refused(&["merge", "a", "c", "--out", "never"], "missing 2");
    ok(
        dir,
        &[
            "run",
            "s.yaml",
            "--replications",
            "2",
            "--replications-from",
            "2",
            "--seed",
            "5",
            "--out",
            "other-seed",
            "--quiet",
        ],
    );
    refused(&["merge", "a", "other-seed", "--out", "never"], "seed");
    refused(&["merge", "s.yaml", "--out", "never"], "cannot read");
    refused(
        &["run", "s.yaml", "--shard", "7/7", "--out", "never"],
        "does not exist",
    );
    // 6 replications in 7 blocks: the first is empty.
    refused(
        &["run", "s.yaml", "--shard", "0/7", "--out", "never"],
        "has no replications",
    );
}

/// `--target-ci` adds replications until the half-width is met: the same replications
/// whatever the thread count, the interval as asked, and the tables those of a plain run
/// of that many replications.
#[test]
fn target_ci_runs_until_the_interval_is_narrow_enough() {
    let temp = crate::TempDir::create();
    let dir = temp.path();
    std::fs::write(dir.join("s.yaml"), SCENARIO).expect("write scenario");
    let target = [
        "--target-ci",
        "centralized.utilization=0.001",
        "--replications",
        "3",
        "--quiet",
    ];
    ok(
        dir,
        &[
            &["run", "s.yaml", "--out", "t1", "--threads", "1"],
            &target[..],
        ]
        .concat(),
    );
    ok(
        dir,
        &[
            &["run", "s.yaml", "--out", "t2", "--threads", "2"],
            &target[..],
        ]
        .concat(),
    );
    same_tables(&dir.join("t1"), &dir.join("t2"));
    let summary = capsim::output::read_table(&dir.join("t1/summary.parquet")).expect("summary");
    let (system, metric) = (
        summary
            .column("system")
            .expect("system")
            .str()
            .expect("str"),
        summary.column("metric").expect("m").str().expect("str"),
    );
    let row = (0..summary.height())
        .find(|&i| system.get(i) == Some("centralized") && metric.get(i) == Some("utilization"))
        .expect("row");
    let column = |name: &str| {
        summary
            .column(name)
            .expect("column")
            .f64()
            .expect("f64")
            .get(row)
            .expect("value")
    };
    let half_width = (column("ci95_high") - column("ci95_low")) / 2.0;
    let n = summary
        .column("n")
        .expect("n")
        .u64()
        .expect("u64")
        .get(row)
        .expect("n");
    assert!(
        half_width <= 0.001,
        "half-width {half_width} after {n} replications"
    );
    assert!(n > 3, "3 replications were not enough ({n} run)");
    // The same tables as a plain run of that many replications.
    ok(
        dir,
        &[
            "run",
            "s.yaml",
            "--out",
            "plain",
            "--replications",
            &n.to_string(),
            "--quiet",
        ],
    );
    same_tables(&dir.join("t1"), &dir.join("plain"));
    // A cap stops it, and says so.
    let capped = capsim(
        dir,
        &[
            "run",
            "s.yaml",
            "--out",
            "capped",
            "--target-ci",
            "savings_fraction=0.000001",
            "--replications",
            "2",
            "--max-replications",
            "4",
        ],
    );
    let (_, stderr) = text(&capped);
    assert!(
        capped.status.success()
            && stderr.contains("NOT met")
            && stderr.contains("after 4 replications"),
        "{stderr}"
    );
    // A metric no replication can narrow is refused, not chased up to the cap.
    let undefined = capsim(
        dir,
        &[
            "run",
            "s.yaml",
            "--out",
            "never",
            "--target-ci",
            "mean_wait_hours_reserved=0.1",
            "--replications",
            "2",
        ],
    );
    let (_, stderr) = text(&undefined);
    assert_eq!(undefined.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("has no values") && !dir.join("never").exists(),
        "{stderr}"
    );
}

/// Two small pools on the same demand: their utilizations move together, so pairing
/// them on the same jobs cuts the variance of the difference (11.8× measured with these
/// 20 replications; a factor of 4 leaves room for the estimate's own noise). Savings
/// at fixed prices barely vary, so no factor is claimed for them.
#[test]
fn common_random_numbers_cut_the_variance_of_paired_differences() {
    let yaml = "name: vr\nsimulation: {horizon_hours: 2000, warmup_hours: 100, replications: 20, seed: 8}\n\
        demand:\n  segments:\n    - name: jobs\n      arrivals_per_hour: 12\n      duration_hours: {exponential: {mean: 1}}\n      patience_hours: 0.5\n\
        centralized: {gpus: 14, pricing: {usd_per_gpu_hour: 3.0}}\n\
        distributed:\n  pricing: {usd_per_gpu_hour: 2.0}\n  operators: [{count: 2, gpus: 8, mtbf_hours: 500, mttr_hours: 10}]\n";
    let scenario = crate::scenario(yaml);
    let rows = capsim::montecarlo::run(&scenario, None).expect("runs");
    let results = capsim::results::Results::from_rows(&rows, 0.1);
    let [_, utilization, _, lost, ..] = results.crn_variance_reduction();
    assert!(
        utilization > 4.0,
        "utilization_difference: variance cut only {utilization}×"
    );
    assert!(
        lost > 1.5,
        "lost_demand_fraction_difference: variance cut only {lost}×"
    );
    // And it is in the summary, under the paired label.
    let summary = results.summary_rows(false);
    let row = summary
        .iter()
        .find(|r| r.metric == "utilization_difference_crn_variance_reduction")
        .expect("row");
    assert_eq!(
        (row.system.as_str(), row.stats.mean.to_bits(), row.stats.n),
        (capsim::output::PAIRED, utilization.to_bits(), 20)
    );
}

/// A run whose Parquet footers alone (which grow with the row groups written) would not
/// fit in memory is refused before it starts, with the estimate, and nothing is written.
#[test]
fn runs_too_many_replications_for_memory_are_refused_up_front() {
    let temp = crate::TempDir::create();
    let dir = temp.path();
    std::fs::write(dir.join("s.yaml"), SCENARIO).expect("write scenario");
    let output = capsim(
        dir,
        &[
            "run",
            "s.yaml",
            "--replications",
            "4000000000",
            "--max-events",
            "100000000000000000",
            "--out",
            "never",
        ],
    );
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("Parquet footers kept until the files are finished")
            && stderr.contains("--shard"),
        "{stderr}"
    );
    assert!(!dir.join("never").exists());
}

/// The size estimate counts outages: GPUs failing every few minutes, or taken back by their
/// owners almost at once, make many more events than their jobs (2 per GPU per mean time
/// in service), and the estimate says so instead of letting such a run go on for ever.
#[test]
fn the_size_estimate_counts_failures_and_owners_taking_gpus_back() {
    let yaml = |extra: &str| {
        format!(
            "name: outages\nsimulation: {{horizon_hours: 1000, replications: 2, seed: 1}}\n\
             demand:\n  segments:\n    - name: jobs\n      arrivals_per_hour: 1\n      duration_hours: 1\n\
             distributed:\n  operators:\n    - gpus: 100\n{extra}"
        )
    };
    let jobs_only = capsim::montecarlo::estimate(&crate::scenario(&yaml(""))).events;
    let failing =
        capsim::montecarlo::estimate(&crate::scenario(&yaml("      mtbf_hours: 0.01\n"))).events;
    // 2 × 100 GPUs × 1,000 h ÷ 0.01 h × 2 replications = 4·10⁷ more.
    assert!(
        (failing - jobs_only - 4e7).abs() < 1.0,
        "{failing} {jobs_only}"
    );
    let cycling = capsim::montecarlo::estimate(&crate::scenario(&yaml(
        "      availability: 0.001\n      availability_cycle_hours: 10\n",
    )))
    .events;
    // Offered for 0.001 × 10 h at a time: 2 × 100 × 1,000 ÷ 0.01 × 2 = 4·10⁷ again.
    assert!(
        (cycling - jobs_only - 4e7).abs() < 1.0,
        "{cycling} {jobs_only}"
    );
}

/// A run refused as too large names the keys that make it so, with their values and where
/// they are written: the segment whose arrivals make the events (a second one that makes
/// a tenth or more too), the horizon, the replications; `run` and `validate` alike.
#[test]
fn a_run_refused_as_too_large_names_its_keys() {
    let temp = crate::TempDir::create();
    let dir = temp.path();
    let yaml = "name: big\nsimulation: {horizon_hours: 2000, replications: 4, seed: 1}\n\
        demand:\n  segments:\n    - name: jobs\n      arrivals_per_hour: 1.0e12\n\
        \x20     duration_hours: {exponential: {mean: 1}}\n    - name: small\n\
        \x20     arrivals_per_hour: 5\n      duration_hours: 1\ncentralized: {gpus: 64}\n";
    std::fs::write(dir.join("big.yaml"), yaml).expect("write");
    for command in ["validate", "run"] {
        let output = capsim(dir, &[command, "big.yaml"]);
        let (_, stderr) = text(&output);
        assert_eq!(output.status.code(), Some(2), "{command}: {stderr}");
        assert!(
            stderr.contains(
                "demand.segments[0].arrivals_per_hour = 1000000000000 (big.yaml:6:26) × simulation.horizon_hours = 2000 (big.yaml:2:29) × 4 replications × 1 system: ~16000.0 T events (100%)"
            ),
            "{command}: {stderr}"
        );
        // 5 jobs an hour make no visible share: only the segment that matters is named.
        assert!(!stderr.contains("segments[1]"), "{command}: {stderr}");
    }
    assert!(!dir.join("notebooks-output").exists());
}
