//! The scenario hash (`scenario_hash` in every table): the same for every text that
//! resolves to the same scenario, different for any change of a model input, and
//! stable across capsim versions (pinned for every bundled scenario).

use capsim::scenario::{self, overrides};

use crate::root;

const BASE: &str = "\
name: hashed
simulation: {horizon_hours: 2000, warmup_hours: 100, replications: 4, seed: 7}
demand:
  segments:
    - name: training
      arrivals_per_hour: 3
      duration_hours: {exponential: {mean: 2}}
      gpus_per_job: {1: 0.5, 4: 0.5}
      max_price_usd_per_gpu_hour: {uniform: {min: 1, max: 8}}
centralized:
  gpus: 16
  pricing: {usd_per_gpu_hour: 6.0}
distributed:
  gpus: 24
  pricing: {policy: utilization_target, usd_per_gpu_hour: 2.0, target_utilization: 0.7}
";

fn hash(text: &str) -> String {
    scenario::parse("hashed.yaml", text)
        .unwrap_or_else(|e| panic!("{}\n{text}", e.render()))
        .hash_hex()
}

#[test]
fn reordering_keys_keeps_the_hash() {
    let reordered = "\
distributed:
  pricing: {target_utilization: 0.7, usd_per_gpu_hour: 2.0, policy: utilization_target}
  gpus: 24
centralized:
  pricing: {usd_per_gpu_hour: 6.0}
  gpus: 16
demand:
  segments:
    - duration_hours: {exponential: {mean: 2}}
      max_price_usd_per_gpu_hour: {uniform: {max: 8, min: 1}}
      gpus_per_job: {4: 0.5, 1: 0.5}
      arrivals_per_hour: 3
      name: training
simulation: {seed: 7, replications: 4, warmup_hours: 100, horizon_hours: 2000}
name: hashed
";
    assert_eq!(hash(BASE), hash(reordered));
}

#[test]
fn writing_out_a_default_keeps_the_hash() {
    let explicit = BASE
        .replace(
            "  pricing: {policy: utilization_target, usd_per_gpu_hour: 2.0, target_utilization: 0.7}",
            "  take_rate: 0.2\n  review_every_hours: 168\n  pricing: {policy: utilization_target, usd_per_gpu_hour: 2.0, target_utilization: 0.7, sensitivity: 1.0, max_step: 0.05, reserved_discount: 0}",
        )
        .replace(
            "  pricing: {usd_per_gpu_hour: 6.0}",
            "  pricing: {policy: fixed, usd_per_gpu_hour: 6.0, egress_usd_per_gb: 0}",
        )
        .replace("      arrivals_per_hour: 3", "      arrivals_per_hour: 3\n      reserved_share: 0\n      annual_growth: 0");
    assert_ne!(explicit, BASE);
    assert_eq!(hash(BASE), hash(&explicit));
    // Seed and replications have their own columns; comments are not inputs.
    let other_run = BASE.replace("replications: 4, seed: 7", "replications: 40, seed: 8");
    assert_eq!(hash(BASE), hash(&format!("# a comment\n{other_run}")));
}

#[test]
fn every_model_input_changes_the_hash() {
    let changes = [
        "name=renamed",
        "simulation.horizon_hours=2001",
        "simulation.warmup_hours=101",
        "simulation.antithetic=true",
        "demand.segments[0].arrivals_per_hour=3.0001",
        "demand.segments[0].duration_hours={exponential: {mean: 2.5}}",
        "demand.segments[0].duration_hours={lognormal: {median: 2, sigma: 1}}",
        "demand.segments[0].gpus_per_job={1: 0.6, 4: 0.4}",
        "demand.segments[0].gpus_per_job={1: 0.5, 8: 0.5}",
        "demand.segments[0].max_price_usd_per_gpu_hour={uniform: {min: 1, max: 9}}",
        "demand.segments[0].patience_hours=4",
        "demand.segments[0].reserved_share=0.1",
        "demand.segments[0].spot_share=0.1",
        "demand.segments[0].checkpoint_every_hours=2",
        "centralized.pricing.spot_discount=0.5",
        "centralized.pricing.spot_on_idle_commitments=true",
        "demand.contracts=[{provider: centralized, segment: training, gpus: 8, usd_per_gpu_hour: 2, term_weeks: 52}]",
        "demand.contracts=[{provider: centralized, segment: training, gpus: 8, usd_per_gpu_hour: 2, term_weeks: 52, renewal_probability: 0.5}]",
        "demand.segments[0].annual_growth=0.1",
        "demand.segments[0].name=inference",
        "centralized.gpus=17",
        "centralized.pricing.usd_per_gpu_hour=6.5",
        "centralized.pricing.egress_usd_per_gb=0.05",
        "centralized.latency_slowdown=1.1",
        "distributed.gpus=25",
        "distributed.take_rate=0.25",
        "distributed.review_every_hours=24",
        "distributed.pricing.target_utilization=0.75",
        "distributed.pricing.max_step=0.1",
        "distributed.pricing.sensitivity=2",
        "distributed.pricing.floor_usd_per_gpu_hour=1",
        "finance.discount_rate=0.12",
        "finance.tax_rate=0.2",
        "finance.terminal_value=0.5",
        "demand.segments[0].max_price_annual_change=-0.1",
        "centralized.costs={capex_usd_per_gpu: 0}",
        "centralized.costs={capex_usd_per_gpu: 0, age_years: 1}",
        "centralized.procurement={target_utilization: 0.8, lead_time_weeks: 4}",
        "centralized.procurement={target_utilization: 0.8, lead_time_weeks: 4, service_life_years: 3}",
        "centralized.procurement={target_utilization: 0.8, lead_time_weeks: 4, gpu_classes: [H100, B200]}",
        "gpu_classes=[{name: H100, speed: 1, power_kw: 1.275, capex_usd: 30000, resale_after_36_months: 0.4}]",
        "gpu_classes=[{name: H100, speed: 1, power_kw: 1.275, capex_usd: 30000, annual_cost_decline: 0.1}]",
        "gpu_classes=[{name: B200, speed: 2.2, power_kw: 1.79, capex_usd: 45000, available_from_week: 3}]",
    ];
    let base = hash(BASE);
    let mut seen = vec![(base.clone(), "the base".to_string())];
    for change in changes {
        let set = overrides::parse_override(change).expect("override");
        let text = overrides::apply(BASE, &[set]).expect("apply");
        let changed = hash(&text);
        if let Some((_, earlier)) = seen.iter().find(|(h, _)| *h == changed) {
            panic!("{change} gives the hash of {earlier}");
        }
        seen.push((changed, change.to_string()));
    }
}

/// The hash of every bundled scenario, pinned: it identifies results across capsim
/// versions (merges refuse shards of another hash), so a change in the code that moves
/// it must be deliberate (and noted in the CHANGELOG). Adding a field whose default is
/// off, or renaming one with `#[serde(rename)]`, leaves these as they are.
#[test]
fn bundled_scenario_hashes_are_pinned() {
    let pinned = [
        ("glut-2026", "7bff7e28d5e92142"),
        ("mmc-example", "86751061e572d132"),
        ("seasonal-demand", "293b6efe6aa58e70"),
        ("seed-baseline", "0766b8cc62729496"),
        ("seed-baseline-fixed", "7ef3afb73429023b"),
        ("seed-claims-bought-gpus", "f766f7f84d4d0127"),
        ("seed-claims", "284c9ae42532fb18"),
        ("shortage-2024", "00f92dcd738060b3"),
        ("validation/mmc-50-erlang-a", "26741db71bbe5a12"),
        ("validation/mmc-64-erlang-c", "ea6eac1304cdf7cb"),
        ("validation/mmcc-20-erlang-b", "4cfcb72c2bf8b98f"),
    ];
    let mut actual = Vec::new();
    for (name, _) in pinned {
        let path = root().join(format!("scenarios/{name}.yaml"));
        let scenario = scenario::load(&path).unwrap_or_else(|e| panic!("{}", e.render()));
        actual.push((name, scenario.hash_hex()));
    }
    let expected: Vec<(&str, String)> = pinned
        .iter()
        .map(|(name, hash)| (*name, hash.to_string()))
        .collect();
    assert_eq!(actual, expected);
}
