//! `capsim sweep`: points on the same seeds, monotone effects, common random numbers
//! between points, the objective under constraints, determinism.

use capsim::model::SystemKind;
use capsim::scenario;
use capsim::sweep::{self, Constraint, Design, Objective};

use crate::{capsim, text};

/// One pool with a maximum price spread over $1–10: a higher list price prices more jobs out.
const PRICED: &str = "name: priced\nsimulation: {horizon_hours: 600, warmup_hours: 50, replications: 6, seed: 3}\n\
demand:\n  segments:\n    - name: jobs\n      arrivals_per_hour: 10\n      duration_hours: {exponential: {mean: 1}}\n      patience_hours: 0.5\n      max_price_usd_per_gpu_hour: {uniform: {min: 1, max: 10}}\n\
centralized:\n  gpus: 14\n  pricing: {usd_per_gpu_hour: 2.0}\n";

fn write(dir: &std::path::Path, text: &str) -> std::path::PathBuf {
    let path = dir.join("s.yaml");
    std::fs::write(&path, text).expect("write scenario");
    path
}

/// Runs a grid over one axis through the library.
fn grid(
    path: &std::path::Path,
    axis: &str,
    replications: u64,
    seed: Option<u64>,
) -> Vec<sweep::PointResult> {
    let axes = vec![sweep::parse_axis(axis).expect("axis")];
    let points = sweep::points(&axes, Design::Grid, 0).expect("points");
    let scenarios: Vec<_> = points
        .into_iter()
        .map(|values| {
            let mut s = scenario::load_with(path, &sweep::point_overrides(&axes, &values))
                .expect("valid point");
            if let Some(seed) = seed {
                s.simulation.seed = seed;
            }
            (values, s)
        })
        .collect();
    sweep::run(
        &scenarios,
        replications,
        None,
        &|_| {},
        &capsim::montecarlo::NEVER_STOP,
    )
    .expect("sweep runs")
}

fn mean(point: &sweep::PointResult, metric: &str) -> f64 {
    sweep::stats(
        point
            .series(Some(&SystemKind::Centralized.into()), metric)
            .expect("series"),
    )
    .mean
}

#[test]
fn a_higher_price_loses_more_demand_at_every_step() {
    let temp = crate::TempDir::create();
    let path = write(temp.path(), PRICED);
    let results = grid(
        &path,
        "centralized.pricing.usd_per_gpu_hour=1,2,4,6,8",
        6,
        None,
    );
    let lost: Vec<f64> = results
        .iter()
        .map(|p| mean(p, "lost_demand_fraction"))
        .collect();
    assert!(
        lost.windows(2).all(|w| w[0] < w[1]),
        "lost demand by price: {lost:?}"
    );
    // At $8 the jobs whose maximum is under $8 (7/9 of them) are priced out.
    assert!((lost[4] - 7.0 / 9.0).abs() < 0.03, "{lost:?}");
}

/// The same seeds at every point make the difference between two points far less noisy
/// than two independent runs would: here a pool of 14 vs 15 GPUs, utilization, 30
/// replications. Measured: 330× (seed 3 against seed 1000); asserted > 50.
#[test]
fn common_seeds_cut_the_variance_of_differences_between_points() {
    let temp = crate::TempDir::create();
    let path = write(temp.path(), PRICED);
    let same = grid(&path, "centralized.gpus=14,15", 30, None);
    let other = grid(&path, "centralized.gpus=14,15", 30, Some(1_000));
    let series = |p: &sweep::PointResult| {
        p.series(Some(&SystemKind::Centralized.into()), "utilization")
            .expect("series")
            .to_vec()
    };
    let variance = |a: &[f64], b: &[f64]| {
        let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
        capsim::metrics::summarise(&d).std.powi(2)
    };
    let paired = variance(&series(&same[0]), &series(&same[1]));
    let independent = variance(&series(&same[0]), &series(&other[1]));
    let factor = independent / paired;
    assert!(
        factor > 50.0,
        "common seeds cut the variance only {factor}×"
    );
}

/// λ = 10, 1-hour jobs, patience 0.5 h: 8 GPUs lose far more than 5% of the demand, 20
/// and 40 lose almost none; 20 is busier. The objective picks 20, then 40, and the
/// paired difference says the win is real.
#[test]
fn the_objective_picks_the_best_feasible_point() {
    let temp = crate::TempDir::create();
    let path = write(
        temp.path(),
        &PRICED.replace(
            "      max_price_usd_per_gpu_hour: {uniform: {min: 1, max: 10}}\n",
            "",
        ),
    );
    let results = grid(&path, "centralized.gpus=8,20,40", 6, None);
    let objective = Objective::parse("max:centralized.utilization").expect("objective");
    let constraint =
        Constraint::parse("centralized.lost_demand_fraction<=0.05").expect("constraint");
    assert!(!constraint.holds(&results[0]), "8 GPUs lose more than 5%");
    let choice = sweep::choose(&results, &objective, &[constraint]).expect("a feasible point");
    assert_eq!(
        (choice.best, choice.runner_up, choice.feasible),
        (1, Some(2), 2)
    );
    let difference = choice.difference.expect("paired difference");
    assert!(
        difference.ci95_low > 0.2,
        "20 GPUs are about twice as busy as 40: {difference:?}"
    );
    let impossible = Constraint::parse("centralized.lost_demand_fraction<=-1").expect("constraint");
    assert!(sweep::choose(&results, &objective, &[impossible]).is_none());
}

/// From the command line: the design size is said first, sweep.parquet has a row per
/// point × system with the varied value as a column, the same bytes on 1 and 2 threads;
/// bad axes and measures exit 2 and write nothing.
#[test]
fn sweep_command_writes_the_same_table_on_any_thread_count() {
    let temp = crate::TempDir::create();
    let dir = temp.path();
    write(dir, PRICED);
    let args = |out: &str, threads: &str| {
        vec![
            "sweep",
            "s.yaml",
            "--vary",
            "centralized.pricing.usd_per_gpu_hour=2..6:2",
            "--replications",
            "4",
            "--out",
            out,
            "--threads",
            threads,
            "--objective",
            "min:centralized.lost_demand_fraction",
            "--constraint",
            "centralized.utilization>=0.1",
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<String>>()
    };
    let one = capsim(
        dir,
        &args("one", "1")
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    let (stdout, stderr) = text(&one);
    assert!(one.status.success(), "{stderr}");
    assert!(
        stderr.contains("3 points × 4 replications = 12 system runs"),
        "{stderr}"
    );
    assert!(
        stdout.contains("best: point 0 (centralized.pricing.usd_per_gpu_hour=2)"),
        "{stdout}"
    );
    let two = capsim(
        dir,
        &args("two", "2")
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert!(two.status.success());
    let read =
        |run: &str| std::fs::read(dir.join(format!("{run}/sweep.parquet"))).expect("sweep.parquet");
    assert!(
        read("one") == read("two"),
        "sweep.parquet differs between 1 and 2 threads"
    );
    let table = capsim::output::read_table(&dir.join("one/sweep.parquet")).expect("table");
    assert_eq!(table.height(), 3);
    let prices = table
        .column("centralized.pricing.usd_per_gpu_hour")
        .expect("axis column")
        .f64()
        .expect("f64");
    assert_eq!(
        (0..3).map(|i| prices.get(i)).collect::<Vec<_>>(),
        vec![Some(2.0), Some(4.0), Some(6.0)]
    );
    assert!(
        table.column("lost_demand_fraction_ci95_high").is_ok()
            && table.column("savings_fraction_mean").is_ok()
            && table.column("savings_like_for_like_mean").is_ok()
    );

    // A --zip group varies together and is crossed with the other axis: 2 × 2 points.
    let zipped = capsim(
        dir,
        &[
            "sweep",
            "s.yaml",
            "--vary",
            "centralized.gpus=12,14",
            "--vary",
            "centralized.pricing.usd_per_gpu_hour=2,4",
            "--vary",
            "demand.segments[0].arrivals_per_hour=8,12",
            "--zip",
            "centralized.pricing.usd_per_gpu_hour,demand.segments[0].arrivals_per_hour",
            "--replications",
            "1",
            "--out",
            "zipped",
            "--quiet",
        ],
    );
    assert!(zipped.status.success(), "{:?}", text(&zipped));
    let table = capsim::output::read_table(&dir.join("zipped/sweep.parquet")).expect("table");
    let price = table
        .column("centralized.pricing.usd_per_gpu_hour")
        .expect("price")
        .f64()
        .expect("f64")
        .clone();
    let rate = table
        .column("demand.segments[0].arrivals_per_hour")
        .expect("rate")
        .f64()
        .expect("f64")
        .clone();
    let pairs: Vec<(f64, f64)> = (0..table.height())
        .map(|i| (price.get(i).expect("p"), rate.get(i).expect("r")))
        .collect();
    assert_eq!(
        pairs,
        vec![(2.0, 8.0), (4.0, 12.0), (2.0, 8.0), (4.0, 12.0)]
    );

    for (flag, value, phrase) in [
        ("--zip", "centralized.gpus,nope", "not a --vary key"),
        ("--vary", "centralized.gpus=", "empty value"),
        ("--vary", "centralized.gpu=4,5", "unknown field `gpu`"),
        ("--objective", "max:centralized.yeld", "unknown measure"),
        ("--constraint", "centralized.utilization<0.5", "MEASURE<=X"),
    ] {
        let mut bad = vec!["sweep", "s.yaml", "--replications", "2", "--out", "never"];
        if flag != "--vary" {
            bad.extend(["--vary", "centralized.gpus=10,12"]);
        }
        bad.extend([flag, value]);
        let output = capsim(dir, &bad);
        let (_, stderr) = text(&output);
        assert_eq!(output.status.code(), Some(2), "{flag} {value}: {stderr}");
        assert!(
            stderr.contains(phrase) && !dir.join("never").exists(),
            "{flag} {value}: {stderr}"
        );
    }
}

/// `capsim sensitivity`: the scenario's `uncertainty:` section plus `--range`, one key
/// at a time on the same seeds; the price moves lost demand up and more than the pool
/// size does, the rows come largest effect first, and a bad section exits 2.
#[test]
fn sensitivity_ranks_keys_by_their_effect() {
    let temp = crate::TempDir::create();
    let dir = temp.path();
    write(
        dir,
        &format!("{PRICED}uncertainty:\n  centralized.pricing.usd_per_gpu_hour: [2, 6]\n"),
    );
    let output = capsim(
        dir,
        &[
            "sensitivity",
            "s.yaml",
            "--range",
            "centralized.gpus=12..16",
            "--replications",
            "4",
            "--out",
            "sens",
        ],
    );
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("5 points × 4 replications"), "{stderr}");
    assert!(
        stdout.contains("centralized.lost_demand_fraction"),
        "{stdout}"
    );
    let table = capsim::output::read_table(&dir.join("sens/sensitivity.parquet")).expect("table");
    let column = |name: &str| table.column(name).expect("column").clone();
    let (metric, parameter) = (column("metric"), column("parameter"));
    let (metric, parameter, effect) = (
        metric.str().expect("str"),
        parameter.str().expect("str"),
        column("effect"),
    );
    let effect = effect.f64().expect("f64");
    let lost: Vec<(String, f64)> = (0..table.height())
        .filter(|&i| {
            metric.get(i) == Some("lost_demand_fraction")
                && table
                    .column("system")
                    .expect("s")
                    .str()
                    .expect("str")
                    .get(i)
                    == Some("centralized")
        })
        .map(|i| {
            (
                parameter.get(i).expect("p").to_string(),
                effect.get(i).expect("e"),
            )
        })
        .collect();
    assert_eq!(lost.len(), 2);
    assert_eq!(
        lost[0].0, "centralized.pricing.usd_per_gpu_hour",
        "the price matters most: {lost:?}"
    );
    assert!(
        lost[0].1 > 0.3 && lost[1].1 < 0.0 && lost[0].1 > lost[1].1.abs(),
        "{lost:?}"
    );

    write(
        dir,
        &format!("{PRICED}uncertainty:\n  centralized.gpus: [5]\n"),
    );
    let bad = capsim(dir, &["sensitivity", "s.yaml", "--out", "never"]);
    let (_, stderr) = text(&bad);
    assert_eq!(bad.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("uncertainty.centralized.gpus") && !dir.join("never").exists(),
        "{stderr}"
    );
    write(dir, PRICED);
    let none = capsim(dir, &["sensitivity", "s.yaml", "--out", "never"]);
    assert_eq!(none.status.code(), Some(2));
    assert!(text(&none).1.contains("no uncertain keys"));
}

/// Sobol indices from a Saltelli design: on the priced pool, lost demand is driven by the
/// price (which prices jobs out), not by a pool of 12–16 GPUs that rarely fills.
/// Measured with 256 base samples: price first order ≈ 0.9, total ≈ 1.0; GPUs < 0.01.
#[test]
fn sobol_indices_single_out_the_price() {
    let temp = crate::TempDir::create();
    let dir = temp.path();
    write(
        dir,
        &format!(
            "{PRICED}uncertainty:\n  centralized.pricing.usd_per_gpu_hour: [2, 6]\n  centralized.gpus: [12, 16]\n"
        ),
    );
    let output = capsim(
        dir,
        &[
            "sensitivity",
            "s.yaml",
            "--method",
            "sobol",
            "--samples",
            "256",
            "--replications",
            "2",
            "--out",
            "sobol",
            "--quiet",
        ],
    );
    assert!(output.status.success(), "{:?}", text(&output));
    let table = capsim::output::read_table(&dir.join("sobol/sobol.parquet")).expect("table");
    let strings = |name: &str| {
        table
            .column(name)
            .expect("column")
            .str()
            .expect("str")
            .clone()
    };
    let numbers = |name: &str| {
        table
            .column(name)
            .expect("column")
            .f64()
            .expect("f64")
            .clone()
    };
    let (parameter, system, metric) = (strings("parameter"), strings("system"), strings("metric"));
    let (first, total) = (numbers("first_order"), numbers("total"));
    let index = |key: &str| {
        (0..table.height())
            .find(|&i| {
                parameter.get(i) == Some(key)
                    && system.get(i) == Some("centralized")
                    && metric.get(i) == Some("lost_demand_fraction")
            })
            .map(|i| (first.get(i).expect("first"), total.get(i).expect("total")))
            .expect("row")
    };
    let (price, gpus) = (
        index("centralized.pricing.usd_per_gpu_hour"),
        index("centralized.gpus"),
    );
    assert!(price.0 > 0.6 && price.1 > 0.7, "price {price:?}");
    assert!(gpus.1.abs() < 0.1 && gpus.0.abs() < 0.1, "gpus {gpus:?}");
    let bad = capsim(
        dir,
        &[
            "sensitivity",
            "s.yaml",
            "--method",
            "morris",
            "--out",
            "never",
        ],
    );
    assert_eq!(bad.status.code(), Some(2));
}

/// A sweep over `policy` runs every point: each drops the pricing keys its policy does
/// not use (a file that mixed them would be refused), and the policy that reads
/// `target_utilization` moves the price while `fixed` keeps it.
#[test]
fn a_sweep_over_the_pricing_policy_drops_the_keys_a_policy_does_not_use() {
    let temp = crate::TempDir::create();
    let text = PRICED.replace(
        "pricing: {usd_per_gpu_hour: 2.0}",
        "pricing: {policy: utilization_target, usd_per_gpu_hour: 2.0, target_utilization: 0.3, max_step: 0.2}",
    );
    let path = write(temp.path(), &text);
    let points = grid(
        &path,
        "centralized.pricing.policy=fixed,utilization_target",
        2,
        None,
    );
    let price = |point: &sweep::PointResult| mean(point, "spend_usd_per_gpu_hour");
    assert_eq!(points.len(), 2);
    assert!(
        price(&points[1]) > price(&points[0]) * 1.2,
        "a busy pool above its 0.3 target raises its price: {} vs {}",
        price(&points[1]),
        price(&points[0])
    );
    // The same keys written in a file under `policy: fixed` are refused, where written.
    let mixed = text.replace("policy: utilization_target", "policy: fixed");
    let error = scenario::parse("mixed.yaml", &mixed).expect_err("foreign keys");
    let rendered = error.render();
    assert!(
        rendered.contains("policy `fixed` does not use `target_utilization`")
            && rendered.contains("policy `fixed` does not use `max_step`"),
        "{rendered}"
    );
}

/// `uncertainty:` is read with the rest of the file: ranges, uniform and triangular
/// beliefs (a tornado's ends are a triangular belief's P5 and P95: for (0, 10, 10),
/// P(X ≤ x) = x²/100, so P5 = √5 and P95 = √95), and whole-number ranges stay whole.
#[test]
fn uncertainty_sections_are_read_with_the_scenario() {
    let text = format!(
        "{PRICED}uncertainty:\n  centralized.gpus: [10, 18]\n  centralized.pricing.usd_per_gpu_hour: {{uniform: {{min: 1.5, max: 2.5}}}}\n  demand.segments[0].arrivals_per_hour: {{triangular: {{min: 0, mode: 10, max: 10}}}}\n"
    );
    let parsed = scenario::parse("u.yaml", &text).unwrap_or_else(|e| panic!("{}", e.render()));
    let ranges = &parsed.uncertainty;
    assert_eq!(ranges.len(), 3);
    assert_eq!(
        (
            ranges[0].path.as_str(),
            ranges[0].low,
            ranges[0].high,
            ranges[0].integer
        ),
        ("centralized.gpus", 10.0, 18.0, true)
    );
    assert_eq!(
        (ranges[1].low, ranges[1].high, ranges[1].integer),
        (1.5, 2.5, false)
    );
    assert!(
        (ranges[2].low - 10.0 * 0.05f64.sqrt()).abs() < 1e-12,
        "{:?}",
        ranges[2]
    );
    assert!((ranges[2].high - 10.0 * 0.95f64.sqrt()).abs() < 1e-12);
    assert!((ranges[2].quantile(0.25) - 5.0).abs() < 1e-12);
    // Not a model input: the hash is that of the scenario without the section.
    let plain = scenario::parse("p.yaml", PRICED).expect("valid");
    assert_eq!(parsed.hash_hex(), plain.hash_hex());
}

/// The tornado's headline follows the pair the scenario compares, whatever the
/// architectures are called: `net_vs_cloud` savings, then `net` and `cloud` yields and
/// lost demand, keyed by a provider's path.
#[test]
fn the_tornado_headline_names_the_architectures_compared() {
    let temp = crate::TempDir::create();
    let dir = temp.path();
    std::fs::write(
        dir.join("m.yaml"),
        "name: named-sensitivity
simulation: {horizon_hours: 400, warmup_hours: 20, replications: 2, seed: 3}
demand:
  segments:
    - {name: jobs, arrivals_per_hour: 8, duration_hours: {exponential: {mean: 1}}, patience_hours: 1, max_price_usd_per_gpu_hour: {uniform: {min: 1, max: 6}}}
providers:
  - {name: hyperscaler, kind: centralized, gpus: 12, pricing: {usd_per_gpu_hour: 4}, costs: {capex_usd_per_gpu: 30000}}
  - {name: network, kind: distributed, gpus: 12, pricing: {usd_per_gpu_hour: 2}}
architectures:
  cloud: [hyperscaler]
  net: [network]
  both: [hyperscaler, network]
compare: [cloud, net]
uncertainty:
  providers[0].pricing.usd_per_gpu_hour: [3, 5]
",
    )
    .expect("write");
    let output = capsim(dir, &["sensitivity", "m.yaml", "--out", "sens"]);
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    for title in [
        "savings_like_for_like (base",
        "net.operator_yield (base",
        "cloud.operator_yield (base",
        "net.lost_demand_fraction (base",
        "cloud.lost_demand_fraction (base",
    ] {
        assert!(stdout.contains(title), "{title} missing:\n{stdout}");
    }
    assert!(
        stdout.contains("providers[0].pricing.usd_per_gpu_hour 3..5"),
        "{stdout}"
    );
}
