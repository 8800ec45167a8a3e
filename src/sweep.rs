//! Parameter sweeps: one scenario run at many points, each point a set of `--set`
//! overrides, every point on the same replication seeds (common random numbers), so the
//! difference between two points is paired replication by replication.
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::dbg_macro)]

use rand::RngExt;
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::metrics::catalog::{Finance, Measure as CatalogMeasure, Metric, Paired};
use crate::metrics::{RunMetrics, Summary, WorkCell, like_for_like, summarise};
use crate::model::SystemName;
use crate::montecarlo::{self, SimError};
use crate::scenario::Scenario;
pub use crate::scenario::overrides::node_text;
use crate::scenario::overrides::{Node, Override, parse_path, parse_value, setting};
use crate::seeds::{self, Stream};

/// One varied key and the values it takes.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// The key path, as given.
    pub path: String,
    /// The values, as YAML.
    pub values: Vec<Node>,
    /// A continuous range `a..b` (Latin hypercube only): values are drawn inside it.
    pub range: Option<(f64, f64)>,
}

/// How the points are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Design {
    /// Every combination of the axes' values.
    Grid,
    /// The i-th value of every axis together (all axes the same length).
    Zip,
    /// A Latin hypercube of this many points: each axis's values (or range) cut into as
    /// many equal strata, each stratum used once, paired at random (seeded).
    Lhs(usize),
}

/// Reads `PATH=V1,V2,…`, `PATH=A..B:STEP` or (for a Latin hypercube) `PATH=A..B`.
///
/// # Errors
/// What is wrong with the text.
pub fn parse_axis(spec: &str) -> Result<Axis, String> {
    let (path, values) = spec
        .split_once('=')
        .ok_or("expected KEY.PATH=LIST or KEY.PATH=A..B:STEP, e.g. centralized.gpus=40,48,64")?;
    let path = path.trim().to_string();
    parse_path(&path)?;
    if let Some((low, rest)) = values.split_once("..") {
        let (high, step) = rest
            .split_once(':')
            .map_or((rest, None), |(h, s)| (h, Some(s)));
        let number = |text: &str| {
            text.trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or(format!("`{text}` is not a number in the range `{values}`"))
        };
        let (low, high) = (number(low)?, number(high)?);
        if high < low {
            return Err(format!("the range `{values}` runs backwards"));
        }
        let Some(step) = step else {
            return Ok(Axis {
                path,
                values: Vec::new(),
                range: Some((low, high)),
            });
        };
        let step = number(step)?;
        if step <= 0.0 {
            return Err(format!("the step of `{values}` must be > 0"));
        }
        let count = ((high - low) / step + 1e-9).floor() as usize + 1;
        if count > 10_000 {
            return Err(format!("`{values}` has {count} values; at most 10,000"));
        }
        // Rounded to the decimals written, so 1.2..2.4:0.4 ends at 2.4, not 2.4000000000000004.
        let decimals = |text: &str| {
            text.trim()
                .split_once('.')
                .map_or(0, |(_, d)| d.len())
                .min(12)
        };
        let places = decimals(values.split_once("..").map_or("", |(l, _)| l))
            .max(decimals(values.rsplit_once(':').map_or("", |(_, s)| s)));
        let round = |v: f64| format!("{v:.places$}").parse::<f64>().unwrap_or(v);
        let values = (0..count)
            .map(|k| Node::Float(round(low + step * k as f64)))
            .collect();
        return Ok(Axis {
            path,
            values,
            range: None,
        });
    }
    let values = values
        .split(',')
        .map(|text| parse_value(text.trim()))
        .collect::<Result<Vec<Node>, String>>()?;
    if values.is_empty() || values.contains(&Node::Null) {
        return Err("an empty value in the list".to_string());
    }
    Ok(Axis {
        path,
        values,
        range: None,
    })
}

/// The points of a design: each the value of every axis, in axis order.
///
/// # Errors
/// Axes that do not fit the design (zip of unequal lengths, a bare range outside a
/// Latin hypercube, no axes).
pub fn points(axes: &[Axis], design: Design, seed: u64) -> Result<Vec<Vec<Node>>, String> {
    if axes.is_empty() {
        return Err("give at least one --vary".to_string());
    }
    if let Some(axis) = axes
        .iter()
        .find(|a| a.range.is_some() && !matches!(design, Design::Lhs(_)))
    {
        return Err(format!(
            "{}: a range without a step (`A..B`) needs --design lhs; give `A..B:STEP` for a grid",
            axis.path
        ));
    }
    match design {
        Design::Grid => {
            let mut out: Vec<Vec<Node>> = vec![Vec::new()];
            for axis in axes {
                out = out
                    .into_iter()
                    .flat_map(|point| {
                        axis.values
                            .iter()
                            .map(move |v| [point.clone(), vec![v.clone()]].concat())
                    })
                    .collect();
            }
            Ok(out)
        }
        Design::Zip => {
            let len = axes[0].values.len();
            if let Some(axis) = axes.iter().find(|a| a.values.len() != len) {
                return Err(format!(
                    "--design zip needs lists of one length: {} has {}, {} has {len}",
                    axis.path,
                    axis.values.len(),
                    axes[0].path
                ));
            }
            Ok((0..len)
                .map(|k| axes.iter().map(|a| a.values[k].clone()).collect())
                .collect())
        }
        Design::Lhs(n) => {
            if n == 0 {
                return Err("--points must be at least 1".to_string());
            }
            let mut columns = Vec::with_capacity(axes.len());
            for (idx, axis) in axes.iter().enumerate() {
                let mut rng = seeds::standard(seed, idx as u64, Stream::LatinHypercube);
                let mut strata: Vec<usize> = (0..n).collect();
                // Fisher–Yates with the seeded stream: the pairing of strata across axes.
                for k in (1..n).rev() {
                    strata.swap(k, rng.random_range(0..=k));
                }
                let column: Vec<Node> = strata
                    .into_iter()
                    .map(|stratum| match axis.range {
                        Some((low, high)) => Node::Float(
                            low + (high - low) * (stratum as f64 + rng.random::<f64>()) / n as f64,
                        ),
                        None => axis.values[((stratum as f64 + 0.5) / n as f64
                            * axis.values.len() as f64)
                            as usize]
                            .clone(),
                    })
                    .collect();
                columns.push(column);
            }
            Ok((0..n)
                .map(|k| columns.iter().map(|c| c[k].clone()).collect())
                .collect())
        }
    }
}

/// A grid in which each group of axes (indices into `axes`) varies together, the i-th
/// values of its axes side by side, and is crossed with every other axis and group.
/// Points list the axes' values in axis order; the first axis varies slowest.
///
/// # Errors
/// A group whose lists differ in length, an axis in two groups, or a bare range.
pub fn grid_with_groups(axes: &[Axis], groups: &[Vec<usize>]) -> Result<Vec<Vec<Node>>, String> {
    if let Some(axis) = axes.iter().find(|a| a.range.is_some()) {
        return Err(format!(
            "{}: a range without a step (`A..B`) needs --design lhs; give `A..B:STEP` for a grid",
            axis.path
        ));
    }
    let mut group_of: Vec<Option<usize>> = vec![None; axes.len()];
    for (g, group) in groups.iter().enumerate() {
        for &idx in group {
            if group_of[idx].replace(g).is_some() {
                return Err(format!("{} is in two --zip groups", axes[idx].path));
            }
        }
        let len = axes[group[0]].values.len();
        if let Some(&other) = group.iter().find(|&&idx| axes[idx].values.len() != len) {
            return Err(format!(
                "--zip needs lists of one length: {} has {}, {} has {len}",
                axes[other].path,
                axes[other].values.len(),
                axes[group[0]].path
            ));
        }
    }
    // Units crossed in the grid: a lone axis, or a group (at its first axis's place in --vary order).
    let units: Vec<Vec<usize>> = (0..axes.len())
        .filter_map(|idx| match group_of[idx] {
            None => Some(vec![idx]),
            Some(g) if !groups[g].iter().any(|&i| i < idx) => Some(groups[g].clone()),
            Some(_) => None,
        })
        .collect();
    let mut out: Vec<Vec<Option<Node>>> = vec![vec![None; axes.len()]];
    for unit in &units {
        let len = axes[unit[0]].values.len();
        out = out
            .into_iter()
            .flat_map(|point| {
                (0..len).map(move |k| {
                    let mut point = point.clone();
                    for &idx in unit {
                        point[idx] = Some(axes[idx].values[k].clone());
                    }
                    point
                })
            })
            .collect();
    }
    Ok(out
        .into_iter()
        .map(|point| point.into_iter().map(|v| v.unwrap_or(Node::Null)).collect())
        .collect())
}

/// The overrides of one point.
pub fn point_overrides(axes: &[Axis], values: &[Node]) -> Vec<Override> {
    axes.iter()
        .zip(values)
        .map(|(axis, value)| {
            setting(&axis.path, value.clone()).expect("axis paths were checked when read")
        })
        .collect()
}

/// The metrics a sweep reports per point and system, from a run's row.
pub const METRICS: [CatalogMeasure; 7] = [
    CatalogMeasure::Run(Metric::Utilization),
    CatalogMeasure::Run(Metric::P95WaitHours),
    CatalogMeasure::Run(Metric::LostDemandFraction),
    CatalogMeasure::Run(Metric::AbandonFraction),
    CatalogMeasure::Run(Metric::SpendUsdPerGpuHour),
    CatalogMeasure::Finance(Finance::OperatorYield),
    CatalogMeasure::Run(Metric::ProtocolRevenueUsd),
];

/// The paired metrics reported per point (system `distributed_vs_centralized`): the
/// headline savings like for like first, then the ratio of mean prices paid.
pub const PAIRED_METRICS: [Paired; 2] = [Paired::SavingsLikeForLike, Paired::SavingsFraction];

/// The value of one of [`METRICS`] in a run's row.
fn value_of(measure: CatalogMeasure, row: &RunMetrics) -> f64 {
    match measure {
        CatalogMeasure::Run(metric) => metric.of(row).as_f64(),
        CatalogMeasure::Finance(Finance::OperatorYield) => {
            // Whole-system yield averaged over the simulated years after year 0.
            let yields: Vec<f64> = row
                .finance
                .years
                .iter()
                .filter(|y| y.provider.is_none() && y.cohort.is_none() && y.year > 0)
                .filter_map(|y| y.yield_fraction)
                .collect();
            if yields.is_empty() {
                f64::NAN
            } else {
                yields.iter().sum::<f64>() / yields.len() as f64
            }
        }
        other => unreachable!("{other:?} is not a sweep metric"),
    }
}

/// What one run of a sweep keeps: its sweep metrics and its segment × tier cells.
type Sample = ([f64; 7], Vec<WorkCell>);

fn values_of(row: &RunMetrics) -> [f64; 7] {
    METRICS.map(|measure| value_of(measure, row))
}

/// What one point measured: per system, per metric, the value of every replication in
/// order (NaN where undefined).
#[derive(Debug, Clone, PartialEq)]
pub struct PointResult {
    /// The point's values, one per axis.
    pub values: Vec<Node>,
    /// (system, per metric of [`METRICS`], per replication).
    pub systems: Vec<(SystemName, Vec<Vec<f64>>)>,
    /// Per replication, each of [`PAIRED_METRICS`] (empty unless both systems are present).
    pub savings: [Vec<f64>; 2],
}

impl PointResult {
    /// Per-replication values of `system.metric` (or, without a system, of one of
    /// [`PAIRED_METRICS`]).
    pub fn series(&self, system: Option<&SystemName>, metric: &str) -> Option<&[f64]> {
        match system {
            None => PAIRED_METRICS
                .iter()
                .position(|m| m.name() == metric)
                .map(|idx| self.savings[idx].as_slice())
                .filter(|values| !values.is_empty()),
            Some(kind) => {
                let idx = METRICS.iter().position(|m| m.name() == metric)?;
                self.systems
                    .iter()
                    .find(|(s, _)| s == kind)
                    .map(|(_, columns)| columns[idx].as_slice())
            }
        }
    }
}

/// Statistics over replications, NaN values left out.
pub fn stats(values: &[f64]) -> Summary {
    summarise(
        &values
            .iter()
            .copied()
            .filter(|v| !v.is_nan())
            .collect::<Vec<f64>>(),
    )
}

/// Runs every point on replications `0..replications` (the same seeds at every point),
/// all (point, replication, system) runs in parallel on `threads`; `finished(events)`
/// after each run, for progress displays; setting `stop` ends every run early.
///
/// # Errors
/// The first failing run's error, or [`SimError::Stopped`].
pub fn run(
    scenarios: &[(Vec<Node>, Scenario)],
    replications: u64,
    threads: Option<usize>,
    finished: &(dyn Fn(u64) + Sync),
    stop: &AtomicBool,
) -> Result<Vec<PointResult>, SimError> {
    // (point, replication, the system's position in the point's scenario).
    let tasks: Vec<(usize, u64, usize)> = scenarios
        .iter()
        .enumerate()
        .flat_map(|(p, (_, scenario))| {
            let count = scenario.systems().len();
            (0..replications).flat_map(move |r| (0..count).map(move |s| (p, r, s)))
        })
        .collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .build()
        .map_err(|e| SimError::Threads {
            threads: threads.unwrap_or(0),
            reason: e.to_string(),
        })?;
    let samples: Vec<Result<Sample, SimError>> = pool.install(|| {
        tasks
            .par_iter()
            .map(|&(p, r, s)| {
                let scenario = &scenarios[p].1;
                let system = &scenario.systems()[s];
                if stop.load(Ordering::Relaxed) {
                    return Err(SimError::Stopped);
                }
                let row = montecarlo::run_system(scenario, r, system, stop)?;
                finished(row.events);
                let cells = row.segments.iter().flat_map(WorkCell::of_segment).collect();
                Ok((values_of(&row), cells))
            })
            .collect()
    });
    if stop.load(Ordering::Relaxed) {
        return Err(SimError::Stopped);
    }
    let mut samples = samples.into_iter();
    // Where the metric the paired savings compare sits among the sweep metrics.
    let spend_at = METRICS
        .iter()
        .position(|m| *m == CatalogMeasure::Run(Paired::SAVINGS_COMPARED))
        .expect("spend is a sweep metric");
    let mut out = Vec::with_capacity(scenarios.len());
    for (values, scenario) in scenarios {
        let mut systems: Vec<(SystemName, Vec<Vec<f64>>)> = scenario
            .systems()
            .into_iter()
            .map(|system| (system.name, vec![Vec::new(); METRICS.len()]))
            .collect();
        let mut savings = [Vec::new(), Vec::new()];
        // The positions of the pair compared (A, B) among the point's systems.
        let position = |name: &SystemName| systems.iter().position(|(s, _)| s == name);
        let pair = scenario
            .pair()
            .and_then(|(a, b)| Some((position(&a)?, position(&b)?)));
        for _ in 0..replications {
            let mut sides = Vec::new();
            for (_, columns) in &mut systems {
                let (values, cells) = samples.next().expect("one sample per task")?;
                for (column, value) in columns.iter_mut().zip(values) {
                    column.push(value);
                }
                sides.push((values[spend_at], cells));
            }
            if let Some((a, b)) = pair {
                let ((spend_a, cells_a), (spend_b, cells_b)) = (&sides[a], &sides[b]);
                savings[0].push(like_for_like(cells_a, cells_b).savings);
                savings[1].push(Paired::SavingsFraction.of(*spend_a, *spend_b));
            }
        }
        out.push(PointResult {
            values: values.clone(),
            systems,
            savings,
        });
    }
    Ok(out)
}

/// `SYSTEM.METRIC[_STAT]` or `savings_fraction[_STAT]`: what an objective or constraint reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Measure {
    /// `None` for the paired savings.
    pub system: Option<SystemName>,
    /// A [`METRICS`] name or one of [`PAIRED_METRICS`].
    pub metric: &'static str,
    /// `mean`, `p50`, `p05`, `p95`, `ci95_low` or `ci95_high`.
    pub stat: &'static str,
    /// As written.
    pub text: String,
}

const STATS: [&str; 6] = ["mean", "p50", "p05", "p95", "ci95_low", "ci95_high"];

impl Measure {
    /// Reads a measure.
    ///
    /// # Errors
    /// An unknown system, metric or statistic, with the valid ones.
    pub fn parse(text: &str) -> Result<Measure, String> {
        let text = text.trim();
        let (system, rest) = match text.split_once('.') {
            Some((system, rest))
                if !system.is_empty()
                    && system
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_')) =>
            {
                (Some(SystemName::new(system)), rest)
            }
            Some((other, _)) => {
                return Err(format!(
                    "unknown system `{other}`: a system's name (centralized, distributed, or an architecture of the scenario)"
                ));
            }
            None => (None, text),
        };
        let (metric, stat) = STATS
            .iter()
            .find_map(|stat| rest.strip_suffix(&format!("_{stat}")).map(|m| (m, *stat)))
            .unwrap_or((rest, "mean"));
        let metric = match system {
            None => PAIRED_METRICS
                .iter()
                .map(|m| m.name())
                .find(|name| *name == metric),
            Some(_) => METRICS.iter().map(|m| m.name()).find(|m| *m == metric),
        }
        .ok_or_else(|| {
            format!(
                "unknown measure `{text}`: SYSTEM.METRIC[_STAT] with METRIC one of {} (or savings_like_for_like[_STAT] or savings_fraction[_STAT] without a system), STAT one of {}",
                METRICS.map(|m| m.name()).join(", "),
                STATS.join(", ")
            )
        })?;
        Ok(Measure {
            system,
            metric,
            stat,
            text: text.to_string(),
        })
    }

    /// Its value at a point (NaN when the point has no such values).
    pub fn of(&self, point: &PointResult) -> f64 {
        let Some(series) = point.series(self.system.as_ref(), self.metric) else {
            return f64::NAN;
        };
        let s = stats(series);
        match self.stat {
            "p50" => s.p50,
            "p05" => s.p05,
            "p95" => s.p95,
            "ci95_low" => s.ci95_low,
            "ci95_high" => s.ci95_high,
            _ => s.mean,
        }
    }
}

/// `max:MEASURE` or `min:MEASURE`.
#[derive(Debug, Clone, PartialEq)]
pub struct Objective {
    /// Larger is better.
    pub maximize: bool,
    /// What is optimised.
    pub measure: Measure,
}

impl Objective {
    /// Reads `max:…`, `maximize:…`, `min:…` or `minimize:…`.
    ///
    /// # Errors
    /// Unknown direction or measure.
    pub fn parse(text: &str) -> Result<Objective, String> {
        let (direction, measure) = text.split_once(':').ok_or(
            "expected max:MEASURE or min:MEASURE, e.g. max:distributed.operator_yield_p50",
        )?;
        let maximize = match direction.trim() {
            "max" | "maximize" => true,
            "min" | "minimize" => false,
            other => return Err(format!("`{other}` is not a direction: max or min")),
        };
        Ok(Objective {
            maximize,
            measure: Measure::parse(measure)?,
        })
    }
}

/// `MEASURE<=X` or `MEASURE>=X`.
#[derive(Debug, Clone, PartialEq)]
pub struct Constraint {
    /// What is bounded.
    pub measure: Measure,
    /// `true` for ≤.
    pub at_most: bool,
    /// The bound.
    pub bound: f64,
}

impl Constraint {
    /// Reads a constraint.
    ///
    /// # Errors
    /// No comparison, a bad bound or measure.
    pub fn parse(text: &str) -> Result<Constraint, String> {
        let (measure, bound, at_most) = if let Some((m, b)) = text.split_once("<=") {
            (m, b, true)
        } else if let Some((m, b)) = text.split_once(">=") {
            (m, b, false)
        } else {
            return Err(
                "expected MEASURE<=X or MEASURE>=X, e.g. distributed.abandon_fraction<=0.02"
                    .to_string(),
            );
        };
        let bound = bound
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|b| b.is_finite())
            .ok_or(format!("`{}` is not a number", bound.trim()))?;
        Ok(Constraint {
            measure: Measure::parse(measure)?,
            at_most,
            bound,
        })
    }

    /// Whether a point satisfies it (a NaN value never does).
    pub fn holds(&self, point: &PointResult) -> bool {
        let value = self.measure.of(point);
        if self.at_most {
            value <= self.bound
        } else {
            value >= self.bound
        }
    }
}

/// The best point and the runner-up, and how sure the win is.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// Index of the best feasible point.
    pub best: usize,
    /// Index of the second best, if another point is feasible.
    pub runner_up: Option<usize>,
    /// Best minus runner-up, replication by replication (paired: same seeds), of the
    /// objective's metric: mean and 95% interval.
    pub difference: Option<Summary>,
    /// Points that met every constraint.
    pub feasible: usize,
}

/// Picks the best feasible point. `None` when no point meets the constraints.
pub fn choose(
    results: &[PointResult],
    objective: &Objective,
    constraints: &[Constraint],
) -> Option<Choice> {
    let mut feasible: Vec<(usize, f64)> = results
        .iter()
        .enumerate()
        .filter(|(_, point)| constraints.iter().all(|c| c.holds(point)))
        .map(|(idx, point)| (idx, objective.measure.of(point)))
        .filter(|(_, value)| !value.is_nan())
        .collect();
    // Best first; ties keep the earlier point.
    feasible.sort_by(|a, b| {
        if objective.maximize {
            b.1.total_cmp(&a.1)
        } else {
            a.1.total_cmp(&b.1)
        }
    });
    let (best, _) = *feasible.first()?;
    let runner_up = feasible.get(1).map(|(idx, _)| *idx);
    let difference = runner_up.and_then(|other| {
        let (a, b) = (
            results[best].series(objective.measure.system.as_ref(), objective.measure.metric)?,
            results[other].series(objective.measure.system.as_ref(), objective.measure.metric)?,
        );
        let paired: Vec<f64> = a
            .iter()
            .zip(b)
            .map(|(x, y)| x - y)
            .filter(|d| !d.is_nan())
            .collect();
        Some(summarise(&paired))
    });
    Some(Choice {
        best,
        runner_up,
        difference,
        feasible: feasible.len(),
    })
}

/// The path steps of an axis (for column names).
pub fn column_name(path: &str) -> String {
    parse_path(path).map_or_else(
        |_| path.to_string(),
        |steps| crate::scenario::overrides::path_text(&steps),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_and_designs() {
        let gpus = parse_axis("centralized.gpus=40,48,64").expect("list");
        assert_eq!(
            gpus.values,
            vec![Node::Int(40), Node::Int(48), Node::Int(64)]
        );
        let price = parse_axis("centralized.pricing.usd_per_gpu_hour=1.0..2.5:0.5").expect("range");
        assert_eq!(
            price.values,
            vec![
                Node::Float(1.0),
                Node::Float(1.5),
                Node::Float(2.0),
                Node::Float(2.5)
            ]
        );
        let tenths = parse_axis("x=1.2..2.4:0.4").expect("range");
        assert_eq!(
            tenths.values,
            vec![
                Node::Float(1.2),
                Node::Float(1.6),
                Node::Float(2.0),
                Node::Float(2.4)
            ]
        );
        assert_eq!(
            points(&[gpus.clone(), price.clone()], Design::Grid, 1)
                .expect("grid")
                .len(),
            12
        );
        assert!(
            points(&[gpus.clone(), price.clone()], Design::Zip, 1)
                .unwrap_err()
                .contains("one length")
        );
        let lhs = points(
            &[gpus.clone(), parse_axis("x=0..1").expect("range")],
            Design::Lhs(10),
            3,
        )
        .expect("lhs");
        assert_eq!(lhs.len(), 10);
        // Each tenth of the continuous range is used exactly once.
        let mut strata: Vec<usize> = lhs
            .iter()
            .map(|p| {
                if let Node::Float(x) = p[1] {
                    (x * 10.0) as usize
                } else {
                    99
                }
            })
            .collect();
        strata.sort_unstable();
        assert_eq!(strata, (0..10).collect::<Vec<_>>());
        assert!(
            points(&[parse_axis("x=0..1").expect("range")], Design::Grid, 1)
                .unwrap_err()
                .contains("needs --design lhs")
        );
        // A group varies together and is crossed with the rest: 3 (gpus) × 2 (zipped pair).
        let (a, b) = (
            parse_axis("a=1,2").expect("a"),
            parse_axis("b=10,20").expect("b"),
        );
        let grouped =
            grid_with_groups(&[gpus.clone(), a.clone(), b.clone()], &[vec![1, 2]]).expect("groups");
        assert_eq!(grouped.len(), 6);
        assert!(grouped.iter().all(|p| matches!(
            (&p[1], &p[2]),
            (Node::Int(1), Node::Int(10)) | (Node::Int(2), Node::Int(20))
        )));
        assert_eq!(
            grid_with_groups(&[gpus.clone(), a.clone(), b.clone()], &[]).expect("plain"),
            points(&[gpus.clone(), a.clone(), b.clone()], Design::Grid, 0).expect("grid")
        );
        assert!(
            grid_with_groups(&[gpus.clone(), a.clone()], &[vec![0, 1]])
                .unwrap_err()
                .contains("one length")
        );
        assert!(parse_axis("x=3..1:1").unwrap_err().contains("backwards"));
        assert!(parse_axis("x").unwrap_err().contains("KEY.PATH=LIST"));
    }

    #[test]
    fn measures_objectives_and_constraints_are_read() {
        let m = Measure::parse("distributed.operator_yield_p50").expect("measure");
        assert_eq!(
            (m.system, m.metric, m.stat),
            (
                Some(SystemName::from(crate::model::SystemKind::Distributed)),
                "operator_yield",
                "p50"
            )
        );
        assert_eq!(
            Measure::parse("savings_fraction").expect("paired").system,
            None
        );
        assert!(
            Measure::parse("distributed.yeld")
                .unwrap_err()
                .contains("unknown measure")
        );
        assert!(
            Objective::parse("max:centralized.utilization")
                .expect("objective")
                .maximize
        );
        let c = Constraint::parse("distributed.abandon_fraction <= 0.02").expect("constraint");
        assert!(c.at_most && c.bound == 0.02);
        assert!(Constraint::parse("x < 1").is_err());
    }
}

pub use crate::scenario::uncertainty::Range;

/// Reads `KEY.PATH=LOW..HIGH`.
///
/// # Errors
/// What is wrong with the text.
pub fn parse_range(spec: &str) -> Result<Range, String> {
    let axis = parse_axis(spec)?;
    let whole = |text: &str| text.trim().parse::<i64>().is_ok();
    let integer = spec
        .split_once('=')
        .and_then(|(_, v)| v.split_once(".."))
        .is_some_and(|(low, high)| whole(low) && whole(high));
    match axis.range {
        Some((low, high)) if high > low => Ok(Range { path: axis.path, low, high, integer, triangular: None }),
        _ => Err("expected KEY.PATH=LOW..HIGH with LOW < HIGH, e.g. distributed.pricing.usd_per_gpu_hour=1.5..2.5".to_string()),
    }
}

/// The points of a one-at-a-time design: the base (no override), then each range's low
/// and high with every other key at its base value.
pub fn tornado_points(ranges: &[Range]) -> Vec<Vec<Override>> {
    let mut points = vec![Vec::new()];
    for range in ranges {
        points.push(vec![range_override(range, range.low)]);
        points.push(vec![range_override(range, range.high)]);
    }
    points
}

/// The override that sets a range's key to `value`.
pub fn range_override(range: &Range, value: f64) -> Override {
    setting(&range.path, range.node(value)).expect("range paths were checked when read")
}

/// Every measure a point has: each system's [`METRICS`], then the paired savings.
fn measures_of(point: &PointResult) -> Vec<(Option<SystemName>, &'static str)> {
    let mut measures: Vec<(Option<SystemName>, &'static str)> = point
        .systems
        .iter()
        .flat_map(|(name, _)| METRICS.iter().map(move |m| (Some(name.clone()), m.name())))
        .collect();
    for (metric, values) in PAIRED_METRICS.iter().zip(&point.savings) {
        if !values.is_empty() {
            measures.push((None, metric.name()));
        }
    }
    measures
}

/// One bar of a tornado: how a measure moves from a key's low to its high value.
#[derive(Debug, Clone, PartialEq)]
pub struct TornadoRow {
    /// The key.
    pub parameter: String,
    /// Its low and high values.
    pub low: f64,
    /// High value.
    pub high: f64,
    /// `None` for the paired savings.
    pub system: Option<SystemName>,
    /// A [`METRICS`] name or one of [`PAIRED_METRICS`].
    pub metric: &'static str,
    /// Mean at the low value, the base, and the high value.
    pub at_low: f64,
    /// Mean at the base.
    pub at_base: f64,
    /// Mean at the high value.
    pub at_high: f64,
    /// High minus low, replication by replication (same seeds): mean and 95% interval.
    pub effect: Summary,
}

/// The tornado of `results` (from [`tornado_points`]`(ranges)`): one row per range ×
/// measure, measures in fixed order, within each the largest |effect| first.
pub fn tornado(results: &[PointResult], ranges: &[Range]) -> Vec<TornadoRow> {
    let base = &results[0];
    let measures = measures_of(base);
    let mean = |point: &PointResult, system: Option<&SystemName>, metric| {
        point
            .series(system, metric)
            .map_or(f64::NAN, |s| stats(s).mean)
    };
    let mut rows = Vec::new();
    for (system, metric) in measures {
        let mut group: Vec<TornadoRow> = ranges
            .iter()
            .enumerate()
            .map(|(idx, range)| {
                let (low, high) = (&results[1 + 2 * idx], &results[2 + 2 * idx]);
                let paired: Vec<f64> = match (
                    low.series(system.as_ref(), metric),
                    high.series(system.as_ref(), metric),
                ) {
                    (Some(a), Some(b)) => a
                        .iter()
                        .zip(b)
                        .map(|(x, y)| y - x)
                        .filter(|d| !d.is_nan())
                        .collect(),
                    _ => Vec::new(),
                };
                TornadoRow {
                    parameter: range.path.clone(),
                    low: range.low,
                    high: range.high,
                    system: system.clone(),
                    metric,
                    at_low: mean(low, system.as_ref(), metric),
                    at_base: mean(base, system.as_ref(), metric),
                    at_high: mean(high, system.as_ref(), metric),
                    effect: summarise(&paired),
                }
            })
            .collect();
        group.sort_by(|a, b| b.effect.mean.abs().total_cmp(&a.effect.mean.abs()));
        rows.extend(group);
    }
    rows
}

/// The points of a Saltelli design for Sobol indices over `ranges`: N rows of matrix A,
/// N of B, then for each key i the N rows of A with column i taken from B. Values are
/// drawn from each key's belief (uniform in its range, or triangular), seeded by `seed`.
pub fn saltelli_points(ranges: &[Range], samples: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = seeds::standard(seed, 0, Stream::SaltelliDesign);
    let mut draw = || -> Vec<f64> {
        ranges
            .iter()
            .map(|r| r.quantile(rng.random::<f64>()))
            .collect()
    };
    let a: Vec<Vec<f64>> = (0..samples).map(|_| draw()).collect();
    let b: Vec<Vec<f64>> = (0..samples).map(|_| draw()).collect();
    let mut points = [a.clone(), b.clone()].concat();
    for i in 0..ranges.len() {
        points.extend(a.iter().zip(&b).map(|(row_a, row_b)| {
            let mut row = row_a.clone();
            row[i] = row_b[i];
            row
        }));
    }
    points
}

/// First-order and total Sobol indices of each key from the outputs at the points of
/// [`saltelli_points`] (`outputs` in the same order): Saltelli et al. (2010) for the
/// first order (on outputs centred by their mean), Jansen (1999) for the total, both over
/// the variance of the A and B outputs. NaN when the output does not vary.
pub fn sobol_indices(outputs: &[f64], keys: usize) -> Vec<(f64, f64)> {
    let n = outputs.len() / (keys + 2);
    let (a, rest) = outputs.split_at(n);
    let (b, ab) = rest.split_at(n);
    let both: Vec<f64> = a.iter().chain(b).copied().collect();
    let mean = both.iter().sum::<f64>() / both.len() as f64;
    let variance = both.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / both.len() as f64;
    (0..keys)
        .map(|i| {
            let ab_i = &ab[i * n..(i + 1) * n];
            // Centred: the estimator's expectation does not depend on the mean, but its
            // variance does, badly so for outputs far from 0 (savings ≈ 0.74 ± 0.05).
            let first = (0..n)
                .map(|j| (b[j] - mean) * (ab_i[j] - a[j]))
                .sum::<f64>()
                / n as f64;
            let total = (0..n).map(|j| (a[j] - ab_i[j]).powi(2)).sum::<f64>() / (2.0 * n as f64);
            if variance > 0.0 {
                (first / variance, total / variance)
            } else {
                (f64::NAN, f64::NAN)
            }
        })
        .collect()
}

/// Sobol indices of one key for one measure.
#[derive(Debug, Clone, PartialEq)]
pub struct SobolRow {
    /// The key.
    pub parameter: String,
    /// `None` for the paired savings.
    pub system: Option<SystemName>,
    /// A [`METRICS`] name or one of [`PAIRED_METRICS`].
    pub metric: &'static str,
    /// Share of the output's variance due to this key alone.
    pub first_order: f64,
    /// Share due to this key with all its interactions.
    pub total: f64,
    /// The output's variance over the design, for scale.
    pub variance: f64,
}

/// Sobol rows of `results` (at the points of [`saltelli_points`]): each point's output
/// is the mean over its replications; within a measure, largest total index first.
pub fn sobol(results: &[PointResult], ranges: &[Range]) -> Vec<SobolRow> {
    let Some(first) = results.first() else {
        return Vec::new();
    };
    let measures = measures_of(first);
    let mut rows = Vec::new();
    for (system, metric) in measures {
        let outputs: Vec<f64> = results
            .iter()
            .map(|p| {
                p.series(system.as_ref(), metric)
                    .map_or(f64::NAN, |s| stats(s).mean)
            })
            .collect();
        let n = outputs.len() / (ranges.len() + 2);
        let both = &outputs[..2 * n];
        let variance = stats(both).std.powi(2);
        let mut group: Vec<SobolRow> = sobol_indices(&outputs, ranges.len())
            .into_iter()
            .zip(ranges)
            .map(|((first_order, total), range)| SobolRow {
                parameter: range.path.clone(),
                system: system.clone(),
                metric,
                first_order,
                total,
                variance,
            })
            .collect();
        group.sort_by(|x, y| y.total.total_cmp(&x.total));
        rows.extend(group);
    }
    rows
}

#[cfg(test)]
mod sobol_tests {
    use super::*;

    /// The Ishigami function, f = sin x₁ + 7 sin² x₂ + 0.1 x₃⁴ sin x₁ on [−π, π]³, has
    /// known indices (Ishigami & Homma 1990; Saltelli et al. 2010): S = 0.314, 0.442, 0;
    /// ST = 0.558, 0.442, 0.244. 2¹⁴ samples estimate them to about ±0.03.
    #[test]
    fn sobol_indices_of_the_ishigami_function() {
        let pi = std::f64::consts::PI;
        let ranges: Vec<Range> = (1..=3)
            .map(|i| Range {
                path: format!("x{i}"),
                low: -pi,
                high: pi,
                integer: false,
                triangular: None,
            })
            .collect();
        let points = saltelli_points(&ranges, 1 << 14, 42);
        let outputs: Vec<f64> = points
            .iter()
            .map(|x| x[0].sin() + 7.0 * x[1].sin().powi(2) + 0.1 * x[2].powi(4) * x[0].sin())
            .collect();
        let indices = sobol_indices(&outputs, 3);
        let expected = [(0.3139, 0.5576), (0.4424, 0.4424), (0.0, 0.2437)];
        for ((first, total), (s, st)) in indices.iter().zip(expected) {
            assert!((first - s).abs() < 0.03, "first order {first} vs {s}");
            assert!((total - st).abs() < 0.03, "total {total} vs {st}");
        }
    }
}
