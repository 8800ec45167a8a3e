//! Mutation fuzzing of the scenario reader, in-process: random byte flips, deletions,
//! insertions and splices of the bundled scenarios must give `Ok` or located
//! diagnostics, never a panic, and must not make the model fail on an accepted file.
//! `CAPSIM_MUTATIONS` sets the count per scenario (default 3,000).

use std::panic::{AssertUnwindSafe, catch_unwind};

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

use crate::root;

/// Fragments that steer mutations toward the parser's interesting corners.
const FRAGMENTS: &[&str] = &[
    "&a ", "*a", "<<: ", "{", "}", "[", "]", ": ", "\n  ", "\t", "-", ".nan", "1e999", "-1", "0",
    "\"", "'", "#", "!!str ", "~", "null",
];

fn mutate(rng: &mut Xoshiro256PlusPlus, text: &[u8]) -> Vec<u8> {
    let mut bytes = text.to_vec();
    for _ in 0..rng.random_range(1..4) {
        let at = rng.random_range(0..=bytes.len());
        match rng.random_range(0..4) {
            0 if at < bytes.len() => bytes[at] = rng.random::<u8>(),
            1 if at < bytes.len() => {
                let end = (at + rng.random_range(1..20)).min(bytes.len());
                bytes.drain(at..end);
            }
            2 => {
                let fragment = FRAGMENTS[rng.random_range(0..FRAGMENTS.len())];
                bytes.splice(at..at, fragment.bytes());
            }
            _ => {
                // Copy a slice of the file elsewhere: duplicated keys, misplaced blocks.
                let from = rng.random_range(0..bytes.len().max(1));
                let end = (from + rng.random_range(1..60)).min(bytes.len());
                let piece: Vec<u8> = bytes[from..end].to_vec();
                bytes.splice(at..at, piece);
            }
        }
    }
    bytes
}

#[test]
fn mutated_scenarios_never_panic() {
    let count = crate::cases_from_env("CAPSIM_MUTATIONS", 3000);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    let mut accepted = 0u32;
    for file in [
        "mmc-example.yaml",
        "seed-baseline.yaml",
        "seasonal-demand.yaml",
    ] {
        let original =
            std::fs::read(root().join("scenarios").join(file)).expect("bundled scenario");
        for _ in 0..count {
            let bytes = mutate(&mut rng, &original);
            let Ok(text) = String::from_utf8(bytes) else {
                continue;
            };
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                capsim::scenario::parse("mutant.yaml", &text)
            }));
            match outcome {
                Err(_) => panic!("the reader panicked on:\n{text}"),
                Ok(Err(capsim::scenario::ScenarioError::Invalid { diagnostics, .. })) => {
                    assert!(
                        !diagnostics.is_empty(),
                        "refused without a diagnostic:\n{text}"
                    );
                }
                Ok(Err(other)) => panic!("unexpected error {other}:\n{text}"),
                Ok(Ok(mut scenario)) => {
                    accepted += 1;
                    // An accepted mutant must also simulate: one short replication.
                    scenario.simulation.replications = 1;
                    scenario.simulation.horizon_hours = scenario.simulation.horizon_hours.min(50.0);
                    scenario.simulation.warmup_hours = scenario.simulation.warmup_hours.min(10.0);
                    if capsim::montecarlo::estimate(&scenario).events < 5e6 {
                        capsim::montecarlo::run(&scenario, Some(1)).unwrap_or_else(|e| {
                            panic!("accepted mutant failed to run: {e}\n{text}")
                        });
                    }
                }
            }
        }
    }
    assert!(
        accepted > 0,
        "no mutant was valid: the mutations are too destructive to test the model path"
    );
}
