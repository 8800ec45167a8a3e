//! What a run or merge prints: headline metrics with confidence intervals, yields,
//! returns, the paired comparison, speed, and the files written.

use std::io::{self, Write};
use std::path::PathBuf;

use crate::metrics::catalog::{Metric, Paired, Unit};
use crate::model::SystemName;
use crate::output::{self, Provenance, SummaryRow};
use crate::scenario::Scenario;

/// What a finished run (or merge) shows in the terminal.
pub(super) struct Report<'a> {
    /// The first line: scenario, replications, seed, window, hash.
    pub(super) title: String,
    /// Each system, its GPUs at the start, and whether it has prices.
    pub(super) systems: Vec<(SystemName, u64, bool)>,
    /// For the NPV label; `None` when not known (a merge).
    pub(super) discount_rate: Option<f64>,
    pub(super) summary: &'a [SummaryRow],
    pub(super) yields: &'a [output::YieldSummaryRow],
    pub(super) segments: &'a [output::SegmentSummaryRow],
    pub(super) providers: &'a [output::ProviderSummaryRow],
    /// The paired rows' label (`B_vs_A`).
    pub(super) paired_label: Option<&'a str>,
    /// Events simulated, wall time in seconds and threads (not for a merge).
    pub(super) speed: Option<(u64, f64, String)>,
}

impl<'a> Report<'a> {
    pub(super) fn of_run(
        scenario: &Scenario,
        provenance: &Provenance,
        summaries: &'a output::Summaries,
    ) -> Report<'a> {
        let sim = &scenario.simulation;
        Report {
            title: format!(
                "{} · {} replications · seed {} · window [{}, {}) h · scenario hash {}",
                scenario.name,
                provenance.replications.1 - provenance.replications.0,
                sim.seed,
                sim.warmup_hours,
                sim.horizon_hours,
                provenance.scenario_hash
            ),
            systems: scenario
                .systems()
                .into_iter()
                .map(|system| {
                    let (gpus, priced) = (system.initial_gpus(), system.priced());
                    (system.name, gpus, priced)
                })
                .collect(),
            discount_rate: Some(scenario.finance.discount_rate),
            summary: &summaries.summary,
            yields: &summaries.yields,
            segments: &summaries.segments,
            providers: &summaries.providers,
            paired_label: summaries.paired_label.as_deref(),
            speed: None,
        }
    }
}

/// What a paired row means, where its name does not say it.
fn paired_note(metric: &str) -> &'static str {
    match Paired::from_name(metric) {
        Some(Paired::SavingsLikeForLike) => "  same work, same weights",
        Some(Paired::SavingsFraction) => "  ratio of mean prices paid",
        Some(Paired::WorkServedOnlyInA | Paired::WorkServedOnlyInB) => "  GPU-hours",
        _ => "",
    }
}

/// Per segment, each system's lost demand and what it paid per GPU-hour of work served,
/// contract fees (unused commitment included) with the jobs' payments.
fn print_segments(out: &mut impl Write, report: &Report) -> io::Result<()> {
    let mut segments: Vec<&str> = Vec::new();
    for row in report.segments {
        if !segments.contains(&row.segment.as_str()) {
            segments.push(&row.segment);
        }
    }
    if segments.is_empty() {
        return Ok(());
    }
    let value = |system: &SystemName, segment: &str, metric: &str| {
        report
            .segments
            .iter()
            .find(|r| r.system == *system && r.segment == segment && r.metric == metric)
            .map_or(f64::NAN, |r| r.stats.mean)
    };
    write!(out, "\n{:<32}", "by segment (means)")?;
    for (system, _, _) in &report.systems {
        write!(
            out,
            " {:>19} {:>19}",
            format!("{system} lost"),
            format!("{system} $/GPU-h")
        )?;
    }
    writeln!(out)?;
    for segment in segments {
        write!(out, "  {segment:<30}")?;
        for (system, _, priced) in &report.systems {
            let price = if *priced {
                number(value(system, segment, "spend_usd_per_useful_gpu_hour"))
            } else {
                "n/a".to_string()
            };
            write!(
                out,
                " {:>19} {:>19}",
                number(value(system, segment, "lost_demand_fraction")),
                price
            )?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// Per provider of each architecture that has several, the means of what it sold: a
/// market's split between its providers is a result the system rows do not show.
fn print_providers(out: &mut impl Write, report: &Report) -> io::Result<()> {
    let mut keys: Vec<(&SystemName, &str)> = Vec::new();
    for row in report.providers {
        if !keys.contains(&(&row.system, row.provider.as_str())) {
            keys.push((&row.system, &row.provider));
        }
    }
    let several = |system: &SystemName| keys.iter().filter(|(s, _)| *s == system).count() > 1;
    if !keys.iter().any(|(system, _)| several(system)) {
        return Ok(());
    }
    let columns = [
        ("utilization", "utilization"),
        ("busy_gpu_hours", "busy GPU-h"),
        ("jobs_started", "jobs started"),
        ("spend_usd", "spend $"),
        ("price_at_horizon_usd", "$/GPU-h at end"),
    ];
    write!(out, "\n{:<32}", "by provider (means)")?;
    for (_, label) in columns {
        write!(out, " {label:>15}")?;
    }
    writeln!(out, " {:>15}", "yield y1 (P50)")?;
    for &(system, provider) in keys.iter().filter(|(system, _)| several(system)) {
        write!(out, "  {:<30}", format!("{system} · {provider}"))?;
        for (metric, _) in columns {
            let mean = report
                .providers
                .iter()
                .find(|r| r.system == *system && r.provider == provider && r.metric == metric)
                .map_or(f64::NAN, |r| r.stats.mean);
            write!(out, " {:>15}", number(mean))?;
        }
        let first_year_yield = report.yields.iter().find(|row| {
            row.system == *system
                && row.provider.as_deref() == Some(provider)
                && row.cohort.is_none()
                && row.year == Some(1)
                && row.metric == "yield"
                && row.stats.n > 0
        });
        match first_year_yield {
            Some(row) => write!(out, " {:>15}", format!("{:.1}%", 100.0 * row.stats.p50))?,
            None => write!(out, " {:>15}", "n/a")?,
        }
        writeln!(out)?;
    }
    Ok(())
}

pub(super) fn print_run_report(report: &Report, written: &[PathBuf]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{}", report.title)?;
    for (system, initial_gpus, priced) in &report.systems {
        writeln!(
            out,
            "\n{system} ({initial_gpus} GPUs at the start)          mean   95% CI of the mean"
        )?;
        let shown = |row: &&SummaryRow| {
            let metric = HEADLINE.iter().find(|m| m.name() == row.metric);
            let money = |m: &&Metric| matches!(m.unit(), Unit::Usd | Unit::UsdPerGpuHour);
            row.system == system.as_str() && metric.is_some_and(|m| *priced || !money(&m))
        };
        for row in report.summary.iter().filter(shown) {
            let s = &row.stats;
            writeln!(
                out,
                "  {:<24} {:>12}   [{}, {}]",
                row.metric,
                number(s.mean),
                number(s.ci95_low),
                number(s.ci95_high)
            )?;
        }
        if *priced {
            print_yields(&mut out, system, report.yields, report.discount_rate)?;
        }
    }
    print_segments(&mut out, report)?;
    print_providers(&mut out, report)?;
    let mut paired: Vec<&SummaryRow> = report
        .summary
        .iter()
        .filter(|row| Some(row.system.as_str()) == report.paired_label)
        .collect();
    // The headline first: savings on the same basket of work.
    let like_for_like = Paired::SavingsLikeForLike.name();
    paired.sort_by_key(|row| row.metric != like_for_like);
    if !paired.is_empty() {
        let title = report
            .paired_label
            .unwrap_or_default()
            .replacen("_vs_", " vs ", 1);
        writeln!(
            out,
            "\n{title}, paired on the same jobs      mean   95% CI of the mean"
        )?;
        for row in paired {
            let s = &row.stats;
            if output::crn_variance_reduction_names().contains(&row.metric)
                || output::antithetic_variance_reduction_names().contains(&row.metric)
            {
                continue;
            }
            if s.n == 0 {
                writeln!(
                    out,
                    "  {:<32} {:>12}   (give both systems a `pricing:` section)",
                    row.metric, "n/a"
                )?;
                continue;
            }
            writeln!(
                out,
                "  {:<32} {:>12}   [{}, {}]{}",
                row.metric,
                number(s.mean),
                number(s.ci95_low),
                number(s.ci95_high),
                paired_note(row.metric)
            )?;
        }
        let factors = |names: &[&str], suffix: &str| -> Vec<String> {
            report
                .summary
                .iter()
                .filter(|row| names.contains(&row.metric) && row.stats.mean.is_finite())
                .map(|row| {
                    format!(
                        "{} {:.2}×",
                        row.metric.trim_end_matches(suffix),
                        row.stats.mean
                    )
                })
                .collect()
        };
        let crn = factors(
            &output::crn_variance_reduction_names(),
            "_crn_variance_reduction",
        );
        if !crn.is_empty() {
            writeln!(
                out,
                "  variance cut by pairing on the same jobs (vs independent streams): {}",
                crn.join(", ")
            )?;
        }
        let antithetic = factors(
            &output::antithetic_variance_reduction_names(),
            "_antithetic_variance_reduction",
        );
        if !antithetic.is_empty() {
            writeln!(
                out,
                "  variance of the mean cut by antithetic pairs (vs independent replications): {}",
                antithetic.join(", ")
            )?;
        }
    }
    if let Some((events, elapsed, threads)) = &report.speed {
        writeln!(
            out,
            "\n{:.1} M events in {elapsed:.2} s ({:.1} M events/s on {threads} threads)",
            *events as f64 / 1e6,
            *events as f64 / elapsed.max(1e-9) / 1e6
        )?;
    } else {
        writeln!(out)?;
    }
    for path in written {
        writeln!(out, "wrote {}", path.display())?;
    }
    Ok(())
}

/// The whole system's yield per year and its returns, as P50 [P5–P95] over replications.
fn print_yields(
    out: &mut impl Write,
    system: &SystemName,
    yields: &[output::YieldSummaryRow],
    discount_rate: Option<f64>,
) -> io::Result<()> {
    let of = |metric: &str, year: Option<u32>| {
        yields.iter().find(|row| {
            row.system == *system
                && row.provider.is_none()
                && row.cohort.is_none()
                && row.year == year
                && row.metric == metric
        })
    };
    let band = |row: &output::YieldSummaryRow, percent: bool| {
        let s = &row.stats;
        let show = |v: f64| {
            if percent {
                format!("{:.1}%", 100.0 * v)
            } else {
                number(v)
            }
        };
        if s.n == 0 {
            "n/a".to_string()
        } else {
            format!("{} [{} – {}]", show(s.p50), show(s.p05), show(s.p95))
        }
    };
    let years = yields.iter().filter(|row| {
        row.system == *system
            && row.provider.is_none()
            && row.cohort.is_none()
            && row.metric == "yield"
    });
    let mut line = String::new();
    for row in years.filter(|row| row.year.is_some_and(|y| y > 0)) {
        line.push_str(&format!(
            "  year {}: {}",
            row.year.unwrap_or(0),
            band(row, true)
        ));
    }
    writeln!(
        out,
        "  yield (operating cash ÷ capital employed), P50 [P5 – P95]:{line}"
    )?;
    let mut returns = Vec::new();
    let missing = |row: &output::YieldSummaryRow, what: &str| {
        let total = row.undefined + row.stats.n;
        if row.undefined > 0 {
            format!(" ({} of {total} {what})", row.undefined)
        } else {
            String::new()
        }
    };
    if let Some(row) = of("irr", None) {
        returns.push(format!(
            "IRR {}{}",
            band(row, true),
            missing(row, "without one")
        ));
    }
    if let Some(row) = of("npv_usd", None) {
        let s = &row.stats;
        let rate =
            discount_rate.map_or_else(String::new, |rate| format!(" at {:.0}%", 100.0 * rate));
        returns.push(format!(
            "NPV{rate} {} [{} – {}]",
            usd(s.p50),
            usd(s.p05),
            usd(s.p95)
        ));
    }
    if let Some(row) = of("payback_years", None) {
        returns.push(if row.stats.n == 0 {
            format!(
                "payback not within the horizon in any of {} replications",
                row.undefined
            )
        } else {
            format!(
                "payback {} years{}",
                band(row, false),
                missing(row, "not within the horizon")
            )
        });
    }
    writeln!(out, "  {}", returns.join(" · "))
}

/// Dollars for the terminal, in k, M or B.
fn usd(value: f64) -> String {
    let magnitude = value.abs();
    let (scaled, unit) = if magnitude >= 1e9 {
        (value / 1e9, "B")
    } else if magnitude >= 1e6 {
        (value / 1e6, "M")
    } else if magnitude >= 1e3 {
        (value / 1e3, "k")
    } else {
        (value, "")
    };
    let sign = if scaled < 0.0 { "-" } else { "" };
    format!("{sign}${:.2}{unit}", scaled.abs())
}

/// A number for the terminal: whole counts without decimals, small values in
/// scientific notation so that 0.00004 does not print as 0.0000.
pub(super) fn number(value: f64) -> String {
    let magnitude = value.abs();
    if !value.is_finite() {
        format!("{value}")
    } else if magnitude >= 1000.0 {
        format!("{value:.0}")
    } else if magnitude == 0.0 || magnitude >= 0.01 {
        format!("{value:.4}")
    } else {
        format!("{value:.2e}")
    }
}

/// Metrics shown in the terminal report; the rest are in summary.parquet.
const HEADLINE: [Metric; 8] = [
    Metric::Utilization,
    Metric::PWait,
    Metric::MeanWaitHours,
    Metric::P95WaitHours,
    Metric::LostDemandFraction,
    Metric::SpendUsdPerGpuHour,
    Metric::GpusAtHorizon,
    Metric::JobsArrived,
];
