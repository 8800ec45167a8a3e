//! Properties over randomly generated valid scenarios (the generator of
//! `tests/support/generate.rs` on a seeded stream, so a failure replays, with every
//! mechanism switched on at random): every one parses, runs without error, conserves
//! jobs, GPU-hours and money (checked inside `montecarlo::simulate` and again here), keeps
//! utilization and fractions in [0, 1], keeps the finance identities, and gives identical
//! rows on 1 and 2 threads and from two shards merged. `CAPSIM_PROPERTY_CASES` raises the
//! case count for a long run (default 1000, ~25 s). `CAPSIM_PROPERTY_DIGEST=FILE` writes
//! one line per case with a hash of its rows, so two builds can be shown to give every
//! case the same values (`diff` the two files; the engine-speed work is checked this
//! way). The hash is std's `DefaultHasher`: compare files made with the same Rust
//! toolchain and the same generator.

use std::ops::Range;

use capsim::montecarlo;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

use crate::generate::{Choices, check_rows, random_scenario};
use crate::scenario;

/// The seeded generator's choices (the same draws the generator made before it was
/// shared with the fuzz tests, so earlier property digests still compare).
impl Choices for Xoshiro256PlusPlus {
    fn f64_in(&mut self, range: Range<f64>) -> f64 {
        self.random_range(range)
    }

    fn u32_in(&mut self, range: Range<u32>) -> u32 {
        self.random_range(range)
    }

    fn chance(&mut self, p: f64) -> bool {
        self.random_bool(p)
    }
}

#[test]
fn random_valid_scenarios_keep_every_invariant() {
    let cases = crate::cases_from_env("CAPSIM_PROPERTY_CASES", 1000);
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
        check_rows(&format!("case {case}"), &yaml, &one);
        for row in &one {
            crate::finance::check_statements(row, scenario.finance.discount_rate)
                .unwrap_or_else(|e| panic!("case {case}: {e}\n{yaml}"));
        }
    }
    if let Ok(path) = std::env::var("CAPSIM_PROPERTY_DIGEST") {
        std::fs::write(&path, digest).expect("write the property digest");
    }
}

/// Markets of several providers (`random_market`, its own seeded stream so the cases
/// above keep their digests): every one parses and runs, conserves jobs, GPU-hours and
/// money per provider (inside `montecarlo::simulate`), keeps the row invariants and the
/// finance identities (providers' rows adding up to the market's), and gives identical
/// rows on 1 and 2 threads. `CAPSIM_MARKET_CASES` raises the count (default 300).
#[test]
fn random_markets_keep_every_invariant() {
    let cases = crate::cases_from_env("CAPSIM_MARKET_CASES", 300);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(20261203);
    let mut several = 0;
    for case in 0..cases {
        let yaml = crate::generate::random_market(&mut rng, case);
        let scenario = scenario(&yaml);
        let one = montecarlo::run(&scenario, Some(1))
            .unwrap_or_else(|e| panic!("case {case}: {e}\n{yaml}"));
        let two = montecarlo::run(&scenario, Some(2))
            .unwrap_or_else(|e| panic!("case {case}: {e}\n{yaml}"));
        assert!(
            format!("{one:?}") == format!("{two:?}"),
            "case {case}: thread count changed the results\n{yaml}"
        );
        check_rows(&format!("market case {case}"), &yaml, &one);
        for row in &one {
            crate::finance::check_statements(row, scenario.finance.discount_rate)
                .unwrap_or_else(|e| panic!("market case {case}: {e}\n{yaml}"));
            if row.providers.len() > 1 {
                several += 1;
                let started: u64 = row.providers.iter().map(|p| p.jobs_started).sum();
                assert!(
                    started <= row.jobs_arrived,
                    "market case {case}: {started} started\n{yaml}"
                );
            }
        }
    }
    assert!(several > 0, "no market had several providers");
}
