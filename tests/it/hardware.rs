//! Where a job may run: memory per GPU (`memory_gb`, `memory_gb_per_gpu`), the largest
//! gang a site holds (`max_gang_gpus`, `jobs_unserved_too_large`), gang jobs on one site
//! against Kaufman–Roberts, and operators' own asks (`placement: cheapest`).

use capsim::metrics::{GroupRow, RunMetrics};
use capsim::model::SystemKind;
use capsim::scenario::supply::PlacementPolicy;
use capsim::theory;

use crate::{group_of, scenario, simulate, within_band};

/// A network of 24 GB RTX 4090s (listed first) and 80 GB H100s, serving `segments`.
fn cards_and_h100s(segments: &str) -> String {
    format!(
        "name: memory
simulation: {{horizon_hours: 1500, warmup_hours: 50, replications: 4, seed: 3}}
demand:
  segments:
{segments}
distributed:
  operators:
    - {{count: 2, gpus: 8, gpu_class: RTX4090, name: cards}}
    - {{count: 2, gpus: 8, gpu_class: H100, name: h100s}}
"
    )
}

/// Jobs needing 80 GB per GPU never land on 24 GB cards, however idle they are (they
/// are listed first, so first fit would pick them); jobs whose need is drawn between 8
/// and 40 GB use both; drawn above 24 GB, only the H100s.
#[test]
fn a_job_never_runs_where_its_memory_does_not_fit() {
    let training = "    - {name: training, arrivals_per_hour: 4, duration_hours: {exponential: {mean: 1}}, memory_gb_per_gpu: 80}";
    for row in simulate(&cards_and_h100s(training)) {
        assert_eq!(
            group_of(&row, "cards").busy_gpu_hours,
            0.0,
            "80 GB jobs on 24 GB cards"
        );
        assert!(group_of(&row, "h100s").busy_gpu_hours > 0.0);
        assert_eq!(row.jobs_unserved, 0);
    }
    let mixed = "    - {name: mixed, arrivals_per_hour: 4, duration_hours: {exponential: {mean: 1}}, memory_gb_per_gpu: {uniform: {min: 8, max: 40}}}";
    let rows = simulate(&cards_and_h100s(mixed));
    for row in &rows {
        assert!(group_of(row, "cards").busy_gpu_hours > 0.0);
        assert!(group_of(row, "h100s").busy_gpu_hours > 0.0);
    }
    // Needs drawn above the cards' 24 GB keep every job off them, however idle.
    let large = mixed.replace("min: 8, max: 40", "min: 24.5, max: 80");
    for row in simulate(&cards_and_h100s(&large)) {
        assert_eq!(group_of(&row, "cards").busy_gpu_hours, 0.0);
        assert_eq!(row.jobs_unserved, 0);
    }
    // Without a class that holds them, they are unserved: lost, and not for their size.
    let only_cards = cards_and_h100s(training).replace(
        "    - {count: 2, gpus: 8, gpu_class: H100, name: h100s}\n",
        "",
    );
    for row in simulate(&only_cards) {
        assert_eq!(row.jobs_unserved, row.jobs_arrived);
        assert_eq!(row.jobs_unserved_too_large, 0);
        assert_eq!(row.busy_gpu_hours, 0.0);
    }
}

/// A 64-GPU job where no site holds 64, and a 16-GPU one where sites have 16 GPUs but
/// an interconnect of 8, are unserved by the network and counted as too large; its
/// one-GPU jobs run. A data center whose fabric holds 64 serves them all.
#[test]
fn a_gang_larger_than_every_site_holds_is_unserved_and_counted() {
    let yaml = "name: gangs
simulation: {horizon_hours: 2000, warmup_hours: 50, replications: 8, seed: 9}
demand:
  segments:
    - {name: jobs, arrivals_per_hour: 2, gpus_per_job: {1: 0.5, 16: 0.25, 64: 0.25}, duration_hours: {exponential: {mean: 0.5}}}
centralized:
  data_centers:
    - {region: default, gpus: 128, max_gang_gpus: 64}
distributed:
  operators:
    - {count: 4, gpus: 16, max_gang_gpus: 8}
";
    let rows = simulate(yaml);
    let (network, cloud): (Vec<&RunMetrics>, Vec<&RunMetrics>) = rows
        .iter()
        .partition(|r| r.system == SystemKind::Distributed);
    for row in &network {
        assert!(row.jobs_unserved > 0);
        assert_eq!(row.jobs_unserved_too_large, row.jobs_unserved);
        assert_eq!(row.jobs_completed + row.jobs_unserved, row.jobs_arrived);
    }
    let share: Vec<f64> = network
        .iter()
        .map(|r| r.jobs_unserved_too_large as f64 / r.jobs_arrived as f64)
        .collect();
    within_band("share too large", &share, 0.5, 1);
    for row in &cloud {
        assert_eq!(row.jobs_unserved, 0);
        assert_eq!(row.jobs_completed, row.jobs_arrived);
    }
    // Where no system holds them, the file is refused: they would be lost everywhere.
    let nowhere = yaml.replace("max_gang_gpus: 64", "max_gang_gpus: 32");
    let error = capsim::scenario::parse("<test>", &nowhere).expect_err("refused");
    assert!(
        error
            .render()
            .contains("largest site of any system holds 32"),
        "{}",
        error.render()
    );
}

/// Gang jobs that never wait (patience 0) on one site without node limits form the
/// multi-rate loss system: a job starts when its GPUs are free and is lost otherwise,
/// so each size's blocking and the utilization are Kaufman–Roberts'.
#[test]
fn gang_jobs_on_one_site_match_kaufman_roberts() {
    let yaml = "name: kaufman-roberts
simulation: {horizon_hours: 6000, warmup_hours: 100, replications: 10, seed: 21}
demand:
  segments:
    - {name: small, arrivals_per_hour: 8, duration_hours: {exponential: {mean: 1}}, patience_hours: 0}
    - {name: large, arrivals_per_hour: 1.5, gpus_per_job: 8, duration_hours: {exponential: {mean: 1}}, patience_hours: 0}
centralized:
  gpus: 32
";
    let (blocking, utilization) = theory::kaufman_roberts(32, &[(8.0, 1, 1.0), (1.5, 8, 1.0)]);
    let rows = simulate(yaml);
    let measured: Vec<f64> = rows.iter().map(|r| r.utilization).collect();
    within_band("utilization", &measured, utilization, 3);
    for (idx, name) in ["small", "large"].into_iter().enumerate() {
        let lost: Vec<f64> = rows
            .iter()
            .map(|r| {
                let s = r
                    .segments
                    .iter()
                    .find(|s| s.segment == name)
                    .expect("segment");
                s.jobs_abandoned as f64 / s.jobs_arrived as f64
            })
            .collect();
        within_band(&format!("{name} blocking"), &lost, blocking[idx], 3);
    }
    assert!(
        blocking[1] > 3.0 * blocking[0],
        "large jobs are blocked far more: {blocking:?}"
    );
}

/// Two operators, the dearer listed first, under `placement: cheapest` at a take rate
/// of 0.2 (patience `patience`, `rate` one-hour one-GPU jobs an hour).
fn two_asks(dear_gpus: u32, cheap_gpus: u32, rate: f64, patience: &str) -> String {
    format!(
        "name: cheapest
simulation: {{horizon_hours: 4000, warmup_hours: 100, replications: 8, seed: 13}}
demand:
  segments:
    - {{name: jobs, arrivals_per_hour: {rate}, duration_hours: {{exponential: {{mean: 1}}}}{patience}}}
distributed:
  placement: cheapest
  take_rate: 0.2
  pricing: {{usd_per_gpu_hour: 3.0}}
  operators:
    - {{gpus: {dear_gpus}, ask_usd_per_gpu_hour: 2.0, name: dear}}
    - {{gpus: {cheap_gpus}, ask_usd_per_gpu_hour: 1.0, name: cheap}}
"
    )
}

/// The lowest ask with room wins: with room to spare at the cheap operator, the dear
/// one (listed first) gets nothing. Customers pay ask ÷ (1 − take) per GPU-hour, so an
/// operator receives exactly its ask per busy GPU-hour, and the protocol take × spend.
#[test]
fn the_lowest_ask_with_room_wins_and_is_paid_grossed_up() {
    for row in simulate(&two_asks(64, 64, 2.0, "")) {
        let (dear, cheap) = (group_of(&row, "dear"), group_of(&row, "cheap"));
        assert_eq!(dear.busy_gpu_hours, 0.0, "the dearer ask got work");
        let per_busy_hour = cheap.revenue_usd / cheap.busy_gpu_hours;
        assert!(
            (per_busy_hour - 1.0).abs() < 1e-9,
            "operator got {per_busy_hour} per GPU-hour"
        );
        let protocol = 0.2 * row.customer_spend_usd;
        assert!(
            (row.protocol_revenue_usd - protocol).abs() <= 1e-9 * protocol,
            "protocol {} against take × spend {protocol}",
            row.protocol_revenue_usd
        );
        assert!(
            (row.spend_usd_per_gpu_hour - 1.0 / 0.8).abs() < 1e-9,
            "{}",
            row.spend_usd_per_gpu_hour
        );
    }
}

/// Cheapest first is ordered hunting: with jobs that never wait, the cheap operator's 8
/// GPUs carry a·(1 − B(8, a)) and the dear one's the overflow, a·(B(8, a) − B(16, a))
/// (Erlang B). Each is paid its own ask.
#[test]
fn cheapest_first_overflows_to_the_dearer_ask_as_erlang_b_says() {
    let a = 6.0;
    let rows = simulate(&two_asks(8, 8, a, ", patience_hours: 0"));
    let cheap_theory = a * (1.0 - theory::erlang_b(8, a)) / 8.0;
    let dear_theory = a * (theory::erlang_b(8, a) - theory::erlang_b(16, a)) / 8.0;
    let utilization = |label: &str| -> Vec<f64> {
        rows.iter()
            .map(|r| group_of(r, label).utilization())
            .collect()
    };
    within_band("cheap utilization", &utilization("cheap"), cheap_theory, 2);
    within_band("dear utilization", &utilization("dear"), dear_theory, 2);
    for row in &rows {
        for (label, ask) in [("dear", 2.0), ("cheap", 1.0)] {
            let g = group_of(row, label);
            assert!(
                (g.revenue_usd / g.busy_gpu_hours - ask).abs() < 1e-9,
                "{label}"
            );
        }
    }
}

/// Under `cost_plus`, an operator without a written ask asks its own cost plus margin:
/// the one with cheaper power asks less and gets more of the work.
#[test]
fn operators_ask_their_own_costs_under_cost_plus() {
    let yaml = "name: cost-asks
simulation: {horizon_hours: 3000, warmup_hours: 100, replications: 4, seed: 17}
demand:
  segments:
    - {name: jobs, arrivals_per_hour: 6, duration_hours: {exponential: {mean: 1}}}
distributed:
  placement: cheapest
  pricing: {policy: cost_plus, margin: 0.2, planned_utilization: 0.6}
  operators:
    - {gpus: 8, name: dear-power, costs: {electricity_usd_per_kwh: 0.40}}
    - {gpus: 8, name: cheap-power, costs: {electricity_usd_per_kwh: 0.05}}
";
    for row in simulate(yaml) {
        let (dear, cheap) = (group_of(&row, "dear-power"), group_of(&row, "cheap-power"));
        assert!(
            cheap.utilization() > dear.utilization() + 0.2,
            "{} vs {}",
            cheap.utilization(),
            dear.utilization()
        );
        let ask = |g: &GroupRow| g.revenue_usd / g.busy_gpu_hours;
        assert!(ask(cheap) < ask(dear), "{} vs {}", ask(cheap), ask(dear));
    }
}

/// `providers:` entries default to least-utilized placement, the shorthand to first fit
/// (so results written before placement policies stand).
#[test]
fn the_default_placement_is_least_utilized_for_providers_and_first_fit_for_the_shorthand() {
    let shorthand = scenario(&cards_and_h100s(
        "    - {name: jobs, arrivals_per_hour: 1, duration_hours: 1}",
    ));
    assert_eq!(
        shorthand.distributed.as_ref().expect("network").placement,
        PlacementPolicy::FirstFit
    );
    let providers = scenario(
        "name: providers
simulation: {horizon_hours: 100, replications: 2, seed: 1}
demand:
  segments:
    - {name: jobs, arrivals_per_hour: 1, duration_hours: 1}
providers:
  - {name: cloud, kind: centralized, gpus: 8}
  - {name: network, kind: distributed, gpus: 8}
architectures:
  both: [cloud, network]
",
    );
    for provider in &providers.providers {
        assert_eq!(
            provider.system.placement,
            PlacementPolicy::LeastUtilized,
            "{:?}",
            provider.name
        );
    }
}

/// A cloud that procures can grow a data center to hold a job larger than it is now, so
/// such a job is not refused as too large: it waits (or gives up, which procurement sees
/// as lost demand) until the GPUs arrive, and then runs.
#[test]
fn a_cloud_that_procures_grows_into_jobs_larger_than_its_sites() {
    let yaml = "name: growing
simulation: {horizon_hours: 3000, warmup_hours: 0, replications: 3, seed: 4}
demand:
  segments:
    - {name: jobs, arrivals_per_hour: 1, gpus_per_job: 8, duration_hours: {exponential: {mean: 1}}, patience_hours: 2}
centralized:
  data_centers:
    - {region: default, gpus: 4}
  procurement: {target_utilization: 0.5, lead_time_weeks: 1, order_multiple: 8}
";
    for row in simulate(yaml) {
        assert_eq!(row.jobs_unserved, 0, "refused though the cloud can grow");
        assert!(
            row.gpus_at_horizon >= 8,
            "it grew to {}",
            row.gpus_at_horizon
        );
        assert!(row.jobs_completed > 0);
    }
}
