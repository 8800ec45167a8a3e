//! Properties over randomly generated valid scenarios (a seeded generator, so a failure
//! replays): every one parses, runs without error, conserves jobs and GPU-hours (checked
//! inside `montecarlo::simulate`), keeps utilization and fractions in [0, 1], and gives
//! identical rows on 1 and 2 threads. `CAPSIM_PROPERTY_CASES` raises the case count
//! for a long run (default 1000, ~10 s).

use capsim::montecarlo;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

use crate::scenario;

/// A random distribution in YAML, every kind the schema has, with mean ≈ `scale`.
fn dist(rng: &mut Xoshiro256PlusPlus, scale: f64) -> String {
    match rng.random_range(0..6) {
        0 => format!("{scale}"),
        1 => format!("{{exponential: {{mean: {scale}}}}}"),
        2 => format!("{{lognormal: {{median: {scale}, sigma: {}}}}}", rng.random_range(0.0..2.0)),
        3 => format!("{{lognormal: {{mean: {scale}, sigma: {}}}}}", rng.random_range(0.0..2.0)),
        4 => format!("{{triangular: {{min: 0, mode: {scale}, max: {}}}}}", 3.0 * scale),
        _ => format!("{{uniform: {{min: {}, max: {}}}}}", 0.5 * scale, 1.5 * scale),
    }
}

fn random_scenario(rng: &mut Xoshiro256PlusPlus, case: u32) -> String {
    let horizon = rng.random_range(20.0..300.0);
    let warmup = horizon * rng.random_range(0.0..0.5);
    let mut yaml = format!(
        "name: case-{case}\nsimulation: {{horizon_hours: {horizon}, warmup_hours: {warmup}, replications: 2, seed: {case}}}\ndemand:\n  segments:\n"
    );
    let mut largest_job = 1;
    for segment in 0..rng.random_range(1..4) {
        let gpus = if rng.random_bool(0.5) {
            let size = rng.random_range(1..9u32);
            largest_job = largest_job.max(size);
            size.to_string()
        } else {
            largest_job = largest_job.max(8);
            "{1: 0.8, 2: 0.1, 4: 0.07, 8: 0.03}".to_string()
        };
        let rate = rng.random_range(0.1..30.0);
        let mean_duration = rng.random_range(0.05..3.0);
        let duration = dist(rng, mean_duration);
        yaml.push_str(&format!(
            "    - name: s{segment}\n      arrivals_per_hour: {rate}\n      gpus_per_job: {gpus}\n      duration_hours: {duration}\n"
        ));
        match rng.random_range(0..3) {
            0 => {}
            1 => yaml.push_str("      patience_hours: 0\n"),
            _ => {
                let mean_patience = rng.random_range(0.05..4.0);
                let patience = dist(rng, mean_patience);
                yaml.push_str(&format!("      patience_hours: {patience}\n"));
            }
        }
    }
    let pool = |rng: &mut Xoshiro256PlusPlus| largest_job + rng.random_range(0..40);
    match rng.random_range(0..3) {
        0 => yaml.push_str(&format!("centralized: {{gpus: {}}}\n", pool(rng))),
        1 => yaml.push_str(&format!("distributed: {{gpus: {}}}\n", pool(rng))),
        _ => yaml.push_str(&format!("centralized: {{gpus: {}}}\ndistributed: {{gpus: {}}}\n", pool(rng), pool(rng))),
    }
    yaml
}

#[test]
fn random_valid_scenarios_keep_every_invariant() {
    let cases: u32 = std::env::var("CAPSIM_PROPERTY_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(20261126);
    for case in 0..cases {
        let yaml = random_scenario(&mut rng, case);
        let scenario = scenario(&yaml);
        let one = montecarlo::run(&scenario, Some(1)).unwrap_or_else(|e| panic!("case {case}: {e}\n{yaml}"));
        let two = montecarlo::run(&scenario, Some(2)).unwrap_or_else(|e| panic!("case {case}: {e}\n{yaml}"));
        assert_eq!(one, two, "case {case}: thread count changed the results\n{yaml}");
        assert_eq!(one.len(), 2 * scenario.systems().len());
        for row in &one {
            for (name, value) in [("utilization", row.utilization), ("p_wait", row.p_wait), ("abandon_fraction", row.abandon_fraction)] {
                assert!((0.0..=1.0).contains(&value), "case {case}: {name} = {value}\n{yaml}");
            }
            assert!(row.mean_wait_hours >= 0.0 && row.mean_queue_length >= 0.0);
            assert_eq!(row.jobs_arrived, row.jobs_completed + row.jobs_abandoned, "case {case}\n{yaml}");
            assert!((row.busy_gpu_hours + row.idle_gpu_hours - row.installed_gpu_hours).abs() <= 1e-9 * row.installed_gpu_hours.max(1.0));
        }
    }
}
