//! Take-or-pay contracts: committed GPUs held for a segment and paid for every hour,
//! used first by its jobs, with everything beyond them billed at the list price.
//!
//! With one-GPU exponential jobs on a pool large enough that none waits, the GPUs a
//! segment uses at a moment are N ~ Poisson(a) (M/M/∞; the pool's Erlang loss at 16 or 32
//! GPUs is below 1e-6). "Commitment first" means that at every moment min(N, G) GPUs run
//! on the commitment of G and (N − G)⁺ are billed at list, so over W window hours the
//! segment pays c·G·W in fees plus p·E[(N − G)⁺]·W at list for a·W GPU-hours of work.
//! Bands: the replication mean within t·s/√n, Bonferroni-corrected (`crate::within_band`).

use capsim::metrics::{RunMetrics, SegmentRow};
use capsim::montecarlo;

use crate::{scenario, within_band};

const REPLICATIONS: usize = 20;
const WINDOW_HOURS: f64 = 20_000.0;

fn run(yaml: &str) -> Vec<RunMetrics> {
    montecarlo::run(&scenario(yaml), None).unwrap_or_else(|e| panic!("{e}\n{yaml}"))
}

/// E[min(N, g)] and E[(N − g)⁺] for N ~ Poisson(a): E[min(N, g)] = Σ_{k<g} k·P(k) +
/// g·P(N ≥ g), and the two add up to E[N] = a.
fn poisson_split(a: f64, g: u32) -> (f64, f64) {
    let (mut p, mut below, mut cdf) = ((-a).exp(), 0.0, 0.0);
    for k in 0..g {
        below += f64::from(k) * p;
        cdf += p;
        p *= a / f64::from(k + 1);
    }
    let committed = below + f64::from(g) * (1.0 - cdf);
    (committed, a - committed)
}

fn one_segment(row: &RunMetrics) -> &SegmentRow {
    &row.segments[0]
}

/// `gpus` GPUs at `list` an hour, `committed` of them on contract at `fee` to a segment
/// of one-GPU, one-hour exponential jobs arriving `rate` an hour.
fn pool(name: &str, rate: f64, gpus: u32, list: f64, committed: u32, fee: f64) -> String {
    format!(
        "name: {name}
simulation: {{horizon_hours: {horizon}, warmup_hours: 100, replications: {REPLICATIONS}, seed: 11}}
demand:
  segments:
    - {{name: client, arrivals_per_hour: {rate}, duration_hours: {{exponential: {{mean: 1}}}}}}
  contracts:
    - {{provider: centralized, segment: client, gpus: {committed}, usd_per_gpu_hour: {fee}, term_weeks: 1000}}
centralized: {{gpus: {gpus}, pricing: {{usd_per_gpu_hour: {list}}}}}
",
        horizon = 100.0 + WINDOW_HOURS
    )
}

/// The hand calculation: 16 GPUs at $3, 8 committed at $3 to a client offering
/// 3.2 GPUs of load: 3 × (8 + E[(N − 8)⁺]) ÷ (E[min(N, 8)] + E[(N − 8)⁺]) = 7.508 per useful
/// GPU-hour, and contract revenue of exactly 8 × 3 × the window's hours, whatever the use.
#[test]
fn take_or_pay_charges_every_committed_hour() {
    let (a, g) = (3.2, 8);
    let rows = run(&pool("take-or-pay", a, 16, 3.0, g, 3.0));
    assert_eq!(rows.len(), REPLICATIONS);
    let (committed, beyond) = poisson_split(a, g);
    let expected = 3.0 * (f64::from(g) + beyond) / (committed + beyond);
    assert!((expected - 7.508).abs() < 5e-4, "hand value {expected}");
    let values: Vec<f64> = rows
        .iter()
        .map(|r| one_segment(r).spend_usd_per_useful_gpu_hour())
        .collect();
    within_band("spend per useful GPU-hour", &values, expected, 2);
    let utilization: Vec<f64> = rows
        .iter()
        .map(|r| one_segment(r).contract_utilization())
        .collect();
    within_band("contract utilization", &utilization, committed / 8.0, 2);
    for row in &rows {
        let fees = 8.0 * 3.0 * WINDOW_HOURS;
        let provider = &row.providers[0];
        assert!(
            (provider.contract_revenue_usd - fees).abs() <= 1e-9 * fees,
            "contract revenue {} vs {fees}",
            provider.contract_revenue_usd
        );
        assert!((one_segment(row).contract_spend_usd - fees).abs() <= 1e-9 * fees);
        assert_eq!(one_segment(row).committed_gpu_hours, 8.0 * WINDOW_HOURS);
        // One provider holds the one commitment: its view of it is the segment's.
        assert_eq!(provider.committed_gpu_hours, 8.0 * WINDOW_HOURS);
        assert_eq!(
            provider.contract_utilization(),
            one_segment(row).contract_utilization()
        );
        let jobs_usd = one_segment(row).spend_total_usd();
        assert!((provider.on_demand_revenue_usd() - jobs_usd).abs() <= 1e-9 * fees);
    }
}

/// Commitment first, bursting at list: 8 of 32 GPUs committed at $2 to a segment offering
/// 12 GPUs of load, the rest at $5. Its jobs pay $5 × E[(N − 8)⁺] per hour — only what
/// exceeds the commitment at each moment — and the commitment runs at E[min(N, 8)] ÷ 8.
#[test]
fn jobs_beyond_the_commitment_pay_the_list_price() {
    let (a, g) = (12.0, 8);
    let rows = run(&pool("bursting", a, 32, 5.0, g, 2.0));
    let (committed, beyond) = poisson_split(a, g);
    let checks = 3;
    let per_hour = |f: &dyn Fn(&SegmentRow) -> f64| {
        rows.iter()
            .map(|r| f(one_segment(r)) / WINDOW_HOURS)
            .collect::<Vec<f64>>()
    };
    within_band(
        "list-price spend per hour",
        &per_hour(&|s| s.spend_total_usd()),
        5.0 * beyond,
        checks,
    );
    within_band(
        "committed GPUs used",
        &per_hour(&|s| s.committed_used_gpu_hours),
        committed,
        checks,
    );
    let values: Vec<f64> = rows
        .iter()
        .map(|r| one_segment(r).spend_usd_per_useful_gpu_hour())
        .collect();
    within_band(
        "spend per useful GPU-hour",
        &values,
        (2.0 * f64::from(g) + 5.0 * beyond) / a,
        checks,
    );
}

/// A contract held from week 5 for 10 weeks, not renewed, then the same contract always
/// renewed: exactly 10 weeks of fees, then every hour from week 5 to the horizon.
#[test]
fn a_contract_runs_for_its_terms_and_renewals() {
    let yaml = |renewal: f64| {
        format!(
            "name: terms
simulation: {{horizon_hours: 5100, warmup_hours: 100, replications: 2, seed: 3}}
demand:
  segments:
    - {{name: client, arrivals_per_hour: 1, duration_hours: {{exponential: {{mean: 1}}}}}}
  contracts:
    - {{provider: centralized, segment: client, gpus: 4, usd_per_gpu_hour: 2, term_weeks: 10, start_week: 5, renewal_probability: {renewal}, count: 2}}
centralized: {{gpus: 16, pricing: {{usd_per_gpu_hour: 3}}}}
"
        )
    };
    let once = run(&yaml(0.0));
    let always = run(&yaml(1.0));
    for row in &once {
        let held = one_segment(row).committed_gpu_hours;
        assert!((held - 2.0 * 4.0 * 1680.0).abs() < 1e-6, "held {held}");
    }
    for row in &always {
        let held = one_segment(row).committed_gpu_hours;
        assert!(
            (held - 2.0 * 4.0 * (5100.0 - 840.0)).abs() < 1e-6,
            "held {held}"
        );
        let fees = one_segment(row).contract_spend_usd;
        assert!((fees - 2.0 * held).abs() < 1e-6 * fees);
    }
}

/// In an architecture without the contract's provider, the segment buys as ordinary
/// demand: no fees, and its jobs pay the list price for every GPU-hour.
#[test]
fn without_its_provider_a_contract_segment_buys_on_demand() {
    let yaml = "name: elsewhere
simulation: {horizon_hours: 2100, warmup_hours: 100, replications: 4, seed: 3}
demand:
  segments:
    - {name: client, arrivals_per_hour: 3, duration_hours: {exponential: {mean: 1}}}
  contracts:
    - {provider: centralized, segment: client, gpus: 8, usd_per_gpu_hour: 2, term_weeks: 1000}
centralized: {gpus: 16, pricing: {usd_per_gpu_hour: 3}}
distributed: {gpus: 16, pricing: {usd_per_gpu_hour: 1.5}}
";
    let rows = run(yaml);
    for row in rows.iter().filter(|r| r.system.as_str() == "distributed") {
        let segment = one_segment(row);
        assert_eq!(segment.contract_spend_usd, 0.0);
        assert_eq!(segment.committed_gpu_hours, 0.0);
        let per_hour = segment.spend_usd_per_useful_gpu_hour();
        assert!((per_hour - 1.5).abs() < 1e-9, "paid {per_hour}");
    }
    for row in rows.iter().filter(|r| r.system.as_str() == "centralized") {
        assert!(one_segment(row).contract_spend_usd > 0.0);
    }
}

/// A spot job on its own customer's commitment runs on GPUs that customer paid for: no
/// one preempts it there. 12 GPUs, 8 held for a spot segment of load 3 (it rarely needs
/// more), and on-demand jobs of load 3.6 on the other 4: the on-demand jobs wait exactly as
/// in an M/M/4 queue, and preemptions are rare — only of the spot jobs beyond their
/// commitment (were the committed ones preemptible, most on-demand arrivals that wait
/// would preempt one).
#[test]
fn spot_jobs_on_their_commitment_are_not_preempted() {
    let yaml = format!(
        "name: committed-spot
simulation: {{horizon_hours: 20100, warmup_hours: 100, replications: {REPLICATIONS}, seed: 29}}
demand:
  segments:
    - {{name: batch, arrivals_per_hour: 3, duration_hours: {{exponential: {{mean: 1}}}}, spot_share: 1}}
    - {{name: steady, arrivals_per_hour: 3.6, duration_hours: {{exponential: {{mean: 1}}}}}}
  contracts:
    - {{provider: centralized, segment: batch, gpus: 8, usd_per_gpu_hour: 1, term_weeks: 1000}}
centralized: {{gpus: 12, pricing: {{usd_per_gpu_hour: 3, spot_discount: 0.7}}}}
"
    );
    let rows = run(&yaml);
    let waits: Vec<f64> = rows.iter().map(|r| r.mean_wait_hours_on_demand).collect();
    within_band(
        "on-demand mean wait",
        &waits,
        capsim::theory::mmc(4, 3.6, 1.0).mean_wait_hours,
        1,
    );
    for row in &rows {
        assert!(
            row.preemptions_per_spot_job < 0.01,
            "{} preemptions per spot job",
            row.preemptions_per_spot_job
        );
    }
}

/// Idle commitments sold as spot (`spot_on_idle_commitments`): all 8 GPUs of a pool are
/// held for a client of load 3, and spot jobs of another segment (load 3, exact resumes)
/// run on whatever the client does not use, preempted when it needs them. The client
/// waits as in an M/M/8 of its own load, the pool as a whole is the M/M/8 of both (0.75
/// busy), and the fee is exactly 8 GPUs × $2 × the window. Without the option no spot job
/// ever runs there: the held GPUs are kept from them.
#[test]
fn idle_commitments_sold_as_spot() {
    let yaml = |resell: bool, horizon: f64| {
        format!(
            "name: resold
simulation: {{horizon_hours: {horizon}, warmup_hours: 100, replications: {REPLICATIONS}, seed: 31}}
demand:
  segments:
    - {{name: client, arrivals_per_hour: 3, duration_hours: {{exponential: {{mean: 1}}}}}}
    - {{name: batch, arrivals_per_hour: 3, duration_hours: {{exponential: {{mean: 1}}}}, spot_share: 1, checkpoint_every_hours: 1e-9}}
  contracts:
    - {{provider: centralized, segment: client, gpus: 8, usd_per_gpu_hour: 2, term_weeks: 1000}}
centralized: {{gpus: 8, pricing: {{usd_per_gpu_hour: 3, spot_discount: 0.7, spot_on_idle_commitments: {resell}}}}}
"
        )
    };
    let rows = run(&yaml(true, 100.0 + WINDOW_HOURS));
    let checks = 2;
    let waits: Vec<f64> = rows.iter().map(|r| r.mean_wait_hours_on_demand).collect();
    within_band(
        "client mean wait",
        &waits,
        capsim::theory::mmc(8, 3.0, 1.0).mean_wait_hours,
        checks,
    );
    let utilization: Vec<f64> = rows.iter().map(|r| r.utilization).collect();
    within_band("utilization", &utilization, 6.0 / 8.0, checks);
    for row in &rows {
        assert!(row.jobs_preempted > 0);
        let fees = 8.0 * 2.0 * WINDOW_HOURS;
        assert!((row.providers[0].contract_revenue_usd - fees).abs() <= 1e-9 * fees);
        assert!(row.providers[0].spot_revenue_usd > 0.0);
    }
    let kept = run(&yaml(false, 600.0));
    for row in &kept {
        assert_eq!(
            row.segments[1].jobs_served, 0,
            "spot jobs never reach held GPUs"
        );
    }
}
