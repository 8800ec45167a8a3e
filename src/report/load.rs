//! Reads a result directory's tables into a [`ReportData`]: the report's only I/O.

use std::path::Path;

use polars::prelude::{Column, DataFrame, DataType, PolarsResult};

use super::chart::Band;
use super::{Effect, Path as Trajectory, ReportData, Statistic, Sweep, SweepRow};
use crate::metrics::catalog::Paired;
use crate::output::{self, OutputError};

/// Reads what `dir` holds of a run's tables (`summary`, `timeseries`, `savings`,
/// `yields_summary`), a sweep's (`sweep`) and a sensitivity analysis's (`sensitivity`).
///
/// # Errors
/// [`OutputError`] when `dir` holds none of them, or one is unreadable or not capsim's.
pub fn load(dir: &Path) -> Result<ReportData, OutputError> {
    // Only the tables of the directory's complete set, checked against its manifest (and
    // read from their previous versions while a commit is replacing them).
    let set = output::TableSet::open(dir)?;
    let listed = |stem: &str| set.get(stem).is_some();
    let path = |stem: &str| {
        set.get(stem)
            .map_or_else(|| dir.join(format!("{stem}.parquet")), Path::to_path_buf)
    };
    // A report is drawn from some of the tables, but one of the set that cannot be read
    // means the results are damaged: say so rather than draw the rest as if whole.
    for stem in output::TABLE_ORDER {
        if listed(stem) {
            output::read_table(&path(stem))?;
        }
    }
    let present: Vec<&str> = ["summary", "sweep", "sensitivity"]
        .into_iter()
        .filter(|stem| listed(stem))
        .collect();
    let Some((first, others)) = present.split_first() else {
        return Err(OutputError::Malformed {
            path: dir.display().to_string(),
            detail:
                "holds no capsim results (summary.parquet, sweep.parquet or sensitivity.parquet)"
                    .into(),
        });
    };
    let provenance = output::read_provenance(&path(first))?;
    // Tables of another scenario (a sweep of one file written beside a run of another)
    // would be drawn under this one's name: say so at the top of the page.
    let mut warnings = Vec::new();
    for stem in others {
        let other = output::read_provenance(&path(stem))?;
        if other.scenario_hash != provenance.scenario_hash {
            warnings.push(format!(
                "{stem}.parquet comes from another scenario ({} {}) than the one named above ({} {})",
                other.scenario, other.scenario_hash, provenance.scenario, provenance.scenario_hash
            ));
        }
    }
    // Each table present is read; a missing one leaves its part of the report out.
    let read = |stem: &'static str| -> Result<Option<DataFrame>, OutputError> {
        if listed(stem) {
            output::read_table(&path(stem)).map(Some)
        } else {
            Ok(None)
        }
    };
    let malformed = |stem: &'static str| {
        let shown = path(stem).display().to_string();
        move |e: polars::prelude::PolarsError| OutputError::Malformed {
            path: shown.clone(),
            detail: e.to_string(),
        }
    };
    let summary = read("summary")?
        .map(|f| stats_rows(&f))
        .transpose()
        .map_err(malformed("summary"))?
        .unwrap_or_default();
    let weeks = read("timeseries")?
        .map(|f| weekly(&f))
        .transpose()
        .map_err(malformed("timeseries"))?
        .unwrap_or_default();
    let savings = read("savings")?
        .map(|f| numbers(&f, Paired::SavingsLikeForLike.name()).map(nan))
        .transpose()
        .map_err(malformed("savings"))?
        .unwrap_or_default();
    let (years, first_year_yield, returns) = read("yields_summary")?
        .map(|f| yearly(&f))
        .transpose()
        .map_err(malformed("yields_summary"))?
        .unwrap_or_default();
    let sweep = read("sweep")?
        .map(|f| sweep(&f))
        .transpose()
        .map_err(malformed("sweep"))?;
    let sensitivity = read("sensitivity")?
        .map(|f| effects(&f))
        .transpose()
        .map_err(malformed("sensitivity"))?
        .unwrap_or_default();
    Ok(ReportData {
        provenance,
        warnings,
        summary,
        weeks,
        savings,
        years,
        first_year_yield,
        returns,
        sweep,
        sensitivity,
    })
}

fn column<'a>(frame: &'a DataFrame, name: &str) -> PolarsResult<&'a Column> {
    frame.column(name)
}

/// A numeric column of any type as floats (nulls kept).
fn numbers(frame: &DataFrame, name: &str) -> PolarsResult<Vec<Option<f64>>> {
    let cast = column(frame, name)?.cast(&DataType::Float64)?;
    let values = cast.f64()?;
    Ok((0..values.len()).map(|i| values.get(i)).collect())
}

fn texts(frame: &DataFrame, name: &str) -> PolarsResult<Vec<String>> {
    let values = column(frame, name)?.str()?;
    Ok((0..values.len())
        .map(|i| values.get(i).unwrap_or_default().to_string())
        .collect())
}

fn nan(values: Vec<Option<f64>>) -> Vec<f64> {
    values.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect()
}

/// The statistics columns shared by `summary` and `yields_summary`, row by row.
fn stats_rows(frame: &DataFrame) -> PolarsResult<Vec<Statistic>> {
    let (system, metric) = (texts(frame, "system")?, texts(frame, "metric")?);
    let mean = nan(numbers(frame, "mean")?);
    let (low, high) = (
        nan(numbers(frame, "ci95_low")?),
        nan(numbers(frame, "ci95_high")?),
    );
    let (p05, p50, p95) = (
        nan(numbers(frame, "p05")?),
        nan(numbers(frame, "p50")?),
        nan(numbers(frame, "p95")?),
    );
    Ok((0..frame.height())
        .map(|i| Statistic {
            system: system[i].clone(),
            metric: metric[i].clone(),
            mean: mean[i],
            ci95: (low[i], high[i]),
            quantiles: [p05[i], p50[i], p95[i]],
        })
        .collect())
}

/// Groups rows into paths by (system, cohort, metric), in first-seen order.
fn group(rows: impl Iterator<Item = (String, Option<u32>, String, Band)>) -> Vec<Trajectory> {
    let mut paths: Vec<Trajectory> = Vec::new();
    for (system, cohort, metric, band) in rows {
        match paths
            .iter_mut()
            .find(|p| p.system == system && p.cohort == cohort && p.metric == metric)
        {
            Some(path) => path.points.push(band),
            None => paths.push(Trajectory {
                system,
                cohort,
                metric,
                points: vec![band],
            }),
        }
    }
    for path in &mut paths {
        path.points.sort_by(|a, b| a.x.total_cmp(&b.x));
    }
    paths
}

fn weekly(frame: &DataFrame) -> PolarsResult<Vec<Trajectory>> {
    let (system, metric, week) = (
        texts(frame, "system")?,
        texts(frame, "metric")?,
        nan(numbers(frame, "week")?),
    );
    let (p05, p50, p95) = (
        nan(numbers(frame, "p05")?),
        nan(numbers(frame, "p50")?),
        nan(numbers(frame, "p95")?),
    );
    Ok(group((0..frame.height()).map(|i| {
        (
            system[i].clone(),
            None,
            metric[i].clone(),
            Band {
                x: week[i],
                low: p05[i],
                mid: p50[i],
                high: p95[i],
            },
        )
    })))
}

type Yearly = (
    Vec<Trajectory>,
    Vec<Statistic>,
    Vec<(String, Option<u32>, Statistic)>,
);

fn yearly(frame: &DataFrame) -> PolarsResult<Yearly> {
    let stats = stats_rows(frame)?;
    let year = numbers(frame, "year")?;
    let cohort: Vec<Option<u32>> = numbers(frame, "cohort")?
        .into_iter()
        .map(|c| c.map(|c| c as u32))
        .collect();
    let provider = column(frame, "provider")?.str()?.clone();
    let mut first_year = Vec::new();
    let mut returns = Vec::new();
    let mut rows = Vec::new();
    for (i, mut s) in stats.into_iter().enumerate() {
        // A provider of a market is drawn and tabled beside its architecture.
        if let Some(provider) = provider.get(i) {
            s.system = format!("{} · {provider}", s.system);
        }
        match year[i] {
            None => returns.push((s.system.clone(), cohort[i], s)),
            Some(y) => {
                if s.metric == "yield" && cohort[i].is_none() && y == 1.0 {
                    first_year.push(s.clone());
                }
                // Year 0 is the investment itself: no yield to draw.
                if y >= 1.0 {
                    let band = Band {
                        x: y,
                        low: s.quantiles[0],
                        mid: s.quantiles[1],
                        high: s.quantiles[2],
                    };
                    rows.push((s.system, cohort[i], s.metric, band));
                }
            }
        }
    }
    Ok((group(rows.into_iter()), first_year, returns))
}

/// Axis columns sit between `system` and the first metric column (`…_mean`).
fn sweep(frame: &DataFrame) -> PolarsResult<Sweep> {
    let names: Vec<String> = frame
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let first_metric = names
        .iter()
        .position(|n| n.ends_with("_mean"))
        .unwrap_or(names.len());
    let axes: Vec<String> = names.iter().take(first_metric).skip(2).cloned().collect();
    let metrics: Vec<String> = names
        .iter()
        .filter_map(|n| n.strip_suffix("_mean").map(str::to_string))
        .collect();
    let system = texts(frame, "system")?;
    let mut axis_values: Vec<(Vec<String>, Option<Vec<f64>>)> = Vec::new();
    for axis in &axes {
        let col = column(frame, axis)?;
        if col.dtype() == &DataType::String {
            axis_values.push((texts(frame, axis)?, None));
        } else {
            let values = nan(numbers(frame, axis)?);
            axis_values.push((
                values.iter().map(|v| format!("{v}")).collect(),
                Some(values),
            ));
        }
    }
    let mut metric_values = Vec::new();
    for metric in &metrics {
        let get = |suffix: &str| numbers(frame, &format!("{metric}_{suffix}")).map(nan);
        metric_values.push((
            metric.clone(),
            get("mean")?,
            get("ci95_low")?,
            get("ci95_high")?,
        ));
    }
    let rows = (0..frame.height())
        .map(|i| {
            let numbers: Option<Vec<f64>> = axis_values
                .iter()
                .map(|(_, n)| n.as_ref().map(|n| n[i]))
                .collect();
            SweepRow {
                values: axis_values.iter().map(|(t, _)| t[i].clone()).collect(),
                numbers,
                system: system[i].clone(),
                metrics: metric_values
                    .iter()
                    .map(|(m, mean, low, high)| (m.clone(), mean[i], low[i], high[i]))
                    .collect(),
            }
        })
        .collect();
    Ok(Sweep { axes, rows })
}

fn effects(frame: &DataFrame) -> PolarsResult<Vec<Effect>> {
    let (parameter, system, metric) = (
        texts(frame, "parameter")?,
        texts(frame, "system")?,
        texts(frame, "metric")?,
    );
    let (low, high) = (nan(numbers(frame, "low")?), nan(numbers(frame, "high")?));
    let effect = nan(numbers(frame, "effect")?);
    let (ci_low, ci_high) = (
        nan(numbers(frame, "effect_ci95_low")?),
        nan(numbers(frame, "effect_ci95_high")?),
    );
    Ok((0..frame.height())
        .map(|i| Effect {
            parameter: parameter[i].clone(),
            range: (low[i], high[i]),
            system: system[i].clone(),
            metric: metric[i].clone(),
            effect: (effect[i], ci_low[i], ci_high[i]),
        })
        .collect())
}
