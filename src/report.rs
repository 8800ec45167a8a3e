//! The HTML report of a run: one self-contained file (inline SVG and CSS, a few lines of
//! script that check the page drew, nothing fetched), for people who would rather look
//! at a fan chart than read a table.
//!
//! [`load`] reads a result directory's tables into a [`ReportData`]; [`render`] turns
//! that into the page and does no I/O, so tests can render hand-made data.
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::dbg_macro)]

pub mod chart;
pub mod load;

use std::fmt::Write;

use chart::{Band, Bar, Labels, Series, escape};
pub use load::load;

use crate::metrics::catalog::{Finance, Measure, Metric, Paired, Weekly};
use crate::output::Provenance;

/// One row of `summary.parquet`: a metric's statistics for one system.
#[derive(Debug, Clone, PartialEq)]
pub struct Statistic {
    /// `centralized`, `distributed` or `distributed_vs_centralized`.
    pub system: String,
    /// Metric name.
    pub metric: String,
    /// Mean over replications.
    pub mean: f64,
    /// 95% interval of the mean.
    pub ci95: (f64, f64),
    /// P05, P50 and P95 over replications.
    pub quantiles: [f64; 3],
}

/// A quantity over time for one system: weeks or years, with P05, P50 and P95.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    /// System, and for yields the cohort (`None`: the whole system).
    pub system: String,
    /// Cohort of operators (distributed network yields only).
    pub cohort: Option<u32>,
    /// Metric name.
    pub metric: String,
    /// (week or year, P05, P50, P95).
    pub points: Vec<Band>,
}

/// A sweep's table, reduced to what its chart needs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sweep {
    /// The varied keys, in column order.
    pub axes: Vec<String>,
    /// One row per point × system: the axes' values (as text), the system, and each
    /// metric's (mean, CI low, CI high).
    pub rows: Vec<SweepRow>,
}

/// One point × system of a sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepRow {
    /// Each axis's value at this point, as text.
    pub values: Vec<String>,
    /// The axes' values as numbers, when all are numeric.
    pub numbers: Option<Vec<f64>>,
    /// System.
    pub system: String,
    /// (metric, mean, CI low, CI high).
    pub metrics: Vec<(String, f64, f64, f64)>,
}

/// One key × measure of a tornado.
#[derive(Debug, Clone, PartialEq)]
pub struct Effect {
    /// The key.
    pub parameter: String,
    /// Its low and high values.
    pub range: (f64, f64),
    /// System (or `distributed_vs_centralized`).
    pub system: String,
    /// Measure.
    pub metric: String,
    /// Change from low to high, with its 95% interval.
    pub effect: (f64, f64, f64),
}

/// Everything the report shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportData {
    /// Where the numbers came from (the first of summary, sweep, sensitivity present).
    pub provenance: Provenance,
    /// Problems the reader must see first, such as tables of different scenarios.
    pub warnings: Vec<String>,
    /// `summary.parquet`.
    pub summary: Vec<Statistic>,
    /// Weekly paths from `timeseries.parquet`.
    pub weeks: Vec<Path>,
    /// Paired savings like for like per replication, from `savings.parquet` (empty with
    /// one system).
    pub savings: Vec<f64>,
    /// Yearly paths from `yields_summary.parquet`, per system and cohort.
    pub years: Vec<Path>,
    /// Each system's yield in year 1 (`yields_summary.parquet`, whole system).
    pub first_year_yield: Vec<Statistic>,
    /// `yields_summary.parquet` rows without a year (NPV, IRR, payback), with the cohort.
    pub returns: Vec<(String, Option<u32>, Statistic)>,
    /// `sweep.parquet`, when the directory holds one.
    pub sweep: Option<Sweep>,
    /// `sensitivity.parquet`, when the directory holds one.
    pub sensitivity: Vec<Effect>,
}

/// The headline rows, in order (labels and units from the catalog).
const HEADLINE: [Measure; 6] = [
    Measure::Paired(Paired::SavingsLikeForLike),
    Measure::Paired(Paired::SavingsFraction),
    Measure::Run(Metric::Utilization),
    Measure::Run(Metric::P95WaitHours),
    Measure::Run(Metric::LostDemandFraction),
    Measure::Run(Metric::SpendUsdPerGpuHour),
];

/// A unit as it follows a number on the page: `%` directly, others after a space.
fn suffix(unit: &str) -> String {
    if unit == "%" {
        unit.to_string()
    } else {
        format!(" {unit}")
    }
}

/// The page, as one string.
pub fn render(data: &ReportData) -> String {
    let mut charts: Vec<(String, String)> = Vec::new();
    weekly_charts(data, &mut charts);
    // Savings exist only when both systems bill (NaN otherwise).
    if data.savings.iter().any(|v| v.is_finite()) {
        let values: Vec<f64> = data.savings.iter().map(|s| s * 100.0).collect();
        let labels = Labels {
            title: "Paired customer savings like for like across replications",
            x: "savings (% of the centralized price of the same work)",
            y: "replications",
        };
        charts.push((
            "Each replication offers the same jobs to both systems; each segment × tier's price per GPU-hour is weighed by the work it offered, the same in both (savings_like_for_like). The dashed line is the mean."
                .into(),
            chart::histogram("savings", labels, &values),
        ));
    }
    yearly_charts(data, &mut charts);
    sweep_charts(data, &mut charts);
    tornado_charts(data, &mut charts);
    page(data, &charts)
}

fn weekly_charts(data: &ReportData, charts: &mut Vec<(String, String)>) {
    let charts_of = [
        (
            Weekly::InstalledGpus.name(),
            "Installed GPUs",
            "GPUs installed (end of week)",
            1.0,
        ),
        (
            Weekly::Utilization.name(),
            "GPU utilization",
            "utilization (% of GPU-hours up)",
            100.0,
        ),
        (
            Weekly::PriceUsdPerGpuHour.name(),
            "Price paths",
            "price ($ per reference GPU-hour)",
            1.0,
        ),
        (
            Weekly::QueueLength.name(),
            "Jobs waiting",
            "jobs waiting (time average)",
            1.0,
        ),
    ];
    for (metric, title, y, scale) in charts_of {
        let series: Vec<Series> = data
            .weeks
            .iter()
            .filter(|p| p.metric == metric)
            .map(|p| Series {
                label: p.system.clone(),
                points: scaled(&p.points, scale),
            })
            .collect();
        if series
            .iter()
            .all(|s| s.points.iter().all(|b| !b.mid.is_finite()))
        {
            continue;
        }
        let id = format!("weeks-{metric}");
        let labels = Labels {
            title,
            x: "week since the start (warm-up included)",
            y,
        };
        charts.push((
            "Band: P05–P95 across replications; line: median.".into(),
            chart::fan(&id, labels, &series),
        ));
    }
}

fn yearly_charts(data: &ReportData, charts: &mut Vec<(String, String)>) {
    let whole: Vec<Series> = data
        .years
        .iter()
        .filter(|p| p.metric == "yield" && p.cohort.is_none())
        .map(|p| Series {
            label: p.system.clone(),
            points: scaled(&p.points, 100.0),
        })
        .collect();
    if !whole.is_empty() {
        let labels = Labels {
            title: "Investor yield per year",
            x: "year",
            y: "yield (% of capital employed)",
        };
        charts.push((
            "Operating cash flow ÷ capital employed. Band: P05–P95 across replications; line: median.".into(),
            chart::fan("years-yield", labels, &whole),
        ));
    }
    let cohorts: Vec<Series> = data
        .years
        .iter()
        .filter(|p| p.metric == "yield" && p.cohort.is_some())
        .map(|p| Series {
            label: format!("{} cohort {}", p.system, p.cohort.unwrap_or(0)),
            points: scaled(&p.points, 100.0),
        })
        .collect();
    if !cohorts.is_empty() {
        let labels = Labels {
            title: "Operator yield per year, by cohort",
            x: "year",
            y: "yield (% of capital employed)",
        };
        charts.push((
            "Cohort k: operators that joined in year k (0: present at the start).".into(),
            chart::fan("years-yield-cohorts", labels, &cohorts),
        ));
    }
}

fn sweep_charts(data: &ReportData, charts: &mut Vec<(String, String)>) {
    let Some(sweep) = &data.sweep else { return };
    let savings = Paired::SavingsLikeForLike.name();
    let wanted = [
        (savings, "paired savings like for like (%)", 100.0),
        (Metric::Utilization.name(), "utilization (%)", 100.0),
        (Finance::OperatorYield.name(), "yield (%)", 100.0),
    ];
    match sweep.axes.len() {
        1 => {
            for (metric, y, scale) in wanted {
                let mut systems = sweep_systems(sweep);
                // The paired metric is the same on every system's row: draw it once.
                if metric == savings {
                    systems.truncate(1);
                }
                let series: Vec<Series> = systems
                    .iter()
                    .map(|system| Series {
                        label: if metric == savings {
                            "distributed vs centralized".into()
                        } else {
                            system.clone()
                        },
                        points: sweep
                            .rows
                            .iter()
                            .enumerate()
                            .filter(|(_, r)| &r.system == system)
                            .filter_map(|(i, r)| {
                                let x = r.numbers.as_ref().map_or(i as f64, |n| n[0]);
                                let (_, mean, low, high) =
                                    r.metrics.iter().find(|m| m.0 == metric)?;
                                Some(Band {
                                    x,
                                    low: low * scale,
                                    mid: mean * scale,
                                    high: high * scale,
                                })
                            })
                            .collect(),
                    })
                    .collect();
                if series
                    .iter()
                    .all(|s| s.points.iter().all(|b| !b.mid.is_finite()))
                {
                    continue;
                }
                let title = format!("Sweep: {metric} against {}", sweep.axes[0]);
                let labels = Labels {
                    title: &title,
                    x: &sweep.axes[0],
                    y,
                };
                charts.push((
                    "Line: mean over replications; band: its 95% interval.".into(),
                    chart::fan(&format!("sweep-{metric}"), labels, &series),
                ));
            }
        }
        2 => {
            let distinct = |k: usize| {
                let mut values: Vec<String> = Vec::new();
                for row in &sweep.rows {
                    if !values.contains(&row.values[k]) {
                        values.push(row.values[k].clone());
                    }
                }
                values
            };
            let (xs, ys) = (distinct(0), distinct(1));
            for (metric, y, scale) in wanted {
                let systems = sweep_systems(sweep);
                let system = if metric != savings {
                    systems.last().cloned()
                } else {
                    systems.first().cloned()
                };
                let Some(system) = system else { continue };
                let cells: Vec<(usize, usize, f64)> = sweep
                    .rows
                    .iter()
                    .filter(|r| r.system == system)
                    .filter_map(|r| {
                        let i = xs.iter().position(|v| v == &r.values[0])?;
                        let j = ys.iter().position(|v| v == &r.values[1])?;
                        let (_, mean, _, _) = r.metrics.iter().find(|m| m.0 == metric)?;
                        Some((i, j, mean * scale))
                    })
                    .collect();
                if cells.iter().all(|c| !c.2.is_finite()) {
                    continue;
                }
                let who = if metric == savings {
                    "paired".to_string()
                } else {
                    system.clone()
                };
                let title = format!("Sweep: {y}, {who}");
                let labels = Labels {
                    title: &title,
                    x: &sweep.axes[0],
                    y: &sweep.axes[1],
                };
                charts.push((
                    "Each cell: the mean over replications at that point.".into(),
                    chart::heatmap(&format!("sweep-{metric}"), labels, &xs, &ys, &cells),
                ));
            }
        }
        _ => {}
    }
}

/// The systems of a sweep's rows, in first-seen order.
fn sweep_systems(sweep: &Sweep) -> Vec<String> {
    let mut systems: Vec<String> = Vec::new();
    for row in &sweep.rows {
        if !systems.contains(&row.system) {
            systems.push(row.system.clone());
        }
    }
    systems
}

fn tornado_charts(data: &ReportData, charts: &mut Vec<(String, String)>) {
    let mut groups: Vec<(String, String)> = Vec::new();
    for effect in &data.sensitivity {
        let group = (effect.system.clone(), effect.metric.clone());
        if !groups.contains(&group) {
            groups.push(group);
        }
    }
    for (system, metric) in groups {
        let mut bars: Vec<Bar> = data
            .sensitivity
            .iter()
            .filter(|e| e.system == system && e.metric == metric)
            .map(|e| Bar {
                label: format!(
                    "{} ({} → {})",
                    e.parameter,
                    chart::tick_text(e.range.0, e.range.0.abs() / 100.0),
                    chart::tick_text(e.range.1, e.range.1.abs() / 100.0)
                ),
                value: e.effect.0,
                low: e.effect.1,
                high: e.effect.2,
            })
            .collect();
        // A measure no key moves (the cloud's, under the network's price) has nothing to show.
        if bars.iter().all(|b| b.value == 0.0 || !b.value.is_finite()) {
            continue;
        }
        bars.sort_by(|a, b| b.value.abs().total_cmp(&a.value.abs()));
        let title = format!("What moves {metric} ({system})");
        let labels = Labels {
            title: &title,
            x: &format!("change in {metric}, key at low → high"),
            y: "",
        };
        charts.push((
            "Each bar: the paired change when one key goes from its low to its high value; whisker: its 95% interval.".into(),
            chart::tornado(&format!("tornado-{system}-{metric}"), labels, &bars),
        ));
    }
}

fn scaled(points: &[Band], by: f64) -> Vec<Band> {
    points
        .iter()
        .map(|b| Band {
            x: b.x,
            low: b.low * by,
            mid: b.mid * by,
            high: b.high * by,
        })
        .collect()
}

/// A number with the precision the reader needs.
fn number(value: f64) -> String {
    if !value.is_finite() {
        return "–".into();
    }
    match value.abs() {
        v if v >= 1e6 => format!("{:.2}M", value / 1e6),
        v if v >= 100.0 => format!("{value:.0}"),
        v if v >= 10.0 => format!("{value:.1}"),
        _ => format!("{value:.2}"),
    }
}

fn headline_table(data: &ReportData) -> String {
    let mut html = String::from(
        "<table><thead><tr><th>metric</th><th>system</th><th>mean</th><th>95% CI of the mean</th><th>P50 [P05–P95] across replications</th></tr></thead><tbody>",
    );
    let mut row = |label: &str, system: &str, s: &Statistic, scale: f64, unit: &str| {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}{unit}</td><td>[{}, {}]{unit}</td><td>{}{unit} [{}–{}]</td></tr>",
            escape(label),
            escape(system),
            number(s.mean * scale),
            number(s.ci95.0 * scale),
            number(s.ci95.1 * scale),
            number(s.quantiles[1] * scale),
            number(s.quantiles[0] * scale),
            number(s.quantiles[2] * scale)
        );
    };
    for measure in HEADLINE {
        let (scale, unit) = measure.unit().display();
        for s in data.summary.iter().filter(|s| s.metric == measure.name()) {
            row(measure.label(), &s.system, s, scale, &suffix(unit));
        }
    }
    // An investor's two numbers: the first year's yield, and the return over the horizon.
    for s in &data.first_year_yield {
        row("Investor yield, year 1", &s.system, s, 100.0, "%");
    }
    for (system, _, s) in data
        .returns
        .iter()
        .filter(|(_, cohort, s)| cohort.is_none() && s.metric == Finance::Irr.name())
    {
        row("Internal rate of return", system, s, 100.0, "%");
    }
    html.push_str("</tbody></table>");
    html
}

/// The check the page runs on itself once loaded: every chart drew marks with a size.
/// The result lands in `#selfcheck` (`data-ok`, `data-charts`), which a headless
/// browser's DOM dump shows, and any script error turns it to "failed".
const SELF_CHECK: &str = r#"<script>
(function () {
  var status = document.getElementById("selfcheck");
  var errors = [];
  window.addEventListener("error", function (e) { errors.push(String(e.message)); });
  window.addEventListener("load", function () {
    var charts = document.querySelectorAll("svg.chart");
    var empty = [];
    charts.forEach(function (svg) {
      var marks = svg.querySelectorAll(".mark");
      var drawn = 0;
      marks.forEach(function (m) { var b = m.getBBox(); if (b.width > 0 || b.height > 0) { drawn += 1; } });
      if (drawn === 0) { empty.push(svg.id); }
    });
    var ok = errors.length === 0 && empty.length === 0 && charts.length > 0;
    status.setAttribute("data-ok", ok ? "true" : "false");
    status.setAttribute("data-charts", String(charts.length));
    status.textContent = ok ? "All " + charts.length + " charts drew." : "Problems: empty charts [" + empty.join(", ") + "] errors [" + errors.join("; ") + "]";
  });
})();
</script>"#;

const STYLE: &str = "body{font-family:sans-serif;max-width:800px;margin:2em auto;color:#222;padding:0 1em}\
h1{font-size:1.6em;margin-bottom:0.2em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}\
table{border-collapse:collapse;font-size:0.9em;margin:1em 0}td,th{border-bottom:1px solid #eee;padding:4px 8px;text-align:left}\
td:nth-child(n+3){font-variant-numeric:tabular-nums}.meta{color:#555;font-size:0.9em}\
figure{margin:1.5em 0}figcaption{color:#555;font-size:0.85em}#selfcheck{color:#888;font-size:0.8em}\
.warning{background:#fff3cd;border:1px solid #e0b000;padding:0.5em 1em}";

fn page(data: &ReportData, charts: &[(String, String)]) -> String {
    let p = &data.provenance;
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>capsim report: {name}</title><style>{STYLE}</style></head><body>",
        name = escape(&p.scenario)
    );
    let _ = write!(html, "<h1>{}</h1>", escape(&p.scenario));
    let shard = p
        .shard
        .map_or_else(String::new, |(k, n)| format!(", shard {k} of {n}"));
    let _ = write!(
        html,
        "<p class=\"meta\">scenario hash <code>{}</code> · seed {} · replications {}–{}{}{} · capsim {}</p>",
        escape(&p.scenario_hash),
        p.seed,
        p.replications.0,
        p.replications.1.saturating_sub(1),
        if p.antithetic {
            " (antithetic pairs)"
        } else {
            ""
        },
        shard,
        escape(&p.capsim_version)
    );
    for warning in &data.warnings {
        let _ = write!(
            html,
            "<p class=\"warning\">Warning: {}</p>",
            escape(warning)
        );
    }
    html.push_str("<h2>Headline</h2>");
    if data.summary.is_empty() {
        html.push_str(
            "<p>No run summary in this directory (summary.parquet): the charts below come from its sweep or sensitivity tables.</p>",
        );
    } else {
        html.push_str(&headline_table(data));
    }
    html.push_str("<h2>Charts</h2>");
    for (caption, svg) in charts {
        let _ = write!(
            html,
            "<figure>{svg}<figcaption>{}</figcaption></figure>",
            escape(caption)
        );
    }
    html.push_str("<p id=\"selfcheck\" data-ok=\"pending\">Checking the charts…</p>");
    html.push_str(SELF_CHECK);
    html.push_str("</body></html>\n");
    html
}
