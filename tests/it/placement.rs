//! Placement policies: which of a provider's sites with room a job goes to
//! (`placement: first_fit | least_utilized | random`).

use capsim::metrics::RunMetrics;
use capsim::montecarlo;
use capsim::theory;

use crate::{scenario, within_band};

fn run(yaml: &str) -> Vec<RunMetrics> {
    montecarlo::run(&scenario(yaml), None).unwrap_or_else(|e| panic!("{e}\n{yaml}"))
}

/// Two identical groups of four 8-GPU operators (64 GPUs) under `policy`, serving
/// one-GPU exponential jobs of one hour at 44.8 an hour (ρ = 0.7), no money.
fn two_groups(policy: &str) -> String {
    format!(
        "name: placement
simulation: {{horizon_hours: 3000, warmup_hours: 100, replications: 10, seed: 5}}
demand:
  segments:
    - {{name: jobs, arrivals_per_hour: 44.8, duration_hours: {{exponential: {{mean: 1}}}}}}
distributed:
  placement: {policy}
  operators:
    - {{count: 4, gpus: 8, name: first}}
    - {{count: 4, gpus: 8, name: second}}
"
    )
}

/// Per replication, the first group's utilization less the second's.
fn first_less_second(rows: &[RunMetrics]) -> Vec<f64> {
    rows.iter()
        .map(|row| {
            let utilization = |label: &str| {
                row.groups
                    .iter()
                    .find(|g| g.group == label)
                    .unwrap_or_else(|| panic!("no group {label}"))
                    .utilization()
            };
            utilization("first") - utilization("second")
        })
        .collect()
}

/// Any policy that puts a one-GPU job on some site with room is work-conserving, so 64
/// identical GPUs are M/M/64 whatever the policy: utilization and the share that waits
/// are Erlang C's. What the policy changes is who gets the work: first fit fills the
/// group listed first (its sites come first in creation order), while least-utilized
/// and random placement share it out evenly.
#[test]
fn policies_share_work_between_identical_groups_as_documented() {
    let theory = theory::mmc(64, 44.8, 1.0);
    for policy in ["first_fit", "least_utilized", "random"] {
        let rows = run(&two_groups(policy));
        let utilization: Vec<f64> = rows.iter().map(|r| r.utilization).collect();
        within_band(
            &format!("{policy} utilization"),
            &utilization,
            theory.utilization,
            9,
        );
        let p_wait: Vec<f64> = rows.iter().map(|r| r.p_wait).collect();
        within_band(&format!("{policy} p_wait"), &p_wait, theory.p_wait, 9);
        let gap = first_less_second(&rows);
        if policy == "first_fit" {
            let mean = gap.iter().sum::<f64>() / gap.len() as f64;
            assert!(
                gap.iter().all(|g| *g > 0.1),
                "first fit favours the first group: {gap:?} (mean {mean})"
            );
        } else {
            within_band(&format!("{policy} first − second"), &gap, 0.0, 9);
        }
    }
}

/// Random placement draws on the provider's own stream: the same scenario and seed
/// give the same results, and the jobs (from the demand streams) are those of any
/// other policy.
#[test]
fn placement_draws_are_deterministic_and_their_own() {
    let yaml = two_groups("random");
    let (a, b) = (run(&yaml), run(&yaml));
    let bits = |rows: &[RunMetrics]| -> Vec<_> { rows.iter().map(|r| r.column_bits()).collect() };
    assert_eq!(bits(&a), bits(&b), "same scenario and seed, same results");
    // Arrivals come from the demand streams: the policy changes no job.
    let first_fit = run(&two_groups("first_fit"));
    for (random, fitted) in a.iter().zip(&first_fit) {
        assert_eq!(random.jobs_arrived, fitted.jobs_arrived);
    }
}
