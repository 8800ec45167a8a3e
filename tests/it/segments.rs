//! Per-segment tallies and savings like for like: the segments add up to the system,
//! they see the same offered work in both systems, and on a case whose two baskets differ
//! `savings_like_for_like` is the hand-computed Laspeyres index while `savings_fraction`
//! (the ratio of mean prices paid) is not.

use capsim::metrics::summarise;
use capsim::model::SystemKind;
use capsim::montecarlo;
use capsim::results::Results;

use crate::scenario;

/// Two segments of equal load. `reserved` buys only the reserved tier (half price in the
/// cloud); `batch` buys on demand and will pay at most uniform(1, 6) $/GPU-h, so the
/// cloud's $4 keeps only 40% of it while the network's flat $2 keeps 80%. The cloud's
/// basket leans to its cheap reserved cell; like for like, both baskets are the same.
const BASKETS: &str = "name: baskets
simulation: {horizon_hours: 3000, warmup_hours: 200, replications: 6, seed: 11}
demand:
  segments:
    - name: reserved
      arrivals_per_hour: 20
      duration_hours: {exponential: {mean: 1}}
      reserved_share: 1
    - name: batch
      arrivals_per_hour: 20
      duration_hours: {exponential: {mean: 1}}
      max_price_usd_per_gpu_hour: {uniform: {min: 1, max: 6}}
centralized:
  gpus: 200
  pricing: {usd_per_gpu_hour: 4, reserved_discount: 0.5}
distributed:
  gpus: 200
  pricing: {usd_per_gpu_hour: 2}
";

fn results(yaml: &str) -> Results {
    let rows = montecarlo::run(&scenario(yaml), None).unwrap_or_else(|e| panic!("{e}"));
    Results::from_rows(&rows, 0.1)
}

/// Each replication's index by hand: every cell is served in both systems at its known
/// price (cloud: reserved $2, batch $4; network: $2 for both), weighed by the offered
/// work that `segments.parquet` records.
#[test]
fn like_for_like_is_the_laspeyres_index_when_baskets_differ() {
    let results = results(BASKETS);
    let savings = results.savings();
    assert_eq!(savings.len(), 6);
    let mut gaps = Vec::new();
    for row in &savings {
        let offered = |system: SystemKind, segment: &str| -> f64 {
            results
                .segments
                .iter()
                .find(|r| {
                    r.replication == row.replication
                        && r.system == system
                        && r.row.segment == segment
                })
                .map(|r| r.row.work_offered_gpu_hours())
                .expect("a row per segment")
        };
        let (w_reserved, w_batch) = (
            offered(SystemKind::Centralized, "reserved"),
            offered(SystemKind::Centralized, "batch"),
        );
        // The same work is offered to both systems, bit for bit.
        assert_eq!(
            w_reserved.to_bits(),
            offered(SystemKind::Distributed, "reserved").to_bits()
        );
        assert_eq!(
            w_batch.to_bits(),
            offered(SystemKind::Distributed, "batch").to_bits()
        );
        let by_hand = 1.0 - (2.0 * w_reserved + 2.0 * w_batch) / (2.0 * w_reserved + 4.0 * w_batch);
        assert!(
            (row.savings_like_for_like - by_hand).abs() < 1e-9,
            "replication {}: {} vs hand {by_hand}",
            row.replication,
            row.savings_like_for_like
        );
        assert_eq!(row.work_served_only_in_a, 0.0);
        assert_eq!(row.work_served_only_in_b, 0.0);
        gaps.push(row.savings_like_for_like - row.savings_fraction);
    }
    // The ratio of mean prices credits the cloud with its reserved-heavy basket: with equal
    // loads its mean price is (2 + 0.4 · 4) ÷ 1.4 ≈ $2.57, so savings_fraction ≈ 0.22
    // against 1/3 like for like; the gap is far outside its replication noise.
    let gap = summarise(&gaps);
    assert!(
        gap.ci95_low > 0.08 && gap.ci95_high < 0.14,
        "gap like for like − savings_fraction: {gap:?}"
    );
}

/// The segments add up to their system and keep their own streams: a segment's counts
/// are the same jobs in both systems, and each row is conserved.
#[test]
fn segments_add_up_and_see_the_same_jobs() {
    let results = results(BASKETS);
    for run in &results.runs {
        let rows: Vec<_> = results
            .segments
            .iter()
            .filter(|r| r.replication == run.replication && r.system == run.system)
            .collect();
        assert_eq!(rows.len(), 2);
        let arrived: u64 = rows.iter().map(|r| r.row.jobs_arrived).sum();
        let column = |name: &str| {
            run.get(capsim::metrics::catalog::Metric::from_name(name).expect("a run metric"))
                .as_u64()
        };
        assert_eq!(arrived, column("jobs_arrived"));
        for r in &rows {
            assert_eq!(r.row.jobs_arrived, r.row.jobs_served + r.row.jobs_lost());
        }
    }
    for replication in 0..6 {
        let of = |system: SystemKind, segment: &str| {
            results
                .segments
                .iter()
                .find(|r| {
                    r.replication == replication && r.system == system && r.row.segment == segment
                })
                .map(|r| r.row.clone())
                .expect("a row")
        };
        for segment in ["reserved", "batch"] {
            let (cloud, network) = (
                of(SystemKind::Centralized, segment),
                of(SystemKind::Distributed, segment),
            );
            assert_eq!(cloud.jobs_arrived, network.jobs_arrived);
        }
        // Only the batch segment has a maximum price: the cloud prices out about 60% of
        // it and the network about 20%; the reserved segment is never priced out.
        let batch = of(SystemKind::Centralized, "batch");
        let share = batch.jobs_priced_out as f64 / batch.jobs_arrived as f64;
        assert!((share - 0.6).abs() < 0.02, "cloud batch priced out {share}");
        let batch = of(SystemKind::Distributed, "batch");
        let share = batch.jobs_priced_out as f64 / batch.jobs_arrived as f64;
        assert!(
            (share - 0.2).abs() < 0.02,
            "network batch priced out {share}"
        );
        assert_eq!(of(SystemKind::Centralized, "reserved").jobs_priced_out, 0);
    }
}

/// End to end through the files: the like-for-like savings that `savings.parquet` holds
/// are recomputed from `segments.parquet` by `capsim compare` (each run's mean), and a
/// dearer cloud raises them.
#[test]
fn compare_reads_like_for_like_from_the_segments_table() {
    let temp = crate::TempDir::create();
    std::fs::write(temp.path().join("baskets.yaml"), BASKETS).expect("write");
    let run = |out: &str, extra: &[&str]| {
        let mut args = vec!["run", "baskets.yaml", "--out", out, "--quiet"];
        args.extend_from_slice(extra);
        let output = crate::capsim(temp.path(), &args);
        assert!(output.status.success(), "{:?}", crate::text(&output));
    };
    run("a", &[]);
    run("b", &["--set", "centralized.pricing.usd_per_gpu_hour=5"]);
    let output = crate::capsim(temp.path(), &["compare", "a", "b", "--out", "cmp"]);
    assert!(output.status.success(), "{:?}", crate::text(&output));
    let read = |path: &str| {
        capsim::output::read_table(&temp.path().join(path)).unwrap_or_else(|e| panic!("{e}"))
    };
    let mean_in_savings = |dir: &str| {
        let savings = read(&format!("{dir}/savings.parquet"));
        let column = savings
            .column("savings_like_for_like")
            .expect("column")
            .f64()
            .expect("f64");
        let values: Vec<f64> = column.into_no_null_iter().collect();
        values.iter().sum::<f64>() / values.len() as f64
    };
    let table = read("cmp/compare.parquet");
    let metric = table.column("metric").expect("metric").str().expect("str");
    let row = (0..table.height())
        .find(|&i| metric.get(i) == Some("savings_like_for_like"))
        .expect("a like-for-like row");
    let value = |name: &str| {
        table
            .column(name)
            .expect(name)
            .f64()
            .expect("f64")
            .get(row)
            .expect("a value")
    };
    assert!((value("mean_a") - mean_in_savings("a")).abs() < 1e-12);
    assert!((value("mean_b") - mean_in_savings("b")).abs() < 1e-12);
    // At $5 the cloud keeps 20% of the batch work: by hand with equal offered work,
    // 1 − 4 ÷ (2.5 + 5) ≈ 0.467 against ≈ 1/3 at $4.
    assert!(
        value("difference") > 0.1 && value("difference") < 0.16,
        "{}",
        value("difference")
    );
}
