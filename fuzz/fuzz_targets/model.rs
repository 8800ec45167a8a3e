//! Structure-aware fuzzing of the model: any bytes, read as the choices of the scenario
//! generator in `tests/support/generate.rs`, make a valid scenario, which runs on one
//! and two threads with every conservation law checked. `cargo +nightly fuzz run model`
//! (from `fuzz/`); `cargo test` runs a short seeded version of the same check
//! (`tests/it/fuzz.rs`).
#![no_main]

#[path = "../../tests/support/generate.rs"]
mod generate;

libfuzzer_sys::fuzz_target!(|data: &[u8]| generate::check_bytes(data, |_, _| Ok(())));
