//! Time and its units: the foundation every other layer counts in.
//!
//! The clock is in hours ([`Hours`]); scenario keys in weeks, months or years and
//! annual finance are converted with the constants here, so one calendar (a 365-day
//! year, a month of a twelfth of it) holds everywhere.

/// Simulated time, in hours since the start of the replication.
pub type Hours = f64;

/// Hours per week, for `*_weeks` keys and weekly snapshots.
pub const HOURS_PER_WEEK: f64 = 168.0;
/// Hours per year (365 days), for annual rates and `*_per_year` costs.
pub const HOURS_PER_YEAR: f64 = 8760.0;
/// Hours per month (a twelfth of a year), for `*_per_kw_month` costs.
pub const HOURS_PER_MONTH: f64 = HOURS_PER_YEAR / 12.0;

/// Finance years a run of `horizon` hours covers (the last one may be partial); at
/// least one.
pub fn finance_years(horizon: Hours) -> u32 {
    (horizon / HOURS_PER_YEAR).ceil().max(1.0) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_year_counts_as_a_year() {
        assert_eq!(finance_years(1.0), 1);
        assert_eq!(finance_years(HOURS_PER_YEAR), 1);
        assert_eq!(finance_years(HOURS_PER_YEAR + 1.0), 2);
        assert_eq!(finance_years(0.0), 1);
    }
}
