//! An entry pool: a finite population of potential operators, each joining on its own
//! expected yield (`entry.pool`), checked against the supply curve it implies and the
//! hand calculation of a buyer's capital recovery.

use capsim::metrics::{GroupRow, RunMetrics};
use capsim::montecarlo;

use crate::{scenario, within_band};

fn run(yaml: &str) -> Vec<RunMetrics> {
    montecarlo::run(&scenario(yaml), None).unwrap_or_else(|e| panic!("{e}\n{yaml}"))
}

fn group<'r>(row: &'r RunMetrics, label: &str) -> &'r GroupRow {
    row.groups
        .iter()
        .find(|g| g.group == label)
        .unwrap_or_else(|| panic!("no group {label} in {:?}", row.groups))
}

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
    let rows = run(&flooded(20, 2000.0, &pool));
    let expected = 200.0 * (8760.0 / 9000.0) / 2.0;
    let joined: Vec<f64> = rows
        .iter()
        .map(|row| {
            let owners = group(row, "owners");
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
        run(&yaml)
            .iter()
            .map(|row| {
                let buyer = group(row, "buyer");
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
    for row in run(&yaml) {
        let owners = group(&row, "owners");
        let joined = owners.operators_joined as f64;
        assert!(
            (115.0..=145.0).contains(&joined),
            "{joined} joined: the diluted utilization bounds entry near 130"
        );
    }
}
