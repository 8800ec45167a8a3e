//! Prices that emerge: a cost-based price equals its hand calculation inside a run, and a
//! market-clearing price converges to the closed-form price at which demand fills the
//! target share of a fixed pool.

use capsim::metrics::{RunMetrics, summarise};
use capsim::model::SystemKind;
use capsim::montecarlo;

use crate::scenario;

fn run(yaml: &str) -> Vec<RunMetrics> {
    montecarlo::run(&scenario(yaml), None).unwrap_or_else(|e| panic!("{e}\n{yaml}"))
}

/// The p-quantile of a triangular distribution on [a, b] with mode c.
fn triangular_quantile(p: f64, a: f64, c: f64, b: f64) -> f64 {
    let at_mode = (c - a) / (b - a);
    if p <= at_mode {
        a + (p * (b - a) * (c - a)).sqrt()
    } else {
        b - ((1.0 - p) * (b - a) * (b - c)).sqrt()
    }
}

/// A fixed pool of C = 100 GPUs fed by λ one-GPU jobs an hour (exponential, 1 h) whose
/// maximum price is triangular(1, 3, 5), priced to fill ρ = 0.8 of it.
fn clearing_pool(arrivals_per_hour: f64) -> String {
    format!(
        "name: clearing\nsimulation: {{horizon_hours: 6000, warmup_hours: 1500, replications: 6, seed: 5}}\n\
         demand:\n  segments:\n    - name: jobs\n      arrivals_per_hour: {arrivals_per_hour}\n\
         \x20     duration_hours: {{exponential: {{mean: 1}}}}\n\
         \x20     max_price_usd_per_gpu_hour: {{triangular: {{min: 1, mode: 3, max: 5}}}}\n\
         centralized:\n  gpus: 100\n  pricing:\n    policy: market_clearing\n    usd_per_gpu_hour: 2.0\n\
         \x20   target_utilization: 0.8\n    max_step: 0.1\n"
    )
}

/// p* = F⁻¹(1 − ρC ÷ (λ E[GPU-hours])) for the pool above.
fn clearing_price(arrivals_per_hour: f64) -> f64 {
    triangular_quantile(1.0 - 0.8 * 100.0 / arrivals_per_hour, 1.0, 3.0, 5.0)
}

/// Each week's price is set from the last week's demand; averaged over the weeks of the
/// window (from week 12, long after the ramp from $2), each replication's price is within
/// the replications' 95% interval of p*, the pool runs at the target, and a 20% demand
/// shock moves the price by the closed form's amount.
#[test]
fn a_market_clearing_price_converges_to_the_closed_form() {
    let mut means = Vec::new();
    for arrivals in [150.0, 180.0] {
        let rows = run(&clearing_pool(arrivals));
        let price: Vec<f64> = rows
            .iter()
            .map(|r| {
                let weeks: Vec<f64> = r
                    .weeks
                    .iter()
                    .filter(|w| w.week >= 12)
                    .map(|w| w.price_usd_per_gpu_hour)
                    .collect();
                assert!(weeks.len() >= 20, "{} weeks", weeks.len());
                weeks.iter().sum::<f64>() / weeks.len() as f64
            })
            .collect();
        let summary = summarise(&price);
        let expected = clearing_price(arrivals);
        assert!(
            summary.ci95_low <= expected && expected <= summary.ci95_high,
            "λ = {arrivals}: price {:.4} [{:.4}, {:.4}] against p* = {expected:.4}",
            summary.mean,
            summary.ci95_low,
            summary.ci95_high
        );
        // One week's price has a standard deviation of about 0.012 (the quantile of ~25k
        // jobs' maxima weighted by their work); the interval is far tighter than the shock.
        assert!(summary.ci95_high - summary.ci95_low < 0.02, "{summary:?}");
        let utilization = summarise(&rows.iter().map(|r| r.utilization).collect::<Vec<_>>());
        assert!(
            (utilization.mean - 0.8).abs() < 0.005,
            "λ = {arrivals}: utilization {:.4} [{:.4}, {:.4}]",
            utilization.mean,
            utilization.ci95_low,
            utilization.ci95_high
        );
        means.push((summary.mean, expected));
    }
    let (moved, predicted) = (means[1].0 - means[0].0, means[1].1 - means[0].1);
    // Each mean has a standard error of about 0.001 (0.012 a week over ~25 weeks and 6
    // replications), so the difference about 0.0014: 0.005 is 3.5 of those.
    assert!(
        (moved - predicted).abs() < 0.005,
        "+20% demand moved the price {moved:.4}, the closed form {predicted:.4}"
    );
    assert!(predicted > 0.15, "the shock is large against the noise");
}

/// A fixed list price on the same pool sells what its price sells, whatever the target:
/// the market-clearing price is what makes utilization the target (here 1 − F(2) = 7/8 of
/// 150 jobs an hour would need 131 GPUs).
#[test]
fn without_clearing_the_pool_is_overloaded_at_the_list_price() {
    let yaml = clearing_pool(150.0).replace("policy: market_clearing", "policy: fixed");
    let yaml = yaml
        .lines()
        .filter(|line| !line.contains("target_utilization") && !line.contains("max_step"))
        .collect::<Vec<_>>()
        .join("\n");
    for row in run(&yaml) {
        assert_eq!(row.price_at_horizon_usd, 2.0);
        assert!(row.utilization > 0.97, "{}", row.utilization);
    }
}

/// A data center and a network priced from costs: the price at the horizon (and every
/// GPU-hour's price) is the hand calculation of `model::decisions`' unit tests, with the
/// scenario's costs.
#[test]
fn a_cost_plus_price_is_the_hand_calculation_in_a_run() {
    let yaml = "name: cost-plus\nsimulation: {horizon_hours: 1000, warmup_hours: 100, replications: 2, seed: 3}\n\
        demand:\n  segments:\n    - name: jobs\n      arrivals_per_hour: 20\n      duration_hours: {exponential: {mean: 1}}\n\
        centralized:\n  gpus: 64\n  costs: {capex_usd_per_gpu: 30000, depreciation_years: 5, residual_fraction: 0.3,\n\
        \x20   electricity_usd_per_kwh: 0.08, pue: 1.2, idle_power_fraction: 0.15, facility_usd_per_kw_month: 150,\n\
        \x20   fixed_usd_per_year: 100000}\n\
        \x20 pricing: {policy: cost_plus, planned_utilization: 0.7, margin: 0.25, cost_of_capital: 0.10}\n\
        distributed:\n  take_rate: 0.2\n  operators:\n    - count: 2\n      gpus: 2\n      gpu_class: H100\n\
        \x20     costs: {electricity_usd_per_kwh: 0.12, pue: 1.56, idle_power_fraction: 0.15}\n\
        \x20 pricing: {policy: cost_plus, planned_utilization: 0.5, cost_of_capital: 0.10}\n\
        gpu_classes: [{name: H100, speed: 1, power_kw: 1.275, capex_usd: 30000, resale_after_36_months: 1}]\n";
    let rows = run(yaml);
    // By hand: capital (30,000 − 9,000 × 1.1⁻⁵) × 0.1 ÷ (1 − 1.1⁻⁵) ÷ 8,760; power
    // (0.7 + 0.3 × 0.15) × 1.275 kW (an H100 server's share) × 1.2 × $0.08; facility
    // 1.275 × 150 ÷ 730; fixed
    // 100,000 ÷ 8,760 ÷ 64; ÷ 0.7 × 1.25.
    let discount = 1.1f64.powi(-5);
    let capital = (30_000.0 - 9_000.0 * discount) * 0.1 / (1.0 - discount) / 8760.0;
    let cloud = (capital
        + (0.7 + 0.3 * 0.15) * 1.275 * 1.2 * 0.08
        + 1.275 * 150.0 / 730.0
        + 100_000.0 / 8760.0 / 64.0)
        / 0.7
        * 1.25;
    // Operators own their H100s (worth 30,000 × 0.3, a value that does not fall here): 10%
    // of that a year, power at 50% busy, ÷ 0.5, grossed up by the 20% take rate.
    let network = (0.1 * 9_000.0 / 8760.0 + (0.5 + 0.5 * 0.15) * 1.275 * 1.56 * 0.12) / 0.5 / 0.8;
    for row in &rows {
        let expected = if row.system == SystemKind::Centralized {
            cloud
        } else {
            network
        };
        assert!(
            (row.price_at_horizon_usd - expected).abs() < 1e-9 * expected,
            "{:?}: {} against {expected}",
            row.system,
            row.price_at_horizon_usd
        );
        assert!(
            (row.spend_usd_per_gpu_hour - expected).abs() < 1e-9 * expected,
            "every hour sold at that price: {}",
            row.spend_usd_per_gpu_hour
        );
    }
}

/// A market-clearing cloud below its procurement target (the price holds utilization at
/// 0.7 against a target of 0.8, so served work alone never asks for more) still orders
/// when the work it prices
/// out would cover its cost, and the price then falls as the GPUs land; when no customer's
/// maximum covers the cost (GPUs ten times dearer), it orders nothing.
#[test]
fn a_market_clearing_cloud_orders_for_priced_out_work_that_covers_its_cost() {
    let yaml = |capex: u32| {
        format!(
            "name: scarcity\nsimulation: {{horizon_hours: 8760, warmup_hours: 168, replications: 2, seed: 8}}\n\
             demand:\n  segments:\n    - name: jobs\n      arrivals_per_hour: 150\n\
             \x20     duration_hours: {{exponential: {{mean: 1}}}}\n\
             \x20     max_price_usd_per_gpu_hour: {{triangular: {{min: 1, mode: 3, max: 5}}}}\n\
             centralized:\n  gpus: 64\n  costs: {{capex_usd_per_gpu: {capex}}}\n\
             \x20 pricing: {{policy: market_clearing, usd_per_gpu_hour: 3.5, target_utilization: 0.7, max_step: 0.1}}\n\
             \x20 procurement: {{target_utilization: 0.8, lead_time_weeks: 8, order_multiple: 8}}\n"
        )
    };
    // Capex $30,000: cost per hour at 0.8 ≈ (6,440 ÷ 8,760 + power) ÷ 0.8 ≈ $1.0, below
    // every maximum; $300,000: ≈ $9.3, above all of them. The price starts above the one
    // that clears 0.7 ($3.45), so the pool is never saturated while it converges.
    for row in run(&yaml(30_000)) {
        assert!(row.gpus_ordered >= 32, "ordered {}", row.gpus_ordered);
        assert!(row.gpus_at_horizon > 64);
        let first = row.weeks[3].price_usd_per_gpu_hour;
        assert!(
            row.price_at_horizon_usd < first - 0.3,
            "the price falls as capacity lands: {first} → {}",
            row.price_at_horizon_usd
        );
    }
    for row in run(&yaml(300_000)) {
        assert_eq!(row.gpus_ordered, 0);
        assert_eq!(row.gpus_at_horizon, 64);
    }
}

/// Under `cost_plus`, a class that first appears between reviews (operators with A100s
/// joining, after half a week of onboarding, a network of one H100) is priced the moment it
/// appears, not sold for nothing until the next review. Costs are power only (hardware
/// worth nothing, sold at u = 1), the A100s' electricity chosen so that both classes cost the same
/// per unit of work: H100 1.275 kW × 1.5 × $0.10 ÷ (1 − 0.2) = $0.2390625 per GPU-hour;
/// A100 0.81 kW × 1.5 × $0.10 × (1.275 ÷ 1.8) ÷ 0.8 ÷ speed 0.45 = the same per H100-hour
/// of work. So every hour of work is sold at $0.2390625.
#[test]
fn a_class_that_appears_between_reviews_is_priced_at_once() {
    let costs = |kwh: f64| {
        format!(
            "costs: {{electricity_usd_per_kwh: {kwh}, pue: 1.5, idle_power_fraction: 0, residual_fraction: 0}}"
        )
    };
    let yaml = format!(
        "name: new-class\nsimulation: {{horizon_hours: 3000, warmup_hours: 100, replications: 2, seed: 6}}\n\
         demand:\n  segments:\n    - name: jobs\n      arrivals_per_hour: 30\n      duration_hours: {{exponential: {{mean: 1}}}}\n\
         \x20     patience_hours: 2\n\
         distributed:\n  take_rate: 0.2\n  operators: [{{gpus: 1, {}}}]\n\
         \x20 pricing: {{policy: cost_plus, planned_utilization: 1, cost_of_capital: 0}}\n\
         \x20 entry: {{hurdle_yield: -1, onboarding_weeks: 0.5, max_operators: 6, template: {{gpus: 8, gpu_class: A100, {}}}}}\n",
        costs(0.1),
        costs(0.1 * 1.275 / 1.8),
    );
    let per_work = 1.275 * 1.5 * 0.1 / 0.8;
    for row in run(&yaml) {
        assert!(row.operators_joined >= 3, "{}", row.operators_joined);
        assert!(
            (row.spend_usd_per_gpu_hour - per_work).abs() < 1e-9 * per_work,
            "{} against {per_work}",
            row.spend_usd_per_gpu_hour
        );
    }
}
