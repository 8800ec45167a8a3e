//! The raw results of a run: one record per replication (and system, week, year), as
//! plain data. Every table and summary is derived from these, both after a run and
//! after merging shards, so the two give the same bytes.
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::dbg_macro)]

use crate::finance::statements::YearRow;
use crate::metrics::{Cell, RunMetrics, Savings};
use crate::model::SystemKind;
use crate::model::outcome::Week;

/// One `runs.parquet` row.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    /// Replication index.
    pub replication: u64,
    /// System.
    pub system: SystemKind,
    /// Values in the order of [`run_columns`].
    pub cells: Vec<Cell>,
}

/// One week of one replication of one system.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeekRow {
    /// Replication index.
    pub replication: u64,
    /// System.
    pub system: SystemKind,
    /// The week's values.
    pub week: Week,
}

/// One `yields.parquet` row.
#[derive(Debug, Clone, PartialEq)]
pub struct YearRecord {
    /// Replication index.
    pub replication: u64,
    /// System.
    pub system: SystemKind,
    /// `None` for the whole system.
    pub cohort: Option<u32>,
    /// Year (0 = time 0).
    pub year: u32,
    /// Values in the order of [`year_columns`].
    pub values: Vec<Option<f64>>,
}

/// One `returns.parquet` row.
#[derive(Debug, Clone, PartialEq)]
pub struct ReturnRecord {
    /// Replication index.
    pub replication: u64,
    /// System.
    pub system: SystemKind,
    /// `None` for the whole system.
    pub cohort: Option<u32>,
    /// NPV, USD.
    pub npv_usd: f64,
    /// IRR, if it exists.
    pub irr: Option<f64>,
    /// Why there is no IRR.
    pub irr_note: Option<String>,
    /// IRR above the hurdle rate.
    pub beats_hurdle: Option<bool>,
    /// Payback, years, if within the horizon.
    pub payback_years: Option<f64>,
    /// Why there is no payback.
    pub payback_note: Option<String>,
}

impl ReturnRecord {
    /// The `(name, value)` measures summarised in `yields_summary.parquet`.
    pub fn measures(&self) -> [(&'static str, Option<f64>); 3] {
        [("npv_usd", Some(self.npv_usd)), ("irr", self.irr), ("payback_years", self.payback_years)]
    }
}

/// Everything a run measured, per replication, ordered by replication, then system.
///
/// `==` compares floats as floats (NaN ≠ NaN); for "the same bits", compare the
/// `Debug` text, whose floats round-trip exactly.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Results {
    /// `runs.parquet` rows.
    pub runs: Vec<RunRow>,
    /// Weekly values.
    pub weeks: Vec<WeekRow>,
    /// `yields.parquet` rows.
    pub years: Vec<YearRecord>,
    /// `returns.parquet` rows.
    pub returns: Vec<ReturnRecord>,
}

/// Names of the `runs.parquet` columns after `replication` and `system`.
pub fn run_columns() -> Vec<&'static str> {
    RunMetrics::column_names()
}

/// Names of the `yields.parquet` value columns after `replication`, `system`, `cohort`, `year`.
pub fn year_columns() -> Vec<&'static str> {
    YearRow::default().columns().iter().map(|(name, _)| *name).collect()
}

impl Results {
    /// The results of simulated rows (ordered by replication, then system).
    pub fn from_rows(rows: &[RunMetrics], hurdle_rate: f64) -> Results {
        let mut results = Results::default();
        for row in rows {
            let (replication, system) = (row.replication, row.system);
            results.runs.push(RunRow { replication, system, cells: row.columns().into_iter().map(|(_, cell)| cell).collect() });
            results.weeks.extend(row.weeks.iter().map(|&week| WeekRow { replication, system, week }));
            for year in &row.finance.years {
                let values = year.columns().into_iter().map(|(_, value)| value).collect();
                results.years.push(YearRecord { replication, system, cohort: year.cohort, year: year.year, values });
            }
            for r in &row.finance.returns {
                results.returns.push(ReturnRecord {
                    replication,
                    system,
                    cohort: r.cohort,
                    npv_usd: r.npv_usd,
                    irr: r.irr_value(),
                    irr_note: r.irr_note(),
                    beats_hurdle: r.irr_value().map(|irr| irr > hurdle_rate),
                    payback_years: r.payback_years,
                    payback_note: r.payback_note().map(str::to_string),
                });
            }
        }
        results
    }

    /// Adds the results of later replications (all after this one's).
    pub fn append(&mut self, later: Results) {
        self.runs.extend(later.runs);
        self.weeks.extend(later.weeks);
        self.years.extend(later.years);
        self.returns.extend(later.returns);
    }

    /// Events simulated, from the `events` column.
    pub fn events(&self) -> u64 {
        let at = run_columns().iter().position(|name| *name == "events");
        at.map_or(0, |idx| self.runs.iter().map(|row| row.cells[idx].as_u64()).sum())
    }

    /// Combines results of disjoint sets of replications, in replication order.
    ///
    /// # Errors
    /// The first replication and system present in more than one part.
    pub fn merge(parts: Vec<Results>) -> Result<Results, (u64, SystemKind)> {
        let mut merged = Results::default();
        for part in parts {
            merged.append(part);
        }
        // Stable sorts: within a replication and system the parts keep their own order.
        merged.runs.sort_by_key(|r| (r.replication, r.system));
        if let Some(pair) =
            merged.runs.windows(2).find(|pair| (pair[0].replication, pair[0].system) == (pair[1].replication, pair[1].system))
        {
            return Err((pair[0].replication, pair[0].system));
        }
        merged.weeks.sort_by_key(|w| (w.replication, w.system));
        merged.years.sort_by_key(|y| (y.replication, y.system));
        merged.returns.sort_by_key(|r| (r.replication, r.system));
        Ok(merged)
    }

    /// Replications present, in order.
    pub fn replications(&self) -> Vec<u64> {
        let mut replications: Vec<u64> = self.runs.iter().map(|r| r.replication).collect();
        replications.dedup();
        replications
    }

    /// Systems present, in fixed order.
    pub fn systems(&self) -> Vec<SystemKind> {
        let mut systems: Vec<SystemKind> = self.runs.iter().map(|r| r.system).collect();
        systems.sort();
        systems.dedup();
        systems
    }

    /// How much common random numbers shrink the variance of each paired metric
    /// ([`Savings::columns`] order): its variance over replications when the two
    /// systems' rows come from *different* replications (centralized k with distributed
    /// k + 1, cyclically: independent streams, no extra simulation) divided by its
    /// variance when paired on the same jobs. NaN with fewer than 3 pairs or no spread.
    pub fn crn_variance_reduction(&self) -> [f64; 4] {
        let (centralized, distributed): (Vec<[f64; 4]>, Vec<[f64; 4]>) = self.paired_values().into_iter().map(|(_, c, d)| (c, d)).unzip();
        let n = centralized.len();
        let of = |pairs: &dyn Fn(usize) -> Savings| -> Vec<[f64; 4]> { (0..n).map(|k| pairs(k).columns().map(|(_, v)| v)).collect() };
        let paired = of(&|k| Savings::pair(0, centralized[k], distributed[k]));
        let crossed = of(&|k| Savings::pair(0, centralized[k], distributed[(k + 1) % n]));
        let variance = |rows: &[[f64; 4]], idx: usize| {
            let values: Vec<f64> = rows.iter().map(|row| row[idx]).filter(|v| !v.is_nan()).collect();
            if values.len() < 3 { f64::NAN } else { crate::metrics::summarise(&values).std.powi(2) }
        };
        std::array::from_fn(|idx| {
            let (same, independent) = (variance(&paired, idx), variance(&crossed, idx));
            if same > 0.0 { independent / same } else { f64::NAN }
        })
    }

    /// Each replication with both systems: (replication, centralized, distributed) values
    /// of [spend per GPU-hour, utilization, p95 wait, lost-demand share].
    fn paired_values(&self) -> Vec<(u64, [f64; 4], [f64; 4])> {
        let names = run_columns();
        let at = |name: &str| names.iter().position(|n| *n == name).unwrap_or(usize::MAX);
        let idx = [at("spend_usd_per_gpu_hour"), at("utilization"), at("p95_wait_hours"), at("lost_demand_fraction")];
        let values = |row: &RunRow| idx.map(|i| row.cells.get(i).map_or(f64::NAN, |c| c.as_f64()));
        // Rows come ordered by replication, then system (centralized first).
        self.runs
            .windows(2)
            .filter(|pair| {
                pair[0].system == SystemKind::Centralized
                    && pair[1].system == SystemKind::Distributed
                    && pair[0].replication == pair[1].replication
            })
            .map(|pair| (pair[0].replication, values(&pair[0]), values(&pair[1])))
            .collect()
    }

    /// The paired comparison of every replication that has both systems.
    pub fn savings(&self) -> Vec<Savings> {
        self.paired_values().into_iter().map(|(replication, c, d)| Savings::pair(replication, c, d)).collect()
    }
}
