//! An entry pool: a finite population of potential operators, each joining on its own
//! expected yield (`entry.pool`), checked against the supply curve it implies and the
//! hand calculation of a buyer's capital recovery.

use crate::{group_of, simulate, within_band};

/// Costs that leave only capital: no power, facility or fixed costs.
const CAPITAL_ONLY: &str =
    "electricity_usd_per_kwh: 0, facility_usd_per_kw_month: 0, fixed_usd_per_year: 0, pue: 1";

/// A network at $1.25 with a take of 0.2 (an operator keeps $1.00 a GPU-hour), one
/// incumbent GPU and far more demand than any pool can serve (1,000 one-GPU jobs an hour,
/// impatient: whatever joins is busy all the time), and the given pool.
fn flooded(replications: u32, horizon_hours: f64, pool: &str) -> String {
    format!(
        "name: pool
simulation: {{horizon_hours: {horizon_hours}, warmup_hours: 1, replications: {replications}, seed: 21}}
gpu_classes: [{{name: H100, speed: 1, power_kw: 1, capex_usd: 9000, resale_after_36_months: 1, annual_cost_decline: 0}}]
demand:
  segments:
    - {{name: jobs, arrivals_per_hour: 1000, duration_hours: {{exponential: {{mean: 1}}}}, patience_hours: 0.1}}
distributed:
  take_rate: 0.2
  pricing: {{usd_per_gpu_hour: 1.25}}
  review_every_hours: 168
  operators: [{{count: 1, gpus: 1, costs: {{age_years: 0, {CAPITAL_ONLY}}}}}]
  entry:
    onboarding_weeks: 1
    pool:
{pool}"
    )
}

/// Owners of one H100 worth $9,000 (no decline on the resale curve, no running costs)
/// expect $1.00 × 8,760 h a year at full utilization: a yield of 8,760 ÷ 9,000 = 0.9733.
/// Each joins when that beats its reservation yield, drawn U(0, 2): the share joining is
/// the CDF there, 0.4867, of 200 (97.3 operators), within the replications' band; and
/// since the network's yield does not move, no one else joins later.
#[test]
fn the_share_that_joins_is_the_reservation_cdf_at_the_network_yield() {
    let pool = format!(
        "      - {{name: owners, count: 200, gpus: 1, reservation_yield: {{uniform: {{min: 0, max: 2}}}}, costs: {{age_years: 0, {CAPITAL_ONLY}}}}}\n"
    );
    let rows = simulate(&flooded(20, 2000.0, &pool));
    let expected = 200.0 * (8760.0 / 9000.0) / 2.0;
    let joined: Vec<f64> = rows
        .iter()
        .map(|row| {
            let owners = group_of(row, "owners");
            assert_eq!(owners.potential_operators, 200);
            assert_eq!(owners.operators_at_start, 0);
            assert_eq!(owners.operators_joined, owners.operators_at_horizon);
            assert_eq!(owners.listed_gpus, owners.operators_joined, "one GPU each");
            // Joined operators are all busy: the demand floods them.
            assert!(owners.utilization() > 0.95, "{}", owners.utilization());
            owners.operators_joined as f64
        })
        .collect();
    within_band("operators joined", &joined, expected, 1);
    // Not all or none: the draw decides, replication by replication.
    assert!(joined.iter().any(|&j| j != joined[0]));
}

/// An operator that buys an H100 at $9,000, written off over 4 years to nothing, needs
/// the capital recovery at its 10% reservation yield: 9,000 × 0.1 ÷ (1 − 1.1⁻⁴) =
/// $2,839.24 a year = $0.324114 per hour at full use; after a take of 0.2 the price must
/// be $0.405142. Just above, it joins (after its lead time and onboarding); just below,
/// it never does.
#[test]
fn a_buyer_joins_only_when_the_price_covers_its_capital_recovery() {
    let discount = 1.1_f64.powi(-4);
    let recovery_usd_per_year = 9000.0 * 0.1 / (1.0 - discount);
    let boundary_usd = recovery_usd_per_year / 8760.0 / 0.8;
    assert!((boundary_usd - 0.405142).abs() < 1e-6, "{boundary_usd}");
    let joined = |price: f64| -> Vec<u64> {
        let pool = format!(
            "      - {{name: buyer, count: 1, gpus: 1, owned: false, lead_time_weeks: 2, reservation_yield: 0.1, costs: {{depreciation_years: 4, residual_fraction: 0, {CAPITAL_ONLY}}}}}\n"
        );
        let yaml = flooded(2, 2000.0, &pool).replace(
            "usd_per_gpu_hour: 1.25",
            &format!("usd_per_gpu_hour: {price}"),
        );
        simulate(&yaml)
            .iter()
            .map(|row| {
                let buyer = group_of(row, "buyer");
                assert_eq!(buyer.listed_gpus, buyer.operators_at_horizon);
                buyer.operators_joined
            })
            .collect()
    };
    assert_eq!(
        joined(boundary_usd * 1.001),
        vec![1, 1],
        "just above the boundary"
    );
    assert_eq!(
        joined(boundary_usd * 0.999),
        vec![0, 0],
        "just below the boundary"
    );
}

/// Entrants dilute each other: owners that would all join alone stop where the capacity
/// added meets the demand they see. 40 one-GPU jobs an hour of one hour keep about 40
/// GPUs busy; 200 owners needing a yield of 0.3 at $9,000 need a utilization of
/// 0.3 × 9,000 ÷ 8,760 = 0.308, so about 40 ÷ 0.308 = 130 join, far from all 200.
#[test]
fn entrants_stop_where_the_capacity_added_meets_the_demand() {
    let pool = format!(
        "      - {{name: owners, count: 200, gpus: 1, reservation_yield: 0.3, costs: {{age_years: 0, {CAPITAL_ONLY}}}}}\n"
    );
    let yaml =
        flooded(4, 3000.0, &pool).replace("arrivals_per_hour: 1000", "arrivals_per_hour: 40");
    for row in simulate(&yaml) {
        let owners = group_of(&row, "owners");
        let joined = owners.operators_joined as f64;
        assert!(
            (115.0..=145.0).contains(&joined),
            "{joined} joined: the diluted utilization bounds entry near 130"
        );
    }
}

/// 50 operators list 10 GPUs each, of which a share drawn U(0.2, 0.8) deliver, facing
/// far more demand than they hold. Jobs find the unverified GPUs and fail on them (each
/// such GPU once: it is then delisted), so the network ends with its verified GPUs
/// listed, on average 0.5 × 500 = 250 within the band, and delivers verified × hours:
/// customers pay for every busy GPU-hour but those of the failed runs.
#[test]
fn delivered_capacity_is_the_verified_share_of_listed() {
    let yaml = "name: verify
simulation: {horizon_hours: 1000, warmup_hours: 5, replications: 12, seed: 5}
demand:
  segments:
    - {name: jobs, arrivals_per_hour: 1000, duration_hours: {exponential: {mean: 1}}, patience_hours: 0.5}
distributed:
  take_rate: 0.2
  pricing: {usd_per_gpu_hour: 1.25}
  operators: [{name: listed, count: 50, gpus: 10, verified_share: {uniform: {min: 0.2, max: 0.8}}, verification_hours: 0.5}]
";
    let rows = simulate(yaml);
    let mut verified = Vec::new();
    for row in &rows {
        let listed = group_of(row, "listed");
        assert_eq!(
            listed.listed_gpus + listed.delisted_gpus,
            500,
            "every GPU listed or delisted"
        );
        assert_eq!(
            listed.listed_gpus, listed.verified_gpus,
            "all unverified found under a flood"
        );
        verified.push(listed.verified_gpus as f64);
        let network = &row.providers[0];
        assert!(
            network.jobs_failed_unverified == 0,
            "found in the warm-up (5 h ≫ 0.5 h)"
        );
        let window_hours = 1000.0 - 5.0;
        let delivered = network.busy_gpu_hours / window_hours;
        assert!(
            (delivered - listed.verified_gpus as f64).abs() < 0.01 * listed.verified_gpus as f64,
            "{delivered} GPUs delivered on average vs {} verified",
            listed.verified_gpus
        );
        let billed = 1.25 * (network.busy_gpu_hours - network.unverified_gpu_hours);
        assert!(
            (network.spend_usd - billed).abs() < 0.005 * billed,
            "{} spent vs {billed} for the GPU-hours that delivered",
            network.spend_usd
        );
    }
    within_band("verified GPUs", &verified, 250.0, 1);
}

/// Nothing listed delivers: every job that lands fails after the verification time and
/// pays nothing; each failed run delists the GPUs it found, so the whole listing is
/// gone within the first jobs and the network's customers spend exactly nothing.
#[test]
fn jobs_on_unverified_gpus_are_not_billed_and_the_gpus_are_delisted() {
    let yaml = "name: unverified
simulation: {horizon_hours: 300, warmup_hours: 0, replications: 2, seed: 3}
demand:
  segments:
    - {name: jobs, arrivals_per_hour: 20, gpus_per_job: {1: 0.5, 2: 0.5}, duration_hours: {exponential: {mean: 1}}, patience_hours: 2}
distributed:
  take_rate: 0.2
  pricing: {usd_per_gpu_hour: 1.25}
  operators: [{name: fake, count: 4, gpus: 8, verified_share: 0, verification_hours: 0.25}]
";
    for row in simulate(yaml) {
        let fake = group_of(&row, "fake");
        assert_eq!(
            (fake.listed_gpus, fake.verified_gpus, fake.delisted_gpus),
            (0, 0, 32)
        );
        let network = &row.providers[0];
        assert_eq!(network.spend_usd, 0.0, "no failed run is billed");
        assert_eq!(row.customer_spend_usd, 0.0);
        // Each failed run found at least one GPU and at most two.
        assert!(
            (16..=32).contains(&network.jobs_failed_unverified),
            "{}",
            network.jobs_failed_unverified
        );
        // The failed runs held their GPUs for exactly the verification time.
        assert!(network.unverified_gpu_hours > 0.0);
        assert!(network.busy_gpu_hours <= network.unverified_gpu_hours + 1e-9);
    }
}

/// A run on unverified GPUs cut short by a failure keeps none of its "progress": with
/// checkpoints every 0.1 h and a 3-hour verification against 0.2-hour jobs, a rewind
/// that credited the run's hours would leave a job with negative work left and a
/// completion scheduled in the past (the model's time and GPU-hour identities would
/// then fail). Every run must end with all the jobs' conservation checks intact.
#[test]
fn a_probe_cut_short_by_a_failure_saves_no_work() {
    let yaml = "name: probe-cut-short
simulation: {horizon_hours: 200, warmup_hours: 10, replications: 2, seed: 8}
demand:
  segments:
    - {name: jobs, arrivals_per_hour: 30, duration_hours: {exponential: {mean: 0.2}}, patience_hours: 5, checkpoint_every_hours: 0.1}
distributed:
  take_rate: 0.2
  pricing: {usd_per_gpu_hour: 1.25}
  operators: [{name: flaky, count: 4, gpus: 4, verified_share: 0.5, verification_hours: 3, mtbf_hours: 2, mttr_hours: 0.5}]
";
    for row in simulate(yaml) {
        let flaky = group_of(&row, "flaky");
        assert_eq!(flaky.listed_gpus, flaky.verified_gpus, "all found in 200 h");
        assert_eq!(flaky.delisted_gpus, 8);
        assert!(row.providers[0].jobs_failed_unverified > 0);
    }
}

/// Operators that leave at their first review (a fixed cost no revenue covers) while jobs
/// still probe their unverified GPUs: a found GPU on a leaving site goes with the rest of
/// its hardware, pro rata, not once more from its batch. Every identity of the run holds,
/// the leavers end with nothing listed, and the stayers' unverified half is all found.
#[test]
fn probes_on_leaving_operators_keep_the_books() {
    let yaml = "name: probes-leaving
simulation: {horizon_hours: 300, warmup_hours: 10, replications: 4, seed: 9}
demand:
  segments:
    - {name: jobs, arrivals_per_hour: 20, gpus_per_job: {1: 0.5, 4: 0.5}, duration_hours: {exponential: {mean: 2}}, patience_hours: 3, checkpoint_every_hours: 0.5}
distributed:
  take_rate: 0.2
  pricing: {usd_per_gpu_hour: 1.25}
  review_every_hours: 24
  operators:
    - {name: stay, count: 6, gpus: 8, verified_share: 0.5, verification_hours: 4, mtbf_hours: 50}
    - {name: leave, count: 6, gpus: 8, verified_share: {uniform: {min: 0, max: 1}}, verification_hours: 4, costs: {fixed_usd_per_year: 1000000}}
  exit: {below_yield: 0, after_reviews: 1}
";
    for row in simulate(yaml) {
        let stay = group_of(&row, "stay");
        assert_eq!(
            (stay.listed_gpus, stay.verified_gpus, stay.delisted_gpus),
            (24, 24, 24)
        );
        let leave = group_of(&row, "leave");
        assert_eq!((leave.operators_left, leave.listed_gpus), (6, 0));
        assert!(leave.delisted_gpus <= 48);
    }
}
