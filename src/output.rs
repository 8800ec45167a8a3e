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

use crate::finance::statements::{Returns, YearRow};
use crate::metrics::{Cell, RunMetrics, Savings, summarise};
use crate::model::SystemKind;
use crate::model::outcome::Week;

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
pub fn runs_frame(rows: &[RunMetrics], provenance: &Provenance) -> PolarsResult<DataFrame> {
    let mut columns = vec![
        Column::new("replication".into(), rows.iter().map(|r| r.replication).collect::<Vec<u64>>()),
        Column::new("system".into(), rows.iter().map(|r| r.system.as_str()).collect::<Vec<_>>()),
    ];
    let cells: Vec<Vec<(&'static str, Cell)>> = rows.iter().map(RunMetrics::columns).collect();
    let names: Vec<&'static str> = cells.first().map(|row| row.iter().map(|(name, _)| *name).collect()).unwrap_or_default();
    for (idx, name) in names.iter().enumerate() {
        let column = match cells[0][idx].1 {
            Cell::U64(_) => Column::new((*name).into(), cells.iter().map(|row| row[idx].1.as_u64()).collect::<Vec<u64>>()),
            Cell::F64(_) => Column::new((*name).into(), cells.iter().map(|row| row[idx].1.as_f64()).collect::<Vec<f64>>()),
        };
        columns.push(column);
    }
    with_provenance(DataFrame::new_infer_height(columns)?, provenance)
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
pub fn summary_rows(rows: &[RunMetrics], savings: &[Savings]) -> Vec<SummaryRow> {
    let mut systems: Vec<SystemKind> = rows.iter().map(|r| r.system).collect();
    systems.sort();
    systems.dedup();
    let mut out = Vec::new();
    for system in systems {
        let of_system: Vec<Vec<(&'static str, Cell)>> = rows.iter().filter(|r| r.system == system).map(RunMetrics::columns).collect();
        let Some(first) = of_system.first() else { continue };
        for (idx, (metric, _)) in first.iter().enumerate() {
            let values: Vec<f64> = of_system.iter().map(|row| row[idx].1.as_f64()).filter(|v| !v.is_nan()).collect();
            out.push(SummaryRow { system: system.as_str(), metric, stats: summarise(&values) });
        }
    }
    if let Some(first) = savings.first() {
        for (idx, (metric, _)) in first.columns().iter().enumerate() {
            let values: Vec<f64> = savings.iter().map(|row| row.columns()[idx].1).filter(|v| !v.is_nan()).collect();
            out.push(SummaryRow { system: PAIRED, metric, stats: summarise(&values) });
        }
    }
    out
}

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
pub fn timeseries_frame(rows: &[RunMetrics], provenance: &Provenance) -> PolarsResult<DataFrame> {
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
    let mut systems: Vec<SystemKind> = rows.iter().map(|r| r.system).collect();
    systems.sort();
    systems.dedup();
    for kind in systems {
        let of_system: Vec<&RunMetrics> = rows.iter().filter(|r| r.system == kind).collect();
        let weeks = of_system.iter().map(|r| r.weeks.len()).min().unwrap_or(0);
        for idx in 0..weeks {
            for (name, value) in &metrics {
                let values: Vec<f64> = of_system.iter().map(|r| value(&r.weeks[idx])).collect();
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
pub fn yields_frame(rows: &[RunMetrics], provenance: &Provenance) -> PolarsResult<DataFrame> {
    let years: Vec<(&RunMetrics, &YearRow)> = rows.iter().flat_map(|run| run.finance.years.iter().map(move |year| (run, year))).collect();
    let mut columns = vec![
        Column::new("replication".into(), years.iter().map(|(run, _)| run.replication).collect::<Vec<u64>>()),
        Column::new("system".into(), years.iter().map(|(run, _)| run.system.as_str()).collect::<Vec<_>>()),
        Column::new("cohort".into(), years.iter().map(|(_, year)| year.cohort).collect::<Vec<Option<u32>>>()),
        Column::new("year".into(), years.iter().map(|(_, year)| year.year).collect::<Vec<u32>>()),
    ];
    for (idx, (name, _)) in YearRow::default().columns().iter().enumerate() {
        columns.push(Column::new((*name).into(), years.iter().map(|(_, year)| year.columns()[idx].1).collect::<Vec<Option<f64>>>()));
    }
    with_provenance(DataFrame::new_infer_height(columns)?, provenance)
}

/// `returns.parquet`: one row per replication × system × cohort: NPV, IRR and payback,
/// each null with a note saying why when it does not exist.
///
/// # Errors
/// A polars error if the frame cannot be built (a bug).
pub fn returns_frame(rows: &[RunMetrics], hurdle_rate: f64, provenance: &Provenance) -> PolarsResult<DataFrame> {
    let returns: Vec<(&RunMetrics, &Returns)> = rows.iter().flat_map(|run| run.finance.returns.iter().map(move |r| (run, r))).collect();
    let frame = df!(
        "replication" => returns.iter().map(|(run, _)| run.replication).collect::<Vec<u64>>(),
        "system" => returns.iter().map(|(run, _)| run.system.as_str()).collect::<Vec<_>>(),
        "cohort" => returns.iter().map(|(_, r)| r.cohort).collect::<Vec<Option<u32>>>(),
        "npv_usd" => returns.iter().map(|(_, r)| r.npv_usd).collect::<Vec<f64>>(),
        "irr" => returns.iter().map(|(_, r)| r.irr_value()).collect::<Vec<Option<f64>>>(),
        "irr_note" => returns.iter().map(|(_, r)| r.irr_note()).collect::<Vec<Option<String>>>(),
        "beats_hurdle" => returns.iter().map(|(_, r)| r.irr_value().map(|irr| irr > hurdle_rate)).collect::<Vec<Option<bool>>>(),
        "payback_years" => returns.iter().map(|(_, r)| r.payback_years).collect::<Vec<Option<f64>>>(),
        "payback_note" => returns.iter().map(|(_, r)| r.payback_note()).collect::<Vec<Option<&str>>>(),
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
pub fn yield_summary_rows(rows: &[RunMetrics]) -> Vec<YieldSummaryRow> {
    type Key = (SystemKind, Option<u32>, Option<u32>, usize);
    let mut values: BTreeMap<Key, (&'static str, Vec<f64>, u64)> = BTreeMap::new();
    let mut record = |key: Key, metric: &'static str, value: Option<f64>| {
        let entry = values.entry(key).or_insert((metric, Vec::new(), 0));
        match value {
            Some(v) => entry.1.push(v),
            None => entry.2 += 1,
        }
    };
    for run in rows {
        for year in &run.finance.years {
            for (idx, (metric, value)) in year.columns().into_iter().enumerate() {
                record((run.system, year.cohort, Some(year.year), idx), metric, value);
            }
        }
        for returns in &run.finance.returns {
            for (idx, (metric, value)) in returns.measures().into_iter().enumerate() {
                // After every year of the same cohort: `None` sorts first, so key the
                // returns by a year past any real one.
                record((run.system, returns.cohort, Some(u32::MAX), idx), metric, value);
            }
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
    let metadata = KeyValueMetadata::from_static(vec![
        ("capsim.scenario".to_string(), provenance.scenario.clone()),
        ("capsim.scenario_hash".to_string(), provenance.scenario_hash.clone()),
        ("capsim.seed".to_string(), provenance.seed.to_string()),
        ("capsim.version".to_string(), provenance.capsim_version.clone()),
    ]);
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

/// Reads a Parquet file back into a frame (tests, merges, comparisons).
///
/// # Errors
/// If the file cannot be opened or parsed.
pub fn read_table(path: &Path) -> Result<DataFrame, OutputError> {
    let file = File::open(path).map_err(|source| OutputError::Io { action: "open", path: path.display().to_string(), source })?;
    ParquetReader::new(file).finish().map_err(|source| OutputError::Table { table: path.display().to_string(), source })
}
