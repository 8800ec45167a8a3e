//! Spot capacity: preemptible jobs at a discount, served after every other tier and
//! preempted by them. Checked against preemptive-priority queueing: jobs that preempt
//! see the pool as if the spot jobs were not there, and with exact resumes (checkpoints
//! → 0) and exponential work the pool as a whole is the M/M/c queue of both loads.
//! Bands: the replication mean within t·s/√n, Bonferroni-corrected (`crate::within_band`).

use capsim::metrics::RunMetrics;
use capsim::montecarlo;
use capsim::theory;

use crate::{scenario, within_band};

const REPLICATIONS: usize = 20;

fn run(yaml: &str) -> Vec<RunMetrics> {
    montecarlo::run(&scenario(yaml), None).unwrap_or_else(|e| panic!("{e}\n{yaml}"))
}

/// One pool of `gpus` GPUs at $3: on-demand jobs at `on_demand` an hour and spot jobs
/// (70% off) at `spot` an hour, both one-GPU, exponential one-hour work, never giving up;
/// spot jobs checkpoint every `checkpoint` hours.
fn pool(gpus: u32, on_demand: f64, spot: f64, checkpoint: f64, horizon: f64) -> String {
    format!(
        "name: spot
simulation: {{horizon_hours: {horizon}, warmup_hours: 200, replications: {REPLICATIONS}, seed: 23}}
demand:
  segments:
    - {{name: steady, arrivals_per_hour: {on_demand}, duration_hours: {{exponential: {{mean: 1}}}}}}
    - {{name: flexible, arrivals_per_hour: {spot}, duration_hours: {{exponential: {{mean: 1}}}}, spot_share: 1, checkpoint_every_hours: {checkpoint}}}
centralized: {{gpus: {gpus}, pricing: {{usd_per_gpu_hour: 3, spot_discount: 0.7}}}}
"
    )
}

/// Preemptive priority: on-demand jobs wait as in an M/M/8 fed by their own load (Erlang
/// C at λ = 4), whatever the spot load; with exact resumes the mean number waiting of both
/// tiers together is the M/M/8 queue length of the combined load λ = 6.4 (ρ = 0.8).
#[test]
fn on_demand_jobs_see_the_pool_without_spot() {
    let (c, on_demand, spot) = (8, 4.0, 2.4);
    let rows = run(&pool(c, on_demand, spot, 1e-9, 20_200.0));
    let checks = 3;
    let waits: Vec<f64> = rows.iter().map(|r| r.mean_wait_hours_on_demand).collect();
    within_band(
        "on-demand mean wait",
        &waits,
        theory::mmc(c, on_demand, 1.0).mean_wait_hours,
        checks,
    );
    let combined = on_demand + spot;
    let queue: Vec<f64> = rows.iter().map(|r| r.mean_queue_length).collect();
    within_band(
        "jobs waiting, both tiers",
        &queue,
        combined * theory::mmc(c, combined, 1.0).mean_wait_hours,
        checks,
    );
    let utilization: Vec<f64> = rows.iter().map(|r| r.utilization).collect();
    within_band("utilization", &utilization, combined / f64::from(c), checks);
    for row in &rows {
        assert!(row.jobs_preempted > 0, "spot jobs were preempted");
        assert!(row.mean_wait_hours_spot > row.mean_wait_hours_on_demand);
        assert_eq!(row.jobs_failed, 0, "preemptions never make a job give up");
    }
}

/// With checkpoints every Δ hours a preempted job loses at most Δ of work per preemption
/// (the time since its last checkpoint), and spot jobs pay the list price less the spot
/// discount for the hours they hold.
#[test]
fn a_preemption_loses_at_most_the_checkpoint_interval() {
    let delta = 0.25;
    let rows = run(&pool(8, 5.0, 2.4, delta, 5_200.0));
    for row in &rows {
        assert!(
            row.jobs_preempted > 100,
            "{} preemptions",
            row.jobs_preempted
        );
        let per_preemption = row.lost_work_gpu_hours / row.jobs_preempted as f64;
        assert!(
            per_preemption > 0.0 && per_preemption <= delta,
            "lost {per_preemption} GPU-hours per preemption"
        );
        let flexible = &row.segments[1];
        let spot_price = flexible.spend_usd[2] / flexible.served_work_gpu_hours[2];
        // Spot jobs pay for every hour held, lost work included: at least 3 × 0.3 per
        // useful GPU-hour, and exactly that when nothing is lost.
        assert!(spot_price >= 0.9 - 1e-12, "spot price {spot_price}");
        assert!(row.preemptions_per_spot_job > 0.0);
        let steady = &row.segments[0];
        let on_demand_price = steady.spend_usd[1] / steady.served_work_gpu_hours[1];
        assert!((on_demand_price - 3.0).abs() < 1e-9);
    }
}

/// With exact resumes the spot jobs pay
/// exactly the spot price per GPU-hour of work, and the provider counts it as spot revenue.
#[test]
fn spot_jobs_pay_the_discounted_price() {
    let rows = run(&pool(8, 3.0, 1.0, 1e-9, 2_200.0));
    for row in &rows {
        let flexible = &row.segments[1];
        let spot_price = flexible.spend_usd[2] / flexible.served_work_gpu_hours[2];
        assert!((spot_price - 0.9).abs() < 1e-6, "spot price {spot_price}");
        assert!((row.providers[0].spot_revenue_usd - flexible.spend_usd[2]).abs() < 1e-6);
    }
}
