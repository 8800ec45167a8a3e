//! Yearly financial statements of one system in one replication, from what the
//! simulation accrued (revenue, costs and GPU-hours per cohort and year) and the
//! history of its hardware capital.
//!
//! Conventions, all documented in `docs/outputs.md`:
//! - Year 0 is time 0: the hardware present at the start is invested then. Year k
//!   covers (k − 1, k] years; the last one ends at the finance horizon, maybe short.
//! - Investment is capex for GPUs bought, and the resale value of GPUs an operator
//!   already owned (what it gives up by not selling them). Hardware leaving (operators
//!   exiting, GPUs at the end of their life) and all hardware at the horizon fetch their
//!   market value on the class's resale curve (at the horizon, times the terminal-value
//!   fraction); book value beyond it is written off as it leaves.
//! - Book value: GPUs bought depreciate by the depreciation method; GPUs already owned
//!   are carried at their market value, so their capital basis falls with age.
//! - Tax is on EBIT (EBITDA − depreciation) with losses carried forward, per cohort.
//! - No working capital: customers pay when served, costs are paid when incurred.

use crate::engine::Hours;
use crate::finance::{self, DepreciationMethod, IrrError, Terms};
use crate::model::outcome::{CapitalChange, FinanceYear, Outcome, SiteRecord};
use crate::model::site::SiteIntegrals;
use crate::scenario::supply::TakeRate;
use crate::units::HOURS_PER_YEAR;

/// One year of one system (or one of its providers or cohorts) in one replication.
/// Money in USD.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct YearRow {
    /// `None` for the whole architecture; `Some(p)` for its p-th provider (only where it
    /// has several).
    pub provider: Option<u32>,
    /// `None` for all the sites (of the architecture or the provider); `Some(k)` for the
    /// operators that joined in year k (0: present at the start).
    pub cohort: Option<u32>,
    /// 0 for the investment at time 0, then 1, 2, …
    pub year: u32,
    /// Length of the year, hours (0 for year 0; the last may be short).
    pub hours: Hours,
    /// Customer payments for the hardware's GPU-hours and egress, before the protocol's take.
    pub revenue_usd: f64,
    /// The protocol's take of that revenue.
    pub protocol_fee_usd: f64,
    /// Electricity.
    pub opex_power_usd: f64,
    /// Facility (space, cooling, colocation).
    pub opex_facility_usd: f64,
    /// Staff and other fixed costs.
    pub opex_staff_usd: f64,
    /// All operating costs: power + facility + staff + protocol fee.
    pub opex_usd: f64,
    /// Revenue − opex.
    pub ebitda_usd: f64,
    /// Fall in book value of the hardware held, plus the book value of hardware that left
    /// beyond what it fetched (a loss on disposal; negative for a gain).
    pub depreciation_usd: f64,
    /// Tax on EBIT after losses carried forward.
    pub tax_usd: f64,
    /// EBITDA − tax.
    pub operating_cash_flow_usd: f64,
    /// Cash paid for GPUs delivered or brought by joining operators.
    pub capex_usd: f64,
    /// Resale value of GPUs operators already owned when they started offering them.
    pub owned_hardware_usd: f64,
    /// What hardware leaving (operators exiting, GPUs retired at the end of their life)
    /// fetched: its market value on the resale curve.
    pub disposals_usd: f64,
    /// In the last year: what the hardware held fetches at the horizon (its market value
    /// on the resale curve × the terminal-value fraction).
    pub terminal_value_usd: f64,
    /// Operating cash flow − capex − owned hardware + disposals + terminal value.
    pub net_cash_flow_usd: f64,
    /// Sum of net cash flows from year 0.
    pub cumulative_cash_usd: f64,
    /// Time-average book value of the hardware held over the year: the capital employed.
    pub capital_employed_usd: f64,
    /// Book value of the hardware held at the end of the year (before any terminal sale).
    pub book_value_usd: f64,
    /// Operating cash flow ÷ capital employed, annualised for a short year; `None`
    /// without capital employed.
    pub yield_fraction: Option<f64>,
    /// Busy ÷ up GPU-hours; `None` when nothing was up.
    pub utilization: Option<f64>,
    /// Time-average GPUs installed.
    pub gpus: f64,
}

impl YearRow {
    /// The `yields.parquet` columns after `replication`, `system`, `cohort` and `year`,
    /// in order; every one is also summarised in `yields_summary.parquet`.
    pub fn columns(&self) -> [(&'static str, Option<f64>); 22] {
        [
            ("hours", Some(self.hours)),
            ("revenue_usd", Some(self.revenue_usd)),
            ("opex_power_usd", Some(self.opex_power_usd)),
            ("opex_facility_usd", Some(self.opex_facility_usd)),
            ("opex_staff_usd", Some(self.opex_staff_usd)),
            ("protocol_fee_usd", Some(self.protocol_fee_usd)),
            ("opex_usd", Some(self.opex_usd)),
            ("ebitda_usd", Some(self.ebitda_usd)),
            ("depreciation_usd", Some(self.depreciation_usd)),
            ("tax_usd", Some(self.tax_usd)),
            (
                "operating_cash_flow_usd",
                Some(self.operating_cash_flow_usd),
            ),
            ("capex_usd", Some(self.capex_usd)),
            ("owned_hardware_usd", Some(self.owned_hardware_usd)),
            ("disposals_usd", Some(self.disposals_usd)),
            ("terminal_value_usd", Some(self.terminal_value_usd)),
            ("net_cash_flow_usd", Some(self.net_cash_flow_usd)),
            ("cumulative_cash_usd", Some(self.cumulative_cash_usd)),
            ("capital_employed_usd", Some(self.capital_employed_usd)),
            ("book_value_usd", Some(self.book_value_usd)),
            ("yield", self.yield_fraction),
            ("utilization", self.utilization),
            ("gpus", Some(self.gpus)),
        ]
    }
}

/// Investment measures of one system (or cohort) in one replication.
#[derive(Debug, Clone, PartialEq)]
pub struct Returns {
    /// As in [`YearRow::provider`].
    pub provider: Option<u32>,
    /// As in [`YearRow::cohort`].
    pub cohort: Option<u32>,
    /// NPV of the net cash flows at the discount rate, to time 0.
    pub npv_usd: f64,
    /// IRR of the net cash flows, or why there is none.
    pub irr: Result<f64, IrrError>,
    /// Years from the start (for a cohort: from the start of the year it joined) until
    /// cumulative cash is back to zero; `None` if not within the horizon.
    pub payback_years: Option<f64>,
}

impl Returns {
    /// The IRR, if it exists.
    pub fn irr_value(&self) -> Option<f64> {
        self.irr.as_ref().ok().copied()
    }

    /// Why there is no IRR, in words; `None` when there is one.
    pub fn irr_note(&self) -> Option<String> {
        self.irr.as_ref().err().map(|e| match e {
            IrrError::NoSignChange => "no IRR: the net cash flows never change sign".to_string(),
            IrrError::Multiple(roots) => {
                let listed: Vec<String> = roots.iter().map(|r| format!("{r:.4}")).collect();
                format!("several IRRs solve NPV = 0: {}", listed.join(", "))
            }
            IrrError::NotFound => "no IRR above −100% found".to_string(),
        })
    }

    /// Why there is no payback, in words; `None` when there is one.
    pub fn payback_note(&self) -> Option<&'static str> {
        self.payback_years
            .is_none()
            .then_some("cumulative cash is still below zero at the horizon")
    }
}

/// The statements of one system in one replication.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Statements {
    /// Year rows: the whole system (years 0…n), then, with one provider, each cohort if
    /// asked for; with several, each provider and then its cohorts if asked for.
    pub years: Vec<YearRow>,
    /// Returns in the same order.
    pub returns: Vec<Returns>,
    /// Depreciation over the measurement window (for `runs.parquet`).
    pub window_depreciation_usd: f64,
}

/// A share of one batch of hardware held over an interval.
#[derive(Debug, Clone, Copy)]
struct Holding {
    provider: u32,
    cohort: u32,
    /// When the batch arrived (its age counts from then), hours.
    added: Hours,
    capital_usd: f64,
    capex_usd: f64,
    depreciation_years: f64,
    residual_fraction: f64,
    /// Yearly rate k of the class's resale curve: the batch fetches capital × e^(−k·age).
    decline_per_year: f64,
    /// Held over [start, end), hours.
    start: Hours,
    end: Hours,
    /// Share of the batch still held.
    weight: f64,
}

impl Holding {
    /// Years since the batch arrived, at `at`.
    fn age_years(&self, at: Hours) -> f64 {
        ((at - self.added) / HOURS_PER_YEAR).max(0.0)
    }

    /// Share of its value on arrival that the batch fetches at `at` (its resale curve).
    fn kept(&self, at: Hours) -> f64 {
        (-self.decline_per_year * self.age_years(at)).exp()
    }

    /// Book value at `at`: what the capex has depreciated to by the depreciation method,
    /// plus the owned hardware (capital beyond capex) at its market value then.
    fn book_value(&self, method: DepreciationMethod, at: Hours) -> f64 {
        let remaining = finance::book_value(
            method,
            self.capex_usd,
            self.residual_fraction,
            self.depreciation_years,
            self.age_years(at),
        );
        self.weight * ((self.capital_usd - self.capex_usd) * self.kept(at) + remaining)
    }

    /// What the batch fetches if sold at `at`: its value on arrival down the resale curve.
    fn market_value(&self, at: Hours) -> f64 {
        self.weight * self.capital_usd * self.kept(at)
    }

    /// ∫ book value dt over [from, to] ∩ [start, end), USD·hours.
    fn book_value_hours(&self, method: DepreciationMethod, from: Hours, to: Hours) -> f64 {
        let (a, b) = (from.max(self.start), to.min(self.end));
        if b <= a {
            return 0.0;
        }
        let capex_years = finance::book_value_integral(
            method,
            self.capex_usd,
            self.residual_fraction,
            self.depreciation_years,
            self.age_years(a),
            self.age_years(b),
        );
        // ∫ e^(−k·age) dt, exact.
        let k = self.decline_per_year;
        let kept_hours = if k > 0.0 {
            (self.kept(a) - self.kept(b)) / k * HOURS_PER_YEAR
        } else {
            b - a
        };
        self.weight
            * ((self.capital_usd - self.capex_usd) * kept_hours + capex_years * HOURS_PER_YEAR)
    }

    /// Fall in book value over (from, to] ∩ [start, end).
    fn depreciation(&self, method: DepreciationMethod, from: Hours, to: Hours) -> f64 {
        let (a, b) = (from.max(self.start), to.min(self.end));
        if b <= a {
            0.0
        } else {
            self.book_value(method, a) - self.book_value(method, b)
        }
    }

    fn held_at(&self, at: Hours) -> bool {
        self.start <= at && at < self.end
    }
}

/// Hardware that left before the horizon.
#[derive(Debug, Clone, Copy)]
struct Disposal {
    at: Hours,
    provider: u32,
    cohort: u32,
    /// What it fetched: its market value then.
    usd: f64,
    /// Its book value then less what it fetched: written off as it leaves (a loss, or a
    /// gain when negative), so the book rolls forward exactly.
    write_down_usd: f64,
}

/// Hardware history replayed: every holding and every disposal.
struct Ledger {
    holdings: Vec<Holding>,
    disposals: Vec<Disposal>,
    /// Every arrival of hardware.
    arrivals: Vec<Arrival>,
}

/// Hardware arriving: when, whose, its capital and the capex paid for it.
struct Arrival {
    at: Hours,
    provider: u32,
    cohort: u32,
    capital_usd: f64,
    capex_usd: f64,
}

fn replay(changes: &[CapitalChange], sites: &[SiteRecord], method: DepreciationMethod) -> Ledger {
    let mut ledger = Ledger {
        holdings: Vec::new(),
        disposals: Vec::new(),
        arrivals: Vec::new(),
    };
    // Per site, the holding each batch (each `Added`, in order) is held in now; `None`
    // once it has all left.
    let mut held: Vec<Vec<Option<usize>>> = vec![Vec::new(); sites.len()];
    for change in changes {
        match *change {
            CapitalChange::Added {
                at,
                site,
                capital_usd,
                capex_usd,
                ..
            } => {
                let record = &sites[site as usize];
                ledger.arrivals.push(Arrival {
                    at,
                    provider: record.provider,
                    cohort: record.cohort,
                    capital_usd,
                    capex_usd,
                });
                held[site as usize].push(Some(ledger.holdings.len()));
                ledger.holdings.push(Holding {
                    provider: record.provider,
                    cohort: record.cohort,
                    added: at,
                    capital_usd,
                    capex_usd,
                    depreciation_years: record.depreciation_years,
                    residual_fraction: record.residual_fraction,
                    decline_per_year: record.value_decline_per_year,
                    start: at,
                    end: f64::INFINITY,
                    weight: 1.0,
                });
            }
            CapitalChange::Retired {
                at,
                site,
                share,
                batch,
            } => {
                let batches = &mut held[site as usize];
                let leaving = batches
                    .iter_mut()
                    .enumerate()
                    .filter(|(k, _)| batch.is_none_or(|only| only as usize == *k));
                for (_, slot) in leaving {
                    let Some(idx) = *slot else { continue };
                    let holding = ledger.holdings[idx];
                    // Hardware leaving fetches its market value, whatever its book says.
                    let usd = holding.market_value(at) * share;
                    ledger.disposals.push(Disposal {
                        at,
                        provider: holding.provider,
                        cohort: holding.cohort,
                        usd,
                        write_down_usd: holding.book_value(method, at) * share - usd,
                    });
                    ledger.holdings[idx].end = at;
                    let weight = holding.weight * (1.0 - share);
                    *slot = (weight > 0.0).then(|| {
                        ledger.holdings.push(Holding {
                            start: at,
                            end: f64::INFINITY,
                            weight,
                            ..holding
                        });
                        ledger.holdings.len() - 1
                    });
                }
            }
        }
    }
    ledger
}

/// What the statements need of one provider of the architecture.
#[derive(Debug, Clone, Copy)]
pub struct ProviderTerms {
    /// Its protocol's share of its revenue.
    pub take_rate: TakeRate,
    /// Whether its rows are also given per cohort of operators.
    pub by_cohort: bool,
}

/// The statements of an architecture from its outcome, for its `providers` in order.
///
/// Each provider's cohort is taxed as one business, and a group (the architecture, a
/// provider) pays the sum of its businesses' taxes. With one provider the rows are the
/// architecture's, then its cohorts' (if asked for); with several, the architecture's,
/// then each provider's followed by its cohorts'.
pub fn statements(terms: &Terms, providers: &[ProviderTerms], outcome: &Outcome) -> Statements {
    let ledger = replay(&outcome.capital_changes, &outcome.sites, terms.depreciation);
    let years_held = terms.horizon_years.map_or(outcome.years.len(), |years| {
        (years as usize).min(outcome.years.len())
    });
    let years = &outcome.years[..years_held];
    let (warmup, horizon) = outcome.window;
    let window_depreciation_usd = ledger
        .holdings
        .iter()
        .map(|h| h.depreciation(terms.depreciation, warmup, horizon))
        .sum::<f64>()
        + ledger
            .disposals
            .iter()
            .filter(|d| warmup < d.at && d.at <= horizon)
            .map(|d| d.write_down_usd)
            .sum::<f64>();
    let mut businesses: Vec<(u32, u32)> = outcome
        .sites
        .iter()
        .map(|site| (site.provider, site.cohort))
        .filter(|&(_, cohort)| (cohort as usize) <= years_held)
        .collect();
    businesses.sort_unstable();
    businesses.dedup();
    let group = |provider: Option<u32>, cohort: Option<u32>| Group {
        terms,
        providers,
        ledger: &ledger,
        years,
        provider,
        cohort,
    };
    let by_business: Vec<(Group, Vec<YearRow>)> = businesses
        .iter()
        .map(|&(p, c)| {
            let own = group(Some(p), Some(c));
            let rows = own.rows(None);
            (own, rows)
        })
        .collect();
    let taxes_of = |provider: Option<u32>| -> Vec<f64> {
        (0..=years.len())
            .map(|year| {
                by_business
                    .iter()
                    .filter(|(g, _)| provider.is_none_or(|p| g.provider == Some(p)))
                    .map(|(_, rows)| rows[year].tax_usd)
                    .sum()
            })
            .collect()
    };
    let mut statements = Statements {
        years: Vec::new(),
        returns: Vec::new(),
        window_depreciation_usd,
    };
    let mut push = |group: &Group, mut rows: Vec<YearRow>| {
        statements.returns.push(group.returns(&rows));
        // Before it joined, a cohort has nothing to report.
        let joined = group.cohort.unwrap_or(0);
        rows.retain(|row| row.year >= joined);
        for row in &mut rows {
            row.provider = group.provider;
            row.cohort = group.cohort;
        }
        statements.years.extend(rows);
    };
    let whole = group(None, None);
    let whole_rows = whole.rows(Some(&taxes_of(None)));
    push(&whole, whole_rows);
    let several = providers.len() > 1;
    for (idx, terms_of) in providers.iter().enumerate() {
        let provider = idx as u32;
        if several {
            let own = group(Some(provider), None);
            let rows = own.rows(Some(&taxes_of(Some(provider))));
            push(&own, rows);
        }
        if !terms_of.by_cohort {
            continue;
        }
        for (business, rows) in &by_business {
            if business.provider == Some(provider) {
                // With one provider, its cohorts are the architecture's.
                let label = Group {
                    provider: several.then_some(provider),
                    ..*business
                };
                push(&label, rows.clone());
            }
        }
    }
    statements
}

/// The statements of one group of sites: the whole architecture, one provider, or one
/// provider's cohort.
#[derive(Clone, Copy)]
struct Group<'a> {
    terms: &'a Terms,
    providers: &'a [ProviderTerms],
    ledger: &'a Ledger,
    years: &'a [FinanceYear],
    provider: Option<u32>,
    cohort: Option<u32>,
}

impl Group<'_> {
    fn includes(&self, provider: u32, cohort: u32) -> bool {
        self.provider.is_none_or(|own| own == provider)
            && self.cohort.is_none_or(|own| own == cohort)
    }

    fn holdings(&self) -> impl Iterator<Item = &Holding> {
        self.ledger
            .holdings
            .iter()
            .filter(|h| self.includes(h.provider, h.cohort))
    }

    fn book_value_at(&self, at: Hours) -> f64 {
        self.holdings()
            .filter(|h| h.held_at(at))
            .map(|h| h.book_value(self.terms.depreciation, at))
            .sum()
    }

    fn market_value_at(&self, at: Hours) -> f64 {
        self.holdings()
            .filter(|h| h.held_at(at))
            .map(|h| h.market_value(at))
            .sum()
    }

    /// (capex, owned hardware) of arrivals in `in_year`.
    fn investment(&self, in_year: impl Fn(Hours) -> bool) -> (f64, f64) {
        let arrivals = self
            .ledger
            .arrivals
            .iter()
            .filter(|a| self.includes(a.provider, a.cohort) && in_year(a.at));
        arrivals.fold((0.0, 0.0), |(capex, owned), a| {
            (capex + a.capex_usd, owned + a.capital_usd - a.capex_usd)
        })
    }

    /// Years 0…n; tax is computed from the group's own EBIT unless `taxes` (per year,
    /// from 0) are given.
    fn rows(&self, taxes: Option<&[f64]>) -> Vec<YearRow> {
        let (capex_usd, owned_hardware_usd) = self.investment(|at| at <= 0.0);
        let net = 0.0 - (capex_usd + owned_hardware_usd);
        let mut rows = vec![YearRow {
            provider: self.provider,
            cohort: self.cohort,
            capex_usd,
            owned_hardware_usd,
            net_cash_flow_usd: net,
            cumulative_cash_usd: net,
            book_value_usd: self.book_value_at(0.0),
            ..YearRow::default()
        }];
        let mut carried_loss_usd: f64 = 0.0;
        for (idx, year) in self.years.iter().enumerate() {
            let last = idx + 1 == self.years.len();
            let mut row = self.year_row(idx as u32 + 1, year, last);
            let ebit = row.ebitda_usd - row.depreciation_usd;
            let used = carried_loss_usd.min(ebit.max(0.0));
            carried_loss_usd += (-ebit).max(0.0) - used;
            row.tax_usd = taxes.map_or(self.terms.tax_rate * (ebit.max(0.0) - used), |taxes| {
                taxes[idx + 1]
            });
            row.operating_cash_flow_usd = row.ebitda_usd - row.tax_usd;
            row.net_cash_flow_usd =
                row.operating_cash_flow_usd - row.capex_usd - row.owned_hardware_usd
                    + row.disposals_usd
                    + row.terminal_value_usd;
            row.cumulative_cash_usd =
                rows.last().map_or(0.0, |r| r.cumulative_cash_usd) + row.net_cash_flow_usd;
            let annualise = HOURS_PER_YEAR / row.hours;
            row.yield_fraction = (row.capital_employed_usd > 0.0)
                .then(|| row.operating_cash_flow_usd / row.capital_employed_usd * annualise);
            rows.push(row);
        }
        rows
    }

    /// A year's row before tax and cash flows.
    fn year_row(&self, number: u32, year: &FinanceYear, last: bool) -> YearRow {
        let (from, to) = year.span;
        // Each provider's take rate applies to its own revenue.
        let mut accrued = SiteIntegrals::default();
        let mut protocol_fee_usd = 0.0;
        for (provider, cohorts) in year.providers.iter().enumerate() {
            let mut revenue_usd = 0.0;
            for (cohort, integrals) in cohorts.iter().enumerate() {
                if self.includes(provider as u32, cohort as u32) {
                    accrued.add(integrals);
                    revenue_usd += integrals.gross_revenue_usd;
                }
            }
            protocol_fee_usd += self.providers[provider]
                .take_rate
                .split(revenue_usd)
                .protocol_usd;
        }
        let method = self.terms.depreciation;
        let hours = to - from;
        let (capex_usd, owned_hardware_usd) = self.investment(|at| from < at && at <= to);
        let disposals = self
            .ledger
            .disposals
            .iter()
            .filter(|d| self.includes(d.provider, d.cohort) && from < d.at && d.at <= to);
        let (retired, written_down) = disposals.fold((0.0, 0.0), |(usd, down), d| {
            (usd + d.usd, down + d.write_down_usd)
        });
        let book_value_usd = self.book_value_at(to);
        let terminal = if last {
            self.terms.terminal_value_fraction * self.market_value_at(to)
        } else {
            0.0
        };
        let opex = &accrued.opex;
        let opex_usd = opex.total() + protocol_fee_usd;
        let areas = &accrued.areas;
        let up = areas.busy_gpu_hours + areas.idle_gpu_hours;
        YearRow {
            provider: self.provider,
            cohort: self.cohort,
            year: number,
            hours,
            revenue_usd: accrued.gross_revenue_usd,
            protocol_fee_usd,
            opex_power_usd: opex.power_usd,
            opex_facility_usd: opex.facility_usd,
            opex_staff_usd: opex.fixed_usd,
            opex_usd,
            ebitda_usd: accrued.gross_revenue_usd - opex_usd,
            depreciation_usd: self
                .holdings()
                .map(|h| h.depreciation(method, from, to))
                .sum::<f64>()
                + written_down,
            capex_usd,
            owned_hardware_usd,
            disposals_usd: retired,
            terminal_value_usd: terminal,
            capital_employed_usd: self
                .holdings()
                .map(|h| h.book_value_hours(method, from, to))
                .sum::<f64>()
                / hours,
            book_value_usd,
            utilization: (up > 0.0).then(|| areas.busy_gpu_hours / up),
            gpus: (up + areas.down_gpu_hours + areas.withdrawn_gpu_hours) / hours,
            ..YearRow::default()
        }
    }

    fn returns(&self, rows: &[YearRow]) -> Returns {
        let at = |row: &YearRow| {
            if row.year == 0 {
                0.0
            } else {
                self.years[row.year as usize - 1].span.1 / HOURS_PER_YEAR
            }
        };
        let flows: Vec<(f64, f64)> = rows
            .iter()
            .map(|row| (at(row), row.net_cash_flow_usd))
            .collect();
        // Payback is earned back by operating (and exits), not by selling everything at
        // the horizon; it counts, for a cohort, from the start of the year it joined.
        let earned: Vec<(f64, f64)> = rows
            .iter()
            .map(|row| (at(row), row.net_cash_flow_usd - row.terminal_value_usd))
            .collect();
        let origin_years = self
            .cohort
            .and_then(|cohort| self.years.get((cohort as usize).checked_sub(1)?))
            .map_or(0.0, |y| y.span.0 / HOURS_PER_YEAR);
        Returns {
            provider: self.provider,
            cohort: self.cohort,
            npv_usd: finance::npv_at(self.terms.discount_rate, &flows),
            irr: finance::irr_at(&flows),
            payback_years: finance::payback_years_at(&earned).map(|t| t - origin_years),
        }
    }
}
