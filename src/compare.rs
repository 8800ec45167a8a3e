//! Two runs side by side: the difference of each headline metric (B − A) with a 95%
//! interval. When both runs used the same seed, replication k of one met the same random
//! streams as replication k of the other (common random numbers), so the difference is
//! taken replication by replication and its interval is usually far narrower; otherwise
//! the runs are independent samples and Welch's interval applies.
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::dbg_macro)]

use std::collections::BTreeMap;

use crate::metrics::catalog::{Finance, Measure, Metric, Paired};
use crate::metrics::{WorkCell, like_for_like, summarise, summarise_antithetic, t_critical};
use crate::results::{Results, RunRow, year_columns};

/// Per-replication values of one metric of one system: (replication, value).
pub type Samples = Vec<(u64, f64)>;

/// What one run contributes: each (system, metric)'s samples.
#[derive(Debug, Clone, Default)]
pub struct RunSamples {
    /// (system, metric, samples), in display order.
    pub series: Vec<(String, &'static str, Samples)>,
}

/// How a difference was estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Replication by replication (same seed): Student t on the paired differences.
    Paired,
    /// Independent runs: Welch's t on the two means.
    Welch,
}

impl Method {
    /// As written in `compare.parquet`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Paired => "paired",
            Method::Welch => "welch",
        }
    }
}

/// One metric of one system in both runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// System (or `distributed_vs_centralized`).
    pub system: String,
    /// Metric.
    pub metric: &'static str,
    /// Mean in run A and in run B.
    pub means: (f64, f64),
    /// B − A.
    pub difference: f64,
    /// Its 95% interval.
    pub ci95: (f64, f64),
    /// Replications with a value in A and in B (pairs, when paired).
    pub counts: (u64, u64),
    /// Paired or Welch.
    pub method: Method,
}

/// Run metrics compared (then each system's [`Finance::YieldYear1`] and
/// [`Finance::Irr`], and the paired [`Paired::SavingsLikeForLike`] and
/// [`Paired::SavingsFraction`]).
pub const RUN_METRICS: [Metric; 6] = [
    Metric::Utilization,
    Metric::P95WaitHours,
    Metric::LostDemandFraction,
    Metric::SpendUsdPerGpuHour,
    Metric::GpusAtHorizon,
    Metric::ProviderRevenueUsd,
];

/// Every measure compared.
fn measures() -> impl Iterator<Item = Measure> {
    RUN_METRICS
        .into_iter()
        .map(Measure::Run)
        .chain([Finance::YieldYear1, Finance::Irr].map(Measure::Finance))
        .chain([Paired::SavingsLikeForLike, Paired::SavingsFraction].map(Measure::Paired))
}

/// Display scale and unit of a compared metric (from the catalog).
pub fn unit(metric: &str) -> (f64, &'static str) {
    measures()
        .find(|m| m.name() == metric)
        .map_or((1.0, ""), |m| m.unit().display())
}

/// Collects the compared metrics from a run's raw records.
pub fn samples(records: &Results) -> RunSamples {
    let (runs, years, returns) = (&records.runs, &records.years, &records.returns);
    let value = |row: &RunRow, metric: Metric| row.get(metric).as_f64();
    let mut systems: Vec<crate::model::SystemName> = Vec::new();
    for row in runs {
        if !systems.contains(&row.system) {
            systems.push(row.system.clone());
        }
    }
    let mut series = Vec::new();
    for system in &systems {
        let rows: Vec<&RunRow> = runs.iter().filter(|r| r.system == *system).collect();
        for metric in RUN_METRICS {
            let values = rows
                .iter()
                .map(|r| (r.replication, value(r, metric)))
                .collect();
            series.push((system.as_str().to_string(), metric.name(), values));
        }
        let yield_column = year_columns().iter().position(|c| *c == "yield");
        let first_year: Samples = years
            .iter()
            .filter(|y| {
                y.system == *system && y.provider.is_none() && y.cohort.is_none() && y.year == 1
            })
            .map(|y| {
                (
                    y.replication,
                    yield_column
                        .and_then(|i| y.values.get(i).copied().flatten())
                        .unwrap_or(f64::NAN),
                )
            })
            .collect();
        let name = Finance::YieldYear1.name();
        series.push((system.as_str().to_string(), name, first_year));
        let irr: Samples = returns
            .iter()
            .filter(|r| r.system == *system && r.provider.is_none() && r.cohort.is_none())
            .map(|r| (r.replication, r.irr.unwrap_or(f64::NAN)))
            .collect();
        series.push((system.as_str().to_string(), Finance::Irr.name(), irr));
    }
    if systems.len() == 2 {
        let spend = |system: &crate::model::SystemName| -> Vec<(u64, f64)> {
            runs.iter()
                .filter(|r| r.system == *system)
                .map(|r| (r.replication, value(r, Paired::SAVINGS_COMPARED)))
                .collect()
        };
        let cloud: BTreeMap<u64, f64> = spend(&systems[0]).into_iter().collect();
        let savings: Samples = spend(&systems[1])
            .into_iter()
            .filter_map(|(k, network)| {
                cloud
                    .get(&k)
                    .map(|&cloud| (k, Paired::SavingsFraction.of(cloud, network)))
            })
            .collect();
        // Like for like from the segments' cells, where the run has them.
        let cells = |system: &crate::model::SystemName| {
            let mut by_replication: BTreeMap<u64, Vec<WorkCell>> = BTreeMap::new();
            for record in records.segments.iter().filter(|r| r.system == *system) {
                by_replication
                    .entry(record.replication)
                    .or_default()
                    .extend(WorkCell::of_segment(&record.row));
            }
            by_replication
        };
        let (cloud_cells, network_cells) = (cells(&systems[0]), cells(&systems[1]));
        let like_for_like: Samples = cloud_cells
            .iter()
            .filter_map(|(k, cloud)| {
                network_cells
                    .get(k)
                    .map(|network| (*k, like_for_like(cloud, network).savings))
            })
            .collect();
        let paired =
            crate::results::summaries::paired_label(&(systems[0].clone(), systems[1].clone()));
        if !like_for_like.is_empty() {
            series.push((
                paired.clone(),
                Paired::SavingsLikeForLike.name(),
                like_for_like,
            ));
        }
        series.push((paired, Paired::SavingsFraction.name(), savings));
    }
    RunSamples { series }
}

/// Compares every (system, metric) present in both runs. `paired` when the runs share
/// their seed; `antithetic` when both ran mirrored pairs (differences are then
/// averaged over pairs before the interval).
pub fn compare(a: &RunSamples, b: &RunSamples, paired: bool, antithetic: bool) -> Vec<Comparison> {
    a.series
        .iter()
        .filter_map(|(system, metric, values_a)| {
            let (_, _, values_b) = b
                .series
                .iter()
                .find(|(s, m, _)| s == system && m == metric)?;
            Some(one(system, metric, values_a, values_b, paired, antithetic))
        })
        .collect()
}

fn finite(values: &[(u64, f64)]) -> Vec<f64> {
    values
        .iter()
        .map(|(_, v)| *v)
        .filter(|v| v.is_finite())
        .collect()
}

fn one(
    system: &str,
    metric: &'static str,
    a: &[(u64, f64)],
    b: &[(u64, f64)],
    paired: bool,
    antithetic: bool,
) -> Comparison {
    let (sa, sb) = (summarise(&finite(a)), summarise(&finite(b)));
    let means = (sa.mean, sb.mean);
    // Looked up by replication: runs of 10⁵ replications pair in milliseconds.
    let by_replication: BTreeMap<u64, f64> = b.iter().copied().collect();
    let pairs: Vec<(u64, f64)> = a
        .iter()
        .filter_map(|&(k, va)| by_replication.get(&k).map(|vb| (k, vb - va)))
        .filter(|(_, d)| d.is_finite())
        .collect();
    if paired {
        // Too few finite pairs (a metric that is NaN in both runs): no estimate.
        if pairs.len() < 2 {
            let n = pairs.len() as u64;
            return Comparison {
                system: system.to_string(),
                metric,
                means,
                difference: f64::NAN,
                ci95: (f64::NAN, f64::NAN),
                counts: (n, n),
                method: Method::Paired,
            };
        }
        let s = if antithetic {
            summarise_antithetic(&pairs)
        } else {
            summarise(&pairs.iter().map(|(_, d)| *d).collect::<Vec<f64>>())
        };
        return Comparison {
            system: system.to_string(),
            metric,
            means,
            difference: s.mean,
            ci95: (s.ci95_low, s.ci95_high),
            counts: (s.n, s.n),
            method: Method::Paired,
        };
    }
    let difference = sb.mean - sa.mean;
    let ci95 = welch_interval(&finite(a), &finite(b)).map_or((f64::NAN, f64::NAN), |half| {
        (difference - half, difference + half)
    });
    Comparison {
        system: system.to_string(),
        metric,
        means,
        difference,
        ci95,
        counts: (sa.n, sb.n),
        method: Method::Welch,
    }
}

/// Half-width of Welch's 95% interval for mean(b) − mean(a); `None` with fewer than two
/// values on a side. Two constant samples give 0.
pub fn welch_interval(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.len() < 2 || b.len() < 2 {
        return None;
    }
    let variance = |x: &[f64]| {
        let mean = x.iter().sum::<f64>() / x.len() as f64;
        x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (x.len() - 1) as f64
    };
    let (va, vb) = (variance(a) / a.len() as f64, variance(b) / b.len() as f64);
    let se2 = va + vb;
    if se2 == 0.0 {
        return Some(0.0);
    }
    // Welch–Satterthwaite degrees of freedom, rounded down (conservative).
    let df = se2 * se2 / (va * va / (a.len() - 1) as f64 + vb * vb / (b.len() - 1) as f64);
    Some(t_critical(0.95, (df.floor() as u64).max(1)) * se2.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(values: &[f64]) -> Samples {
        values
            .iter()
            .enumerate()
            .map(|(k, v)| (k as u64, *v))
            .collect()
    }

    #[test]
    fn welch_matches_a_hand_computation() {
        // a: mean 2, variance 1, n 3; b: mean 5, variance 4, n 3. se² = 1/3 + 4/3 = 5/3;
        // df = (5/3)² / ((1/3)²/2 + (4/3)²/2) = 2.941 → 2; t(0.975, 2) = 4.302653.
        let half = welch_interval(&[1.0, 2.0, 3.0], &[3.0, 5.0, 7.0]).expect("two samples");
        assert!(
            (half - 4.302_653 * (5.0f64 / 3.0).sqrt()).abs() < 1e-5,
            "{half}"
        );
        assert_eq!(welch_interval(&[1.0], &[2.0, 3.0]), None);
    }

    #[test]
    fn pairing_removes_the_shared_noise() {
        // B = A + 1 exactly, with much spread across replications.
        let a = series(&[10.0, 50.0, 20.0, 80.0, 30.0]);
        let b = series(&[11.0, 51.0, 21.0, 81.0, 31.0]);
        let paired = one("c", "utilization", &a, &b, true, false);
        assert_eq!(paired.method, Method::Paired);
        assert_eq!(paired.difference, 1.0);
        assert_eq!(paired.ci95, (1.0, 1.0));
        let welch = one("c", "utilization", &a, &b, false, false);
        assert_eq!(welch.method, Method::Welch);
        assert!((welch.difference - 1.0).abs() < 1e-12);
        assert!(welch.ci95.1 - welch.ci95.0 > 40.0, "{welch:?}");
    }

    #[test]
    fn only_replications_in_both_runs_are_paired() {
        let a = series(&[1.0, 2.0, 3.0, 4.0]);
        let b: Samples = vec![(2, 5.0), (3, 6.0), (4, 100.0)];
        let c = one("c", "utilization", &a, &b, true, false);
        assert_eq!(c.counts, (2, 2));
        assert_eq!(c.difference, 2.0);
    }
}
