//! Owners' own use that follows the market's demand (`availability_follows_demand`).
//!
//! A part-time owner's GPUs alternate between offered and taken back. By default each
//! GPU in service is taken back at a constant rate 1 / `offered_mean_hours`, at times
//! independent of demand. An owner whose own work peaks when the market's does (a
//! studio rendering in office hours, a lab training on weekdays) takes its GPUs back
//! at the market's peaks instead: the rate becomes `c · m(h) / offered_mean_hours`,
//! with `m(h)` the market's demand at hour of week `h` (mean 1) and `c` the one
//! constant that keeps the long-run share of GPU-time offered at the written
//! `availability`. Returns keep their rate, 1 / `withdrawn_mean_hours`. So the same
//! capacity is offered on average, less of it when it is wanted (assumption: an
//! owner's peak is the market's peak, as the issue that asked for this states).
//!
//! Each GPU is then a two-state Markov chain with a rate that is periodic over the
//! week and constant within each hour, so its periodic steady state has a closed
//! form, hour by hour; [`periodic_offered`] computes it, and the calibration and the
//! tests rest on it.
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::dbg_macro)]

use crate::scenario::Segment;
use crate::units::Hours;

/// Hours in the period of the market's demand shape (daily × weekly factors).
pub const HOURS_OF_WEEK: usize = 168;

/// The market's demand by hour of week, mean 1: each segment's seasonal factors,
/// weighted by the GPU-hours it offers (base rate × mean GPUs × mean duration). `None`
/// when every hour is the same (no segment has seasonality): withdrawals that follow a
/// flat demand are the independent ones. Growth and shocks are left out: they are not
/// a rhythm an owner's own work keeps.
pub fn market_shape(segments: &[Segment]) -> Option<Vec<f64>> {
    let weights: Vec<f64> = segments
        .iter()
        .map(|segment| {
            let load = segment.arrivals.base_per_hour
                * segment.gpus_per_job.mean()
                * segment.duration_hours.mean();
            if load.is_finite() && load > 0.0 {
                load
            } else {
                segment.arrivals.base_per_hour.max(0.0)
            }
        })
        .collect();
    let total: f64 = weights.iter().sum();
    if total <= 0.0 || !total.is_finite() {
        return None;
    }
    let shape: Vec<f64> = (0..HOURS_OF_WEEK)
        .map(|hour| {
            let at = hour as Hours + 0.5;
            segments
                .iter()
                .zip(&weights)
                .map(|(segment, weight)| weight * segment.arrivals.seasonal_factor(at))
                .sum::<f64>()
                / total
        })
        .collect();
    // Daily and weekly factors each average 1, so their product does over a week; the
    // rescaling only removes rounding.
    let mean = shape.iter().sum::<f64>() / HOURS_OF_WEEK as f64;
    let shape: Vec<f64> = shape.iter().map(|m| m / mean).collect();
    let flat = shape.iter().all(|m| (m - 1.0).abs() < 1e-12);
    (!flat).then_some(shape)
}

/// The hour of week of time `t` (hour 0 starts at t = 0, as the arrival profiles'
/// daily and weekly factors do).
#[inline]
pub fn hour_of_week(t: Hours) -> usize {
    (t.rem_euclid(HOURS_OF_WEEK as f64) as usize).min(HOURS_OF_WEEK - 1)
}

/// The periodic steady state of one GPU whose take-back rate in hour `h` of the week is
/// `factors[h] / offered_mean_hours` and whose return rate is `1 / withdrawn_mean_hours`:
/// the probability that it is offered, averaged over each hour of the week.
///
/// Within hour h, p' = −a·p + b·(1 − p) with a, b constant, so
/// p(t) = q + (p₀ − q)·e^(−(a+b)t) with q = b / (a + b); composing the 168 hours gives
/// p at the start of the week as the fixed point of an affine map.
pub fn periodic_offered(
    factors: &[f64],
    offered_mean_hours: f64,
    withdrawn_mean_hours: f64,
) -> Vec<f64> {
    let back = 1.0 / withdrawn_mean_hours;
    let hour = |factor: f64| {
        let rate = factor / offered_mean_hours + back;
        let level = back / rate;
        let kept = (-rate).exp();
        (level, kept, (1.0 - kept) / rate)
    };
    // p_end = slope · p_start + intercept over the whole week.
    let (slope, intercept) = factors.iter().fold((1.0, 0.0), |(slope, intercept), &f| {
        let (level, kept, _) = hour(f);
        (slope * kept, intercept * kept + level * (1.0 - kept))
    });
    let mut start = intercept / (1.0 - slope);
    factors
        .iter()
        .map(|&f| {
            let (level, kept, spread) = hour(f);
            let mean = level + (start - level) * spread;
            start = level + (start - level) * kept;
            mean
        })
        .collect()
}

/// Mean of a week's hourly values.
pub fn week_mean(hourly: &[f64]) -> f64 {
    hourly.iter().sum::<f64>() / hourly.len() as f64
}

/// The take-back factors `c · shape[h]` that keep the long-run offered share at
/// `offered_mean / (offered_mean + withdrawn_mean)` (the written availability): the
/// offered share falls as `c` rises, so `c` is found by bisection on its logarithm.
///
/// `Err(lowest)` when no `c` can: in hours of no demand (a seasonal factor of 0) no GPU
/// is taken back, and with short cycles the GPUs refill in them so much that even
/// owners who take everything back the moment demand returns offer `lowest` > the
/// target.
pub fn calibrated_factors(
    shape: &[f64],
    offered_mean_hours: f64,
    withdrawn_mean_hours: f64,
) -> Result<Vec<f64>, f64> {
    const LOG_C_RANGE: f64 = 20.0;
    let target = offered_mean_hours / (offered_mean_hours + withdrawn_mean_hours);
    let offered = |log_c: f64| {
        let factors: Vec<f64> = shape.iter().map(|m| log_c.exp() * m).collect();
        week_mean(&periodic_offered(
            &factors,
            offered_mean_hours,
            withdrawn_mean_hours,
        ))
    };
    let lowest = offered(LOG_C_RANGE);
    if lowest > target - 1e-6 {
        return Err(lowest);
    }
    let (mut low, mut high) = (-LOG_C_RANGE, LOG_C_RANGE);
    for _ in 0..80 {
        let middle = 0.5 * (low + high);
        if offered(middle) > target {
            low = middle;
        } else {
            high = middle;
        }
    }
    let c = (0.5 * (low + high)).exp();
    Ok(shape.iter().map(|m| c * m).collect())
}

/// The market's demand shape over the week, with what withdrawals and their
/// weighting read from it: flat (every hour 1) when no segment has seasonality.
#[derive(Debug, Clone)]
pub struct DemandShape {
    /// m(h) by hour of week, mean 1.
    pub hourly: Vec<f64>,
    /// Whether any hour differs from 1.
    pub seasonal: bool,
    /// ∫ m over the first h hours of the week, h = 0..=168.
    prefix: Vec<f64>,
}

impl DemandShape {
    /// The shape of the scenario's segments' demand ([`market_shape`]).
    pub fn of(segments: &[Segment]) -> DemandShape {
        DemandShape::from_hourly(market_shape(segments).unwrap_or_else(|| vec![1.0; HOURS_OF_WEEK]))
    }

    /// A shape from its 168 hourly values (mean 1).
    pub fn from_hourly(hourly: Vec<f64>) -> DemandShape {
        let seasonal = hourly.iter().any(|m| (m - 1.0).abs() >= 1e-12);
        let prefix = std::iter::once(0.0)
            .chain(hourly.iter().scan(0.0, |sum, m| {
                *sum += m;
                Some(*sum)
            }))
            .collect();
        DemandShape {
            hourly,
            seasonal,
            prefix,
        }
    }

    /// m(t).
    #[inline]
    pub fn at(&self, t: Hours) -> f64 {
        self.hourly[hour_of_week(t)]
    }

    /// ∫ m(s) ds over [from, to] (0 when to ≤ from).
    pub fn integral(&self, from: Hours, to: Hours) -> f64 {
        if to <= from {
            0.0
        } else {
            self.integral_to(to) - self.integral_to(from)
        }
    }

    /// ∫₀ᵗ m: whole weeks, whole hours, then the part of an hour.
    fn integral_to(&self, t: Hours) -> f64 {
        let week = HOURS_OF_WEEK as f64;
        let weeks = (t / week).floor();
        let within = t - weeks * week;
        let hour = (within as usize).min(HOURS_OF_WEEK - 1);
        weeks * self.prefix[HOURS_OF_WEEK]
            + self.prefix[hour]
            + (within - hour as f64) * self.hourly[hour]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Twelve busy hours at 1.5, twelve quiet at 0.5, every day.
    fn office_hours() -> Vec<f64> {
        (0..HOURS_OF_WEEK)
            .map(|h| {
                if (8..20).contains(&(h % 24)) {
                    1.5
                } else {
                    0.5
                }
            })
            .collect()
    }

    /// A constant rate gives the two-state chain's stationary share, a / (a + b) in
    /// mean times, in every hour.
    #[test]
    fn a_flat_week_offers_the_stationary_share() {
        let offered = periodic_offered(&[1.0; HOURS_OF_WEEK], 14.4, 9.6);
        for p in offered {
            assert!((p - 0.6).abs() < 1e-12, "{p}");
        }
    }

    /// One hour solved by hand: from p₀ the state relaxes to q = b/(a+b) at rate a+b.
    /// With a two-hour "week" of rates (2, 0) per hour and b = 1: the fixed point and
    /// the hourly means follow from the formulas in the doc comment.
    #[test]
    fn the_periodic_state_matches_a_hand_calculation() {
        let offered = periodic_offered(&[2.0, 0.0], 1.0, 1.0);
        // Hour 0: q = 1/3, e = e^(−3); hour 1: q = 1, e = e^(−1).
        let (q0, e0, q1, e1) = (1.0 / 3.0, (-3.0_f64).exp(), 1.0, (-1.0_f64).exp());
        // p_start = e1·(e0·p + q0(1 − e0)) + q1(1 − e1) = p.
        let p = (e1 * q0 * (1.0 - e0) + q1 * (1.0 - e1)) / (1.0 - e0 * e1);
        let mean0 = q0 + (p - q0) * (1.0 - e0) / 3.0;
        let p1 = q0 + (p - q0) * e0;
        let mean1 = q1 + (p1 - q1) * (1.0 - e1);
        assert!((offered[0] - mean0).abs() < 1e-12);
        assert!((offered[1] - mean1).abs() < 1e-12);
    }

    /// The calibration keeps the written availability, and the owners offer less in
    /// the busy hours than in the quiet ones, by how much a first-order lag predicts.
    ///
    /// Size: a chain at its equilibrium every hour (relaxing infinitely fast) would
    /// offer b / (a_h + b); the busy-quiet gap is that gap damped by the chain's
    /// relaxation rate r = a + b. For a square wave of half-period H through a lag of
    /// rate r, the half-period means differ by the input's gap × (1 − tanh(u) / u),
    /// u = r·H / 2 (integrate p' = r·(x − p) over one half-period from the periodic
    /// start). With r the week's mean rate this linearisation is within a few per cent
    /// of the exact periodic state, from cycles of one hour (gap ≈ 96% of the
    /// equilibrium's) to four days (≈ 2%).
    #[test]
    fn calibrated_withdrawals_keep_the_share_and_follow_the_peaks() {
        let shape = office_hours();
        for cycle_hours in [1.0, 4.0, 24.0, 96.0] {
            let (on, off) = (0.6 * cycle_hours, 0.4 * cycle_hours);
            let factors = calibrated_factors(&shape, on, off).expect("reachable");
            let offered = periodic_offered(&factors, on, off);
            assert!((week_mean(&offered) - 0.6).abs() < 1e-9);
            let mean_over = |busy: bool| {
                let hours: Vec<f64> = (0..HOURS_OF_WEEK)
                    .filter(|&h| (shape[h] > 1.0) == busy)
                    .map(|h| offered[h])
                    .collect();
                week_mean(&hours)
            };
            let gap = mean_over(false) - mean_over(true);
            let level = |f: f64| (1.0 / off) / (f / on + 1.0 / off);
            let equilibrium_gap = level(factors[0]) - level(factors[12]);
            let rate = week_mean(&factors) / on + 1.0 / off;
            let u = rate * 12.0 / 2.0;
            let predicted = equilibrium_gap * (1.0 - u.tanh() / u);
            assert!(
                gap > 0.0 && (gap / predicted - 1.0).abs() < 0.05,
                "cycle {cycle_hours} h: gap {gap} against {predicted} predicted"
            );
        }
        // A flat shape needs no correction.
        let flat = calibrated_factors(&[1.0; HOURS_OF_WEEK], 14.4, 9.6).expect("reachable");
        assert!(flat.iter().all(|f| (f - 1.0).abs() < 1e-9));
    }

    /// Demand only in office hours (0 outside 08–18) and 1-hour cycles at availability
    /// 0.5: GPUs refill in the 14 empty hours whatever owners do in the other 10, so the
    /// share cannot be kept, and the lowest reachable is what those hours offer alone:
    /// about 14/24 less the first hour's refill, between 0.5 and 14/24.
    #[test]
    fn an_unreachable_share_is_reported() {
        let shape: Vec<f64> = (0..HOURS_OF_WEEK)
            .map(|h| {
                if (8..18).contains(&(h % 24)) {
                    2.4
                } else {
                    0.0
                }
            })
            .collect();
        let lowest = calibrated_factors(&shape, 0.5, 0.5).expect_err("unreachable");
        assert!(lowest > 0.5 && lowest < 14.0 / 24.0, "{lowest}");
        // Longer cycles refill less: 24-hour ones can be calibrated.
        assert!(calibrated_factors(&shape, 12.0, 12.0).is_ok());
    }

    /// The integral of the shape by prefix sums, against a direct sum of hours.
    #[test]
    fn the_shape_integrates_across_weeks() {
        let hourly = office_hours();
        let shape = DemandShape::from_hourly(hourly.clone());
        assert!(shape.seasonal);
        let direct: f64 = (10..400).map(|h| hourly[h % HOURS_OF_WEEK]).sum::<f64>()
            + 0.25 * hourly[400 % HOURS_OF_WEEK]
            + 0.5 * hourly[9];
        assert!((shape.integral(9.5, 400.25) - direct).abs() < 1e-9);
        assert_eq!(shape.integral(5.0, 4.0), 0.0);
        assert_eq!(hour_of_week(168.0 + 9.5), 9);
        assert_eq!(shape.at(168.0 + 9.5), 1.5);
    }
}
