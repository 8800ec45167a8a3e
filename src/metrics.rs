//! Per-replication metrics and their summaries across replications.
//!
//! Pure functions of simulation outcomes: no I/O. Summaries use the sample standard
//! deviation (n − 1), a Student-t 95% interval for the mean, and type-7 (linear
//! interpolation) quantiles, the default of R, NumPy and polars.
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::dbg_macro)]

use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::model::SystemKind;
use crate::model::pool::PoolOutcome;

/// One row of `runs.parquet`: one replication of one system.
#[derive(Debug, Clone, PartialEq)]
pub struct RunMetrics {
    /// Replication index (0-based).
    pub replication: u64,
    /// System simulated.
    pub system: SystemKind,
    /// Busy GPU-hours ÷ installed GPU-hours over the window.
    pub utilization: f64,
    /// Share of window arrivals that waited > 0 (abandoners included).
    pub p_wait: f64,
    /// Mean time in queue over all window arrivals, hours (abandoners until they left).
    pub mean_wait_hours: f64,
    /// Share of window arrivals that gave up before starting (lost demand).
    pub abandon_fraction: f64,
    /// Time-average number of jobs waiting over the window.
    pub mean_queue_length: f64,
    /// Window arrivals per hour of window (for Little's law: L = λ W).
    pub arrival_rate_per_hour: f64,
    /// Jobs that arrived in the window.
    pub jobs_arrived: u64,
    /// Window arrivals that completed (followed past the horizon).
    pub jobs_completed: u64,
    /// Window arrivals that gave up.
    pub jobs_abandoned: u64,
    /// Window arrivals still waiting or running at the horizon.
    pub jobs_in_system_at_horizon: u64,
    /// Busy GPU-hours in the window.
    pub busy_gpu_hours: f64,
    /// Idle GPU-hours in the window.
    pub idle_gpu_hours: f64,
    /// Installed GPU-hours in the window (GPUs × window length).
    pub installed_gpu_hours: f64,
    /// Events processed (stale, lazily cancelled events excluded).
    pub events: u64,
}

impl RunMetrics {
    /// Derives the row from a pool's outcome.
    pub fn from_outcome(replication: u64, system: SystemKind, outcome: &PoolOutcome, events: u64) -> Self {
        let jobs = &outcome.window_jobs;
        let at_horizon = &outcome.window_jobs_at_horizon;
        let areas = &outcome.window_areas;
        let arrived = jobs.arrived as f64;
        let per_arrival = |x: f64| if jobs.arrived == 0 { 0.0 } else { x / arrived };
        let installed = f64::from(outcome.gpus) * areas.hours;
        RunMetrics {
            replication,
            system,
            // busy ÷ (busy + idle), not busy ÷ (GPUs × hours): the two denominators agree to
            // rounding, but only this one can never let a fully busy pool read 1.0000000000000002.
            utilization: areas.busy_gpu_hours / (areas.busy_gpu_hours + areas.idle_gpu_hours),
            p_wait: per_arrival(jobs.waited as f64),
            mean_wait_hours: per_arrival(jobs.wait_hours),
            abandon_fraction: per_arrival(jobs.abandoned as f64),
            mean_queue_length: areas.queue_job_hours / areas.hours,
            arrival_rate_per_hour: arrived / areas.hours,
            jobs_arrived: jobs.arrived,
            jobs_completed: jobs.completed,
            jobs_abandoned: jobs.abandoned,
            jobs_in_system_at_horizon: at_horizon.waiting + at_horizon.running,
            busy_gpu_hours: areas.busy_gpu_hours,
            idle_gpu_hours: areas.idle_gpu_hours,
            installed_gpu_hours: installed,
            events,
        }
    }

    /// The metrics summarised in `summary.parquet`, by name, in output order.
    pub fn summarised(&self) -> [(&'static str, f64); 10] {
        [
            ("utilization", self.utilization),
            ("p_wait", self.p_wait),
            ("mean_wait_hours", self.mean_wait_hours),
            ("abandon_fraction", self.abandon_fraction),
            ("mean_queue_length", self.mean_queue_length),
            ("arrival_rate_per_hour", self.arrival_rate_per_hour),
            ("jobs_arrived", self.jobs_arrived as f64),
            ("jobs_completed", self.jobs_completed as f64),
            ("jobs_abandoned", self.jobs_abandoned as f64),
            ("events", self.events as f64),
        ]
    }
}

/// Mean, spread, confidence interval and quantiles of one metric over replications.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Sample mean.
    pub mean: f64,
    /// Sample standard deviation (n − 1); NaN when n < 2.
    pub std: f64,
    /// Lower end of the 95% Student-t interval for the mean; NaN when n < 2.
    pub ci95_low: f64,
    /// Upper end of that interval.
    pub ci95_high: f64,
    /// 5th percentile.
    pub p05: f64,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// Number of replications.
    pub n: u64,
}

/// Two-sided Student-t critical value: P(|T| ≤ t) = `confidence` with `df` degrees of freedom.
///
/// # Panics
/// If `df` is 0 or `confidence` is outside (0, 1): both are programmer errors.
pub fn t_critical(confidence: f64, df: u64) -> f64 {
    assert!(df > 0 && confidence > 0.0 && confidence < 1.0, "t_critical({confidence}, {df})");
    // Invariant: df > 0 was asserted, and StudentsT accepts any positive finite freedom.
    let t = StudentsT::new(0.0, 1.0, df as f64).expect("df > 0");
    t.inverse_cdf(0.5 + confidence / 2.0)
}

/// Summarises `values` (one per replication, in replication order).
pub fn summarise(values: &[f64]) -> Summary {
    let n = values.len();
    let mean = values.iter().sum::<f64>() / n as f64;
    let (std, half_width) = if n >= 2 {
        let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let std = variance.sqrt();
        (std, t_critical(0.95, n as u64 - 1) * std / (n as f64).sqrt())
    } else {
        (f64::NAN, f64::NAN)
    };
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    Summary {
        mean,
        std,
        ci95_low: mean - half_width,
        ci95_high: mean + half_width,
        p05: quantile(&sorted, 0.05),
        p50: quantile(&sorted, 0.50),
        p95: quantile(&sorted, 0.95),
        n: n as u64,
    }
}

/// Type-7 quantile of sorted data: linear interpolation between order statistics.
pub fn quantile(sorted: &[f64], probability: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        len => {
            let position = probability * (len - 1) as f64;
            let lower = position.floor() as usize;
            let upper = (lower + 1).min(len - 1);
            let fraction = position - lower as f64;
            sorted[lower] + fraction * (sorted[upper] - sorted[lower])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_critical_matches_tables() {
        // Student t tables: t_{0.975, 1} = 12.706, t_{0.975, 9} = 2.262, t_{0.975, 30} = 2.042.
        assert!((t_critical(0.95, 1) - 12.7062).abs() < 1e-3);
        assert!((t_critical(0.95, 9) - 2.2622).abs() < 1e-3);
        assert!((t_critical(0.95, 30) - 2.0423).abs() < 1e-3);
    }

    #[test]
    fn summary_of_a_known_sample() {
        // 1..=5: mean 3, sample variance 2.5, half-width t_{.975,4}·sqrt(2.5/5) = 2.7764·0.7071.
        let summary = summarise(&[5.0, 1.0, 4.0, 2.0, 3.0]);
        assert_eq!(summary.mean, 3.0);
        assert!((summary.std - 2.5f64.sqrt()).abs() < 1e-12);
        assert!((summary.ci95_high - 3.0 - 2.776_445 * 0.5f64.sqrt()).abs() < 1e-5);
        // Type 7: position 0.05·4 = 0.2 → 1.2; median 3; 0.95·4 = 3.8 → 4.8.
        assert!((summary.p05 - 1.2).abs() < 1e-12);
        assert_eq!(summary.p50, 3.0);
        assert!((summary.p95 - 4.8).abs() < 1e-12);
        assert_eq!(summary.n, 5);
    }

    #[test]
    fn single_value_has_no_spread() {
        let summary = summarise(&[2.0]);
        assert_eq!((summary.mean, summary.p05, summary.p95), (2.0, 2.0, 2.0));
        assert!(summary.std.is_nan() && summary.ci95_low.is_nan());
    }
}
