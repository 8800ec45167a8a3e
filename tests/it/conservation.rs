//! Conservation in every run: jobs arrived = completed + abandoned + waiting + running
//! (counted separately, at the horizon and at the end), busy + idle = installed
//! GPU-hours, busy GPU-hours by time integral = by summing jobs, and Little's identity
//! ∫ queue dt = Σ waits over the whole run. `montecarlo::simulate` refuses to return an
//! outcome that breaks any of them; these tests drive it through varied scenarios.

use capsim::model::SystemKind;
use capsim::montecarlo;

use crate::scenario;

const VARIED: &[&str] = &[
    // Multi-GPU jobs with head-of-line blocking and impatient users.
    "name: mix\nsimulation: {horizon_hours: 3000, warmup_hours: 100, replications: 3, seed: 5}\n\
     demand:\n  segments:\n    - name: a\n      arrivals_per_hour: 10\n      gpus_per_job: {1: 0.8, 2: 0.1, 4: 0.07, 8: 0.03}\n\
     \x20     duration_hours: {lognormal: {median: 0.5, sigma: 1.5}}\n      patience_hours: {triangular: {min: 0.1, mode: 1, max: 5}}\n\
     centralized: {gpus: 16}\ndistributed: {gpus: 12}\n",
    // Overload with infinite patience: the queue grows all run and drains after it.
    "name: overload\nsimulation: {horizon_hours: 500, replications: 2, seed: 1}\n\
     demand:\n  segments:\n    - name: a\n      arrivals_per_hour: 12\n      duration_hours: {uniform: {min: 0.5, max: 1.5}}\n\
     centralized: {gpus: 10}\n",
    // Two segments, one that never waits (loss) and one that waits a constant time.
    "name: two\nsimulation: {horizon_hours: 2000, warmup_hours: 50, replications: 2, seed: 9}\n\
     demand:\n  segments:\n    - name: loss\n      arrivals_per_hour: 5\n      gpus_per_job: 2\n      duration_hours: 1\n      patience_hours: 0\n\
     \x20   - name: patient\n      arrivals_per_hour: 3\n      duration_hours: {exponential: {mean: 2}}\n      patience_hours: 0.25\n\
     distributed: {gpus: 8}\n",
];

#[test]
fn conservation_laws_hold_in_varied_runs() {
    for yaml in VARIED {
        let scenario = scenario(yaml);
        for replication in 0..u64::from(scenario.simulation.replications) {
            for system in scenario.systems() {
                let (outcome, events) =
                    montecarlo::simulate(&scenario, replication, &system, &montecarlo::NEVER_STOP)
                        .unwrap_or_else(|e| panic!("{}: {e}", scenario.name));
                let jobs = &outcome.window_jobs;
                // Every arrival and every completion is an event of its own.
                let all = &outcome.all_jobs;
                assert!(
                    jobs.arrived > 0 && events > all.arrived + all.completed,
                    "{}: events missing",
                    scenario.name
                );
                assert_eq!(
                    jobs.arrived,
                    jobs.completed + jobs.abandoned,
                    "{}: every window job ends",
                    scenario.name
                );
                let areas = &outcome.window_areas;
                let installed = outcome.initial_gpus as f64 * areas.hours;
                let states = areas.busy_gpu_hours
                    + areas.idle_gpu_hours
                    + areas.down_gpu_hours
                    + areas.withdrawn_gpu_hours;
                assert!((states - installed).abs() < 1e-6 * installed);
                assert!((0.0..=1.0).contains(&areas.utilization()));
            }
        }
    }
}

/// The invariant check is not vacuous: corrupting any one tally is caught.
#[test]
fn a_broken_outcome_is_reported() {
    let scenario = scenario(VARIED[0]);
    let system = scenario.systems().remove(0);
    assert_eq!(system.providers[0].kind, SystemKind::Centralized);
    let (outcome, _) =
        montecarlo::simulate(&scenario, 0, &system, &montecarlo::NEVER_STOP).expect("valid run");
    assert_eq!(outcome.check_invariants(), Ok(()));

    let mut lost_job = outcome.clone();
    lost_job.window_jobs_at_horizon.completed += 1;
    assert!(
        lost_job
            .check_invariants()
            .unwrap_err()
            .contains("job conservation")
    );

    let mut extra_work = outcome.clone();
    extra_work.held_by_job *= 1.0 + 1e-6;
    assert!(
        extra_work
            .check_invariants()
            .unwrap_err()
            .contains("sum over runs (whole run)")
    );

    let mut wrong_wait = outcome.clone();
    wrong_wait.wait_by_job += 0.01;
    assert!(
        wrong_wait
            .check_invariants()
            .unwrap_err()
            .contains("Little")
    );

    let mut idle_lost = outcome.clone();
    idle_lost.window_areas.idle_gpu_hours -= 1.0;
    assert!(
        idle_lost
            .check_invariants()
            .unwrap_err()
            .contains("idle GPU-hours: system = sum over sites")
    );

    let mut money_leak = outcome;
    money_leak.ledger.provider_revenue_usd += 0.01;
    assert!(money_leak.check_invariants().unwrap_err().contains("money"));
}

/// Common random numbers: both systems see the identical job stream, so with the same
/// pool they produce identical rows (except costs, whose defaults differ: operators
/// own their GPUs already and run a less efficient facility), and the k-th
/// replication does not depend on how many replications run.
#[test]
fn systems_see_the_same_jobs() {
    let yaml = VARIED[0].replace("distributed: {gpus: 12}", "distributed: {gpus: 16}");
    let scenario = scenario(&yaml);
    let rows = montecarlo::run(&scenario, Some(2)).expect("runs");
    for pair in rows.chunks(2) {
        assert_eq!(pair[0].system, SystemKind::Centralized);
        assert_eq!(pair[1].system, SystemKind::Distributed);
        let queueing = |row: &capsim::metrics::RunMetrics| {
            let mut columns = row.column_bits();
            columns.retain(|(name, _)| !name.starts_with("opex") && *name != "depreciation_usd");
            columns
        };
        assert_eq!(queueing(&pair[0]), queueing(&pair[1]));
        assert_eq!(pair[0].weeks, pair[1].weeks);
        assert!(
            pair[0].opex_power_usd < pair[1].opex_power_usd,
            "PUE 1.2 < 1.56 on the same load"
        );
    }
    let mut fewer = scenario.clone();
    fewer.simulation.replications = 1;
    let first = montecarlo::run(&fewer, Some(1)).expect("runs");
    assert_eq!(first[0], rows[0]);
}

/// Weekly and per-run lost jobs are one count: window jobs abandoned, priced out,
/// unserved, stranded or failed. With the horizon on a week's end and losses that happen
/// only at arrival (no patience, a price above some maxima), the weeks sum to the run's
/// count exactly, the warm-up week losing none of them; with patience, window jobs still
/// waiting at the horizon may give up after it, so the weeks fall short by at most those.
#[test]
fn weekly_and_per_run_lost_jobs_reconcile() {
    let yaml = |patience: &str, gpus: u32| {
        format!(
            "name: lost\nsimulation: {{horizon_hours: 2016, warmup_hours: 168, replications: 3, seed: 4}}\n\
             demand:\n  segments:\n    - name: a\n      arrivals_per_hour: 12\n      duration_hours: {{exponential: {{mean: 1}}}}\n\
             \x20     patience_hours: {patience}\n      max_price_usd_per_gpu_hour: {{uniform: {{min: 1, max: 3}}}}\n\
             centralized: {{gpus: {gpus}, pricing: {{usd_per_gpu_hour: 1.5}}}}\n"
        )
    };
    let lost_by_weeks =
        |row: &capsim::metrics::RunMetrics| -> u64 { row.weeks.iter().map(|w| w.lost_jobs).sum() };
    let lost = |row: &capsim::metrics::RunMetrics| {
        row.jobs_abandoned
            + row.jobs_priced_out
            + row.jobs_unserved
            + row.jobs_stranded
            + row.jobs_failed
    };
    for row in montecarlo::run(&scenario(&yaml("0", 12)), None).unwrap() {
        assert_eq!(row.weeks.len(), 12);
        assert_eq!(
            row.weeks[0].lost_jobs, 0,
            "warm-up arrivals are not window jobs"
        );
        assert!(row.jobs_abandoned > 0 && row.jobs_priced_out > 0);
        assert_eq!(lost_by_weeks(&row), lost(&row));
    }
    let mut short = 0;
    for row in montecarlo::run(&scenario(&yaml("{exponential: {mean: 2}}", 6)), None).unwrap() {
        let (weeks, run) = (lost_by_weeks(&row), lost(&row));
        assert!(
            weeks <= run && run - weeks <= row.jobs_in_system_at_horizon,
            "{weeks} {run}"
        );
        short += run - weeks;
    }
    assert!(
        short > 0,
        "some waiting window jobs give up after the horizon"
    );
}
