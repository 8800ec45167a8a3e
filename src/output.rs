//! Result tables: built as polars frames, written as Parquet, never half-written.
//!
//! This is the only module that touches polars or the file system for results. Every
//! table carries its provenance twice: as columns (`scenario`, `scenario_hash`, `seed`,
//! `capsim_version`), which survive any merge or concatenation, and as Parquet
//! key-value metadata. Files are written into a staging directory beside the target
//! and renamed into place only once all of them are complete, so a failure leaves the
//! previous results untouched.

use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;

pub mod lock;
mod manifest;
mod spool;

use crate::metrics::{Cell, GroupRow, ProviderRow, Savings, SegmentRow, Summary};
use crate::model::SystemName;
use crate::model::outcome::Week;
pub use crate::results::REPLICATIONS_PER_ROW_GROUP;
pub use crate::results::summaries::{
    PAIRED, ProviderSummaryRow, SegmentSummaryRow, Summaries, SummaryRow, TimeseriesRow,
    YieldSummaryRow, antithetic_variance_reduction_names, crn_variance_reduction_names,
};
use crate::results::{
    GroupRecord, ProviderRecord, RawTable, Results, ReturnRecord, RunRow, SegmentRecord, WeekRow,
    YearRecord, run_columns, year_columns,
};
pub use manifest::{MANIFEST, TableSet};
pub use spool::{RawDir, Spool, Staged, TABLE_ORDER, write_tables};

/// Where a table's numbers came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Provenance {
    /// Scenario name.
    pub scenario: String,
    /// `Scenario::hash_hex` of the resolved scenario.
    pub scenario_hash: String,
    /// Master seed.
    pub seed: u64,
    /// capsim version that produced the table.
    pub capsim_version: String,
    /// The run's replications, [from, to): all of them, also in a shard's tables.
    pub replications: (u64, u64),
    /// (K, N) when the tables hold only shard K of N of the run.
    pub shard: Option<(u32, u32)>,
    /// Replications come in antithetic pairs: intervals are over pair means.
    pub antithetic: bool,
    /// The systems compared, (A, B), when not the default (the first two systems, when
    /// there are exactly two): written as `capsim.compare` only then.
    pub compare: Option<(String, String)>,
}

/// Why results could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// A file-system operation failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// Where.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A table exists but is not one capsim wrote (or is from another version).
    #[error("{path} is not a capsim table: {detail}")]
    Malformed {
        /// The file.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// A table file could not be read as a Parquet table (cut short, damaged, or not
    /// Parquet at all).
    #[error(
        "cannot read {path}: {source}\n   = expected a complete Parquet table written by capsim; this one is damaged, cut short or of another kind: run again to rewrite it"
    )]
    Unreadable {
        /// The file.
        path: String,
        /// polars' error.
        source: PolarsError,
    },
    /// A result directory whose tables are not a complete set: no manifest beside
    /// capsim tables, or a table that does not match its listing.
    #[error(
        "{dir} does not hold a complete set of results: {detail}\n   = hint: run the command that wrote it again (capsim writes capsim-manifest.json last, so a set without a matching one is cut short or altered)"
    )]
    Incomplete {
        /// The directory.
        dir: String,
        /// What is wrong.
        detail: String,
    },
    /// A listed table that is not the one its directory's manifest lists.
    #[error(
        "cannot read {path}: {detail}, so it is not the table capsim-manifest.json lists (damaged, cut short or replaced since capsim wrote it)\n   = hint: run the command that wrote it again"
    )]
    Mismatch {
        /// The file.
        path: String,
        /// What differs.
        detail: String,
    },
    /// polars could not build or write a table.
    #[error("cannot write table {table}: {source}")]
    Table {
        /// Which table.
        table: String,
        /// polars' error.
        source: PolarsError,
    },
}

impl OutputError {
    /// True when the file system ran out of space or quota: the one write failure a
    /// user can fix without touching capsim, so it gets its own hint.
    pub fn is_disk_full(&self) -> bool {
        // ENOSPC and EDQUOT; polars keeps only the text of the I/O errors it wraps.
        const FULL: [i32; 2] = [28, 122];
        match self {
            OutputError::Io { source, .. } => source
                .raw_os_error()
                .is_some_and(|code| FULL.contains(&code)),
            OutputError::Table { source, .. } => {
                let text = source.to_string();
                FULL.iter()
                    .any(|code| text.contains(&format!("(os error {code})")))
            }
            OutputError::Malformed { .. }
            | OutputError::Unreadable { .. }
            | OutputError::Incomplete { .. }
            | OutputError::Mismatch { .. } => false,
        }
    }
}

/// Appends the provenance columns to a frame of `height` rows.
fn with_provenance(mut frame: DataFrame, provenance: &Provenance) -> PolarsResult<DataFrame> {
    let height = frame.height();
    frame.with_column(Column::new(
        "scenario".into(),
        vec![provenance.scenario.as_str(); height],
    ))?;
    frame.with_column(Column::new(
        "scenario_hash".into(),
        vec![provenance.scenario_hash.as_str(); height],
    ))?;
    frame.with_column(Column::new("seed".into(), vec![provenance.seed; height]))?;
    frame.with_column(Column::new(
        "capsim_version".into(),
        vec![provenance.capsim_version.as_str(); height],
    ))?;
    Ok(frame)
}

/// `runs.parquet`: one row per replication × system.
///
/// # Errors
/// A polars error if the frame cannot be built (a bug).
pub fn runs_frame(results: &Results, provenance: &Provenance) -> PolarsResult<DataFrame> {
    let rows = &results.runs;
    let mut columns = vec![
        Column::new(
            "replication".into(),
            rows.iter().map(|r| r.replication).collect::<Vec<u64>>(),
        ),
        Column::new(
            "system".into(),
            rows.iter().map(|r| r.system.as_str()).collect::<Vec<_>>(),
        ),
    ];
    for (idx, name) in run_columns().into_iter().enumerate() {
        let column = match rows.first().map(|row| row.cells[idx]) {
            Some(Cell::U64(_)) => Column::new(
                name.into(),
                rows.iter()
                    .map(|row| row.cells[idx].as_u64())
                    .collect::<Vec<u64>>(),
            ),
            _ => Column::new(
                name.into(),
                rows.iter()
                    .map(|row| row.cells[idx].as_f64())
                    .collect::<Vec<f64>>(),
            ),
        };
        columns.push(column);
    }
    with_provenance(DataFrame::new_infer_height(columns)?, provenance)
}

/// The raw table `table` of `results` as a frame.
///
/// # Errors
/// A polars error if the frame cannot be built (a bug).
pub fn raw_frame(
    table: RawTable,
    results: &Results,
    provenance: &Provenance,
) -> PolarsResult<DataFrame> {
    match table {
        RawTable::Runs => runs_frame(results, provenance),
        RawTable::Weeks => weeks_frame(results, provenance),
        RawTable::Years => yields_frame(results, provenance),
        RawTable::Returns => returns_frame(results, provenance),
        RawTable::Segments => segments_frame(results, provenance),
        RawTable::Providers => providers_frame(results, provenance),
        RawTable::Groups => groups_frame(results, provenance),
    }
}

/// A count of a provider row.
type ProviderCount = fn(&ProviderRow) -> u64;
/// A quantity of a provider row.
type ProviderValue = fn(&ProviderRow) -> f64;

/// The count columns of `providers.parquet` after `provider`.
const PROVIDER_COUNT_COLUMNS: [(&str, ProviderCount); 3] = [
    ("gpus_at_start", |r| r.gpus_at_start),
    ("gpus_at_horizon", |r| r.gpus_at_horizon),
    ("jobs_started", |r| r.jobs_started),
];

/// The quantity columns of `providers.parquet` that are read back (`utilization`,
/// derived, is written after them).
const PROVIDER_VALUE_COLUMNS: [(&str, ProviderValue); 6] = [
    ("busy_gpu_hours", |r| r.busy_gpu_hours),
    ("up_gpu_hours", |r| r.up_gpu_hours),
    ("spend_usd", |r| r.spend_usd),
    ("revenue_usd", |r| r.revenue_usd),
    ("protocol_revenue_usd", |r| r.protocol_revenue_usd),
    ("price_at_horizon_usd", |r| r.price_at_horizon_usd),
];

/// `providers.parquet`: one row per replication × system (architecture) × provider:
/// its GPUs at the start and at the horizon, its sites' busy and up GPU-hours over the
/// window and their ratio, the window jobs that first started on it, what they paid it
/// and how that splits between its sites and the protocol, its price at the horizon.
///
/// # Errors
/// A polars error if the frame cannot be built (a bug).
pub fn providers_frame(results: &Results, provenance: &Provenance) -> PolarsResult<DataFrame> {
    let records = &results.providers;
    let mut columns = keyed_columns(records, "provider", |r| {
        (r.replication, r.system.as_str(), r.row.provider.as_str())
    });
    for (name, count) in PROVIDER_COUNT_COLUMNS {
        columns.push(count_column(name, records, |r| count(&r.row)));
    }
    let utilization: ProviderValue = ProviderRow::utilization;
    let later: [(&str, ProviderValue); 7] = [
        ("utilization", utilization),
        ("contract_revenue_usd", |r| r.contract_revenue_usd),
        ("spot_revenue_usd", |r| r.spot_revenue_usd),
        ("on_demand_revenue_usd", ProviderRow::on_demand_revenue_usd),
        ("committed_gpu_hours", |r| r.committed_gpu_hours),
        ("committed_used_gpu_hours", |r| r.committed_used_gpu_hours),
        ("contract_utilization", ProviderRow::contract_utilization),
    ];
    for (name, value) in PROVIDER_VALUE_COLUMNS.into_iter().chain(later) {
        columns.push(Column::new(
            name.into(),
            records.iter().map(|r| value(&r.row)).collect::<Vec<f64>>(),
        ));
    }
    columns.push(count_column("listed_gpus", records, |r| r.row.listed_gpus));
    columns.push(count_column("verified_gpus", records, |r| {
        r.row.verified_gpus
    }));
    columns.push(count_column("jobs_failed_unverified", records, |r| {
        r.row.jobs_failed_unverified
    }));
    columns.push(Column::new(
        "unverified_gpu_hours".into(),
        records
            .iter()
            .map(|r| r.row.unverified_gpu_hours)
            .collect::<Vec<f64>>(),
    ));
    with_provenance(DataFrame::new_infer_height(columns)?, provenance)
}

/// A count of a group row.
type GroupCount = fn(&GroupRow) -> u64;
/// A quantity of a group row.
type GroupValue = fn(&GroupRow) -> f64;

/// The count columns of `groups.parquet` after `group`.
const GROUP_COUNT_COLUMNS: [(&str, GroupCount); 8] = [
    ("potential_operators", |r| r.potential_operators),
    ("operators_at_start", |r| r.operators_at_start),
    ("operators_at_horizon", |r| r.operators_at_horizon),
    ("operators_joined", |r| r.operators_joined),
    ("operators_left", |r| r.operators_left),
    ("listed_gpus", |r| r.listed_gpus),
    ("verified_gpus", |r| r.verified_gpus),
    ("delisted_gpus", |r| r.delisted_gpus),
];

/// The quantity columns of `groups.parquet` that are read back (`utilization` and
/// `yield`, derived, are written after them).
const GROUP_VALUE_COLUMNS: [(&str, GroupValue); 5] = [
    ("busy_gpu_hours", |r| r.busy_gpu_hours),
    ("up_gpu_hours", |r| r.up_gpu_hours),
    ("revenue_usd", |r| r.revenue_usd),
    ("opex_usd", |r| r.opex_usd),
    ("capital_usd_years", |r| r.capital_usd_years),
];

/// `groups.parquet`: one row per replication × system (architecture) × operator group
/// of its distributed providers (each `operators:` entry, the entry template, each pool
/// type): its operators at the start and the horizon, joined and left in the window, its
/// listed and verified GPUs at the horizon, busy and up GPU-hours, revenue after the take,
/// opex and capital employed over the window, utilization and operating yield.
///
/// # Errors
/// A polars error if the frame cannot be built (a bug).
pub fn groups_frame(results: &Results, provenance: &Provenance) -> PolarsResult<DataFrame> {
    let records = &results.groups;
    let mut columns = keyed_columns(records, "provider", |r| {
        (r.replication, r.system.as_str(), r.row.provider.as_str())
    });
    columns.push(Column::new(
        "group".into(),
        records
            .iter()
            .map(|r| r.row.group.as_str())
            .collect::<Vec<&str>>(),
    ));
    for (name, count) in GROUP_COUNT_COLUMNS {
        columns.push(count_column(name, records, |r| count(&r.row)));
    }
    let derived: [(&str, GroupValue); 2] = [
        ("utilization", GroupRow::utilization),
        ("yield", GroupRow::operating_yield),
    ];
    for (name, value) in GROUP_VALUE_COLUMNS.into_iter().chain(derived) {
        columns.push(Column::new(
            name.into(),
            records.iter().map(|r| value(&r.row)).collect::<Vec<f64>>(),
        ));
    }
    with_provenance(DataFrame::new_infer_height(columns)?, provenance)
}

/// A per-tier quantity of a segment row.
type TierValues = fn(&SegmentRow) -> &[f64; 3];
/// A count of a segment row.
type SegmentCount = fn(&SegmentRow) -> u64;

/// The per-tier columns of `segments.parquet` (the tier prefix, the row's array, its
/// column suffix), reserved first as in the arrays.
const SEGMENT_TIER_COLUMNS: [(&str, TierValues); 3] = [
    ("work_offered_gpu_hours", |r| &r.offered_work_gpu_hours),
    ("work_served_gpu_hours", |r| &r.served_work_gpu_hours),
    ("spend_usd", |r| &r.spend_usd),
];

/// A quantity of a segment row.
type SegmentValue = fn(&SegmentRow) -> f64;

/// The contract columns of `segments.parquet` that are read back (0 in tables written
/// before contracts existed).
const SEGMENT_CONTRACT_COLUMNS: [(&str, SegmentValue); 3] = [
    ("contract_spend_usd", |r| r.contract_spend_usd),
    ("committed_gpu_hours", |r| r.committed_gpu_hours),
    ("committed_used_gpu_hours", |r| r.committed_used_gpu_hours),
];

/// A float column read back, or zeros where a table written before it existed lacks it.
fn column_or_zero(frame: &DataFrame, name: &str) -> PolarsResult<Vec<f64>> {
    match frame.column(name) {
        Ok(column) => {
            let values = column.f64()?;
            Ok((0..frame.height())
                .map(|i| values.get(i).unwrap_or(f64::NAN))
                .collect())
        }
        Err(_) => Ok(vec![0.0; frame.height()]),
    }
}

/// A count column read back, or zeros where a table written before it existed lacks it.
fn count_or_zero(frame: &DataFrame, name: &str) -> PolarsResult<Vec<u64>> {
    match frame.column(name) {
        Ok(column) => {
            let values = column.u64()?;
            Ok((0..frame.height())
                .map(|i| values.get(i).unwrap_or(0))
                .collect())
        }
        Err(_) => Ok(vec![0; frame.height()]),
    }
}

/// The tiers' column prefixes, in the arrays' order.
const TIER_PREFIXES: [&str; 3] = ["reserved_", "on_demand_", "spot_"];

/// The count columns of `segments.parquet` after `segment`.
const SEGMENT_COUNT_COLUMNS: [(&str, SegmentCount); 7] = [
    ("jobs_arrived", |r| r.jobs_arrived),
    ("jobs_served", |r| r.jobs_served),
    ("jobs_abandoned", |r| r.jobs_abandoned),
    ("jobs_priced_out", |r| r.jobs_priced_out),
    ("jobs_unserved", |r| r.jobs_unserved),
    ("jobs_stranded", |r| r.jobs_stranded),
    ("jobs_failed", |r| r.jobs_failed),
];

/// `segments.parquet`: one row per replication × system × segment: the segment's window
/// jobs by outcome, the work they offered and had served (reference GPU-hours), what they
/// paid, and the same work and money per tier (what `savings_like_for_like` weighs).
///
/// # Errors
/// A polars error if the frame cannot be built (a bug).
pub fn segments_frame(results: &Results, provenance: &Provenance) -> PolarsResult<DataFrame> {
    let records = &results.segments;
    let mut columns = keyed_columns(records, "segment", |r| {
        (r.replication, r.system.as_str(), r.row.segment.as_str())
    });
    let floats = |name: &str, f: &dyn Fn(&SegmentRow) -> f64| {
        Column::new(
            name.into(),
            records.iter().map(|r| f(&r.row)).collect::<Vec<f64>>(),
        )
    };
    for (name, count) in SEGMENT_COUNT_COLUMNS {
        columns.push(count_column(name, records, |r| count(&r.row)));
    }
    columns.push(count_column("jobs_lost", records, |r| r.row.jobs_lost()));
    columns.extend([
        floats("lost_demand_fraction", &SegmentRow::lost_demand_fraction),
        floats(
            "work_offered_gpu_hours",
            &SegmentRow::work_offered_gpu_hours,
        ),
        floats("work_served_gpu_hours", &SegmentRow::work_served_gpu_hours),
        floats("spend_usd", &SegmentRow::spend_total_usd),
        floats(
            "spend_usd_per_gpu_hour",
            &SegmentRow::spend_usd_per_gpu_hour,
        ),
        floats(
            "spend_usd_per_useful_gpu_hour",
            &SegmentRow::spend_usd_per_useful_gpu_hour,
        ),
        floats("contract_utilization", &SegmentRow::contract_utilization),
    ]);
    for (name, value) in SEGMENT_CONTRACT_COLUMNS {
        columns.push(floats(name, &value));
    }
    for (tier, prefix) in TIER_PREFIXES.iter().enumerate() {
        for (suffix, values) in SEGMENT_TIER_COLUMNS {
            columns.push(floats(&format!("{prefix}{suffix}"), &|r| values(r)[tier]));
        }
    }
    with_provenance(DataFrame::new_infer_height(columns)?, provenance)
}

/// The summary tables (file stem, frame), in the order they are written.
///
/// # Errors
/// A polars error if a frame cannot be built (a bug).
pub fn summary_tables(
    summaries: &Summaries,
    provenance: &Provenance,
) -> PolarsResult<Vec<(&'static str, DataFrame)>> {
    let mut tables = vec![
        ("summary", summary_frame(&summaries.summary, provenance)?),
        (
            "timeseries",
            timeseries_frame(&summaries.timeseries, provenance)?,
        ),
    ];
    if !summaries.savings.is_empty() {
        tables.push(("savings", savings_frame(&summaries.savings, provenance)?));
    }
    tables.push((
        "yields_summary",
        yields_summary_frame(&summaries.yields, provenance)?,
    ));
    tables.push((
        "segments_summary",
        segments_summary_frame(&summaries.segments, provenance)?,
    ));
    tables.push((
        "providers_summary",
        providers_summary_frame(&summaries.providers, provenance)?,
    ));
    Ok(tables)
}

/// `segments_summary.parquet`: per system × segment × measure of `segments.parquet`, the
/// mean, spread, 95% interval and quantiles across replications.
///
/// # Errors
/// A polars error if the frame cannot be built (a bug).
pub fn segments_summary_frame(
    rows: &[SegmentSummaryRow],
    provenance: &Provenance,
) -> PolarsResult<DataFrame> {
    keyed_summary_frame(
        "segment",
        rows.iter()
            .map(|r| (r.system.as_str(), r.segment.as_str(), r.metric, r.stats))
            .collect(),
        provenance,
    )
}

/// `providers_summary.parquet`: per system × provider × measure of `providers.parquet`,
/// the mean, spread, 95% interval and quantiles across replications.
///
/// # Errors
/// A polars error if the frame cannot be built (a bug).
pub fn providers_summary_frame(
    rows: &[ProviderSummaryRow],
    provenance: &Provenance,
) -> PolarsResult<DataFrame> {
    keyed_summary_frame(
        "provider",
        rows.iter()
            .map(|r| (r.system.as_str(), r.provider.as_str(), r.metric, r.stats))
            .collect(),
        provenance,
    )
}

/// A summary keyed within each system (by segment or provider): `system`, the key
/// column, `metric`, then the statistics.
fn keyed_summary_frame(
    key_name: &str,
    rows: Vec<(&str, &str, &str, Summary)>,
    provenance: &Provenance,
) -> PolarsResult<DataFrame> {
    let mut columns = vec![
        Column::new(
            "system".into(),
            rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        ),
        Column::new(
            key_name.into(),
            rows.iter().map(|r| r.1).collect::<Vec<_>>(),
        ),
        Column::new(
            "metric".into(),
            rows.iter().map(|r| r.2).collect::<Vec<_>>(),
        ),
    ];
    columns.extend(stats_columns(&rows.iter().map(|r| r.3).collect::<Vec<_>>()));
    with_provenance(DataFrame::new_infer_height(columns)?, provenance)
}

/// `savings.parquet`: one row per replication, the paired comparison.
///
/// # Errors
/// A polars error if the frame cannot be built (a bug).
pub fn savings_frame(savings: &[Savings], provenance: &Provenance) -> PolarsResult<DataFrame> {
    let mut columns = vec![Column::new(
        "replication".into(),
        savings.iter().map(|r| r.replication).collect::<Vec<u64>>(),
    )];
    for metric in crate::metrics::catalog::Paired::ALL {
        columns.push(Column::new(
            metric.name().into(),
            savings
                .iter()
                .map(|row| row.get(metric))
                .collect::<Vec<f64>>(),
        ));
    }
    with_provenance(DataFrame::new_infer_height(columns)?, provenance)
}

/// `timeseries.parquet`: per system × week × metric, the mean and p05/p50/p95 across
/// replications.
///
/// # Errors
/// A polars error if the frame cannot be built (a bug).
pub fn timeseries_frame(
    rows: &[TimeseriesRow],
    provenance: &Provenance,
) -> PolarsResult<DataFrame> {
    let stat = |f: fn(&TimeseriesRow) -> f64| rows.iter().map(f).collect::<Vec<f64>>();
    let frame = df!(
        "system" => rows.iter().map(|r| r.system.as_str()).collect::<Vec<_>>(),
        "week" => rows.iter().map(|r| r.week).collect::<Vec<u32>>(),
        "metric" => rows.iter().map(|r| r.metric).collect::<Vec<_>>(),
        "mean" => stat(|r| r.stats.mean),
        "p05" => stat(|r| r.stats.p05),
        "p50" => stat(|r| r.stats.p50),
        "p95" => stat(|r| r.stats.p95),
    )?;
    with_provenance(frame, provenance)
}

/// `replication`, `system` and a key column (`key_name`) of records keyed within a
/// system; `of` gives a record's three values.
fn keyed_columns<T>(rows: &[T], key_name: &str, of: fn(&T) -> (u64, &str, &str)) -> Vec<Column> {
    let mut columns = Vec::from(replication_columns(rows, |r| of(r).0, |r| of(r).1));
    columns.push(Column::new(
        key_name.into(),
        rows.iter().map(|r| of(r).2).collect::<Vec<&str>>(),
    ));
    columns
}

/// A `u64` column of `rows`.
fn count_column<T>(name: &str, rows: &[T], count: impl Fn(&T) -> u64) -> Column {
    Column::new(name.into(), rows.iter().map(count).collect::<Vec<u64>>())
}

/// The `replication` and `system` columns that begin the per-replication tables.
fn replication_columns<T>(
    rows: &[T],
    replication: impl Fn(&T) -> u64,
    system: impl Fn(&T) -> &str,
) -> [Column; 2] {
    [
        Column::new(
            "replication".into(),
            rows.iter().map(replication).collect::<Vec<u64>>(),
        ),
        Column::new(
            "system".into(),
            rows.iter().map(system).collect::<Vec<&str>>(),
        ),
    ]
}

/// `yields.parquet`: one row per replication × system × cohort × year (cohort null:
/// the whole system; per cohort for the distributed network).
///
/// # Errors
/// A polars error if the frame cannot be built (a bug).
pub fn yields_frame(results: &Results, provenance: &Provenance) -> PolarsResult<DataFrame> {
    let years = &results.years;
    let mut columns = Vec::from(replication_columns(
        years,
        |y| y.replication,
        |y| y.system.as_str(),
    ));
    columns.extend([
        Column::new(
            "provider".into(),
            years
                .iter()
                .map(|y| y.provider.as_deref())
                .collect::<Vec<Option<&str>>>(),
        ),
        Column::new(
            "cohort".into(),
            years.iter().map(|y| y.cohort).collect::<Vec<Option<u32>>>(),
        ),
        Column::new(
            "year".into(),
            years.iter().map(|y| y.year).collect::<Vec<u32>>(),
        ),
    ]);
    for (idx, name) in year_columns().into_iter().enumerate() {
        columns.push(Column::new(
            name.into(),
            years
                .iter()
                .map(|y| y.values[idx])
                .collect::<Vec<Option<f64>>>(),
        ));
    }
    with_provenance(DataFrame::new_infer_height(columns)?, provenance)
}

/// `returns.parquet`: one row per replication × system × cohort: NPV, IRR and payback,
/// each null with a note saying why when it does not exist.
///
/// # Errors
/// A polars error if the frame cannot be built (a bug).
pub fn returns_frame(results: &Results, provenance: &Provenance) -> PolarsResult<DataFrame> {
    let returns = &results.returns;
    let frame = df!(
        "replication" => returns.iter().map(|r| r.replication).collect::<Vec<u64>>(),
        "system" => returns.iter().map(|r| r.system.as_str()).collect::<Vec<_>>(),
        "provider" => returns.iter().map(|r| r.provider.as_deref()).collect::<Vec<Option<&str>>>(),
        "cohort" => returns.iter().map(|r| r.cohort).collect::<Vec<Option<u32>>>(),
        "npv_usd" => returns.iter().map(|r| r.npv_usd).collect::<Vec<f64>>(),
        "irr" => returns.iter().map(|r| r.irr).collect::<Vec<Option<f64>>>(),
        "irr_note" => returns.iter().map(|r| r.irr_note.clone()).collect::<Vec<Option<String>>>(),
        "beats_hurdle" => returns.iter().map(|r| r.beats_hurdle).collect::<Vec<Option<bool>>>(),
        "payback_years" => returns.iter().map(|r| r.payback_years).collect::<Vec<Option<f64>>>(),
        "payback_note" => returns.iter().map(|r| r.payback_note.clone()).collect::<Vec<Option<String>>>(),
    )?;
    with_provenance(frame, provenance)
}

/// `weeks.parquet`: the raw weekly values, one row per replication × system × week
/// (`timeseries.parquet` summarises them; shards and later extensions merge them).
///
/// # Errors
/// A polars error if the frame cannot be built (a bug).
pub fn weeks_frame(results: &Results, provenance: &Provenance) -> PolarsResult<DataFrame> {
    use crate::metrics::catalog::Weekly;
    let weeks = &results.weeks;
    let of = |series: Weekly, f: fn(&Week) -> f64| {
        Column::new(
            series.name().into(),
            weeks.iter().map(|w| f(&w.week)).collect::<Vec<f64>>(),
        )
    };
    let [replication, system] =
        replication_columns(weeks, |w| w.replication, |w| w.system.as_str());
    let frame = DataFrame::new_infer_height(vec![
        replication,
        system,
        Column::new(
            "week".into(),
            weeks.iter().map(|w| w.week.week).collect::<Vec<u32>>(),
        ),
        // Counts keep their integer types; the catalog names every series.
        Column::new(
            Weekly::InstalledGpus.name().into(),
            weeks
                .iter()
                .map(|w| w.week.installed_gpus)
                .collect::<Vec<u32>>(),
        ),
        of(Weekly::Utilization, |w| w.utilization),
        of(Weekly::QueueLength, |w| w.queue_length),
        of(Weekly::PriceUsdPerGpuHour, |w| w.price_usd_per_gpu_hour),
        Column::new(
            Weekly::LostJobs.name().into(),
            weeks.iter().map(|w| w.week.lost_jobs).collect::<Vec<u64>>(),
        ),
        Column::new(
            Weekly::ListedGpus.name().into(),
            weeks
                .iter()
                .map(|w| w.week.listed_gpus)
                .collect::<Vec<u32>>(),
        ),
        Column::new(
            Weekly::VerifiedGpus.name().into(),
            weeks
                .iter()
                .map(|w| w.week.verified_gpus)
                .collect::<Vec<u32>>(),
        ),
    ])?;
    with_provenance(frame, provenance)
}

/// `sweep.parquet`: one row per point × system: the varied values, then mean, 95% CI and
/// median over replications of every sweep metric and of the paired savings.
///
/// # Errors
/// A polars error if the frame cannot be built (a bug).
pub fn sweep_frame(
    axes: &[crate::sweep::Axis],
    results: &[crate::sweep::PointResult],
    provenance: &Provenance,
) -> PolarsResult<DataFrame> {
    use crate::scenario::overrides::Node;
    use crate::sweep::{METRICS, PAIRED_METRICS, node_text, stats};
    let rows: Vec<(usize, &SystemName)> = results
        .iter()
        .enumerate()
        .flat_map(|(p, point)| point.systems.iter().map(move |(name, _)| (p, name)))
        .collect();
    let mut columns = vec![
        Column::new(
            "point".into(),
            rows.iter().map(|(p, _)| *p as u32).collect::<Vec<u32>>(),
        ),
        Column::new(
            "system".into(),
            rows.iter().map(|(_, k)| k.as_str()).collect::<Vec<_>>(),
        ),
    ];
    for (idx, axis) in axes.iter().enumerate() {
        let name = crate::sweep::column_name(&axis.path);
        let values: Vec<&Node> = rows.iter().map(|(p, _)| &results[*p].values[idx]).collect();
        let number = |node: &Node| match node {
            Node::Int(n) => Some(*n as f64),
            Node::Float(x) => Some(*x),
            _ => None,
        };
        if values.iter().all(|v| number(v).is_some()) {
            columns.push(Column::new(
                name.into(),
                values
                    .iter()
                    .map(|v| number(v).unwrap_or(f64::NAN))
                    .collect::<Vec<f64>>(),
            ));
        } else {
            columns.push(Column::new(
                name.into(),
                values.iter().map(|v| node_text(v)).collect::<Vec<String>>(),
            ));
        }
    }
    let mut metric_columns =
        |metric: &str, series: &dyn Fn(usize, &SystemName) -> Option<Vec<f64>>| {
            let summaries: Vec<crate::metrics::Summary> = rows
                .iter()
                .map(|&(p, name)| {
                    series(p, name).map_or_else(|| stats(&[]), |values| stats(&values))
                })
                .collect();
            let stat = |suffix: &str, f: fn(&crate::metrics::Summary) -> f64| {
                Column::new(
                    format!("{metric}_{suffix}").into(),
                    summaries.iter().map(f).collect::<Vec<f64>>(),
                )
            };
            columns.extend([
                stat("mean", |s| s.mean),
                stat("ci95_low", |s| s.ci95_low),
                stat("ci95_high", |s| s.ci95_high),
                stat("p50", |s| s.p50),
            ]);
        };
    for metric in METRICS.map(|m| m.name()) {
        metric_columns(metric, &|p, kind| {
            results[p].series(Some(kind), metric).map(<[f64]>::to_vec)
        });
    }
    // Savings as sweeps wrote them before like for like, then the headline beside them.
    for paired in PAIRED_METRICS.iter().rev().map(|m| m.name()) {
        metric_columns(paired, &|p, _| {
            results[p].series(None, paired).map(<[f64]>::to_vec)
        });
    }
    let replications = results
        .first()
        .and_then(|r| r.systems.first())
        .map_or(0, |(_, c)| c.first().map_or(0, Vec::len) as u64);
    columns.push(Column::new(
        "replications".into(),
        vec![replications; rows.len()],
    ));
    with_provenance(DataFrame::new_infer_height(columns)?, provenance)
}

/// `sensitivity.parquet`: one row per uncertain key × measure: the key's range, the
/// measure's mean at the low value, the base and the high value, and the paired effect
/// (high − low per replication) with its 95% CI; within a measure, largest |effect| first.
///
/// # Errors
/// A polars error if the frame cannot be built (a bug).
pub fn sensitivity_frame(
    rows: &[crate::sweep::TornadoRow],
    paired_label: &str,
    provenance: &Provenance,
) -> PolarsResult<DataFrame> {
    let f = |get: fn(&crate::sweep::TornadoRow) -> f64| rows.iter().map(get).collect::<Vec<f64>>();
    let frame = df!(
        "parameter" => rows.iter().map(|r| r.parameter.clone()).collect::<Vec<String>>(),
        "low" => f(|r| r.low),
        "high" => f(|r| r.high),
        "system" => rows.iter().map(|r| r.system.as_ref().map_or(paired_label, |s| s.as_str())).collect::<Vec<&str>>(),
        "metric" => rows.iter().map(|r| r.metric).collect::<Vec<&str>>(),
        "at_low" => f(|r| r.at_low),
        "at_base" => f(|r| r.at_base),
        "at_high" => f(|r| r.at_high),
        "effect" => f(|r| r.effect.mean),
        "effect_ci95_low" => f(|r| r.effect.ci95_low),
        "effect_ci95_high" => f(|r| r.effect.ci95_high),
        "replications" => rows.iter().map(|r| r.effect.n).collect::<Vec<u64>>(),
    )?;
    with_provenance(frame, provenance)
}

/// `compare.parquet`: one row per system × metric present in both runs: each run's mean,
/// the difference B − A with its 95% interval, the replications counted and the method;
/// then run A's provenance (`a_…` columns) and run B's (the usual columns).
///
/// # Errors
/// A polars error if the frame cannot be built (a bug).
pub fn compare_frame(
    rows: &[crate::compare::Comparison],
    a: &Provenance,
    b: &Provenance,
) -> PolarsResult<DataFrame> {
    let f =
        |get: fn(&crate::compare::Comparison) -> f64| rows.iter().map(get).collect::<Vec<f64>>();
    let n = rows.len();
    let frame = df!(
        "system" => rows.iter().map(|r| r.system.clone()).collect::<Vec<String>>(),
        "metric" => rows.iter().map(|r| r.metric).collect::<Vec<&str>>(),
        "mean_a" => f(|r| r.means.0),
        "mean_b" => f(|r| r.means.1),
        "difference" => f(|r| r.difference),
        "ci95_low" => f(|r| r.ci95.0),
        "ci95_high" => f(|r| r.ci95.1),
        "n_a" => rows.iter().map(|r| r.counts.0).collect::<Vec<u64>>(),
        "n_b" => rows.iter().map(|r| r.counts.1).collect::<Vec<u64>>(),
        "method" => rows.iter().map(|r| r.method.as_str()).collect::<Vec<&str>>(),
        "a_scenario" => vec![a.scenario.as_str(); n],
        "a_scenario_hash" => vec![a.scenario_hash.as_str(); n],
        "a_seed" => vec![a.seed; n],
    )?;
    with_provenance(frame, b)
}

/// `sobol.parquet`: one row per uncertain key × measure: first-order and total Sobol
/// indices and the measure's variance over the design; within a measure, largest total first.
///
/// # Errors
/// A polars error if the frame cannot be built (a bug).
pub fn sobol_frame(
    rows: &[crate::sweep::SobolRow],
    paired_label: &str,
    provenance: &Provenance,
) -> PolarsResult<DataFrame> {
    let frame = df!(
        "parameter" => rows.iter().map(|r| r.parameter.clone()).collect::<Vec<String>>(),
        "system" => rows.iter().map(|r| r.system.as_ref().map_or(paired_label, |s| s.as_str())).collect::<Vec<&str>>(),
        "metric" => rows.iter().map(|r| r.metric).collect::<Vec<&str>>(),
        "first_order" => rows.iter().map(|r| r.first_order).collect::<Vec<f64>>(),
        "total" => rows.iter().map(|r| r.total).collect::<Vec<f64>>(),
        "variance" => rows.iter().map(|r| r.variance).collect::<Vec<f64>>(),
    )?;
    with_provenance(frame, provenance)
}

/// `yields_summary.parquet`: one row per system × cohort × year × metric.
///
/// # Errors
/// A polars error if the frame cannot be built (a bug).
pub fn yields_summary_frame(
    summary: &[YieldSummaryRow],
    provenance: &Provenance,
) -> PolarsResult<DataFrame> {
    let mut columns = vec![
        Column::new(
            "system".into(),
            summary
                .iter()
                .map(|r| r.system.as_str())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "provider".into(),
            summary
                .iter()
                .map(|r| r.provider.as_deref())
                .collect::<Vec<Option<&str>>>(),
        ),
        Column::new(
            "cohort".into(),
            summary
                .iter()
                .map(|r| r.cohort)
                .collect::<Vec<Option<u32>>>(),
        ),
        Column::new(
            "year".into(),
            summary.iter().map(|r| r.year).collect::<Vec<Option<u32>>>(),
        ),
        Column::new(
            "metric".into(),
            summary.iter().map(|r| r.metric).collect::<Vec<_>>(),
        ),
    ];
    columns.extend(stats_columns(
        &summary.iter().map(|r| r.stats).collect::<Vec<_>>(),
    ));
    columns.push(Column::new(
        "n_undefined".into(),
        summary.iter().map(|r| r.undefined).collect::<Vec<u64>>(),
    ));
    with_provenance(DataFrame::new_infer_height(columns)?, provenance)
}

/// The statistics columns shared by the summary tables: mean, std, ci95_low,
/// ci95_high, p05, p50, p95, n.
fn stats_columns(stats: &[crate::metrics::Summary]) -> Vec<Column> {
    let stat = |name: &str, f: fn(&crate::metrics::Summary) -> f64| {
        Column::new(name.into(), stats.iter().map(f).collect::<Vec<f64>>())
    };
    vec![
        stat("mean", |s| s.mean),
        stat("std", |s| s.std),
        stat("ci95_low", |s| s.ci95_low),
        stat("ci95_high", |s| s.ci95_high),
        stat("p05", |s| s.p05),
        stat("p50", |s| s.p50),
        stat("p95", |s| s.p95),
        Column::new("n".into(), stats.iter().map(|s| s.n).collect::<Vec<u64>>()),
    ]
}

/// `summary.parquet`: one row per system × metric.
///
/// # Errors
/// A polars error if the frame cannot be built (a bug).
pub fn summary_frame(summary: &[SummaryRow], provenance: &Provenance) -> PolarsResult<DataFrame> {
    let mut columns = vec![
        Column::new(
            "system".into(),
            summary
                .iter()
                .map(|r| r.system.as_str())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "metric".into(),
            summary.iter().map(|r| r.metric).collect::<Vec<_>>(),
        ),
    ];
    columns.extend(stats_columns(
        &summary.iter().map(|r| r.stats).collect::<Vec<_>>(),
    ));
    with_provenance(DataFrame::new_infer_height(columns)?, provenance)
}

/// Maps an I/O error to [`OutputError::Io`] naming the action and path.
fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> OutputError {
    let path = path.display().to_string();
    move |source| OutputError::Io {
        action,
        path,
        source,
    }
}

/// Checks, before any work is done, that results could be written beside `dir`: the
/// staging directory is created and removed again, and a manifest already in `dir` can
/// be read (a commit will not write over a set it cannot read). Nothing else is touched.
///
/// # Errors
/// [`OutputError::Io`] naming the OS error; [`OutputError::Incomplete`] for a manifest
/// capsim cannot read.
pub fn check_writable(dir: &Path) -> Result<(), OutputError> {
    manifest::check_readable(dir)?;
    let staging = staging_dir(dir);
    std::fs::create_dir_all(&staging).map_err(io("create a directory beside", dir))?;
    // Best effort: an empty directory of our own, created a moment ago.
    let _ = std::fs::remove_dir(&staging);
    Ok(())
}

/// The parent of `dir` and the prefix of its staging directories.
fn staging_prefix(dir: &Path) -> (PathBuf, String) {
    let (parent, name) = sibling_name(dir);
    (parent, format!(".{name}.capsim-staging-"))
}

/// The directory holding `dir` (`.` for a bare name) and `dir`'s own name: where the
/// hidden files that go with `dir` (staging, lock) are made.
fn sibling_name(dir: &Path) -> (PathBuf, String) {
    let name = dir
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    (parent.to_path_buf(), name)
}

/// A hidden sibling of `dir`, on the same file system so the final rename is atomic.
/// Named by process and a counter, so two writers in one process never share one.
fn staging_dir(dir: &Path) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let (parent, prefix) = staging_prefix(dir);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    parent.join(format!("{prefix}{}-{n}", std::process::id()))
}

/// Removes staging directories left by runs that were killed (their process is gone),
/// so killed runs do not litter the output's parent. Best effort, Linux only: a
/// process is known to be gone when `/proc/<pid>` is absent; elsewhere nothing is removed.
fn remove_abandoned_staging(dir: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let (parent, prefix) = staging_prefix(dir);
    let Ok(entries) = std::fs::read_dir(&parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let owner = name
            .strip_prefix(&prefix)
            .map(|rest| rest.split('-').next().unwrap_or(rest));
        let Some(pid) = owner.and_then(|pid| pid.parse::<u32>().ok()) else {
            continue;
        };
        if !Path::new("/proc").join(pid.to_string()).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The raw tables a run or a shard writes, from which every other table is derived.
pub const RAW_TABLES: [&str; 7] = [
    "runs",
    "weeks",
    "yields",
    "returns",
    "segments",
    "providers",
    "groups",
];

/// The records of one raw table's frame (read from `path`).
fn read_records(table: RawTable, frame: &DataFrame, path: &Path) -> Result<Results, OutputError> {
    let malformed = |e: PolarsError| OutputError::Malformed {
        path: path.display().to_string(),
        detail: e.to_string(),
    };
    let mut results = Results::default();
    match table {
        RawTable::Runs => results.runs = read_runs(frame).map_err(malformed)?,
        RawTable::Weeks => results.weeks = read_weeks(frame).map_err(malformed)?,
        RawTable::Years => results.years = read_years(frame).map_err(malformed)?,
        RawTable::Returns => results.returns = read_returns(frame).map_err(malformed)?,
        RawTable::Segments => results.segments = read_segments(frame).map_err(malformed)?,
        RawTable::Providers => results.providers = read_providers(frame).map_err(malformed)?,
        RawTable::Groups => results.groups = read_groups(frame).map_err(malformed)?,
    }
    Ok(results)
}

/// The provenance in a table's key-value metadata.
pub fn read_provenance(path: &Path) -> Result<Provenance, OutputError> {
    let file = File::open(path).map_err(|source| OutputError::Io {
        action: "open",
        path: path.display().to_string(),
        source,
    })?;
    let mut reader = ParquetReader::new(file);
    let table = || path.display().to_string();
    let metadata = reader
        .get_metadata()
        .map_err(|source| OutputError::Unreadable {
            path: table(),
            source,
        })?;
    let pairs: Vec<(String, String)> = metadata
        .key_value_metadata()
        .iter()
        .flatten()
        .filter_map(|kv| kv.value.clone().map(|value| (kv.key.clone(), value)))
        .collect();
    let get = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let missing = |key: &str| OutputError::Malformed {
        path: table(),
        detail: format!("no `{key}` in its metadata: not written by this capsim"),
    };
    let require = |key: &str| get(key).ok_or_else(|| missing(key));
    let range = require("capsim.replications")?;
    let replications = range
        .split_once("..")
        .and_then(|(from, to)| Some((from.parse().ok()?, to.parse().ok()?)))
        .ok_or_else(|| missing("capsim.replications"))?;
    let shard = match get("capsim.shard") {
        None => None,
        Some(text) => Some(
            text.split_once('/')
                .and_then(|(k, n)| Some((k.parse().ok()?, n.parse().ok()?)))
                .ok_or_else(|| missing("capsim.shard"))?,
        ),
    };
    Ok(Provenance {
        scenario: require("capsim.scenario")?,
        scenario_hash: require("capsim.scenario_hash")?,
        seed: require("capsim.seed")?
            .parse()
            .map_err(|_| missing("capsim.seed"))?,
        capsim_version: require("capsim.version")?,
        replications,
        shard,
        // Written by every capsim that can make antithetic runs; absent means not.
        antithetic: get("capsim.antithetic").is_some_and(|text| text == "true"),
        compare: match get("capsim.compare") {
            None => None,
            Some(text) => Some(
                text.split_once(',')
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .ok_or_else(|| missing("capsim.compare"))?,
            ),
        },
    })
}

fn system_of(name: Option<&str>) -> PolarsResult<SystemName> {
    match name {
        Some(name) if !name.is_empty() => Ok(SystemName::new(name)),
        other => Err(PolarsError::ComputeError(
            format!("no system name: {other:?}").into(),
        )),
    }
}

fn read_runs(frame: &DataFrame) -> PolarsResult<Vec<RunRow>> {
    let replication = frame.column("replication")?.u64()?;
    let system = frame.column("system")?.str()?;
    let names = run_columns();
    let columns: Vec<&Column> = names
        .iter()
        .map(|name| frame.column(name))
        .collect::<PolarsResult<_>>()?;
    let mut rows = Vec::with_capacity(frame.height());
    for idx in 0..frame.height() {
        let cells = columns
            .iter()
            .map(|column| match column.dtype() {
                DataType::UInt64 => Ok(Cell::U64(column.u64()?.get(idx).unwrap_or(0))),
                _ => Ok(Cell::F64(column.f64()?.get(idx).unwrap_or(f64::NAN))),
            })
            .collect::<PolarsResult<Vec<Cell>>>()?;
        rows.push(RunRow {
            replication: replication.get(idx).unwrap_or(0),
            system: system_of(system.get(idx))?,
            cells,
        });
    }
    Ok(rows)
}

fn read_weeks(frame: &DataFrame) -> PolarsResult<Vec<WeekRow>> {
    let (replication, system) = (
        frame.column("replication")?.u64()?,
        frame.column("system")?.str()?,
    );
    use crate::metrics::catalog::Weekly;
    let (week, installed) = (
        frame.column("week")?.u32()?,
        frame.column(Weekly::InstalledGpus.name())?.u32()?,
    );
    let (utilization, queue) = (
        frame.column(Weekly::Utilization.name())?.f64()?,
        frame.column(Weekly::QueueLength.name())?.f64()?,
    );
    let (price, lost) = (
        frame.column(Weekly::PriceUsdPerGpuHour.name())?.f64()?,
        frame.column(Weekly::LostJobs.name())?.u64()?,
    );
    // Written since listed versus verified came; older sets list every GPU installed.
    let listed_or_installed = |name: &str| -> PolarsResult<Vec<u32>> {
        match frame.column(name) {
            Ok(column) => {
                let values = column.u32()?;
                Ok((0..frame.height())
                    .map(|i| values.get(i).unwrap_or(0))
                    .collect())
            }
            Err(_) => Ok((0..frame.height())
                .map(|i| installed.get(i).unwrap_or(0))
                .collect()),
        }
    };
    let (listed, verified) = (
        listed_or_installed(Weekly::ListedGpus.name())?,
        listed_or_installed(Weekly::VerifiedGpus.name())?,
    );
    (0..frame.height())
        .map(|i| {
            Ok(WeekRow {
                replication: replication.get(i).unwrap_or(0),
                system: system_of(system.get(i))?,
                week: Week {
                    week: week.get(i).unwrap_or(0),
                    installed_gpus: installed.get(i).unwrap_or(0),
                    listed_gpus: listed[i],
                    verified_gpus: verified[i],
                    utilization: utilization.get(i).unwrap_or(f64::NAN),
                    queue_length: queue.get(i).unwrap_or(f64::NAN),
                    price_usd_per_gpu_hour: price.get(i).unwrap_or(f64::NAN),
                    lost_jobs: lost.get(i).unwrap_or(0),
                },
            })
        })
        .collect()
}

fn read_years(frame: &DataFrame) -> PolarsResult<Vec<YearRecord>> {
    let (replication, system) = (
        frame.column("replication")?.u64()?,
        frame.column("system")?.str()?,
    );
    let (cohort, year) = (frame.column("cohort")?.u32()?, frame.column("year")?.u32()?);
    let provider = frame.column("provider")?.str()?;
    let names = year_columns();
    let columns = names
        .iter()
        .map(|name| frame.column(name)?.f64())
        .collect::<PolarsResult<Vec<_>>>()?;
    (0..frame.height())
        .map(|i| {
            Ok(YearRecord {
                replication: replication.get(i).unwrap_or(0),
                system: system_of(system.get(i))?,
                provider: provider.get(i).map(str::to_string),
                cohort: cohort.get(i),
                year: year.get(i).unwrap_or(0),
                values: columns.iter().map(|column| column.get(i)).collect(),
            })
        })
        .collect()
}

fn read_providers(frame: &DataFrame) -> PolarsResult<Vec<ProviderRecord>> {
    let (replication, system, provider) = (
        frame.column("replication")?.u64()?,
        frame.column("system")?.str()?,
        frame.column("provider")?.str()?,
    );
    let counts = PROVIDER_COUNT_COLUMNS
        .iter()
        .map(|(name, _)| frame.column(name)?.u64())
        .collect::<PolarsResult<Vec<_>>>()?;
    let values = PROVIDER_VALUE_COLUMNS
        .iter()
        .map(|(name, _)| frame.column(name)?.f64())
        .collect::<PolarsResult<Vec<_>>>()?;
    let contract = column_or_zero(frame, "contract_revenue_usd")?;
    let spot = column_or_zero(frame, "spot_revenue_usd")?;
    let committed = column_or_zero(frame, "committed_gpu_hours")?;
    let committed_used = column_or_zero(frame, "committed_used_gpu_hours")?;
    let listed = count_or_zero(frame, "listed_gpus")?;
    let verified = count_or_zero(frame, "verified_gpus")?;
    let failed_unverified = count_or_zero(frame, "jobs_failed_unverified")?;
    let unverified_hours = column_or_zero(frame, "unverified_gpu_hours")?;
    (0..frame.height())
        .map(|i| {
            let count = |k: usize| counts[k].get(i).unwrap_or(0);
            let value = |k: usize| values[k].get(i).unwrap_or(f64::NAN);
            Ok(ProviderRecord {
                replication: replication.get(i).unwrap_or(0),
                system: system_of(system.get(i))?,
                row: ProviderRow {
                    provider: provider.get(i).unwrap_or("").to_string(),
                    gpus_at_start: count(0),
                    gpus_at_horizon: count(1),
                    jobs_started: count(2),
                    busy_gpu_hours: value(0),
                    up_gpu_hours: value(1),
                    spend_usd: value(2),
                    revenue_usd: value(3),
                    protocol_revenue_usd: value(4),
                    price_at_horizon_usd: value(5),
                    contract_revenue_usd: contract[i],
                    spot_revenue_usd: spot[i],
                    committed_gpu_hours: committed[i],
                    committed_used_gpu_hours: committed_used[i],
                    listed_gpus: listed[i],
                    verified_gpus: verified[i],
                    jobs_failed_unverified: failed_unverified[i],
                    unverified_gpu_hours: unverified_hours[i],
                },
            })
        })
        .collect()
}

fn read_groups(frame: &DataFrame) -> PolarsResult<Vec<GroupRecord>> {
    let (replication, system, provider, group) = (
        frame.column("replication")?.u64()?,
        frame.column("system")?.str()?,
        frame.column("provider")?.str()?,
        frame.column("group")?.str()?,
    );
    let counts = GROUP_COUNT_COLUMNS
        .iter()
        .map(|(name, _)| frame.column(name)?.u64())
        .collect::<PolarsResult<Vec<_>>>()?;
    let values = GROUP_VALUE_COLUMNS
        .iter()
        .map(|(name, _)| frame.column(name)?.f64())
        .collect::<PolarsResult<Vec<_>>>()?;
    (0..frame.height())
        .map(|i| {
            let count = |k: usize| counts[k].get(i).unwrap_or(0);
            let value = |k: usize| values[k].get(i).unwrap_or(f64::NAN);
            Ok(GroupRecord {
                replication: replication.get(i).unwrap_or(0),
                system: system_of(system.get(i))?,
                row: GroupRow {
                    provider: provider.get(i).unwrap_or("").to_string(),
                    group: group.get(i).unwrap_or("").to_string(),
                    potential_operators: count(0),
                    operators_at_start: count(1),
                    operators_at_horizon: count(2),
                    operators_joined: count(3),
                    operators_left: count(4),
                    listed_gpus: count(5),
                    verified_gpus: count(6),
                    delisted_gpus: count(7),
                    busy_gpu_hours: value(0),
                    up_gpu_hours: value(1),
                    revenue_usd: value(2),
                    opex_usd: value(3),
                    capital_usd_years: value(4),
                },
            })
        })
        .collect()
}

fn read_segments(frame: &DataFrame) -> PolarsResult<Vec<SegmentRecord>> {
    let (replication, system, segment) = (
        frame.column("replication")?.u64()?,
        frame.column("system")?.str()?,
        frame.column("segment")?.str()?,
    );
    let counts = SEGMENT_COUNT_COLUMNS
        .iter()
        .map(|(name, _)| frame.column(name)?.u64())
        .collect::<PolarsResult<Vec<_>>>()?;
    let mut tiers = Vec::new();
    for prefix in TIER_PREFIXES {
        for (suffix, _) in SEGMENT_TIER_COLUMNS {
            // Tables written before spot existed have no spot columns: zeros.
            tiers.push(column_or_zero(frame, &format!("{prefix}{suffix}"))?);
        }
    }
    let contracts = SEGMENT_CONTRACT_COLUMNS
        .iter()
        .map(|(name, _)| column_or_zero(frame, name))
        .collect::<PolarsResult<Vec<_>>>()?;
    (0..frame.height())
        .map(|i| {
            let count = |k: usize| counts[k].get(i).unwrap_or(0);
            // Tier-major, as written: tiers[tier * 3 + quantity].
            let tier = |quantity: usize| {
                [0, 1, 2].map(|t| tiers[t * SEGMENT_TIER_COLUMNS.len() + quantity][i])
            };
            Ok(SegmentRecord {
                replication: replication.get(i).unwrap_or(0),
                system: system_of(system.get(i))?,
                row: SegmentRow {
                    segment: segment.get(i).unwrap_or("").to_string(),
                    jobs_arrived: count(0),
                    jobs_served: count(1),
                    jobs_abandoned: count(2),
                    jobs_priced_out: count(3),
                    jobs_unserved: count(4),
                    jobs_stranded: count(5),
                    jobs_failed: count(6),
                    offered_work_gpu_hours: tier(0),
                    served_work_gpu_hours: tier(1),
                    spend_usd: tier(2),
                    contract_spend_usd: contracts[0][i],
                    committed_gpu_hours: contracts[1][i],
                    committed_used_gpu_hours: contracts[2][i],
                },
            })
        })
        .collect()
}

fn read_returns(frame: &DataFrame) -> PolarsResult<Vec<ReturnRecord>> {
    let (replication, system, cohort) = (
        frame.column("replication")?.u64()?,
        frame.column("system")?.str()?,
        frame.column("cohort")?.u32()?,
    );
    let (npv, irr, irr_note) = (
        frame.column("npv_usd")?.f64()?,
        frame.column("irr")?.f64()?,
        frame.column("irr_note")?.str()?,
    );
    let beats = frame.column("beats_hurdle")?.bool()?;
    let provider = frame.column("provider")?.str()?;
    let (payback, payback_note) = (
        frame.column("payback_years")?.f64()?,
        frame.column("payback_note")?.str()?,
    );
    (0..frame.height())
        .map(|i| {
            Ok(ReturnRecord {
                replication: replication.get(i).unwrap_or(0),
                system: system_of(system.get(i))?,
                provider: provider.get(i).map(str::to_string),
                cohort: cohort.get(i),
                npv_usd: npv.get(i).unwrap_or(f64::NAN),
                irr: irr.get(i),
                irr_note: irr_note.get(i).map(str::to_string),
                beats_hurdle: beats.get(i),
                payback_years: payback.get(i),
                payback_note: payback_note.get(i).map(str::to_string),
            })
        })
        .collect()
}

/// Reads a Parquet file back into a frame (tests, merges, comparisons).
///
/// # Errors
/// If the file cannot be opened or parsed.
pub fn read_table(path: &Path) -> Result<DataFrame, OutputError> {
    let file = File::open(path).map_err(|source| OutputError::Io {
        action: "open",
        path: path.display().to_string(),
        source,
    })?;
    ParquetReader::new(file)
        .finish()
        .map_err(|source| OutputError::Unreadable {
            path: path.display().to_string(),
            source,
        })
}
