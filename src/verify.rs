//! Built-in validation: queueing models with closed forms, run through the same engine
//! and model code as any scenario, for every system, compared statistically.
//!
//! A check passes when the simulated mean lies within a Student-t band of the exact
//! value, |mean − exact| ≤ t · s/√n, with the confidence corrected (Bonferroni) for the
//! number of checks of one system, so each system's checks have at most a 1% chance of a
//! false alarm when the engine is right. (While both systems are the same pool their
//! results are identical, so that is also the chance for the whole suite; counting the
//! duplicates would only widen the band.) The band shrinks as replications grow: no fixed tolerance.
//! Warm-up bias is removed by deleting a warm-up many relaxation times long (the
//! slowest case, M/M/100 at ρ = 0.95, relaxes in ~1/(cμ(1−√ρ)²) ≈ 15 h; warm-up is 200 h).
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::dbg_macro)]

use crate::arrivals::RateProfile;
use crate::dist::{Dist, GpuCountDist};
use crate::metrics::{RunMetrics, summarise, t_critical};
use crate::model::SystemKind;
use crate::montecarlo::{self, SimError};
use crate::scenario::supply::builtin_classes;
use crate::scenario::{Scenario, Segment, Simulation, System};
use crate::theory::{self, QueueMeasures};

/// Probability that at least one of a system's checks fails although the engine is right.
pub const FAMILY_ALPHA: f64 = 0.01;

/// Which closed form a case follows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum QueueModel {
    /// M/M/c/c: patience 0.
    ErlangB,
    /// M/M/c: infinite patience.
    ErlangC,
    /// M/M/c+M: exponential patience at the given rate per hour.
    ErlangA {
        /// θ, 1 / mean patience.
        patience_rate: f64,
    },
}

/// One validation case.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// Short label.
    pub label: &'static str,
    /// Closed form that applies.
    pub model: QueueModel,
    /// GPUs (servers).
    pub gpus: u32,
    /// λ, jobs per hour.
    pub arrival_rate: f64,
    /// μ, 1 / mean duration.
    pub service_rate: f64,
    /// Horizon per replication, hours.
    pub horizon_hours: f64,
}

/// The built-in cases: three Erlang C (one with c ≥ 64 and ρ ≥ 0.9), one Erlang B,
/// two Erlang A; the reference values are in `theory`'s tests.
pub fn builtin_cases() -> Vec<Case> {
    vec![
        Case {
            label: "M/M/8 rho=0.75",
            model: QueueModel::ErlangC,
            gpus: 8,
            arrival_rate: 6.0,
            service_rate: 1.0,
            horizon_hours: 40_000.0,
        },
        Case {
            label: "M/M/64 rho=0.90",
            model: QueueModel::ErlangC,
            gpus: 64,
            arrival_rate: 57.6,
            service_rate: 1.0,
            horizon_hours: 10_000.0,
        },
        Case {
            label: "M/M/100 rho=0.95",
            model: QueueModel::ErlangC,
            gpus: 100,
            arrival_rate: 95.0,
            service_rate: 1.0,
            horizon_hours: 10_000.0,
        },
        Case {
            label: "M/M/20/20",
            model: QueueModel::ErlangB,
            gpus: 20,
            arrival_rate: 15.0,
            service_rate: 1.0,
            horizon_hours: 20_000.0,
        },
        Case {
            label: "M/M/50+M",
            model: QueueModel::ErlangA { patience_rate: 1.0 },
            gpus: 50,
            arrival_rate: 48.0,
            service_rate: 1.0,
            horizon_hours: 10_000.0,
        },
        Case {
            label: "M/M/20+M overload",
            model: QueueModel::ErlangA {
                patience_rate: 0.25,
            },
            gpus: 20,
            arrival_rate: 12.0,
            service_rate: 0.5,
            horizon_hours: 20_000.0,
        },
    ]
}

impl Case {
    /// The exact steady-state measures.
    pub fn exact(&self) -> QueueMeasures {
        match self.model {
            QueueModel::ErlangB => theory::mmcc(self.gpus, self.arrival_rate, self.service_rate),
            QueueModel::ErlangC => theory::mmc(self.gpus, self.arrival_rate, self.service_rate),
            QueueModel::ErlangA { patience_rate } => theory::mmc_abandonment_chain(
                self.gpus,
                self.arrival_rate,
                self.service_rate,
                patience_rate,
            ),
        }
    }

    /// A scenario for this case, with both systems given the same pool.
    pub fn scenario(&self, replications: u32, seed: u64) -> Scenario {
        let patience_hours = match self.model {
            QueueModel::ErlangB => Some(Dist::Constant(0.0)),
            QueueModel::ErlangC => None,
            QueueModel::ErlangA { patience_rate } => Some(Dist::Exponential {
                mean: 1.0 / patience_rate,
            }),
        };
        let segment = Segment::queueing(
            "jobs",
            RateProfile::constant(self.arrival_rate),
            GpuCountDist::constant(1),
            Dist::Exponential {
                mean: 1.0 / self.service_rate,
            },
            patience_hours,
        );
        Scenario {
            name: format!("verify-{}", self.label.replace(['/', ' ', '='], "-")),
            simulation: Simulation {
                horizon_hours: self.horizon_hours,
                warmup_hours: 200.0,
                replications,
                seed,
                antithetic: false,
            },
            classes: builtin_classes(),
            regions: vec!["default".to_string()],
            segments: vec![segment],
            contracts: Vec::new(),
            centralized: Some(System::pool(self.gpus)),
            distributed: Some(System::pool(self.gpus)),
            providers: Vec::new(),
            architectures: Vec::new(),
            compare: None,
            uncertainty: Vec::new(),
            finance: crate::finance::Terms::default(),
            located: Default::default(),
        }
    }

    /// The metrics compared with their exact values: (name, exact, extractor).
    fn targets(&self) -> Vec<Target> {
        let exact = self.exact();
        let mut targets: Vec<Target> = vec![("utilization", exact.utilization, |m| m.utilization)];
        match self.model {
            QueueModel::ErlangB => {
                targets.push(("blocking (abandon_fraction)", exact.p_abandon, |m| {
                    m.abandon_fraction
                }))
            }
            QueueModel::ErlangC | QueueModel::ErlangA { .. } => {
                targets.push(("p_wait", exact.p_wait, |m| m.p_wait));
                targets.push(("mean_wait_hours", exact.mean_wait_hours, |m| {
                    m.mean_wait_hours
                }));
                // Little's law: Lq = λ Wq.
                targets.push((
                    "mean_queue_length (Little)",
                    self.arrival_rate * exact.mean_wait_hours,
                    |m| m.mean_queue_length,
                ));
            }
        }
        if let QueueModel::ErlangA { .. } = self.model {
            targets.push(("abandon_fraction", exact.p_abandon, |m| m.abandon_fraction));
        }
        targets
    }
}

/// A compared metric: name, exact value, and how to read it from a row.
type Target = (&'static str, f64, fn(&RunMetrics) -> f64);

/// One simulated-versus-exact comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// Case label.
    pub case: &'static str,
    /// System simulated.
    pub system: SystemKind,
    /// Metric compared.
    pub metric: &'static str,
    /// Mean over replications.
    pub simulated: f64,
    /// Standard error of that mean, s/√n.
    pub std_error: f64,
    /// Closed-form value.
    pub exact: f64,
    /// (simulated − exact) / standard error.
    pub z: f64,
    /// The |z| allowed (Bonferroni-corrected Student t).
    pub critical: f64,
    /// Replications.
    pub n: u64,
}

impl Check {
    /// Within the band.
    pub fn passed(&self) -> bool {
        self.z.abs() <= self.critical
    }
}

/// Runs `cases` with `replications` each and compares every target metric.
///
/// # Errors
/// Any simulation error.
pub fn run(
    cases: &[Case],
    replications: u32,
    seed: u64,
    threads: Option<usize>,
) -> Result<Vec<Check>, SimError> {
    let scenarios: Vec<(Case, Scenario)> = cases
        .iter()
        .map(|case| (case.clone(), case.scenario(replications, seed)))
        .collect();
    run_scenarios(&scenarios, threads)
}

/// Runs each scenario and compares every target metric of its case, for both systems.
/// The scenarios may differ from [`Case::scenario`] in anything that does not change
/// the queue (costs, prices without maximum prices, take rate): the validation files in
/// `scenarios/validation/` use this to check full system descriptions against theory.
///
/// # Errors
/// Any simulation error.
pub fn run_scenarios(
    scenarios: &[(Case, Scenario)],
    threads: Option<usize>,
) -> Result<Vec<Check>, SimError> {
    let systems = [SystemKind::Centralized, SystemKind::Distributed];
    let checks_per_system: usize = scenarios.iter().map(|(case, _)| case.targets().len()).sum();
    let mut checks = Vec::with_capacity(checks_per_system * systems.len());
    for (case, scenario) in scenarios {
        let rows = montecarlo::run(scenario, threads)?;
        // Antithetic pairs are not independent: their means are the observations.
        let antithetic = scenario.simulation.antithetic;
        let observations =
            u64::from(scenario.simulation.replications) / if antithetic { 2 } else { 1 };
        let critical = t_critical(
            1.0 - FAMILY_ALPHA / checks_per_system as f64,
            observations.max(2) - 1,
        );
        for system in systems {
            let system_rows: Vec<&RunMetrics> =
                rows.iter().filter(|row| row.system == system).collect();
            for (metric, exact, extract) in case.targets() {
                let values: Vec<f64> = if antithetic {
                    let tagged: Vec<(u64, f64)> = system_rows
                        .iter()
                        .map(|row| (row.replication, extract(row)))
                        .collect();
                    crate::metrics::antithetic_pairs(&tagged)
                        .into_iter()
                        .map(|(a, b)| 0.5 * (a + b))
                        .collect()
                } else {
                    system_rows.iter().map(|row| extract(row)).collect()
                };
                let summary = summarise(&values);
                let std_error = summary.std / (summary.n as f64).sqrt();
                let z = if std_error > 0.0 {
                    (summary.mean - exact) / std_error
                } else if summary.mean == exact {
                    0.0
                } else {
                    f64::INFINITY
                };
                checks.push(Check {
                    case: case.label,
                    system,
                    metric,
                    simulated: summary.mean,
                    std_error,
                    exact,
                    z,
                    critical,
                    n: summary.n,
                });
            }
        }
    }
    Ok(checks)
}
