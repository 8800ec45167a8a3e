//! Any bytes as a scenario file: see `capsim::robustness` for the properties checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| capsim::robustness::check_scenario_text(data));
