//! Any bytes as a scenario file: see `tests/support/robustness.rs` for the properties
//! checked.
#![no_main]

#[path = "../../tests/support/robustness.rs"]
mod robustness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| robustness::check_scenario_text(data));
