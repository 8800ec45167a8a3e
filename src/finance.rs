//! Investment arithmetic on yearly cash flows: NPV, IRR, payback, straight-line book value.
//!
//! Pure functions of numbers, no I/O. Cash flows are yearly, the first at time 0
//! (usually the investment, negative), then at the end of years 1, 2, …
//! Where a measure does not exist (no IRR without a sign change, no payback if cumulative
//! cash never turns non-negative), the functions say why instead of returning a number.
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::dbg_macro)]

pub mod statements;

pub use crate::scenario::terms::{DepreciationMethod, Terms};

/// Why an IRR could not be given.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IrrError {
    /// Every cash flow has the same sign (or is zero): NPV never crosses zero.
    #[error("no IRR: the cash flows never change sign")]
    NoSignChange,
    /// NPV crosses zero more than once (irregular signs): several rates solve it.
    #[error("several IRRs: {0:?}")]
    Multiple(Vec<f64>),
    /// NPV has no root above −100% within the search range (up to 10⁶ = 100,000,000%).
    #[error("no IRR above -100% found")]
    NotFound,
}

/// Net present value at `rate` per year of flows at t = 0, 1, 2, … years.
pub fn npv(rate: f64, cash_flows: &[f64]) -> f64 {
    // Horner's scheme from the last flow: fewer roundings than summing discounted terms.
    let discount = 1.0 / (1.0 + rate);
    cash_flows
        .iter()
        .rev()
        .fold(0.0, |acc, &flow| acc * discount + flow)
}

/// Net present value at `rate` per year of `(time in years, amount)` flows.
pub fn npv_at(rate: f64, flows: &[(f64, f64)]) -> f64 {
    let growth = 1.0 + rate;
    flows
        .iter()
        .map(|&(years, amount)| amount / growth.powf(years))
        .sum()
}

/// The internal rate of return of flows at t = 0, 1, 2, … years; see [`irr_at`].
///
/// # Errors
/// [`IrrError`] when the IRR does not exist or is not unique.
pub fn irr(cash_flows: &[f64]) -> Result<f64, IrrError> {
    let timed: Vec<(f64, f64)> = cash_flows
        .iter()
        .enumerate()
        .map(|(year, &flow)| (year as f64, flow))
        .collect();
    irr_at(&timed)
}

/// The internal rate of return of `(time in years, amount)` flows: the rate above
/// −100% at which their NPV is zero.
///
/// NPV is evaluated on a grid of rates from −99.9% to 10⁶ (dense near 0, geometric
/// beyond); every sign change is refined by bisection to machine precision. One root is
/// the IRR; several are reported as such (possible only when flows change sign more
/// than once); a flow series that never changes sign has none.
///
/// # Errors
/// [`IrrError`] when the IRR does not exist or is not unique.
pub fn irr_at(flows: &[(f64, f64)]) -> Result<f64, IrrError> {
    let signs: Vec<f64> = flows
        .iter()
        .map(|&(_, amount)| amount)
        .filter(|amount| *amount != 0.0)
        .collect();
    if !signs
        .windows(2)
        .any(|pair| pair[0].signum() != pair[1].signum())
    {
        return Err(IrrError::NoSignChange);
    }
    let grid = rate_grid();
    let mut roots: Vec<f64> = Vec::new();
    for pair in grid.windows(2) {
        let (low, high) = (pair[0], pair[1]);
        let (at_low, at_high) = (npv_at(low, flows), npv_at(high, flows));
        if at_low == 0.0 {
            push_root(&mut roots, low);
        } else if at_low.signum() != at_high.signum() && at_high != 0.0 {
            push_root(&mut roots, bisect(flows, low, high, at_low));
        }
    }
    match roots.len() {
        0 => Err(IrrError::NotFound),
        1 => Ok(roots[0]),
        _ => Err(IrrError::Multiple(roots)),
    }
}

fn push_root(roots: &mut Vec<f64>, root: f64) {
    if roots
        .last()
        .is_none_or(|last| (root - last).abs() > 1e-9 * root.abs().max(1.0))
    {
        roots.push(root);
    }
}

/// Rates to look for sign changes between: −0.999 … 10⁶, steps of 0.005 up to 1
/// (so two IRRs 1% apart are told apart), then 1% geometric steps.
fn rate_grid() -> Vec<f64> {
    let mut grid: Vec<f64> = (0..=400)
        .map(|step| -0.999 + f64::from(step) * (1.999 / 400.0))
        .collect();
    let mut rate: f64 = 1.0;
    while rate < 1e6 {
        rate *= 1.01;
        grid.push(rate);
    }
    grid
}

/// Bisection of NPV on [low, high] where it changes sign, to the last representable digit.
fn bisect(flows: &[(f64, f64)], mut low: f64, mut high: f64, mut at_low: f64) -> f64 {
    for _ in 0..200 {
        let mid = 0.5 * (low + high);
        if mid <= low || mid >= high {
            break;
        }
        let at_mid = npv_at(mid, flows);
        if at_mid == 0.0 {
            return mid;
        }
        if at_mid.signum() == at_low.signum() {
            low = mid;
            at_low = at_mid;
        } else {
            high = mid;
        }
    }
    0.5 * (low + high)
}

/// Years until cumulative cash first reaches zero from below, for flows at t = 0, 1, 2,
/// … years; see [`payback_years_at`].
pub fn payback_years(cash_flows: &[f64]) -> Option<f64> {
    let timed: Vec<(f64, f64)> = cash_flows
        .iter()
        .enumerate()
        .map(|(year, &flow)| (year as f64, flow))
        .collect();
    payback_years_at(&timed)
}

/// Years until cumulative cash, having gone below zero, first climbs back to it;
/// `None` if it never does. A series whose cumulative cash never goes below zero pays
/// back at its first time.
///
/// The first flow happens at its time; each later flow arrives evenly over the period
/// since the previous one, so payback is interpolated linearly within that period.
/// Leading zero flows change nothing.
pub fn payback_years_at(flows: &[(f64, f64)]) -> Option<f64> {
    let &(start, _) = flows.first()?;
    let (mut cumulative, mut previous, mut went_negative) = (0.0, start, false);
    for &(time, amount) in flows {
        let before = cumulative;
        cumulative += amount;
        if cumulative < 0.0 {
            went_negative = true;
        } else if before < 0.0 {
            return Some(previous + (-before / amount) * (time - previous));
        }
        previous = time;
    }
    (!went_negative).then_some(start)
}

/// Book value at `age_years` of an asset bought for `cost`, with `residual` (a share of
/// cost) left at the end of `life_years`: it never falls below `cost × residual`.
pub fn book_value(
    method: DepreciationMethod,
    cost: f64,
    residual: f64,
    life_years: f64,
    age_years: f64,
) -> f64 {
    let floor = cost * residual;
    let age = age_years.max(0.0);
    match method {
        DepreciationMethod::StraightLine => {
            cost - (cost - floor) * age.min(life_years) / life_years
        }
        DepreciationMethod::DecliningBalance => match declining_factor(life_years) {
            None if age > 0.0 => floor,
            None => cost,
            Some(factor) => (cost * factor.powf(age)).max(floor),
        },
    }
}

/// The yearly factor (1 − 2 ÷ life) of double-declining balance; `None` when the whole
/// value goes in the first instant (a life of 2 years or less).
fn declining_factor(life_years: f64) -> Option<f64> {
    let factor = 1.0 - 2.0 / life_years;
    (factor > 0.0).then_some(factor)
}

/// ∫ book value d(age) from `from` to `to` years of age (exact: the value is linear or
/// exponential between kinks, and the kink where it reaches the residual is split at).
pub fn book_value_integral(
    method: DepreciationMethod,
    cost: f64,
    residual: f64,
    life_years: f64,
    from: f64,
    to: f64,
) -> f64 {
    if to <= from {
        return 0.0;
    }
    let floor = cost * residual;
    // Age at which the value reaches the residual.
    let kink = match method {
        DepreciationMethod::StraightLine => life_years,
        DepreciationMethod::DecliningBalance => match declining_factor(life_years) {
            None => 0.0,
            Some(_) if residual <= 0.0 || cost <= 0.0 => f64::INFINITY,
            Some(factor) => residual.ln() / factor.ln(),
        },
    };
    let flat = if to > kink {
        floor * (to - from.max(kink))
    } else {
        0.0
    };
    let (a, b) = (from.min(kink), to.min(kink));
    let falling = if b <= a {
        0.0
    } else {
        match method {
            // Linear: the trapezoid is exact.
            DepreciationMethod::StraightLine => {
                0.5 * (book_value(method, cost, residual, life_years, a)
                    + book_value(method, cost, residual, life_years, b))
                    * (b - a)
            }
            DepreciationMethod::DecliningBalance => {
                // `kink` > 0 here, so the factor exists.
                let factor = declining_factor(life_years).unwrap_or(1.0);
                cost * (factor.powf(b) - factor.powf(a)) / factor.ln()
            }
        }
    };
    flat + falling
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    /// −100 now, 60 in each of two years, at 10%: 60/1.1 + 60/1.21 − 100 = 4.132231405 (to 9 dp).
    #[test]
    fn npv_of_a_hand_computed_series() {
        assert!(close(
            npv(0.10, &[-100.0, 60.0, 60.0]),
            60.0 / 1.1 + 60.0 / 1.21 - 100.0
        ));
        assert!(close(npv(0.10, &[-100.0, 60.0, 60.0]), 4.132_231_405));
        assert_eq!(npv(0.0, &[-100.0, 60.0, 60.0]), 20.0);
    }

    /// 60x² + 60x − 100 = 0 with x = 1/(1 + r): x = (−60 + √27600)/120, r = 1/x − 1 ≈ 13.07%.
    #[test]
    fn irr_of_an_annuity_matches_the_quadratic() {
        let x = (-60.0 + 27_600f64.sqrt()) / 120.0;
        let expected = 1.0 / x - 1.0;
        let found = irr(&[-100.0, 60.0, 60.0]).expect("one sign change");
        assert!(close(found, expected), "{found} vs {expected}");
        assert!(npv(found, &[-100.0, 60.0, 60.0]).abs() < 1e-9);
    }

    /// Getting back exactly what was put in is an IRR of 0; 100 back a year after 1 is 9,900%.
    #[test]
    fn zero_and_very_high_irr() {
        assert!(irr(&[-100.0, 50.0, 50.0]).expect("sign change").abs() < 1e-12);
        assert!(close(irr(&[-1.0, 100.0]).expect("sign change"), 99.0));
    }

    /// No sign change, no IRR; −100, +230, −132 has two: (1 + r) = (230 ± 10)/200 → 10% and 20%.
    #[test]
    fn missing_and_multiple_irrs_are_reported() {
        assert_eq!(irr(&[100.0, 50.0]), Err(IrrError::NoSignChange));
        assert_eq!(irr(&[-100.0, 0.0, -5.0]), Err(IrrError::NoSignChange));
        match irr(&[-100.0, 230.0, -132.0]) {
            Err(IrrError::Multiple(roots)) => {
                assert_eq!(roots.len(), 2);
                assert!(close(roots[0], 0.1) && close(roots[1], 0.2), "{roots:?}");
            }
            other => panic!("expected two IRRs, got {other:?}"),
        }
    }

    /// Cumulative −100, −70, −30, +20: paid back 30/50 of the way through year 3 → 2.6 years.
    #[test]
    fn payback_interpolates_within_the_year() {
        assert!(close(
            payback_years(&[-100.0, 30.0, 40.0, 50.0]).expect("pays back"),
            2.6
        ));
        assert_eq!(payback_years(&[-100.0, 30.0, 40.0]), None);
        assert_eq!(payback_years(&[10.0, 5.0]), Some(0.0));
    }

    /// Flows at fractional times: −100 now and 121 in two years is 10%; −100 now, 50
    /// at 1 year and 60 at 1.5 years discounts each flow by its own time.
    #[test]
    fn timed_flows_are_discounted_by_their_own_time() {
        let flows = [(0.0, -100.0), (2.0, 121.0)];
        assert!(close(irr_at(&flows).expect("one sign change"), 0.10));
        assert!(close(npv_at(0.10, &flows), 0.0));
        let uneven = [(0.0, -100.0), (1.0, 50.0), (1.5, 60.0)];
        assert!(close(
            npv_at(0.10, &uneven),
            -100.0 + 50.0 / 1.1 + 60.0 / 1.1f64.powf(1.5)
        ));
        let found = irr_at(&uneven).expect("one sign change");
        assert!(
            npv_at(found, &uneven).abs() < 1e-9,
            "NPV at the IRR {found}"
        );
        // Evenly spaced flows give the same answers through either function.
        let even = [-100.0, 30.0, 40.0, 50.0];
        let timed: Vec<(f64, f64)> = even
            .iter()
            .enumerate()
            .map(|(t, &f)| (t as f64, f))
            .collect();
        assert!(close(npv(0.07, &even), npv_at(0.07, &timed)));
    }

    /// Irregular signs with a single root: −100, +150, −10, +10 changes sign three
    /// times, yet NPV crosses zero once above −99%; that root must zero NPV to 1e-9.
    #[test]
    fn irregular_signs_with_one_root() {
        let flows = [-100.0, 150.0, -10.0, 10.0];
        let found = irr(&flows).expect("a single IRR");
        assert!(npv(found, &flows).abs() < 1e-9, "{found}");
        // Cross-check against a fine scan for every sign change of NPV above −99%.
        let changes = (0..20_000)
            .map(|step| -0.99 + f64::from(step) * 0.001)
            .collect::<Vec<_>>()
            .windows(2)
            .filter(|pair| npv(pair[0], &flows).signum() != npv(pair[1], &flows).signum())
            .count();
        assert_eq!(changes, 1);
    }

    /// A year of losses before the investment: payback counts from the first flow, and
    /// zero flows before anything happens change nothing.
    #[test]
    fn payback_ignores_leading_zeros_and_interpolates_short_years() {
        assert!(close(
            payback_years_at(&[(1.0, 0.0), (2.0, -100.0), (3.0, 60.0), (3.5, 80.0)])
                .expect("pays back"),
            3.25
        ));
        assert!(close(
            payback_years_at(&[(0.0, -100.0), (1.0, 60.0), (1.5, 80.0)]).expect("pays back"),
            1.25
        ));
        assert_eq!(payback_years_at(&[(0.0, 0.0), (1.0, 5.0)]), Some(0.0));
        assert_eq!(payback_years_at(&[]), None);
    }

    /// Declining balance at twice the straight-line rate, never below the residual; the
    /// integral of book value matches the closed forms.
    #[test]
    fn declining_balance_and_book_value_integrals() {
        let method = DepreciationMethod::DecliningBalance;
        // Life 4: half the value goes each year; 25% residual is reached after 2 years.
        assert!(close(
            book_value(method, 240_000.0, 0.25, 4.0, 1.0),
            120_000.0
        ));
        assert!(close(
            book_value(method, 240_000.0, 0.25, 4.0, 3.0),
            60_000.0
        ));
        let first_year = 240_000.0 * 0.5 / 2f64.ln();
        assert!(close(
            book_value_integral(method, 240_000.0, 0.25, 4.0, 0.0, 1.0),
            first_year
        ));
        assert!(close(
            book_value_integral(method, 240_000.0, 0.25, 4.0, 2.0, 3.0),
            60_000.0
        ));
        // Straight line, 2-year life, 25% residual: a trapezoid, then flat.
        let line = DepreciationMethod::StraightLine;
        assert!(close(
            book_value_integral(line, 240_000.0, 0.25, 2.0, 0.0, 1.0),
            195_000.0
        ));
        assert!(close(
            book_value_integral(line, 240_000.0, 0.25, 2.0, 1.5, 3.0),
            0.5 * (105_000.0 + 60_000.0) * 0.5 + 60_000.0
        ));
        // A life of 2 years or less at double-declining writes down to the residual at once.
        assert_eq!(book_value(method, 100.0, 0.1, 2.0, 0.5), 10.0);
        // Nothing to depreciate (GPUs already owned): the integral is 0, not NaN.
        assert_eq!(book_value_integral(method, 0.0, 0.3, 5.0, 0.0, 0.5), 0.0);
        assert!(book_value_integral(method, 100.0, 0.0, 5.0, 0.0, 0.5).is_finite());
    }

    /// $30,000 with 30% residual over 5 years loses $4,200 a year and stops at $9,000.
    #[test]
    fn book_value_falls_straight_to_the_residual() {
        assert!(close(
            book_value(DepreciationMethod::StraightLine, 30_000.0, 0.3, 5.0, 0.0),
            30_000.0
        ));
        assert!(close(
            book_value(DepreciationMethod::StraightLine, 30_000.0, 0.3, 5.0, 1.0),
            25_800.0
        ));
        assert!(close(
            book_value(DepreciationMethod::StraightLine, 30_000.0, 0.3, 5.0, 5.0),
            9_000.0
        ));
        assert!(close(
            book_value(DepreciationMethod::StraightLine, 30_000.0, 0.3, 5.0, 8.0),
            9_000.0
        ));
    }
}
