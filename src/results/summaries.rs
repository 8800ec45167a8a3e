//! Every summary of a run, computed from its raw records read in pieces from a
//! [`RawSource`]: memory or the raw tables on disk. Each pass keeps one system's (or one
//! metric's, or one cohort's) values, never all records, so summarising 10,000
//! replications needs little more memory than summarising 100. A run and a merge of its
//! shards read the same records in the same order, so their summaries are the same bits.
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::dbg_macro)]

use std::collections::{BTreeMap, BTreeSet};

use super::{RawSource, RawTable, Results, RunRow, run_columns, year_columns};
use crate::metrics::catalog::{Metric, Paired as PairedMetric, Weekly};
use crate::metrics::{
    PAIRED_COUNT, PairSide, ProviderRow, Savings, SegmentRow, Summary, WorkCell,
    antithetic_variance_reduction, summarise, summarise_antithetic,
};
use crate::model::SystemName;
use crate::model::outcome::Week;

/// Label of the paired comparison's rows in `summary.parquet` for the shorthand's two
/// systems ([`paired_label`] of centralized and distributed).
pub const PAIRED: &str = "distributed_vs_centralized";

/// The systems a paired comparison compares: (A, B), B against A.
pub type Pair = (SystemName, SystemName);

/// Label of the paired rows: `B_vs_A`.
pub fn paired_label((a, b): &Pair) -> String {
    format!("{b}_vs_{a}")
}

/// The pair compared: `compare` as recorded, else the first two systems when there are
/// exactly two (A the first written).
pub fn default_pair(systems: &[SystemName], compare: Option<&(String, String)>) -> Option<Pair> {
    match (compare, systems) {
        (Some((a, b)), _) => Some((SystemName::new(a), SystemName::new(b))),
        (None, [a, b]) => Some((a.clone(), b.clone())),
        _ => None,
    }
}

/// The `summary.parquet` metrics holding how many times common random numbers reduce
/// the variance of each paired metric (see [`crn_variance_reduction`]).
pub fn crn_variance_reduction_names() -> [&'static str; PAIRED_COUNT] {
    PairedMetric::ALL.map(PairedMetric::crn_variance_reduction_name)
}

/// The `summary.parquet` metrics holding how many times antithetic pairs reduce the
/// variance of each paired metric's mean (antithetic runs only; see
/// [`antithetic_variance_reduction`]).
pub fn antithetic_variance_reduction_names() -> [&'static str; PAIRED_COUNT] {
    PairedMetric::ALL.map(PairedMetric::antithetic_variance_reduction_name)
}

/// Statistics of one metric's (replication, value) pairs, in replication order: over
/// antithetic pairs in an antithetic run.
fn stats(values: &[(u64, f64)], antithetic: bool) -> Summary {
    if antithetic {
        summarise_antithetic(values)
    } else {
        summarise(&values.iter().map(|&(_, v)| v).collect::<Vec<f64>>())
    }
}

/// One `summary.parquet` row, as computed; also what the CLI prints.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryRow {
    /// System, or [`PAIRED`] for the paired differences of `savings.parquet`.
    pub system: String,
    /// Metric name (a `runs.parquet` or `savings.parquet` column).
    pub metric: &'static str,
    /// The statistics.
    pub stats: Summary,
}

/// One `timeseries.parquet` row: a metric of one week across replications.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeseriesRow {
    /// System.
    pub system: SystemName,
    /// Week index from time 0.
    pub week: u32,
    /// Metric name.
    pub metric: &'static str,
    /// The statistics across replications.
    pub stats: Summary,
}

/// One `yields_summary.parquet` row.
#[derive(Debug, Clone, PartialEq)]
pub struct YieldSummaryRow {
    /// System.
    pub system: SystemName,
    /// `None` for the whole architecture; a provider's name where it has several.
    pub provider: Option<String>,
    /// `None` for all the sites (of the architecture or the provider).
    pub cohort: Option<u32>,
    /// Year; `None` for NPV, IRR and payback, which span the horizon.
    pub year: Option<u32>,
    /// A `yields.parquet` column, or `npv_usd`, `irr`, `payback_years`.
    pub metric: &'static str,
    /// Statistics over the replications where the value exists.
    pub stats: Summary,
    /// Replications (that have this system and cohort) where it does not exist.
    pub undefined: u64,
}

/// One `segments_summary.parquet` row: a segment's measure in one system across
/// replications.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentSummaryRow {
    /// System.
    pub system: SystemName,
    /// Segment name.
    pub segment: String,
    /// A `segments.parquet` column.
    pub metric: &'static str,
    /// Statistics over the replications where the value exists (NaN prices left out).
    pub stats: Summary,
}

/// A measure of one segment row.
pub type SegmentMeasure = fn(&SegmentRow) -> f64;

/// The `segments.parquet` measures summarised per system × segment, with their values.
pub const SEGMENT_MEASURES: [(&str, SegmentMeasure); 11] = [
    ("jobs_arrived", |r| r.jobs_arrived as f64),
    ("jobs_served", |r| r.jobs_served as f64),
    ("jobs_lost", |r| r.jobs_lost() as f64),
    ("lost_demand_fraction", SegmentRow::lost_demand_fraction),
    ("work_offered_gpu_hours", SegmentRow::work_offered_gpu_hours),
    ("work_served_gpu_hours", SegmentRow::work_served_gpu_hours),
    ("spend_usd", SegmentRow::spend_total_usd),
    ("spend_usd_per_gpu_hour", SegmentRow::spend_usd_per_gpu_hour),
    ("contract_spend_usd", |r| r.contract_spend_usd),
    (
        "spend_usd_per_useful_gpu_hour",
        SegmentRow::spend_usd_per_useful_gpu_hour,
    ),
    ("contract_utilization", SegmentRow::contract_utilization),
];

/// Statistics of every [`SEGMENT_MEASURES`] per system × segment: systems in fixed
/// order, segments in the order their rows come (the scenario's). One pass.
///
/// # Errors
/// The source's error.
pub fn segment_summary_rows<S: RawSource + ?Sized>(
    source: &S,
    antithetic: bool,
) -> Result<Vec<SegmentSummaryRow>, S::Error> {
    let rows = keyed_summaries(
        source,
        RawTable::Segments,
        &SEGMENT_MEASURES,
        antithetic,
        &mut |piece, each| {
            for record in &piece.segments {
                each(
                    record.replication,
                    &record.system,
                    &record.row.segment,
                    &record.row,
                );
            }
        },
    )?;
    Ok(rows
        .into_iter()
        .map(|(system, segment, metric, stats)| SegmentSummaryRow {
            system,
            segment,
            metric,
            stats,
        })
        .collect())
}

/// One `providers_summary.parquet` row: a provider's measure in one architecture
/// across replications.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderSummaryRow {
    /// System (the architecture).
    pub system: SystemName,
    /// Provider name.
    pub provider: String,
    /// A `providers.parquet` column.
    pub metric: &'static str,
    /// Statistics over the replications where the value exists (NaN prices left out).
    pub stats: Summary,
}

/// A measure of one provider row.
pub type ProviderMeasure = fn(&ProviderRow) -> f64;

/// The `providers.parquet` measures summarised per architecture × provider.
pub const PROVIDER_MEASURES: [(&str, ProviderMeasure); 12] = [
    ("gpus_at_horizon", |r| r.gpus_at_horizon as f64),
    ("jobs_started", |r| r.jobs_started as f64),
    ("busy_gpu_hours", |r| r.busy_gpu_hours),
    ("up_gpu_hours", |r| r.up_gpu_hours),
    ("utilization", ProviderRow::utilization),
    ("spend_usd", |r| r.spend_usd),
    ("revenue_usd", |r| r.revenue_usd),
    ("protocol_revenue_usd", |r| r.protocol_revenue_usd),
    ("price_at_horizon_usd", |r| r.price_at_horizon_usd),
    ("contract_revenue_usd", |r| r.contract_revenue_usd),
    ("spot_revenue_usd", |r| r.spot_revenue_usd),
    ("contract_utilization", ProviderRow::contract_utilization),
];

/// Statistics of every [`PROVIDER_MEASURES`] per architecture × provider, in the
/// order of [`segment_summary_rows`]. One pass.
///
/// # Errors
/// The source's error.
pub fn provider_summary_rows<S: RawSource + ?Sized>(
    source: &S,
    antithetic: bool,
) -> Result<Vec<ProviderSummaryRow>, S::Error> {
    let rows = keyed_summaries(
        source,
        RawTable::Providers,
        &PROVIDER_MEASURES,
        antithetic,
        &mut |piece, each| {
            for record in &piece.providers {
                each(
                    record.replication,
                    &record.system,
                    &record.row.provider,
                    &record.row,
                );
            }
        },
    )?;
    Ok(rows
        .into_iter()
        .map(|(system, provider, metric, stats)| ProviderSummaryRow {
            system,
            provider,
            metric,
            stats,
        })
        .collect())
}

/// A measure's column name and how to read it from a row.
type Measure<R> = (&'static str, fn(&R) -> f64);

/// A system, a key within it (segment or provider), a measure and its statistics.
type KeyedSummary = (SystemName, String, &'static str, Summary);

/// Walks one piece's records of a keyed table: replication, system, key, row.
type KeyedWalk<'w, R> = dyn FnMut(&Results, &mut dyn FnMut(u64, &SystemName, &str, &R)) + 'w;

/// Statistics of `measures` per system × key over the records `walk` yields from
/// `table`: systems in the order of their first rows, keys in theirs within each;
/// NaN values left out.
fn keyed_summaries<S: RawSource + ?Sized, R>(
    source: &S,
    table: RawTable,
    measures: &[Measure<R>],
    antithetic: bool,
    walk: &mut KeyedWalk<'_, R>,
) -> Result<Vec<KeyedSummary>, S::Error> {
    type Group = (SystemName, String, Vec<Vec<(u64, f64)>>);
    let mut groups: Vec<Group> = Vec::new();
    source.scan(table, &mut |piece| {
        walk(piece, &mut |replication, system, key, row| {
            let position = groups
                .iter()
                .position(|(s, k, _)| s == system && k == key)
                .unwrap_or_else(|| {
                    groups.push((
                        system.clone(),
                        key.to_string(),
                        vec![Vec::new(); measures.len()],
                    ));
                    groups.len() - 1
                });
            for ((_, measure), values) in measures.iter().zip(&mut groups[position].2) {
                let value = measure(row);
                if !value.is_nan() {
                    values.push((replication, value));
                }
            }
        });
    })?;
    let mut order: Vec<SystemName> = Vec::new();
    for (system, _, _) in &groups {
        if !order.contains(system) {
            order.push(system.clone());
        }
    }
    groups.sort_by_key(|(system, _, _)| order.iter().position(|s| s == system));
    let mut out = Vec::new();
    for (system, key, columns) in groups {
        for ((metric, _), values) in measures.iter().zip(&columns) {
            out.push((
                system.clone(),
                key.clone(),
                *metric,
                stats(values, antithetic),
            ));
        }
    }
    Ok(out)
}

/// Every summary of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Summaries {
    /// `summary.parquet`.
    pub summary: Vec<SummaryRow>,
    /// `savings.parquet` (empty unless both systems ran).
    pub savings: Vec<Savings>,
    /// `timeseries.parquet`.
    pub timeseries: Vec<TimeseriesRow>,
    /// `yields_summary.parquet`.
    pub yields: Vec<YieldSummaryRow>,
    /// `segments_summary.parquet`.
    pub segments: Vec<SegmentSummaryRow>,
    /// `providers_summary.parquet`.
    pub providers: Vec<ProviderSummaryRow>,
    /// Events simulated, from the `events` column.
    pub events: u64,
    /// Each system with its GPUs at the start (the `gpus_initial` of its first row).
    pub systems: Vec<(SystemName, u64)>,
    /// The paired rows' label (`B_vs_A`), when a pair is compared.
    pub paired_label: Option<String>,
}

/// Computes every summary, one pass over the raw records per system, metric or cohort;
/// intervals over antithetic pairs when the run is `antithetic`.
///
/// # Errors
/// The source's error if its records cannot be read.
pub fn summarise_all<S: RawSource + ?Sized>(
    source: &S,
    antithetic: bool,
    compare: Option<&(String, String)>,
) -> Result<Summaries, S::Error> {
    let (events, systems) = systems_and_events(source)?;
    let kinds: Vec<SystemName> = systems.iter().map(|(name, _)| name.clone()).collect();
    let pair = default_pair(&kinds, compare);
    let pairs = match &pair {
        Some(pair) => paired_values(source, pair)?,
        None => Vec::new(),
    };
    let savings = savings_of(&pairs);
    let label = pair.as_ref().map_or_else(String::new, paired_label);
    let labelled = pair.is_some().then(|| label.clone());
    Ok(Summaries {
        summary: summary_rows(source, &kinds, &savings, &pairs, antithetic, &label)?,
        timeseries: timeseries_rows(source, &kinds)?,
        yields: yield_summary_rows(source, antithetic)?,
        segments: segment_summary_rows(source, antithetic)?,
        providers: provider_summary_rows(source, antithetic)?,
        savings,
        events,
        systems,
        paired_label: labelled,
    })
}

/// Each system present (in fixed order) with its GPUs at the start.
type SystemsPresent = Vec<(SystemName, u64)>;

/// Events simulated, and the systems present.
fn systems_and_events<S: RawSource + ?Sized>(
    source: &S,
) -> Result<(u64, SystemsPresent), S::Error> {
    let mut events = 0;
    let mut systems: SystemsPresent = Vec::new();
    source.scan(RawTable::Runs, &mut |piece| {
        for row in &piece.runs {
            events += row.get(Metric::Events).as_u64();
            if !systems.iter().any(|(name, _)| *name == row.system) {
                systems.push((row.system.clone(), row.get(Metric::GpusInitial).as_u64()));
            }
        }
    })?;
    Ok((events, systems))
}

/// Systems present, in the order of their first rows (a run writes each replication's
/// systems in the scenario's order).
///
/// # Errors
/// The source's error.
pub fn systems<S: RawSource + ?Sized>(source: &S) -> Result<Vec<SystemName>, S::Error> {
    Ok(systems_and_events(source)?
        .1
        .into_iter()
        .map(|(kind, _)| kind)
        .collect())
}

/// Events simulated, from the `events` column.
///
/// # Errors
/// The source's error.
pub fn events<S: RawSource + ?Sized>(source: &S) -> Result<u64, S::Error> {
    Ok(systems_and_events(source)?.0)
}

/// What a replication's two systems are compared on: (replication, centralized,
/// distributed).
pub type Paired = (u64, PairSide, PairSide);

/// Each replication with both systems, in replication order: the compared run metrics
/// from the runs, the cells from the segments.
///
/// # Errors
/// The source's error.
pub fn paired_values<S: RawSource + ?Sized>(
    source: &S,
    (a, b): &Pair,
) -> Result<Vec<Paired>, S::Error> {
    let mut cells: BTreeMap<(u64, SystemName), Vec<WorkCell>> = BTreeMap::new();
    source.scan(RawTable::Segments, &mut |piece| {
        for record in &piece.segments {
            cells
                .entry((record.replication, record.system.clone()))
                .or_default()
                .extend(WorkCell::of_segment(&record.row));
        }
    })?;
    let mut side = |row: &RunRow| PairSide {
        compared: PairedMetric::OF_RUNS.map(|m| {
            m.compared()
                .map_or(f64::NAN, |metric| row.get(metric).as_f64())
        }),
        cells: cells
            .remove(&(row.replication, row.system.clone()))
            .unwrap_or_default(),
    };
    let mut pairs = Vec::new();
    // Rows come ordered by replication, then system (A before B); a replication's rows
    // may straddle two pieces.
    let mut first: Option<(u64, PairSide)> = None;
    source.scan(RawTable::Runs, &mut |piece| {
        for row in &piece.runs {
            if row.system == *a {
                first = Some((row.replication, side(row)));
            } else if row.system == *b
                && let Some((replication, side_a)) =
                    first.take().filter(|(r, _)| *r == row.replication)
            {
                pairs.push((replication, side_a, side(row)));
            }
        }
    })?;
    Ok(pairs)
}

/// The paired comparison of every replication that has both systems.
pub fn savings_of(pairs: &[Paired]) -> Vec<Savings> {
    pairs
        .iter()
        .map(|(replication, c, d)| Savings::pair(*replication, c, d))
        .collect()
}

/// How much common random numbers shrink the variance of each paired metric
/// ([`Savings::columns`] order): its variance over replications when the two systems'
/// rows come from *different* replications (centralized k with distributed k + 1,
/// cyclically, or k + 2 in an antithetic run so that no row meets its mirror:
/// independent streams, no extra simulation) divided by its variance when paired on the
/// same jobs. NaN with fewer than 3 pairs or no spread.
pub fn crn_variance_reduction(pairs: &[Paired], antithetic: bool) -> [f64; PAIRED_COUNT] {
    let n = pairs.len();
    let shift = if antithetic { 2 } else { 1 };
    let of = |pair: &dyn Fn(usize) -> Savings| -> Vec<[f64; PAIRED_COUNT]> {
        (0..n).map(|k| pair(k).columns().map(|(_, v)| v)).collect()
    };
    let paired = of(&|k| Savings::pair(0, &pairs[k].1, &pairs[k].2));
    let crossed = of(&|k| Savings::pair(0, &pairs[k].1, &pairs[(k + shift) % n].2));
    let variance = |rows: &[[f64; PAIRED_COUNT]], idx: usize| {
        let values: Vec<f64> = rows
            .iter()
            .map(|row| row[idx])
            .filter(|v| !v.is_nan())
            .collect();
        if values.len() < 3 {
            f64::NAN
        } else {
            summarise(&values).std.powi(2)
        }
    };
    std::array::from_fn(|idx| {
        let (same, independent) = (variance(&paired, idx), variance(&crossed, idx));
        if same > 0.0 {
            independent / same
        } else {
            f64::NAN
        }
    })
}

/// Summaries per system × metric, systems in fixed order, metrics in column order, then
/// the paired comparison's metrics (NaN values, e.g. savings when nothing is billed, are
/// left out of its statistics). One pass over the runs per system.
///
/// # Errors
/// The source's error.
pub fn summary_rows<S: RawSource + ?Sized>(
    source: &S,
    systems: &[SystemName],
    savings: &[Savings],
    pairs: &[Paired],
    antithetic: bool,
    label: &str,
) -> Result<Vec<SummaryRow>, S::Error> {
    let names = run_columns();
    let mut out = Vec::new();
    for system in systems {
        let mut values: Vec<Vec<(u64, f64)>> = vec![Vec::new(); names.len()];
        source.scan(RawTable::Runs, &mut |piece| {
            for row in piece.runs.iter().filter(|r| r.system == *system) {
                for (column, cell) in values.iter_mut().zip(&row.cells) {
                    let value = cell.as_f64();
                    if !value.is_nan() {
                        column.push((row.replication, value));
                    }
                }
            }
        })?;
        for (metric, column) in names.iter().zip(&values) {
            out.push(SummaryRow {
                system: system.as_str().to_string(),
                metric,
                stats: stats(column, antithetic),
            });
        }
    }
    if let Some(first) = savings.first() {
        let mut paired_values = Vec::new();
        for (idx, (metric, _)) in first.columns().iter().enumerate() {
            let values: Vec<(u64, f64)> = savings
                .iter()
                .map(|row| (row.replication, row.columns()[idx].1))
                .filter(|(_, v)| !v.is_nan())
                .collect();
            out.push(SummaryRow {
                system: label.to_string(),
                metric,
                stats: stats(&values, antithetic),
            });
            paired_values.push(values);
        }
        // One number each, not a distribution: only `mean` (the factor) and `n` (pairs) are set.
        let factor_row = |metric: &'static str, factor: f64| {
            let nan = f64::NAN;
            let n = savings.len() as u64;
            SummaryRow {
                system: label.to_string(),
                metric,
                stats: Summary {
                    mean: factor,
                    std: nan,
                    ci95_low: nan,
                    ci95_high: nan,
                    p05: nan,
                    p50: nan,
                    p95: nan,
                    n,
                },
            }
        };
        for (metric, factor) in crn_variance_reduction_names()
            .into_iter()
            .zip(crn_variance_reduction(pairs, antithetic))
        {
            out.push(factor_row(metric, factor));
        }
        if antithetic {
            for (metric, values) in antithetic_variance_reduction_names()
                .into_iter()
                .zip(&paired_values)
            {
                out.push(factor_row(metric, antithetic_variance_reduction(values)));
            }
        }
    }
    Ok(out)
}

/// Per system × week × metric, statistics across replications, over the weeks every
/// replication has. One pass over the weeks per system and metric.
///
/// # Errors
/// The source's error.
pub fn timeseries_rows<S: RawSource + ?Sized>(
    source: &S,
    systems: &[SystemName],
) -> Result<Vec<TimeseriesRow>, S::Error> {
    let mut out = Vec::new();
    for system in systems {
        let mut rows: BTreeMap<u32, Vec<TimeseriesRow>> = BTreeMap::new();
        for series in Weekly::ALL {
            let (metric, value) = (series.name(), |week: &Week| series.of(week));
            // by_week[i]: the i-th week of each replication, in replication order.
            let mut by_week: Vec<Vec<f64>> = Vec::new();
            let (mut last, mut position, mut replications) = (None, 0, 0_usize);
            let mut fewest = usize::MAX;
            source.scan(RawTable::Weeks, &mut |piece| {
                for row in piece.weeks.iter().filter(|w| w.system == *system) {
                    if last != Some(row.replication) {
                        if last.is_some() {
                            fewest = fewest.min(position);
                        }
                        (last, position) = (Some(row.replication), 0);
                        replications += 1;
                    }
                    if by_week.len() <= position {
                        by_week.push(Vec::new());
                    }
                    by_week[position].push(value(&row.week));
                    position += 1;
                }
            })?;
            if last.is_some() {
                fewest = fewest.min(position);
            }
            let weeks = if replications == 0 { 0 } else { fewest };
            for (week, values) in by_week.iter().take(weeks).enumerate() {
                let week = week as u32;
                rows.entry(week).or_default().push(TimeseriesRow {
                    system: system.clone(),
                    week,
                    metric,
                    stats: summarise(values),
                });
            }
        }
        // Week-major, metrics in order within a week.
        out.extend(rows.into_values().flatten());
    }
    Ok(out)
}

/// One yearly metric's values so far: its name, (replication, value) where it exists,
/// and how many replications lack it.
type Collected = (&'static str, Vec<(u64, f64)>, u64);

/// Quantiles of every yearly column per system × cohort × year, then of the returns
/// per system × cohort. Cohorts appear only in replications where they joined. One
/// pass over the yearly rows and one over the returns per system × cohort.
///
/// # Errors
/// The source's error.
pub fn yield_summary_rows<S: RawSource + ?Sized>(
    source: &S,
    antithetic: bool,
) -> Result<Vec<YieldSummaryRow>, S::Error> {
    // Systems in the order of their first rows; within each, the whole architecture,
    // then providers in the order of their first rows; within each, cohorts in order.
    let mut order: Vec<SystemName> = Vec::new();
    let mut providers: Vec<String> = Vec::new();
    let mut groups: BTreeSet<(usize, Option<usize>, Option<u32>)> = BTreeSet::new();
    let mut note = |system: &SystemName, provider: Option<&String>, cohort: Option<u32>| {
        let position = order.iter().position(|s| s == system).unwrap_or_else(|| {
            order.push(system.clone());
            order.len() - 1
        });
        let provider = provider.map(|name| {
            providers.iter().position(|p| p == name).unwrap_or_else(|| {
                providers.push(name.clone());
                providers.len() - 1
            })
        });
        groups.insert((position, provider, cohort));
    };
    source.scan(RawTable::Years, &mut |piece| {
        for y in &piece.years {
            note(&y.system, y.provider.as_ref(), y.cohort);
        }
    })?;
    source.scan(RawTable::Returns, &mut |piece| {
        for r in &piece.returns {
            note(&r.system, r.provider.as_ref(), r.cohort);
        }
    })?;
    let names = year_columns();
    let mut out = Vec::new();
    for (position, provider, cohort) in groups {
        let system = &order[position];
        let provider = provider.map(|p| providers[p].clone());
        // Keyed by (year, column); the returns by a year past any real one so they sort last.
        let mut values: BTreeMap<(u32, usize), Collected> = BTreeMap::new();
        let mut record =
            |key: (u32, usize), metric: &'static str, replication: u64, value: Option<f64>| {
                let entry = values.entry(key).or_insert((metric, Vec::new(), 0));
                match value {
                    Some(v) => entry.1.push((replication, v)),
                    None => entry.2 += 1,
                }
            };
        source.scan(RawTable::Years, &mut |piece| {
            for year in piece
                .years
                .iter()
                .filter(|y| y.system == *system && y.provider == provider && y.cohort == cohort)
            {
                for (idx, (metric, value)) in names.iter().zip(&year.values).enumerate() {
                    record((year.year, idx), metric, year.replication, *value);
                }
            }
        })?;
        source.scan(RawTable::Returns, &mut |piece| {
            for returns in piece
                .returns
                .iter()
                .filter(|r| r.system == *system && r.provider == provider && r.cohort == cohort)
            {
                for (idx, (metric, value)) in returns.measures().into_iter().enumerate() {
                    record((u32::MAX, idx), metric, returns.replication, value);
                }
            }
        })?;
        out.extend(
            values
                .into_iter()
                .map(|((year, _), (metric, values, undefined))| YieldSummaryRow {
                    system: system.clone(),
                    provider: provider.clone(),
                    cohort,
                    year: (year != u32::MAX).then_some(year),
                    metric,
                    stats: stats(&values, antithetic),
                    undefined,
                }),
        );
    }
    Ok(out)
}
