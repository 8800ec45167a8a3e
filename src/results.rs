//! The raw results of a run: one record per replication (and system, week, year), as
//! plain data. Every table and summary is derived from these, both after a run and
//! after merging shards, so the two give the same bytes.
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::dbg_macro)]

pub mod summaries;

use crate::finance::statements::YearRow;
use crate::metrics::catalog::Metric;
use crate::metrics::{Cell, GroupRow, ProviderRow, RunMetrics, Savings, SegmentRow};
use crate::model::SystemName;
use crate::model::outcome::Week;

/// Replications per row group of the raw tables, counted from a run's first (and the
/// most a table holds before writing them): small enough that a block of a large
/// scenario fits in memory, large enough that a Parquet writer's footer (about 2 kB per
/// column per row group, kept until the file ends) stays small for 10,000 replications.
pub const REPLICATIONS_PER_ROW_GROUP: u64 = 256;

/// One `runs.parquet` row.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    /// Replication index.
    pub replication: u64,
    /// System.
    pub system: SystemName,
    /// Values in the order of [`run_columns`] (the catalog's [`Metric::ALL`]).
    pub cells: Vec<Cell>,
}

impl RunRow {
    /// The value of one metric: every row holds every catalog metric (rows are built
    /// from the catalog, and reading a table without one of its columns is an error).
    pub fn get(&self, metric: Metric) -> Cell {
        self.cells[metric.index()]
    }
}

/// One week of one replication of one system.
#[derive(Debug, Clone, PartialEq)]
pub struct WeekRow {
    /// Replication index.
    pub replication: u64,
    /// System.
    pub system: SystemName,
    /// The week's values.
    pub week: Week,
}

/// One `segments.parquet` row: one segment of one replication of one system.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentRecord {
    /// Replication index.
    pub replication: u64,
    /// System.
    pub system: SystemName,
    /// The segment's values.
    pub row: SegmentRow,
}

/// One `providers.parquet` row: one provider of one replication of one architecture.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderRecord {
    /// Replication index.
    pub replication: u64,
    /// System (the architecture).
    pub system: SystemName,
    /// The provider's values.
    pub row: ProviderRow,
}

/// One `groups.parquet` row: one operator group of one replication of one architecture.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRecord {
    /// Replication index.
    pub replication: u64,
    /// System (the architecture).
    pub system: SystemName,
    /// The group's values.
    pub row: GroupRow,
}

/// One `yields.parquet` row.
#[derive(Debug, Clone, PartialEq)]
pub struct YearRecord {
    /// Replication index.
    pub replication: u64,
    /// System.
    pub system: SystemName,
    /// `None` for the whole architecture; a provider's name for its rows where the
    /// architecture has several.
    pub provider: Option<String>,
    /// `None` for all the sites (of the architecture or the provider).
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
    pub system: SystemName,
    /// As in [`YearRecord::provider`].
    pub provider: Option<String>,
    /// As in [`YearRecord::cohort`].
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
        [
            ("npv_usd", Some(self.npv_usd)),
            ("irr", self.irr),
            ("payback_years", self.payback_years),
        ]
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
    /// `segments.parquet` rows.
    pub segments: Vec<SegmentRecord>,
    /// `providers.parquet` rows.
    pub providers: Vec<ProviderRecord>,
    /// `groups.parquet` rows.
    pub groups: Vec<GroupRecord>,
}

/// Names of the `runs.parquet` columns after `replication` and `system`.
pub fn run_columns() -> Vec<&'static str> {
    Metric::ALL.iter().map(|metric| metric.name()).collect()
}

/// Names of the `yields.parquet` value columns after `replication`, `system`, `cohort`, `year`.
pub fn year_columns() -> Vec<&'static str> {
    YearRow::default()
        .columns()
        .iter()
        .map(|(name, _)| *name)
        .collect()
}

impl Results {
    /// The results of simulated rows (ordered by replication, then system).
    pub fn from_rows(rows: &[RunMetrics], hurdle_rate: f64) -> Results {
        let mut results = Results::default();
        for row in rows {
            let (replication, system) = (row.replication, &row.system);
            results.runs.push(RunRow {
                replication,
                system: system.clone(),
                cells: row.columns().into_iter().map(|(_, cell)| cell).collect(),
            });
            results.weeks.extend(row.weeks.iter().map(|&week| WeekRow {
                replication,
                system: system.clone(),
                week,
            }));
            results
                .segments
                .extend(row.segments.iter().map(|segment| SegmentRecord {
                    replication,
                    system: system.clone(),
                    row: segment.clone(),
                }));
            results
                .providers
                .extend(row.providers.iter().map(|provider| ProviderRecord {
                    replication,
                    system: system.clone(),
                    row: provider.clone(),
                }));
            results
                .groups
                .extend(row.groups.iter().map(|group| GroupRecord {
                    replication,
                    system: system.clone(),
                    row: group.clone(),
                }));
            let name = |provider: Option<u32>| {
                provider.map(|p| row.providers[p as usize].provider.clone())
            };
            for year in &row.finance.years {
                let values = year.columns().into_iter().map(|(_, value)| value).collect();
                results.years.push(YearRecord {
                    replication,
                    system: system.clone(),
                    provider: name(year.provider),
                    cohort: year.cohort,
                    year: year.year,
                    values,
                });
            }
            for r in &row.finance.returns {
                results.returns.push(ReturnRecord {
                    replication,
                    system: system.clone(),
                    provider: name(r.provider),
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
        self.segments.extend(later.segments);
        self.providers.extend(later.providers);
        self.groups.extend(later.groups);
    }

    /// Combines results of disjoint sets of replications, in replication order.
    ///
    /// # Errors
    /// The first replication and system present in more than one part.
    pub fn merge(parts: Vec<Results>) -> Result<Results, (u64, SystemName)> {
        let mut merged = Results::default();
        for part in parts {
            merged.append(part);
        }
        // Stable sorts by replication: a replication's records come from one part, whose
        // systems are in the order the run wrote them.
        merged.runs.sort_by_key(|r| r.replication);
        for group in merged.runs.chunk_by(|a, b| a.replication == b.replication) {
            for (idx, row) in group.iter().enumerate() {
                if group[..idx].iter().any(|other| other.system == row.system) {
                    return Err((row.replication, row.system.clone()));
                }
            }
        }
        merged.weeks.sort_by_key(|w| w.replication);
        merged.years.sort_by_key(|y| y.replication);
        merged.returns.sort_by_key(|r| r.replication);
        merged.segments.sort_by_key(|r| r.replication);
        merged.providers.sort_by_key(|r| r.replication);
        merged.groups.sort_by_key(|r| r.replication);
        Ok(merged)
    }

    /// Systems present, in the order of their first rows.
    pub fn systems(&self) -> Vec<SystemName> {
        infallible(summaries::systems(self))
    }

    /// The pair compared by default: the first two systems, when there are exactly two.
    fn pair(&self) -> Option<summaries::Pair> {
        summaries::default_pair(&self.systems(), None)
    }

    /// Each replication's paired values under the default pair.
    fn paired(&self) -> Vec<summaries::Paired> {
        self.pair().map_or_else(Vec::new, |pair| {
            infallible(summaries::paired_values(self, &pair))
        })
    }

    /// See [`summaries::crn_variance_reduction`] (of a run without antithetic pairs).
    pub fn crn_variance_reduction(&self) -> [f64; crate::metrics::PAIRED_COUNT] {
        summaries::crn_variance_reduction(&self.paired(), false)
    }

    /// The paired comparison of every replication that has both systems.
    pub fn savings(&self) -> Vec<Savings> {
        summaries::savings_of(&self.paired())
    }

    /// `summary.parquet`'s rows (see [`summaries::summary_rows`]).
    pub fn summary_rows(&self, antithetic: bool) -> Vec<summaries::SummaryRow> {
        let pairs = self.paired();
        let label = self
            .pair()
            .as_ref()
            .map_or_else(String::new, summaries::paired_label);
        infallible(summaries::summary_rows(
            self,
            &self.systems(),
            &summaries::savings_of(&pairs),
            &pairs,
            antithetic,
            &label,
        ))
    }
}

/// One of the raw tables, from which every other table is derived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RawTable {
    /// `runs.parquet`.
    Runs,
    /// `weeks.parquet`.
    Weeks,
    /// `yields.parquet`.
    Years,
    /// `returns.parquet`.
    Returns,
    /// `segments.parquet`.
    Segments,
    /// `providers.parquet`.
    Providers,
    /// `groups.parquet`.
    Groups,
}

impl RawTable {
    /// All of them, in the order they are written.
    pub const ALL: [RawTable; 7] = [
        RawTable::Runs,
        RawTable::Weeks,
        RawTable::Years,
        RawTable::Returns,
        RawTable::Segments,
        RawTable::Providers,
        RawTable::Groups,
    ];

    /// File stem.
    pub fn stem(self) -> &'static str {
        match self {
            RawTable::Runs => "runs",
            RawTable::Weeks => "weeks",
            RawTable::Years => "yields",
            RawTable::Returns => "returns",
            RawTable::Segments => "segments",
            RawTable::Providers => "providers",
            RawTable::Groups => "groups",
        }
    }
}

/// Raw records that can be read in pieces: in memory ([`Results`]) or as raw tables on
/// disk. Summaries read them this way so they never need every record at once.
pub trait RawSource {
    /// Why the records could not be read.
    type Error;

    /// Calls `each` with consecutive pieces holding the records of `table` in replication
    /// order (pieces may hold other tables' records too; those are to be ignored).
    ///
    /// # Errors
    /// If the records cannot be read.
    fn scan(&self, table: RawTable, each: &mut dyn FnMut(&Results)) -> Result<(), Self::Error>;
}

impl RawSource for Results {
    type Error = std::convert::Infallible;

    fn scan(&self, _table: RawTable, each: &mut dyn FnMut(&Results)) -> Result<(), Self::Error> {
        each(self);
        Ok(())
    }
}

fn infallible<T>(result: Result<T, std::convert::Infallible>) -> T {
    match result {
        Ok(value) => value,
        Err(never) => match never {},
    }
}
