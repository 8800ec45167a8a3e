//! Structure-aware fuzzing inside `cargo test`: seeded random bytes read as the
//! generator's choices (`tests/support/generate.rs`), so every input is a valid scenario
//! and reaches the model, each run on one and two threads with every conservation law
//! and the finance identities checked. `CAPSIM_FUZZ_CASES` sets the number of inputs
//! (default 1,500, about half a minute); the libFuzzer target `fuzz/fuzz_targets/model.rs`
//! runs the same generator and laws (without the finance identities, which live in the
//! test suite) for as long as one likes. Inputs that found a bug are kept in
//! `tests/fixtures/fuzz-model/` and replayed here.

use rand::rngs::Xoshiro256PlusPlus;
use rand::{Rng, RngExt, SeedableRng};

use crate::generate::{check_bytes, scenario_from_bytes};
use crate::root;

/// The finance identities of `tests/it/finance.rs`, at the scenario's discount rate.
fn statements(
    scenario: &capsim::scenario::Scenario,
    row: &capsim::metrics::RunMetrics,
) -> Result<(), String> {
    crate::finance::check_statements(row, scenario.finance.discount_rate)
}

/// Bytes as hex, to paste into a corpus file.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn seeded_random_bytes_reach_the_model_and_keep_every_law() {
    let cases = crate::cases_from_env("CAPSIM_FUZZ_CASES", 1500);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(20261202);
    let mut mechanisms = std::collections::BTreeMap::<&str, u32>::new();
    for case in 0..cases {
        let mut bytes = vec![0_u8; rng.random_range(0..256)];
        rng.fill_bytes(&mut bytes);
        let yaml = scenario_from_bytes(&bytes);
        for key in [
            "centralized:",
            "distributed:",
            "procurement:",
            "policy: scheduled",
            "policy: utilization_target",
            "mtbf_hours",
            "checkpoint_every_hours",
            "availability:",
            "entry:",
            "exit:",
            "reinvest:",
            "finance:",
            "max_price_usd_per_gpu_hour",
            "reserved_share",
            "data_gb",
            "patience_hours",
            "antithetic: true",
            "regions:",
            "gpu_classes: [{name: X1",
            "annual_growth",
            "seasonality",
            "shocks",
            "min_gpu_class",
            "max_price_annual_change",
            "policy: market_clearing",
            "policy: cost_plus",
            "data_centers",
            "latency_slowdown",
            "costs:",
            "forecast_annual_growth",
            "service_life_years",
            ", gpu_classes: [",
            ", gpu_class: ",
        ] {
            if yaml.contains(key) {
                *mechanisms.entry(key).or_default() += 1;
            }
        }
        let found = std::panic::catch_unwind(|| check_bytes(&bytes, statements));
        assert!(
            found.is_ok(),
            "case {case} breaks a property (see the panic above); keep its bytes as a file in tests/fixtures/fuzz-model/ (xxd -r -p): {}",
            hex(&bytes)
        );
    }
    // The bytes drive the structure: every mechanism is reached, and not by every input.
    assert_eq!(mechanisms.len(), 33, "mechanisms reached: {mechanisms:?}");
    assert!(
        mechanisms.values().all(|&n| n >= cases / 100 && n < cases),
        "{mechanisms:?} of {cases}"
    );
}

#[test]
fn the_model_fuzz_corpus_keeps_its_properties() {
    let dir = root().join("tests/fixtures/fuzz-model");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("tests/fixtures/fuzz-model/") {
        let path = entry.expect("entry").path();
        let bytes = std::fs::read(&path).expect("read");
        let found = std::panic::catch_unwind(|| check_bytes(&bytes, statements));
        assert!(found.is_ok(), "{} breaks a property", path.display());
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} inputs in {}", dir.display());
}
