//! Result tables: built as polars frames, written as Parquet, never half-written.
//!
//! This is the only module that touches polars or the file system for results. Every
//! table carries its provenance twice: as columns (`scenario`, `scenario_hash`, `seed`,
//! `capsim_version`), which survive any merge or concatenation, and as Parquet
//! key-value metadata. Files are written into a staging directory beside the target
//! and renamed into place only once all of them are complete, so a failure leaves the
//! previous results untouched.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::metrics::{Cell, Savings, summarise};
use crate::model::SystemKind;
use crate::model::outcome::Week;
use crate::results::{Results, ReturnRecord, RunRow, WeekRow, YearRecord, run_columns, year_columns};

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
    /// polars could not build or write a table.
    #[error("cannot write table {table}: {source}")]
    Table {
        /// Which table.
        table: String,
        /// polars' error.
        source: PolarsError,
    },
}

/// Appends the provenance columns to a frame of `height` rows.
fn with_provenance(mut frame: DataFrame, provenance: &Provenance) -> PolarsResult<DataFrame> {
    let height = frame.height();
    frame.with_column(Column::new("scenario".into(), vec![provenance.scenario.as_str(); height]))?;
    frame.with_column(Column::new("scenario_hash".into(), vec![provenance.scenario_hash.as_str(); height]))?;
    frame.with_column(Column::new("seed".into(), vec![provenance.seed; height]))?;
    frame.with_column(Column::new("capsim_version".into(), vec![provenance.capsim_version.as_str(); height]))?;
    Ok(frame)
}

/// `runs.parquet`: one row per replication × system.
///
/// # Errors
/// A polars error if the frame cannot be built (a bug).
pub fn runs_frame(results: &Results, provenance: &Provenance) -> PolarsResult<DataFrame> {
    let rows = &results.runs;
    let mut columns = vec![
        Column::new("replication".into(), rows.iter().map(|r| r.replication).collect::<Vec<u64>>()),
        Column::new("system".into(), rows.iter().map(|r| r.system.as_str()).collect::<Vec<_>>()),
    ];
    for (idx, name) in run_columns().into_iter().enumerate() {
        let column = match rows.first().map(|row| row.cells[idx]) {
            Some(Cell::U64(_)) => Column::new(name.into(), rows.iter().map(|row| row.cells[idx].as_u64()).collect::<Vec<u64>>()),
            _ => Column::new(name.into(), rows.iter().map(|row| row.cells[idx].as_f64()).collect::<Vec<f64>>()),
        };
        columns.push(column);
    }
    with_provenance(DataFrame::new_infer_height(columns)?, provenance)
}

/// Every table of a run, derived from its results: (file stem, frame) pairs in the
/// order they are written, with the summaries the terminal report shows.
pub struct RunTables {
    /// Tables to write.
    pub tables: Vec<(&'static str, DataFrame)>,
    /// `summary.parquet`'s rows.
    pub summary: Vec<SummaryRow>,
    /// `yields_summary.parquet`'s rows.
    pub yields: Vec<YieldSummaryRow>,
}

/// All tables of a complete run (or of merged shards: the same function, so the same bytes).
///
/// # Errors
/// A polars error if a frame cannot be built (a bug).
pub fn run_tables(results: &Results, provenance: &Provenance) -> PolarsResult<RunTables> {
    let savings = results.savings();
    let summary = summary_rows(results, &savings);
    let yields = yield_summary_rows(results);
    let mut tables = vec![
        ("runs", runs_frame(results, provenance)?),
        ("summary", summary_frame(&summary, provenance)?),
        ("timeseries", timeseries_frame(results, provenance)?),
    ];
    if !savings.is_empty() {
        tables.push(("savings", savings_frame(&savings, provenance)?));
    }
    tables.push(("yields", yields_frame(results, provenance)?));
    tables.push(("returns", returns_frame(results, provenance)?));
    tables.push(("yields_summary", yields_summary_frame(&yields, provenance)?));
    tables.push(("weeks", weeks_frame(results, provenance)?));
    Ok(RunTables { tables, summary, yields })
}

/// The raw tables of a shard ([`RAW_TABLES`]), from which a merge derives the rest.
///
/// # Errors
/// A polars error if a frame cannot be built (a bug).
pub fn shard_tables(results: &Results, provenance: &Provenance) -> PolarsResult<Vec<(&'static str, DataFrame)>> {
    Ok(vec![
        ("runs", runs_frame(results, provenance)?),
        ("weeks", weeks_frame(results, provenance)?),
        ("yields", yields_frame(results, provenance)?),
        ("returns", returns_frame(results, provenance)?),
    ])
}

/// Label of the paired comparison's rows in `summary.parquet`.
pub const PAIRED: &str = "distributed_vs_centralized";

/// One summary row, as computed; also what the CLI prints.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryRow {
    /// System, or [`PAIRED`] for the paired differences of `savings.parquet`.
    pub system: &'static str,
    /// Metric name (a `runs.parquet` or `savings.parquet` column).
    pub metric: &'static str,
    /// The statistics.
    pub stats: crate::metrics::Summary,
}

/// Summaries per system × metric, systems in fixed order, metrics in column order, then
/// the paired comparison's metrics (NaN values, e.g. savings when nothing is billed, are
/// left out of its statistics).
pub fn summary_rows(results: &Results, savings: &[Savings]) -> Vec<SummaryRow> {
    let mut out = Vec::new();
    for system in results.systems() {
        let of_system: Vec<&RunRow> = results.runs.iter().filter(|r| r.system == system).collect();
        for (idx, metric) in run_columns().into_iter().enumerate() {
            let values: Vec<f64> = of_system.iter().map(|row| row.cells[idx].as_f64()).filter(|v| !v.is_nan()).collect();
            out.push(SummaryRow { system: system.as_str(), metric, stats: summarise(&values) });
        }
    }
    if let Some(first) = savings.first() {
        for (idx, (metric, _)) in first.columns().iter().enumerate() {
            let values: Vec<f64> = savings.iter().map(|row| row.columns()[idx].1).filter(|v| !v.is_nan()).collect();
            out.push(SummaryRow { system: PAIRED, metric, stats: summarise(&values) });
        }
        // One number each, not a distribution: only `mean` (the factor) and `n` (pairs) are set.
        let nan = f64::NAN;
        for (metric, factor) in CRN_VARIANCE_REDUCTION.into_iter().zip(results.crn_variance_reduction()) {
            let n = savings.len() as u64;
            let stats = crate::metrics::Summary { mean: factor, std: nan, ci95_low: nan, ci95_high: nan, p05: nan, p50: nan, p95: nan, n };
            out.push(SummaryRow { system: PAIRED, metric, stats });
        }
    }
    out
}

/// The `summary.parquet` metrics holding how many times common random numbers reduce
/// the variance of each paired metric (see [`Results::crn_variance_reduction`]).
pub const CRN_VARIANCE_REDUCTION: [&str; 4] = [
    "savings_fraction_crn_variance_reduction",
    "utilization_difference_crn_variance_reduction",
    "p95_wait_hours_difference_crn_variance_reduction",
    "lost_demand_fraction_difference_crn_variance_reduction",
];

/// `savings.parquet`: one row per replication, the paired comparison.
///
/// # Errors
/// A polars error if the frame cannot be built (a bug).
pub fn savings_frame(savings: &[Savings], provenance: &Provenance) -> PolarsResult<DataFrame> {
    let mut columns = vec![Column::new("replication".into(), savings.iter().map(|r| r.replication).collect::<Vec<u64>>())];
    let names = savings.first().map(|row| row.columns().map(|(name, _)| name)).unwrap_or([
        "savings_fraction",
        "utilization_difference",
        "p95_wait_hours_difference",
        "lost_demand_fraction_difference",
    ]);
    for (idx, name) in names.iter().enumerate() {
        columns.push(Column::new((*name).into(), savings.iter().map(|row| row.columns()[idx].1).collect::<Vec<f64>>()));
    }
    with_provenance(DataFrame::new_infer_height(columns)?, provenance)
}

/// `timeseries.parquet`: per system × week × metric, the mean and p05/p50/p95 across
/// replications.
///
/// # Errors
/// A polars error if the frame cannot be built (a bug).
pub fn timeseries_frame(results: &Results, provenance: &Provenance) -> PolarsResult<DataFrame> {
    type Metric = (&'static str, fn(&Week) -> f64);
    let metrics: [Metric; 5] = [
        ("installed_gpus", |w| f64::from(w.installed_gpus)),
        ("utilization", |w| w.utilization),
        ("queue_length", |w| w.queue_length),
        ("price_usd_per_gpu_hour", |w| w.price_usd_per_gpu_hour),
        ("lost_jobs", |w| w.lost_jobs as f64),
    ];
    let (mut system, mut week, mut metric) = (Vec::new(), Vec::<u32>::new(), Vec::new());
    let (mut mean, mut p05, mut p50, mut p95) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for kind in results.systems() {
        // Each replication's weeks, in replication order.
        let mut by_replication: Vec<Vec<&Week>> = Vec::new();
        let mut last = None;
        for row in results.weeks.iter().filter(|w| w.system == kind) {
            if last != Some(row.replication) {
                by_replication.push(Vec::new());
                last = Some(row.replication);
            }
            if let Some(weeks) = by_replication.last_mut() {
                weeks.push(&row.week);
            }
        }
        let replications = results.runs.iter().filter(|r| r.system == kind).count();
        let weeks = if by_replication.len() < replications { 0 } else { by_replication.iter().map(Vec::len).min().unwrap_or(0) };
        for idx in 0..weeks {
            for (name, value) in &metrics {
                let values: Vec<f64> = by_replication.iter().map(|r| value(r[idx])).collect();
                let stats = summarise(&values);
                system.push(kind.as_str());
                week.push(idx as u32);
                metric.push(*name);
                mean.push(stats.mean);
                p05.push(stats.p05);
                p50.push(stats.p50);
                p95.push(stats.p95);
            }
        }
    }
    let frame = df!(
        "system" => system,
        "week" => week,
        "metric" => metric,
        "mean" => mean,
        "p05" => p05,
        "p50" => p50,
        "p95" => p95,
    )?;
    with_provenance(frame, provenance)
}

/// `yields.parquet`: one row per replication × system × cohort × year (cohort null:
/// the whole system; per cohort for the distributed network).
///
/// # Errors
/// A polars error if the frame cannot be built (a bug).
pub fn yields_frame(results: &Results, provenance: &Provenance) -> PolarsResult<DataFrame> {
    let years = &results.years;
    let mut columns = vec![
        Column::new("replication".into(), years.iter().map(|y| y.replication).collect::<Vec<u64>>()),
        Column::new("system".into(), years.iter().map(|y| y.system.as_str()).collect::<Vec<_>>()),
        Column::new("cohort".into(), years.iter().map(|y| y.cohort).collect::<Vec<Option<u32>>>()),
        Column::new("year".into(), years.iter().map(|y| y.year).collect::<Vec<u32>>()),
    ];
    for (idx, name) in year_columns().into_iter().enumerate() {
        columns.push(Column::new(name.into(), years.iter().map(|y| y.values[idx]).collect::<Vec<Option<f64>>>()));
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
    let weeks = &results.weeks;
    let frame = df!(
        "replication" => weeks.iter().map(|w| w.replication).collect::<Vec<u64>>(),
        "system" => weeks.iter().map(|w| w.system.as_str()).collect::<Vec<_>>(),
        "week" => weeks.iter().map(|w| w.week.week).collect::<Vec<u32>>(),
        "installed_gpus" => weeks.iter().map(|w| w.week.installed_gpus).collect::<Vec<u32>>(),
        "utilization" => weeks.iter().map(|w| w.week.utilization).collect::<Vec<f64>>(),
        "queue_length" => weeks.iter().map(|w| w.week.queue_length).collect::<Vec<f64>>(),
        "price_usd_per_gpu_hour" => weeks.iter().map(|w| w.week.price_usd_per_gpu_hour).collect::<Vec<f64>>(),
        "lost_jobs" => weeks.iter().map(|w| w.week.lost_jobs).collect::<Vec<u64>>(),
    )?;
    with_provenance(frame, provenance)
}

/// One row of `yields_summary.parquet`.
#[derive(Debug, Clone, PartialEq)]
pub struct YieldSummaryRow {
    /// System.
    pub system: SystemKind,
    /// `None` for the whole system.
    pub cohort: Option<u32>,
    /// Year; `None` for NPV, IRR and payback, which span the horizon.
    pub year: Option<u32>,
    /// A `yields.parquet` column, or `npv_usd`, `irr`, `payback_years`.
    pub metric: &'static str,
    /// Statistics over the replications where the value exists.
    pub stats: crate::metrics::Summary,
    /// Replications (that have this system and cohort) where it does not exist.
    pub undefined: u64,
}

/// Quantiles of every yearly column per system × cohort × year, then of the returns
/// per system × cohort. Cohorts appear only in replications where they joined.
pub fn yield_summary_rows(results: &Results) -> Vec<YieldSummaryRow> {
    type Key = (SystemKind, Option<u32>, Option<u32>, usize);
    let mut values: BTreeMap<Key, (&'static str, Vec<f64>, u64)> = BTreeMap::new();
    let mut record = |key: Key, metric: &'static str, value: Option<f64>| {
        let entry = values.entry(key).or_insert((metric, Vec::new(), 0));
        match value {
            Some(v) => entry.1.push(v),
            None => entry.2 += 1,
        }
    };
    let names = year_columns();
    for year in &results.years {
        for (idx, (metric, value)) in names.iter().zip(&year.values).enumerate() {
            record((year.system, year.cohort, Some(year.year), idx), metric, *value);
        }
    }
    for returns in &results.returns {
        for (idx, (metric, value)) in returns.measures().into_iter().enumerate() {
            // After every year of the same cohort: `None` sorts first, so key the
            // returns by a year past any real one.
            record((returns.system, returns.cohort, Some(u32::MAX), idx), metric, value);
        }
    }
    values
        .into_iter()
        .map(|((system, cohort, year, _), (metric, values, undefined))| YieldSummaryRow {
            system,
            cohort,
            year: year.filter(|&y| y != u32::MAX),
            metric,
            stats: summarise(&values),
            undefined,
        })
        .collect()
}

/// `yields_summary.parquet`: one row per system × cohort × year × metric.
///
/// # Errors
/// A polars error if the frame cannot be built (a bug).
pub fn yields_summary_frame(summary: &[YieldSummaryRow], provenance: &Provenance) -> PolarsResult<DataFrame> {
    let mut columns = vec![
        Column::new("system".into(), summary.iter().map(|r| r.system.as_str()).collect::<Vec<_>>()),
        Column::new("cohort".into(), summary.iter().map(|r| r.cohort).collect::<Vec<Option<u32>>>()),
        Column::new("year".into(), summary.iter().map(|r| r.year).collect::<Vec<Option<u32>>>()),
        Column::new("metric".into(), summary.iter().map(|r| r.metric).collect::<Vec<_>>()),
    ];
    columns.extend(stats_columns(&summary.iter().map(|r| r.stats).collect::<Vec<_>>()));
    columns.push(Column::new("n_undefined".into(), summary.iter().map(|r| r.undefined).collect::<Vec<u64>>()));
    with_provenance(DataFrame::new_infer_height(columns)?, provenance)
}

/// The statistics columns shared by the summary tables: mean, std, ci95_low,
/// ci95_high, p05, p50, p95, n.
fn stats_columns(stats: &[crate::metrics::Summary]) -> Vec<Column> {
    let stat = |name: &str, f: fn(&crate::metrics::Summary) -> f64| Column::new(name.into(), stats.iter().map(f).collect::<Vec<f64>>());
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
        Column::new("system".into(), summary.iter().map(|r| r.system).collect::<Vec<_>>()),
        Column::new("metric".into(), summary.iter().map(|r| r.metric).collect::<Vec<_>>()),
    ];
    columns.extend(stats_columns(&summary.iter().map(|r| r.stats).collect::<Vec<_>>()));
    with_provenance(DataFrame::new_infer_height(columns)?, provenance)
}

/// Writes `tables` (file stem, frame) as `DIR/<stem>.parquet`, all or nothing.
///
/// # Errors
/// [`OutputError`] if any file cannot be written; files already in `dir` are then
/// left exactly as they were.
pub fn write_tables(dir: &Path, tables: &mut [(&str, DataFrame)], provenance: &Provenance) -> Result<Vec<PathBuf>, OutputError> {
    remove_abandoned_staging(dir);
    let staging = staging_dir(dir);
    std::fs::create_dir_all(&staging).map_err(io("create", &staging))?;
    let written = write_staged(&staging, tables, provenance);
    let result = written.and_then(|staged| {
        std::fs::create_dir_all(dir).map_err(io("create", dir))?;
        let mut finals = Vec::with_capacity(staged.len());
        for file in staged {
            // Invariant: staged paths were built as staging/<stem>.parquet, so they have a file name.
            let target = dir.join(file.file_name().expect("staged file has a name"));
            std::fs::rename(&file, &target).map_err(io("move into place", &target))?;
            finals.push(target);
        }
        Ok(finals)
    });
    // Best effort: the staging directory is empty on success and disposable on failure.
    let _ = std::fs::remove_dir_all(&staging);
    result
}

/// Maps an I/O error to [`OutputError::Io`] naming the action and path.
fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> OutputError {
    let path = path.display().to_string();
    move |source| OutputError::Io { action, path, source }
}

/// Checks, before any work is done, that results could be written beside `dir`: the
/// staging directory is created and removed again. Nothing else is touched.
///
/// # Errors
/// [`OutputError::Io`] naming the OS error.
pub fn check_writable(dir: &Path) -> Result<(), OutputError> {
    let staging = staging_dir(dir);
    std::fs::create_dir_all(&staging).map_err(io("create a directory beside", dir))?;
    // Best effort: an empty directory of our own, created a moment ago.
    let _ = std::fs::remove_dir(&staging);
    Ok(())
}

/// The parent of `dir` and the prefix of its staging directories.
fn staging_prefix(dir: &Path) -> (PathBuf, String) {
    let name = dir.file_name().map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let parent = dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    (parent.to_path_buf(), format!(".{name}.capsim-staging-"))
}

/// A hidden sibling of `dir`, on the same file system so the final rename is atomic.
fn staging_dir(dir: &Path) -> PathBuf {
    let (parent, prefix) = staging_prefix(dir);
    parent.join(format!("{prefix}{}", std::process::id()))
}

/// Removes staging directories left by runs that were killed (their process is gone),
/// so killed runs do not litter the output's parent. Best effort, Linux only: a
/// process is known to be gone when `/proc/<pid>` is absent; elsewhere nothing is removed.
fn remove_abandoned_staging(dir: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let (parent, prefix) = staging_prefix(dir);
    let Ok(entries) = std::fs::read_dir(&parent) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix(&prefix).and_then(|pid| pid.parse::<u32>().ok()) else { continue };
        if !Path::new("/proc").join(pid.to_string()).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn write_staged(staging: &Path, tables: &mut [(&str, DataFrame)], provenance: &Provenance) -> Result<Vec<PathBuf>, OutputError> {
    let mut pairs = vec![
        ("capsim.scenario".to_string(), provenance.scenario.clone()),
        ("capsim.scenario_hash".to_string(), provenance.scenario_hash.clone()),
        ("capsim.seed".to_string(), provenance.seed.to_string()),
        ("capsim.version".to_string(), provenance.capsim_version.clone()),
        ("capsim.replications".to_string(), format!("{}..{}", provenance.replications.0, provenance.replications.1)),
    ];
    if let Some((shard, shards)) = provenance.shard {
        pairs.push(("capsim.shard".to_string(), format!("{shard}/{shards}")));
    }
    let metadata = KeyValueMetadata::from_static(pairs);
    let mut staged = Vec::with_capacity(tables.len());
    for (stem, frame) in tables.iter_mut() {
        let path = staging.join(format!("{stem}.parquet"));
        let file = File::create(&path).map_err(|source| OutputError::Io { action: "create", path: path.display().to_string(), source })?;
        ParquetWriter::new(file)
            .with_key_value_metadata(Some(metadata.clone()))
            .finish(frame)
            .map_err(|source| OutputError::Table { table: (*stem).to_string(), source })?;
        staged.push(path);
    }
    Ok(staged)
}

/// The raw tables a run or a shard writes, from which every other table is derived.
pub const RAW_TABLES: [&str; 4] = ["runs", "weeks", "yields", "returns"];

/// Reads the raw tables of one run or shard directory back into results, with the
/// provenance recorded in them.
///
/// # Errors
/// [`OutputError`] if a table is missing, unreadable, or not one capsim wrote.
pub fn read_results(dir: &Path) -> Result<(Results, Provenance), OutputError> {
    let malformed =
        |table: &str, detail: String| OutputError::Malformed { path: dir.join(format!("{table}.parquet")).display().to_string(), detail };
    let provenance = read_provenance(&dir.join("runs.parquet"))?;
    let runs = read_table(&dir.join("runs.parquet"))?;
    let weeks = read_table(&dir.join("weeks.parquet"))?;
    let years = read_table(&dir.join("yields.parquet"))?;
    let returns = read_table(&dir.join("returns.parquet"))?;
    let results = Results {
        runs: read_runs(&runs).map_err(|e| malformed("runs", e.to_string()))?,
        weeks: read_weeks(&weeks).map_err(|e| malformed("weeks", e.to_string()))?,
        years: read_years(&years).map_err(|e| malformed("yields", e.to_string()))?,
        returns: read_returns(&returns).map_err(|e| malformed("returns", e.to_string()))?,
    };
    Ok((results, provenance))
}

/// The provenance in a table's key-value metadata.
fn read_provenance(path: &Path) -> Result<Provenance, OutputError> {
    let file = File::open(path).map_err(|source| OutputError::Io { action: "open", path: path.display().to_string(), source })?;
    let mut reader = ParquetReader::new(file);
    let table = || path.display().to_string();
    let metadata = reader.get_metadata().map_err(|source| OutputError::Table { table: table(), source })?;
    let pairs: Vec<(String, String)> =
        metadata.key_value_metadata().iter().flatten().filter_map(|kv| kv.value.clone().map(|value| (kv.key.clone(), value))).collect();
    let get = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let missing =
        |key: &str| OutputError::Malformed { path: table(), detail: format!("no `{key}` in its metadata: not written by this capsim") };
    let require = |key: &str| get(key).ok_or_else(|| missing(key));
    let range = require("capsim.replications")?;
    let replications = range
        .split_once("..")
        .and_then(|(from, to)| Some((from.parse().ok()?, to.parse().ok()?)))
        .ok_or_else(|| missing("capsim.replications"))?;
    let shard = match get("capsim.shard") {
        None => None,
        Some(text) => {
            Some(text.split_once('/').and_then(|(k, n)| Some((k.parse().ok()?, n.parse().ok()?))).ok_or_else(|| missing("capsim.shard"))?)
        }
    };
    Ok(Provenance {
        scenario: require("capsim.scenario")?,
        scenario_hash: require("capsim.scenario_hash")?,
        seed: require("capsim.seed")?.parse().map_err(|_| missing("capsim.seed"))?,
        capsim_version: require("capsim.version")?,
        replications,
        shard,
    })
}

fn system_of(name: Option<&str>) -> PolarsResult<SystemKind> {
    match name {
        Some("centralized") => Ok(SystemKind::Centralized),
        Some("distributed") => Ok(SystemKind::Distributed),
        other => Err(PolarsError::ComputeError(format!("unknown system {other:?}").into())),
    }
}

fn read_runs(frame: &DataFrame) -> PolarsResult<Vec<RunRow>> {
    let replication = frame.column("replication")?.u64()?;
    let system = frame.column("system")?.str()?;
    let names = run_columns();
    let columns: Vec<&Column> = names.iter().map(|name| frame.column(name)).collect::<PolarsResult<_>>()?;
    let mut rows = Vec::with_capacity(frame.height());
    for idx in 0..frame.height() {
        let cells = columns
            .iter()
            .map(|column| match column.dtype() {
                DataType::UInt64 => Ok(Cell::U64(column.u64()?.get(idx).unwrap_or(0))),
                _ => Ok(Cell::F64(column.f64()?.get(idx).unwrap_or(f64::NAN))),
            })
            .collect::<PolarsResult<Vec<Cell>>>()?;
        rows.push(RunRow { replication: replication.get(idx).unwrap_or(0), system: system_of(system.get(idx))?, cells });
    }
    Ok(rows)
}

fn read_weeks(frame: &DataFrame) -> PolarsResult<Vec<WeekRow>> {
    let (replication, system) = (frame.column("replication")?.u64()?, frame.column("system")?.str()?);
    let (week, installed) = (frame.column("week")?.u32()?, frame.column("installed_gpus")?.u32()?);
    let (utilization, queue) = (frame.column("utilization")?.f64()?, frame.column("queue_length")?.f64()?);
    let (price, lost) = (frame.column("price_usd_per_gpu_hour")?.f64()?, frame.column("lost_jobs")?.u64()?);
    (0..frame.height())
        .map(|i| {
            Ok(WeekRow {
                replication: replication.get(i).unwrap_or(0),
                system: system_of(system.get(i))?,
                week: Week {
                    week: week.get(i).unwrap_or(0),
                    installed_gpus: installed.get(i).unwrap_or(0),
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
    let (replication, system) = (frame.column("replication")?.u64()?, frame.column("system")?.str()?);
    let (cohort, year) = (frame.column("cohort")?.u32()?, frame.column("year")?.u32()?);
    let names = year_columns();
    let columns = names.iter().map(|name| frame.column(name)?.f64()).collect::<PolarsResult<Vec<_>>>()?;
    (0..frame.height())
        .map(|i| {
            Ok(YearRecord {
                replication: replication.get(i).unwrap_or(0),
                system: system_of(system.get(i))?,
                cohort: cohort.get(i),
                year: year.get(i).unwrap_or(0),
                values: columns.iter().map(|column| column.get(i)).collect(),
            })
        })
        .collect()
}

fn read_returns(frame: &DataFrame) -> PolarsResult<Vec<ReturnRecord>> {
    let (replication, system, cohort) =
        (frame.column("replication")?.u64()?, frame.column("system")?.str()?, frame.column("cohort")?.u32()?);
    let (npv, irr, irr_note) = (frame.column("npv_usd")?.f64()?, frame.column("irr")?.f64()?, frame.column("irr_note")?.str()?);
    let beats = frame.column("beats_hurdle")?.bool()?;
    let (payback, payback_note) = (frame.column("payback_years")?.f64()?, frame.column("payback_note")?.str()?);
    (0..frame.height())
        .map(|i| {
            Ok(ReturnRecord {
                replication: replication.get(i).unwrap_or(0),
                system: system_of(system.get(i))?,
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
    let file = File::open(path).map_err(|source| OutputError::Io { action: "open", path: path.display().to_string(), source })?;
    ParquetReader::new(file).finish().map_err(|source| OutputError::Table { table: path.display().to_string(), source })
}
