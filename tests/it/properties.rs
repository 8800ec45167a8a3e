//! Properties over randomly generated valid scenarios (a seeded generator, so a failure
//! replays) with every mechanism switched on at random (tiers, maximum prices, egress,
//! pricing policies, procurement, failures with and without checkpoints, operator entry,
//! exit and reinvestment): every one parses, runs without error, conserves jobs,
//! GPU-hours and money (checked inside `montecarlo::simulate` and again here), keeps
//! utilization and fractions in [0, 1], and gives
//! identical rows on 1 and 2 threads. `CAPSIM_PROPERTY_CASES` raises the case count
//! for a long run (default 1000, ~10 s). `CAPSIM_PROPERTY_DIGEST=FILE` writes one line
//! per case with a hash of its rows, so two builds can be shown to give every case the
//! same values (`diff` the two files; the engine-speed work is checked this way). The hash
//! is std's `DefaultHasher`: compare files made with the same Rust toolchain.

use capsim::montecarlo;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

use crate::scenario;

/// A random distribution in YAML, every kind the schema has, with mean ≈ `scale`.
fn dist(rng: &mut Xoshiro256PlusPlus, scale: f64) -> String {
    match rng.random_range(0..6) {
        0 => format!("{scale}"),
        1 => format!("{{exponential: {{mean: {scale}}}}}"),
        2 => format!(
            "{{lognormal: {{median: {scale}, sigma: {}}}}}",
            rng.random_range(0.0..2.0)
        ),
        3 => format!(
            "{{lognormal: {{mean: {scale}, sigma: {}}}}}",
            rng.random_range(0.0..2.0)
        ),
        4 => format!(
            "{{triangular: {{min: 0, mode: {scale}, max: {}}}}}",
            3.0 * scale
        ),
        _ => format!(
            "{{uniform: {{min: {}, max: {}}}}}",
            0.5 * scale,
            1.5 * scale
        ),
    }
}

fn random_scenario(rng: &mut Xoshiro256PlusPlus, case: u32) -> String {
    let horizon = rng.random_range(20.0..300.0);
    let warmup = horizon * rng.random_range(0.0..0.5);
    let mut yaml = format!(
        "name: case-{case}\nsimulation: {{horizon_hours: {horizon}, warmup_hours: {warmup}, replications: 2, seed: {case}, antithetic: {}}}\ndemand:\n  segments:\n",
        // A third of the cases run an antithetic pair (inverse-transform samplers, mirrored draws).
        case.is_multiple_of(3)
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
        if rng.random_bool(0.3) {
            yaml.push_str(&format!(
                "      reserved_share: {}\n",
                rng.random_range(0.0..1.0)
            ));
        }
        if rng.random_bool(0.3) {
            let typical = rng.random_range(0.5..8.0);
            yaml.push_str(&format!(
                "      max_price_usd_per_gpu_hour: {}\n",
                dist(rng, typical)
            ));
        }
        if rng.random_bool(0.2) {
            yaml.push_str(&format!("      data_gb: {}\n", dist(rng, 20.0)));
        }
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
    if rng.random_bool(0.5) {
        let method = if rng.random_bool(0.5) {
            "straight_line"
        } else {
            "declining_balance"
        };
        yaml.push_str(&format!(
            "finance: {{discount_rate: {}, tax_rate: {}, depreciation: {method}, terminal_value: {}}}\n",
            rng.random_range(0.0..0.3),
            rng.random_range(0.0..0.4),
            rng.random_range(0.0..1.5)
        ));
    }
    match rng.random_range(0..3) {
        0 => yaml.push_str(&centralized(rng, largest_job)),
        1 => yaml.push_str(&distributed(rng, largest_job)),
        _ => {
            yaml.push_str(&centralized(rng, largest_job));
            yaml.push_str(&distributed(rng, largest_job));
        }
    }
    yaml
}

/// Prices, sometimes moved by a policy; reviews often enough to happen in short runs.
fn pricing(rng: &mut Xoshiro256PlusPlus) -> String {
    let price = rng.random_range(0.5..8.0);
    let policy = match rng.random_range(0..3) {
        0 => String::new(),
        1 => format!(
            ", policy: scheduled, annual_decline: {}",
            rng.random_range(0.0..0.9)
        ),
        _ => format!(
            ", policy: utilization_target, target_utilization: {}, max_step: 0.2",
            rng.random_range(0.3..0.95)
        ),
    };
    format!(
        "  review_every_hours: {}\n  pricing: {{usd_per_gpu_hour: {price}, reserved_discount: 0.2, egress_usd_per_gb: 0.05{policy}}}\n",
        rng.random_range(5.0..60.0)
    )
}

fn centralized(rng: &mut Xoshiro256PlusPlus, largest_job: u32) -> String {
    let mut yaml = format!(
        "centralized:\n  gpus: {}\n",
        largest_job + rng.random_range(0..40)
    );
    if rng.random_bool(0.6) {
        yaml.push_str(&pricing(rng));
    }
    if rng.random_bool(0.4) {
        let weeks = rng.random_range(0.0..3.0);
        yaml.push_str(&format!(
            "  procurement: {{target_utilization: {}, lead_time_weeks: {}, order_multiple: {}}}\n",
            rng.random_range(0.4..0.95),
            dist(rng, weeks),
            rng.random_range(1..9)
        ));
    }
    yaml
}

fn distributed(rng: &mut Xoshiro256PlusPlus, largest_job: u32) -> String {
    let mut operator = format!(
        "{{count: {}, gpus: {}",
        rng.random_range(1..6),
        largest_job + rng.random_range(0..12)
    );
    if rng.random_bool(0.5) {
        let (mtbf, mttr) = (rng.random_range(5.0..300.0), rng.random_range(0.1..10.0));
        operator.push_str(&format!(
            ", mtbf_hours: {mtbf}, mttr_hours: {}",
            dist(rng, mttr)
        ));
        if rng.random_bool(0.5) {
            operator.push_str(&format!(
                ", checkpoint_every_hours: {}",
                rng.random_range(0.05..2.0)
            ));
        }
    }
    if rng.random_bool(0.4) {
        operator.push_str(&format!(
            ", availability: {}, availability_cycle_hours: {}",
            rng.random_range(0.3..1.0),
            rng.random_range(1.0..100.0)
        ));
    }
    operator.push('}');
    let mut yaml = format!(
        "distributed:\n  operators: [{operator}]\n  take_rate: {}\n",
        rng.random_range(0.0..0.5)
    );
    if rng.random_bool(0.6) {
        yaml.push_str(&pricing(rng));
    }
    if rng.random_bool(0.3) {
        yaml.push_str(&format!(
            "  entry: {{hurdle_yield: {}, onboarding_weeks: {}, template: {{gpus: {largest_job}}}}}\n",
            rng.random_range(-1.0..1.0),
            dist(rng, 0.1)
        ));
    }
    if rng.random_bool(0.3) {
        yaml.push_str(&format!(
            "  exit: {{below_yield: {}, after_reviews: {}}}\n",
            rng.random_range(-1.0..2.0),
            rng.random_range(1..4)
        ));
    }
    if rng.random_bool(0.3) {
        yaml.push_str(&format!(
            "  reinvest: {{share: {}, lead_time_weeks: {}}}\n",
            rng.random_range(0.0..1.0),
            dist(rng, 0.2)
        ));
    }
    yaml
}

#[test]
fn random_valid_scenarios_keep_every_invariant() {
    let cases: u32 = std::env::var("CAPSIM_PROPERTY_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(20261126);
    let mut digest = String::new();
    for case in 0..cases {
        let yaml = random_scenario(&mut rng, case);
        let scenario = scenario(&yaml);
        let one = montecarlo::run(&scenario, Some(1))
            .unwrap_or_else(|e| panic!("case {case}: {e}\n{yaml}"));
        let two = montecarlo::run(&scenario, Some(2))
            .unwrap_or_else(|e| panic!("case {case}: {e}\n{yaml}"));
        assert_eq!(
            one, two,
            "case {case}: thread count changed the results\n{yaml}"
        );
        assert_eq!(one.len(), 2 * scenario.systems().len());
        {
            use std::hash::{Hash, Hasher};
            // f64's Debug form round-trips exactly: equal text is equal values.
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            format!("{one:?}").hash(&mut hasher);
            digest.push_str(&format!("case {case}: {:016x}\n", hasher.finish()));
        }
        // Each replication on its own (two shards), merged, is the whole run.
        let hurdle = scenario.finance.hurdle_rate;
        let shards: Vec<capsim::results::Results> = [0..1, 1..2]
            .into_iter()
            .map(|range| {
                capsim::results::Results::from_rows(
                    &montecarlo::run_range(&scenario, range, Some(1)).expect("shard runs"),
                    hurdle,
                )
            })
            .collect();
        let merged = capsim::results::Results::merge(shards).expect("disjoint shards");
        // Compared as text: f64's Debug form round-trips exactly, and NaN equals NaN there.
        let whole = capsim::results::Results::from_rows(&one, hurdle);
        assert!(
            format!("{merged:?}") == format!("{whole:?}"),
            "case {case}: shards merged differ from the run\n{yaml}"
        );
        for row in &one {
            let fractions = [
                ("utilization", row.utilization),
                ("p_wait", row.p_wait),
                ("abandon_fraction", row.abandon_fraction),
                ("lost_demand_fraction", row.lost_demand_fraction),
            ];
            for (name, value) in fractions {
                assert!(
                    (0.0..=1.0).contains(&value),
                    "case {case}: {name} = {value}\n{yaml}"
                );
            }
            assert!(row.mean_wait_hours >= 0.0 && row.mean_queue_length >= 0.0);
            let ended = row.jobs_completed
                + row.jobs_abandoned
                + row.jobs_priced_out
                + row.jobs_unserved
                + row.jobs_stranded
                + row.jobs_failed;
            assert_eq!(row.jobs_arrived, ended, "case {case}\n{yaml}");
            let up_and_down = row.busy_gpu_hours
                + row.idle_gpu_hours
                + row.down_gpu_hours
                + row.withdrawn_gpu_hours;
            assert!(
                (up_and_down - row.installed_gpu_hours).abs()
                    <= 1e-9 * row.installed_gpu_hours.max(1.0)
            );
            let paid = row.provider_revenue_usd + row.protocol_revenue_usd;
            assert!(
                (row.customer_spend_usd - paid).abs() <= 1e-9 * paid.max(1.0),
                "case {case}: money\n{yaml}"
            );
            crate::finance::check_statements(row, scenario.finance.discount_rate)
                .unwrap_or_else(|e| panic!("case {case}: {e}\n{yaml}"));
            for year in row.finance.years.iter().filter(|year| year.year > 0) {
                assert!(
                    year.utilization.is_none_or(|u| (0.0..=1.0).contains(&u)),
                    "case {case}: {year:?}\n{yaml}"
                );
                assert!(
                    year.yield_fraction.is_none_or(f64::is_finite) && year.book_value_usd >= 0.0,
                    "case {case}: {year:?}\n{yaml}"
                );
            }
        }
    }
    if let Ok(path) = std::env::var("CAPSIM_PROPERTY_DIGEST") {
        std::fs::write(&path, digest).expect("write the property digest");
    }
}
