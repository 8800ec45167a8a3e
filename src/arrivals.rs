//! Arrival-rate profiles: growth, daily and weekly seasonality, demand shocks.
//!
//! A segment's rate at time t (hours) is
//! `λ(t) = base · (1 + growth)^(t / 8760) · daily[hour of day] · weekly[day of week] · Π shocks active at t`,
//! with the daily and weekly factors rescaled to average 1, so `arrivals_per_hour` stays
//! the average rate of the first year. Arrivals are sampled exactly by thinning (Lewis &
//! Shedler 1979): candidates from a Poisson process at a bound λ_max ≥ λ(t), each kept
//! with probability λ(t)/λ_max. A constant profile skips thinning and draws exactly what
//! a homogeneous Poisson process draws, so adding this feature moved no earlier result.
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::dbg_macro)]

use crate::units::{HOURS_PER_YEAR, Hours};

/// A temporary change of demand: the rate is multiplied by `factor` during
/// `[start_hours, start_hours + length_hours)`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Shock {
    /// When it starts, hours since the start of the run.
    pub start_hours: Hours,
    /// How long it lasts, hours.
    pub length_hours: Hours,
    /// Rate multiplier while it lasts (0 = demand stops, 2 = demand doubles).
    pub factor: f64,
}

/// The arrival rate of one segment over time.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RateProfile {
    /// Rate at t = 0 before seasonality, jobs per hour.
    pub base_per_hour: f64,
    /// Annual growth rate (0.25 = +25% a year), compounded continuously over hours.
    pub annual_growth: f64,
    /// 24 factors by hour of day, averaging 1; empty = flat.
    pub daily: Vec<f64>,
    /// 7 factors by day of week (day 0 starts at t = 0), averaging 1; empty = flat.
    pub weekly: Vec<f64>,
    /// Demand shocks.
    pub shocks: Vec<Shock>,
}

impl RateProfile {
    /// A constant rate.
    pub fn constant(per_hour: f64) -> Self {
        RateProfile {
            base_per_hour: per_hour,
            annual_growth: 0.0,
            daily: Vec::new(),
            weekly: Vec::new(),
            shocks: Vec::new(),
        }
    }

    /// True when the rate never changes: arrivals are then drawn without thinning.
    pub fn is_constant(&self) -> bool {
        self.annual_growth == 0.0
            && self.daily.is_empty()
            && self.weekly.is_empty()
            && self.shocks.is_empty()
    }

    /// λ(t), jobs per hour.
    pub fn rate_at(&self, time: Hours) -> f64 {
        self.level_at(time) * self.growth_factor(time)
    }

    /// λ(t) without growth: base × seasonal factors × active shocks.
    fn level_at(&self, time: Hours) -> f64 {
        let shocks: f64 = self
            .shocks
            .iter()
            .filter(|shock| {
                time >= shock.start_hours && time < shock.start_hours + shock.length_hours
            })
            .map(|shock| shock.factor)
            .product();
        self.base_per_hour * self.seasonal_factor(time) * shocks
    }

    /// Daily × weekly factor at `time` (constant within each hour).
    pub fn seasonal_factor(&self, time: Hours) -> f64 {
        self.daily_factor(time) * self.weekly_factor(time)
    }

    fn daily_factor(&self, time: Hours) -> f64 {
        if self.daily.is_empty() {
            1.0
        } else {
            self.daily[(time.rem_euclid(24.0) as usize).min(23)]
        }
    }

    fn weekly_factor(&self, time: Hours) -> f64 {
        if self.weekly.is_empty() {
            1.0
        } else {
            self.weekly[((time / 24.0).rem_euclid(7.0) as usize).min(6)]
        }
    }

    fn growth_factor(&self, time: Hours) -> f64 {
        if self.annual_growth == 0.0 {
            1.0
        } else {
            (1.0 + self.annual_growth).powf(time / HOURS_PER_YEAR)
        }
    }

    /// An upper bound of λ(t) on `[0, horizon)`, the thinning envelope. Growth is
    /// monotone, so its largest factor is at one end; seasonal and shock factors are
    /// bounded by their largest values (shocks below 1 are bounded by 1).
    pub fn max_rate(&self, horizon: Hours) -> f64 {
        let growth = self.growth_factor(0.0).max(self.growth_factor(horizon));
        let daily = if self.daily.is_empty() {
            1.0
        } else {
            self.daily.iter().copied().fold(0.0, f64::max)
        };
        let weekly = if self.weekly.is_empty() {
            1.0
        } else {
            self.weekly.iter().copied().fold(0.0, f64::max)
        };
        let shocks: f64 = self
            .shocks
            .iter()
            .map(|shock| shock.factor.max(1.0))
            .product();
        self.base_per_hour * growth * daily * weekly * shocks
    }

    /// An upper bound of λ(t) on the hour `[hour, hour + 1)` (`hour` a whole number):
    /// the piecewise thinning envelope. Seasonal factors are constant on the hour; growth
    /// is monotone, so its larger end bounds it; a shock that covers the whole hour
    /// contributes its factor, one that covers part of it max(factor, 1).
    pub fn bound_on_hour(&self, hour: Hours) -> f64 {
        let growth = self.growth_factor(hour).max(self.growth_factor(hour + 1.0));
        let bound = self.base_per_hour * growth * self.seasonal_factor(hour);
        self.with_shocks_on_hour(bound, hour, |factor| factor.max(1.0))
    }

    /// `value` times the factor of each shock over the hour, in order: a shock over the
    /// whole hour by its factor, one over part of it by `partial(factor)`.
    fn with_shocks_on_hour(&self, value: f64, hour: Hours, partial: fn(f64) -> f64) -> f64 {
        let mut value = value;
        for shock in &self.shocks {
            let end = shock.start_hours + shock.length_hours;
            if shock.start_hours <= hour && end >= hour + 1.0 {
                value *= shock.factor;
            } else if shock.start_hours < hour + 1.0 && end > hour {
                value *= partial(shock.factor);
            }
        }
        value
    }

    /// A lower bound of λ(t) as [`Self::rate_at`] computes it, for every t in the hour
    /// `[hour, hour + 1)`: the squeeze of thinning. A candidate whose uniform × envelope
    /// falls below it is accepted without computing λ(t) (a `powf` with growth), and the
    /// decision is the one λ(t) gives, so every arrival stays where it was. Growth's
    /// smaller end, shocks over part of the hour at min(factor, 1), the day's factor of
    /// either side of a day boundary (t ÷ 24 may round up to it), less 10⁻⁹ of itself for
    /// the rounding of `powf` and of the products.
    pub fn squeeze_on_hour(&self, hour: Hours) -> f64 {
        let growth = self.growth_factor(hour).min(self.growth_factor(hour + 1.0));
        let seasonal = self
            .seasonal_factor(hour)
            .min(self.daily_factor(hour) * self.weekly_factor(hour + 1.0));
        let squeeze = self.base_per_hour * growth * seasonal;
        self.with_shocks_on_hour(squeeze, hour, |factor| factor.min(1.0)) * (1.0 - 1e-9)
    }

    /// ∫₀^horizon λ(t) dt: the expected number of arrivals.
    ///
    /// Exact for the piecewise-constant part (hour-of-day, day-of-week and shock
    /// boundaries fall on the integration grid or are split at), with growth integrated
    /// in closed form on each piece.
    pub fn expected_arrivals(&self, horizon: Hours) -> f64 {
        self.expected_arrivals_between(0.0, horizon)
    }

    /// ∫ λ(t) dt over `[start, end)`.
    pub fn expected_arrivals_between(&self, start: Hours, end: Hours) -> f64 {
        if end <= start {
            return 0.0;
        }
        if self.is_constant() {
            return self.base_per_hour * (end - start);
        }
        let mut cuts: Vec<f64> = vec![start, end];
        if !self.daily.is_empty() || !self.weekly.is_empty() {
            let step = if self.daily.is_empty() { 24.0 } else { 1.0 };
            let first = (start / step).ceil() as u64;
            let last = (end / step).floor() as u64;
            cuts.extend(
                (first..=last)
                    .map(|k| k as f64 * step)
                    .filter(|&t| t > start && t < end),
            );
        }
        for shock in &self.shocks {
            cuts.extend(
                [shock.start_hours, shock.start_hours + shock.length_hours]
                    .into_iter()
                    .filter(|&t| t > start && t < end),
            );
        }
        cuts.sort_by(f64::total_cmp);
        cuts.dedup();
        cuts.windows(2)
            .map(|piece| self.integral_over_piece(piece[0], piece[1]))
            .sum()
    }

    /// ∫ λ over `[start, end)` where only growth varies.
    fn integral_over_piece(&self, start: Hours, end: Hours) -> f64 {
        if end <= start {
            return 0.0;
        }
        let level = self.level_at(0.5 * (start + end));
        let growth_integral = if self.annual_growth == 0.0 {
            end - start
        } else {
            // ∫ (1+g)^(t/Y) dt = Y / ln(1+g) · [(1+g)^(t/Y)] between the bounds.
            let log_growth = (1.0 + self.annual_growth).ln();
            HOURS_PER_YEAR / log_growth * (self.growth_factor(end) - self.growth_factor(start))
        };
        level * growth_integral
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seasonal() -> RateProfile {
        let mut daily = vec![0.5; 24];
        daily[12] = 12.5; // (23 · 0.5 + 12.5) / 24 = 1
        RateProfile {
            base_per_hour: 10.0,
            annual_growth: 1.0,
            daily,
            weekly: Vec::new(),
            shocks: vec![Shock {
                start_hours: 100.5,
                length_hours: 50.0,
                factor: 3.0,
            }],
        }
    }

    #[test]
    fn rate_follows_each_factor() {
        let profile = seasonal();
        // Hour 12 of day 0, no growth yet to speak of, no shock.
        assert!((profile.rate_at(12.5) - 10.0 * 2f64.powf(12.5 / 8760.0) * 12.5).abs() < 1e-9);
        // Inside the shock.
        assert!(
            (profile.rate_at(110.0) - 10.0 * 2f64.powf(110.0 / 8760.0) * 0.5 * 3.0).abs() < 1e-9
        );
        // One year later the rate has doubled.
        assert!((profile.rate_at(8760.0 + 12.5) / profile.rate_at(12.5) - 2.0).abs() < 1e-12);
        assert!(profile.max_rate(8760.0) >= 10.0 * 2.0 * 12.5 * 3.0 - 1e-9);
    }

    /// The hourly envelope is an upper bound everywhere inside its hour (thinning is exact
    /// only then), and tight where nothing changes within the hour.
    #[test]
    fn hourly_bound_dominates_the_rate() {
        let profile = seasonal();
        for step in 0..200_000 {
            let time = f64::from(step) * 0.0873;
            let bound = profile.bound_on_hour(time.floor());
            assert!(profile.rate_at(time) <= bound * (1.0 + 1e-12), "t = {time}");
        }
        let flat = RateProfile {
            annual_growth: 0.0,
            shocks: Vec::new(),
            ..seasonal()
        };
        assert_eq!(flat.bound_on_hour(12.0), flat.rate_at(12.5));
    }

    /// The squeeze is below the rate as computed everywhere inside its hour (so accepting
    /// under it is the rate's own decision), for growth up and down, daily and weekly
    /// factors and shocks that start and end inside hours, right up to the hour's last
    /// representable time; and it is tight: within 10⁻⁸ where nothing changes but growth.
    #[test]
    fn hourly_squeeze_is_below_the_rate_and_tight() {
        let weekly = vec![0.7, 1.3, 1.0, 0.9, 1.1, 1.2, 0.8];
        for growth in [1.0, -0.4, 0.0] {
            let mut profile = RateProfile {
                annual_growth: growth,
                weekly: weekly.clone(),
                ..seasonal()
            };
            profile.shocks.push(Shock {
                start_hours: 30.25,
                length_hours: 2.5,
                factor: 0.2,
            });
            for hour in (0..2000).map(f64::from) {
                let squeeze = profile.squeeze_on_hour(hour);
                let last = f64::from_bits((hour + 1.0).to_bits() - 1);
                for time in [hour, hour + 0.37, hour + 0.999, last] {
                    assert!(
                        squeeze <= profile.rate_at(time),
                        "growth {growth}, t = {time}"
                    );
                }
            }
            let plain = RateProfile {
                shocks: Vec::new(),
                ..profile.clone()
            };
            // Away from day boundaries (hour 12 of day 3) only growth moves within the hour.
            let hour = 3.0 * 24.0 + 12.0;
            let lowest = plain.rate_at(hour).min(plain.rate_at(hour + 0.999_999));
            assert!((lowest - plain.squeeze_on_hour(hour)) / lowest < 1e-8);
        }
    }

    #[test]
    fn expected_arrivals_integrates_growth_in_closed_form() {
        // Constant growth only: ∫₀^Y b·2^(t/Y) dt = b·Y/ln 2.
        let growth = RateProfile {
            annual_growth: 1.0,
            ..RateProfile::constant(10.0)
        };
        assert!((growth.expected_arrivals(8760.0) - 10.0 * 8760.0 / 2f64.ln()).abs() < 1e-6);
        // Seasonality averaging 1 and no growth: one day gives base · 24.
        let flat_mean = RateProfile {
            annual_growth: 0.0,
            shocks: Vec::new(),
            ..seasonal()
        };
        assert!((flat_mean.expected_arrivals(24.0) - 240.0).abs() < 1e-9);
        // A shock adds (factor − 1) · base · its factor-hours. It covers [100.5, 150.5): 50 h,
        // of which [108, 109) and [132, 133) are hour 12 (factor 12.5) and 48 h are at 0.5,
        // so 48 · 0.5 + 2 · 12.5 = 49 factor-hours and an extra 2 · 10 · 49 = 980 arrivals.
        let shocked = RateProfile {
            annual_growth: 0.0,
            ..seasonal()
        };
        let extra = shocked.expected_arrivals(480.0) - flat_mean.expected_arrivals(480.0);
        let expected_extra = 980.0;
        assert!(
            (extra - expected_extra).abs() < 1e-9,
            "{extra} vs {expected_extra}"
        );
    }
}
