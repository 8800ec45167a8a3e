//! Investment arithmetic on yearly cash flows: NPV, IRR, payback, straight-line book value.
//!
//! Pure functions of numbers, no I/O. Cash flows are yearly, the first at time 0
//! (usually the investment, negative), then at the end of years 1, 2, …
//! Where a measure does not exist (no IRR without a sign change, no payback if cumulative
//! cash never turns non-negative), the functions say why instead of returning a number.
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::dbg_macro)]

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
    cash_flows.iter().rev().fold(0.0, |acc, &flow| acc * discount + flow)
}

/// The internal rate of return: the rate above −100% at which NPV is zero.
///
/// NPV is evaluated on a grid of rates from −99.9% to 10⁶ (dense near 0, geometric
/// beyond); every sign change is refined by bisection to machine precision. One root is
/// the IRR; several are reported as such (possible only when flows change sign more
/// than once); a flow series that never changes sign has none.
///
/// # Errors
/// [`IrrError`] when the IRR does not exist or is not unique.
pub fn irr(cash_flows: &[f64]) -> Result<f64, IrrError> {
    let signs: Vec<f64> = cash_flows.iter().copied().filter(|flow| *flow != 0.0).collect();
    if !signs.windows(2).any(|pair| pair[0].signum() != pair[1].signum()) {
        return Err(IrrError::NoSignChange);
    }
    let grid = rate_grid();
    let mut roots: Vec<f64> = Vec::new();
    for pair in grid.windows(2) {
        let (low, high) = (pair[0], pair[1]);
        let (at_low, at_high) = (npv(low, cash_flows), npv(high, cash_flows));
        if at_low == 0.0 {
            push_root(&mut roots, low);
        } else if at_low.signum() != at_high.signum() && at_high != 0.0 {
            push_root(&mut roots, bisect(cash_flows, low, high, at_low));
        }
    }
    match roots.len() {
        0 => Err(IrrError::NotFound),
        1 => Ok(roots[0]),
        _ => Err(IrrError::Multiple(roots)),
    }
}

fn push_root(roots: &mut Vec<f64>, root: f64) {
    if roots.last().is_none_or(|last| (root - last).abs() > 1e-9 * root.abs().max(1.0)) {
        roots.push(root);
    }
}

/// Rates to look for sign changes between: −0.999 … 10⁶, steps of 0.005 up to 1
/// (so two IRRs 1% apart are told apart), then 1% geometric steps.
fn rate_grid() -> Vec<f64> {
    let mut grid: Vec<f64> = (0..=400).map(|step| -0.999 + f64::from(step) * (1.999 / 400.0)).collect();
    let mut rate: f64 = 1.0;
    while rate < 1e6 {
        rate *= 1.01;
        grid.push(rate);
    }
    grid
}

/// Bisection of NPV on [low, high] where it changes sign, to the last representable digit.
fn bisect(cash_flows: &[f64], mut low: f64, mut high: f64, mut at_low: f64) -> f64 {
    for _ in 0..200 {
        let mid = 0.5 * (low + high);
        if mid <= low || mid >= high {
            break;
        }
        let at_mid = npv(mid, cash_flows);
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

/// Years until cumulative cash first reaches zero from below, interpolating linearly
/// within the year it happens (cash assumed to arrive evenly over a year); `None` if it
/// never does. Flows start at t = 0; a series that never goes negative pays back at 0.
pub fn payback_years(cash_flows: &[f64]) -> Option<f64> {
    let mut cumulative = 0.0;
    for (year, &flow) in cash_flows.iter().enumerate() {
        let before = cumulative;
        cumulative += flow;
        if before < 0.0 && cumulative >= 0.0 {
            return Some((year - 1) as f64 + (-before / flow));
        }
        if year == 0 && cumulative >= 0.0 {
            return Some(0.0);
        }
    }
    None
}

/// Straight-line book value of an asset bought for `cost` with `residual` (a share of
/// cost) left after `life_years`, at `age_years` (never below the residual value).
pub fn book_value(cost: f64, residual: f64, life_years: f64, age_years: f64) -> f64 {
    let depreciable = cost * (1.0 - residual);
    let age = age_years.clamp(0.0, life_years);
    cost - depreciable * age / life_years
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
        assert!(close(npv(0.10, &[-100.0, 60.0, 60.0]), 60.0 / 1.1 + 60.0 / 1.21 - 100.0));
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
        assert!(close(payback_years(&[-100.0, 30.0, 40.0, 50.0]).expect("pays back"), 2.6));
        assert_eq!(payback_years(&[-100.0, 30.0, 40.0]), None);
        assert_eq!(payback_years(&[10.0, 5.0]), Some(0.0));
    }

    /// $30,000 with 30% residual over 5 years loses $4,200 a year and stops at $9,000.
    #[test]
    fn book_value_falls_straight_to_the_residual() {
        assert!(close(book_value(30_000.0, 0.3, 5.0, 0.0), 30_000.0));
        assert!(close(book_value(30_000.0, 0.3, 5.0, 1.0), 25_800.0));
        assert!(close(book_value(30_000.0, 0.3, 5.0, 5.0), 9_000.0));
        assert!(close(book_value(30_000.0, 0.3, 5.0, 8.0), 9_000.0));
    }
}
