//! The properties every scenario text must have, whatever its bytes: the checks the
//! fuzz target (`fuzz/fuzz_targets/scenario.rs`) runs on generated inputs and the test
//! suite runs on every input the fuzzer ever kept (`tests/fixtures/fuzz/`), so a
//! finding stays fixed. Each violated property panics, which is what a fuzzer detects.
//!
//! Test support, not part of the library: included by the integration tests
//! (`tests/it/main.rs`) and the fuzz target with `#[path]`.

use capsim::montecarlo;
use capsim::scenario::{self, ScenarioError};

/// Largest run the checks simulate: enough for every model path to fire, small enough
/// that the fuzzer keeps trying thousands of inputs a second.
const MAX_EVENTS_TO_SIMULATE: f64 = 20_000.0;
const MAX_GPUS_TO_SIMULATE: u64 = 2_000;
const MAX_HOURS_TO_SIMULATE: f64 = 20_000.0;

/// Checks one input: parsing never panics; a refusal renders with a location inside
/// the text; an accepted scenario has a finite size estimate, survives a `--set`
/// round-trip unchanged, and a small one simulates with every conservation law holding.
///
/// # Panics
/// When a property fails: that is a bug in capsim.
pub fn check_scenario_text(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    match scenario::parse("fuzz.yaml", text) {
        Err(error) => check_refusal(text, &error),
        Ok(parsed) => {
            let estimate = montecarlo::estimate(&parsed);
            assert!(
                estimate.events.is_finite() && estimate.events >= 0.0,
                "events estimate {}",
                estimate.events
            );
            assert!(
                estimate.bytes_needed(2).is_finite(),
                "memory estimate {:?}",
                estimate
            );
            check_round_trip(text, &parsed);
            simulate_if_small(&parsed, estimate.events);
        }
    }
}

/// A refusal names positions that exist in the text.
fn check_refusal(text: &str, error: &ScenarioError) {
    let rendered = error.render();
    assert!(rendered.starts_with("capsim: error: "), "{rendered}");
    if let ScenarioError::Invalid { diagnostics, .. } = error {
        assert!(
            !diagnostics.is_empty(),
            "an invalid scenario without a diagnostic"
        );
        let lines = capsim::scenario::diagnostic::source_lines(text)
            .count()
            .max(1) as u64;
        for diagnostic in diagnostics {
            // Line 0 means "no position"; a position past the end would point nowhere.
            assert!(
                diagnostic.line <= lines + 1,
                "line {} of a {lines}-line text:\n{rendered}",
                diagnostic.line
            );
        }
    }
}

/// Setting a key to the value it already has changes nothing: the YAML tree the
/// overrides rewrite keeps every value's meaning.
fn check_round_trip(text: &str, parsed: &scenario::Scenario) {
    let spec = format!("simulation.seed={}", parsed.simulation.seed);
    let same = scenario::overrides::parse_override(&spec).expect("a well-formed override");
    let rewritten = scenario::overrides::apply(text, &[same])
        .unwrap_or_else(|e| panic!("cannot rewrite a valid scenario: {e}"));
    let reparsed = scenario::parse("fuzz.yaml with --set", &rewritten).unwrap_or_else(|e| {
        panic!(
            "the rewritten scenario is refused:\n{}\n{rewritten}",
            e.render()
        )
    });
    assert_eq!(
        reparsed.hash_hex(),
        parsed.hash_hex(),
        "the round trip changed the scenario:\n{rewritten}"
    );
}

/// Runs one replication of a small scenario; conservation laws are checked inside.
fn simulate_if_small(parsed: &scenario::Scenario, events: f64) {
    let gpus: u64 = parsed
        .systems()
        .iter()
        .map(|system| system.initial_gpus())
        .sum();
    let small = events <= MAX_EVENTS_TO_SIMULATE * f64::from(parsed.simulation.replications)
        && gpus <= MAX_GPUS_TO_SIMULATE
        && parsed.simulation.horizon_hours <= MAX_HOURS_TO_SIMULATE;
    if !small {
        return;
    }
    match montecarlo::run_replication(parsed, 0) {
        Ok(rows) => {
            for row in rows {
                assert!(
                    (0.0..=1.0).contains(&row.utilization),
                    "utilization {} out of [0, 1]",
                    row.utilization
                );
            }
        }
        // A runaway model is stopped by its event budget: a refusal, not a bug.
        Err(montecarlo::SimError::Engine { .. }) => {}
        Err(error) => panic!("{error}"),
    }
}
