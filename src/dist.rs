//! Checked probability distributions and their samplers.
//!
//! A [`Dist`] is built only by the scenario loader after its parameters were checked,
//! so sampling never fails and never panics. Sampling draws from the generator it is
//! given and nothing else: the caller decides which seeded stream feeds which quantity,
//! which is what keeps common random numbers intact.

use crate::seeds::SimRng;
use rand::RngExt;

/// A continuous distribution of a non-negative quantity (hours, GPU counts before rounding).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum Dist {
    /// Always the same value.
    Constant(f64),
    /// Exponential with the given mean (rate = 1 / mean).
    Exponential {
        /// Mean of the distribution.
        mean: f64,
    },
    /// Log-normal: `exp(mu + sigma · Z)` with `Z` standard normal.
    LogNormal {
        /// Mean of the underlying normal (ln of the median).
        mu: f64,
        /// Standard deviation of the underlying normal.
        sigma: f64,
    },
    /// Triangular on `[min, max]` with peak at `mode`.
    Triangular {
        /// Lower bound.
        min: f64,
        /// Most likely value.
        mode: f64,
        /// Upper bound.
        max: f64,
    },
    /// Uniform on `[min, max)`.
    Uniform {
        /// Lower bound.
        min: f64,
        /// Upper bound.
        max: f64,
    },
}

impl Dist {
    /// Draws one value.
    ///
    /// Each variant consumes a fixed pattern of draws from `rng` (one uniform, one
    /// exponential or normal), so two runs with the same stream agree.
    #[inline]
    pub fn sample(&self, rng: &mut SimRng) -> f64 {
        match *self {
            Dist::Constant(value) => value,
            Dist::Exponential { mean } => rng.exp1() * mean,
            Dist::LogNormal { mu, sigma } => (mu + sigma * rng.standard_normal()).exp(),
            Dist::Triangular { min, mode, max } => {
                triangular_inverse_cdf(min, mode, max, rng.random::<f64>())
            }
            Dist::Uniform { min, max } => min + (max - min) * rng.random::<f64>(),
        }
    }

    /// The mean of the distribution, used for offered-load checks and design-size estimates.
    pub fn mean(&self) -> f64 {
        match *self {
            Dist::Constant(value) => value,
            Dist::Exponential { mean } => mean,
            Dist::LogNormal { mu, sigma } => (mu + 0.5 * sigma * sigma).exp(),
            Dist::Triangular { min, mode, max } => (min + mode + max) / 3.0,
            Dist::Uniform { min, max } => 0.5 * (min + max),
        }
    }

    /// The same distribution in other units: every draw multiplied by `factor` (> 0),
    /// e.g. weeks to hours with 168.
    pub fn scaled(&self, factor: f64) -> Dist {
        match *self {
            Dist::Constant(value) => Dist::Constant(value * factor),
            Dist::Exponential { mean } => Dist::Exponential {
                mean: mean * factor,
            },
            Dist::LogNormal { mu, sigma } => Dist::LogNormal {
                mu: mu + factor.ln(),
                sigma,
            },
            Dist::Triangular { min, mode, max } => Dist::Triangular {
                min: min * factor,
                mode: mode * factor,
                max: max * factor,
            },
            Dist::Uniform { min, max } => Dist::Uniform {
                min: min * factor,
                max: max * factor,
            },
        }
    }

    /// True when every draw is exactly zero (patience 0 means "never waits").
    pub fn is_zero(&self) -> bool {
        matches!(*self, Dist::Constant(value) if value == 0.0)
    }
}

/// Inverse CDF of the triangular distribution: one uniform per draw, so the stream
/// position does not depend on the parameters.
pub fn triangular_inverse_cdf(min: f64, mode: f64, max: f64, u: f64) -> f64 {
    let width = max - min;
    if width <= 0.0 {
        return min;
    }
    let split = (mode - min) / width;
    if u < split {
        min + (u * width * (mode - min)).sqrt()
    } else {
        max - ((1.0 - u) * width * (max - mode)).sqrt()
    }
}

/// A discrete distribution of GPUs per job, e.g. `{1: 0.8, 2: 0.1, 4: 0.07, 8: 0.03}`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GpuCountDist {
    /// GPU counts in ascending order.
    values: Vec<u32>,
    /// Cumulative probabilities; the last entry is exactly 1.
    cumulative: Vec<f64>,
}

impl GpuCountDist {
    /// A job size that never varies: no draw is consumed.
    pub fn constant(gpus: u32) -> Self {
        GpuCountDist {
            values: vec![gpus],
            cumulative: vec![1.0],
        }
    }

    /// Builds from `(gpus, probability)` pairs whose probabilities were checked to sum to 1.
    ///
    /// The last cumulative value is forced to 1 so rounding can never leave a gap above it.
    pub fn from_weights(mut pairs: Vec<(u32, f64)>) -> Self {
        pairs.sort_by_key(|&(gpus, _)| gpus);
        let mut running = 0.0;
        let mut values = Vec::with_capacity(pairs.len());
        let mut cumulative = Vec::with_capacity(pairs.len());
        for (gpus, probability) in pairs {
            running += probability;
            values.push(gpus);
            cumulative.push(running);
        }
        if let Some(last) = cumulative.last_mut() {
            *last = 1.0;
        }
        GpuCountDist { values, cumulative }
    }

    /// Draws a GPU count; a constant size consumes no random number.
    #[inline]
    pub fn sample(&self, rng: &mut SimRng) -> u32 {
        if self.values.len() == 1 {
            return self.values[0];
        }
        let u = rng.random::<f64>();
        let idx = self
            .cumulative
            .iter()
            .position(|&c| u < c)
            .unwrap_or(self.values.len() - 1);
        self.values[idx]
    }

    /// The largest GPU count any job can ask for.
    pub fn max(&self) -> u32 {
        self.values.last().copied().unwrap_or(0)
    }

    /// Mean GPUs per job.
    pub fn mean(&self) -> f64 {
        let mut previous = 0.0;
        let mut mean = 0.0;
        for (value, cumulative) in self.values.iter().zip(&self.cumulative) {
            mean += f64::from(*value) * (cumulative - previous);
            previous = *cumulative;
        }
        mean
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seeds::{self, Seeding, Stream};

    /// The sample mean of 200k draws lies within 4 standard errors of the exact mean
    /// (standard error = sd / sqrt(n)); a wrong parameterisation would be off by far more.
    /// Checked for the standard samplers and for the inverse transforms of antithetic
    /// runs, plain and mirrored.
    fn assert_mean(dist: &Dist, sd: f64) {
        let stream = Stream::Duration { segment: 0 };
        let antithetic = Seeding {
            seed: 1,
            antithetic: true,
        };
        for mut rng in [
            seeds::standard(1, 0, stream),
            seeds::rng(antithetic, 0, stream),
            seeds::rng(antithetic, 1, stream),
        ] {
            let n = 200_000;
            let total: f64 = (0..n).map(|_| dist.sample(&mut rng)).sum();
            let mean = total / n as f64;
            let se = sd / (n as f64).sqrt();
            assert!(
                (mean - dist.mean()).abs() < 4.0 * se,
                "{dist:?}: {mean} vs {} ({rng:?})",
                dist.mean()
            );
        }
    }

    #[test]
    fn sample_means_match_closed_forms() {
        assert_mean(&Dist::Exponential { mean: 2.5 }, 2.5);
        assert_mean(&Dist::Uniform { min: 1.0, max: 3.0 }, 2.0 / 12f64.sqrt());
        // Triangular variance = (a²+b²+c²−ab−ac−bc)/18 = (1+4+16−2−4−8)/18 with (1,2,4).
        assert_mean(
            &Dist::Triangular {
                min: 1.0,
                mode: 2.0,
                max: 4.0,
            },
            (7.0f64 / 18.0).sqrt(),
        );
        // Log-normal variance = (e^{σ²} − 1) e^{2μ+σ²}.
        let (mu, sigma): (f64, f64) = (0.0, 0.5);
        let sd = ((sigma * sigma).exp_m1() * (2.0 * mu + sigma * sigma).exp()).sqrt();
        assert_mean(&Dist::LogNormal { mu, sigma }, sd);
    }

    #[test]
    fn gpu_counts_follow_their_weights() {
        let dist = GpuCountDist::from_weights(vec![(8, 0.03), (1, 0.8), (4, 0.07), (2, 0.1)]);
        assert_eq!(dist.max(), 8);
        assert!((dist.mean() - (0.8 + 0.2 + 0.28 + 0.24)).abs() < 1e-12);
        let mut rng = seeds::standard(3, 0, Stream::JobSize { segment: 0 });
        let n = 100_000;
        let ones = (0..n).filter(|_| dist.sample(&mut rng) == 1).count();
        // Binomial(n, 0.8): sd = sqrt(n·0.8·0.2) ≈ 126; allow 4 sd.
        assert!((ones as f64 - 80_000.0).abs() < 4.0 * 126.5, "{ones}");
    }
}
