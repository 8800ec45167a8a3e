//! The investor's terms, read from a scenario's `finance:` section: how the cash flows
//! a run produces are valued (the finance layer does the arithmetic).

use super::defaults;

/// The investor's terms: how cash flows are valued. Defaults in [`Terms::default`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Terms {
    /// Discount rate for NPV, per year.
    pub discount_rate: f64,
    /// Return an investor requires; an IRR above it beats the hurdle.
    pub hurdle_rate: f64,
    /// Tax on EBIT, after losses carried forward.
    pub tax_rate: f64,
    /// How hardware loses book value (life and residual are each site's).
    pub depreciation: DepreciationMethod,
    /// Share of book value the hardware fetches at the horizon.
    pub terminal_value_fraction: f64,
    /// Years of cash flows valued; `None`: every year up to the simulation horizon.
    pub horizon_years: Option<u32>,
}

impl Default for Terms {
    /// 10% discount rate and hurdle, no tax, straight-line depreciation, hardware sold
    /// at book value at the horizon, every simulated year.
    fn default() -> Self {
        Terms {
            discount_rate: defaults::DISCOUNT_RATE,
            hurdle_rate: defaults::DISCOUNT_RATE,
            tax_rate: defaults::TAX_RATE,
            depreciation: DepreciationMethod::StraightLine,
            terminal_value_fraction: defaults::TERMINAL_VALUE_FRACTION,
            horizon_years: None,
        }
    }
}

/// How hardware loses book value over its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
pub enum DepreciationMethod {
    /// The same amount every year, down to the residual at the end of the life.
    #[default]
    StraightLine,
    /// Double-declining balance: 2 ÷ life of the remaining value a year, compounded
    /// continuously over fractional years, never below the residual.
    DecliningBalance,
}

impl DepreciationMethod {
    /// The scenario spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            DepreciationMethod::StraightLine => "straight_line",
            DepreciationMethod::DecliningBalance => "declining_balance",
        }
    }
}
