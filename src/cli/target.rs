//! How many replications to run: `--target-ci` batches, and the progress bar that
//! watches them (the shell's business; results never depend on either's timing).

use std::io;

use crate::cli::Failure;
use crate::cli::report::number;
use crate::metrics::catalog::Paired;
use crate::montecarlo;
use crate::output;
use crate::results::Results;
use crate::scenario::Scenario;

/// Progress on stderr: replications done, events per second and time left. Drawn only
/// on a terminal and without --quiet; the shell's business, never the results'.
pub(super) struct Progress {
    bar: Option<indicatif::ProgressBar>,
    pub(super) quiet: bool,
    events: std::sync::atomic::AtomicU64,
}

impl Progress {
    pub(super) fn new(replications: u64, quiet: bool) -> Progress {
        Progress::counting(replications, "replications", quiet)
    }

    /// A bar over `total` things called `unit` (e.g. system runs of a sweep).
    pub(super) fn counting(total: u64, unit: &str, quiet: bool) -> Progress {
        use std::io::IsTerminal;
        let shown = !quiet && io::stderr().is_terminal();
        let bar = shown.then(|| {
            let bar = indicatif::ProgressBar::new(total);
            let template = format!(
                "{{bar:30}} {{pos}}/{{len}} {unit} · {{msg}} · {{elapsed}} elapsed, ~{{eta}} left"
            );
            let style = indicatif::ProgressStyle::with_template(&template)
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            bar.set_style(style);
            bar
        });
        Progress {
            bar,
            quiet,
            events: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// One replication ended after `events` events.
    pub(super) fn finished(&self, events: u64) {
        if let Some(bar) = &self.bar {
            let total = self
                .events
                .fetch_add(events, std::sync::atomic::Ordering::Relaxed)
                + events;
            bar.inc(1);
            let seconds = bar.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!("{:.1} M events/s", total as f64 / seconds / 1e6));
        }
    }

    /// More replications were added to the run.
    pub(super) fn grow(&self, more: u64) {
        if let Some(bar) = &self.bar {
            bar.inc_length(more);
        }
    }

    /// A message that must not be overwritten by the bar.
    pub(super) fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None if !self.quiet => eprintln!("{line}"),
            None => {}
        }
    }

    pub(super) fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// A confidence-interval target: the metric's systems (or the paired comparison) and
/// the half-width wanted.
pub(super) struct Target {
    /// `summary.parquet` system labels that must meet it.
    systems: Vec<String>,
    metric: &'static str,
    half_width: f64,
}

pub(super) fn parse_target(spec: &str, scenario: &Scenario) -> Result<Target, String> {
    let (name, width) = spec
        .split_once('=')
        .ok_or("expected METRIC=HALFWIDTH, e.g. savings_fraction=0.005")?;
    let half_width: f64 = width
        .trim()
        .parse()
        .ok()
        .filter(|w: &f64| w.is_finite() && *w > 0.0)
        .ok_or("the half-width must be a number > 0")?;
    let (system, metric) = name
        .trim()
        .split_once('.')
        .map_or((None, name.trim()), |(s, m)| (Some(s), m));
    let paired = Paired::ALL.map(Paired::name);
    let runs = crate::results::run_columns();
    let present: Vec<String> = scenario
        .systems()
        .iter()
        .map(|system| system.name.to_string())
        .collect();
    if let Some(&metric) = paired.iter().find(|m| **m == metric) {
        if system.is_some() || present.len() < 2 {
            return Err(format!(
                "{metric} compares the two systems: give it bare, for a scenario with both"
            ));
        }
        let unpriced = scenario.systems().iter().any(|system| !system.priced());
        if unpriced && metric != Paired::UtilizationDifference.name() {
            let needs_prices =
                [Paired::SavingsFraction, Paired::SavingsLikeForLike].map(Paired::name);
            if needs_prices.contains(&metric) {
                return Err(format!(
                    "{metric} needs prices: give both systems a `pricing:` section"
                ));
            }
        }
        return Ok(Target {
            systems: vec![output::PAIRED.to_string()],
            metric,
            half_width,
        });
    }
    let Some(&metric) = runs.iter().find(|m| **m == metric) else {
        let known: Vec<String> = paired
            .iter()
            .chain(runs.iter())
            .map(|k| (*k).to_string())
            .collect();
        let hint = crate::scenario::diagnostic::closest(metric, &known)
            .map_or_else(String::new, |best| format!(" (did you mean `{best}`?)"));
        return Err(format!(
            "unknown metric `{metric}`{hint}; any summary.parquet metric works, e.g. savings_fraction or centralized.utilization"
        ));
    };
    let systems = match system {
        None => present,
        Some(system) => vec![
            present
                .into_iter()
                .find(|s| *s == system)
                .ok_or_else(|| format!("no system `{system}` in this scenario"))?,
        ],
    };
    Ok(Target {
        systems,
        metric,
        half_width,
    })
}

/// Runs replications in deterministic batches until `target` is met or `cap` replications
/// have run, writing their records to `spool`; returns where the replications end. The
/// batches depend only on the results so far, so any thread count gives the same
/// replications. Only the `runs` rows are kept in memory, to measure the interval.
pub(super) fn run_to_target(
    scenario: &Scenario,
    first: std::ops::Range<u64>,
    cap: u64,
    target: &Target,
    threads: Option<usize>,
    progress: &Progress,
    spool: &mut output::Spool,
) -> Result<u64, Failure> {
    let quiet = progress.quiet;
    let start = first.start;
    let mut end = first.end;
    let mut runs = Results::default();
    let run = |range: std::ops::Range<u64>, runs: &mut Results, spool: &mut output::Spool| {
        let out = spool.target().to_path_buf();
        let mut sink = |batch: Results| {
            spool.push(&batch)?;
            runs.runs.extend(batch.runs);
            Ok::<(), output::OutputError>(())
        };
        montecarlo::run_streaming(
            scenario,
            range,
            threads,
            &|events| progress.finished(events),
            &mut sink,
            &super::STOP,
        )
        .map_err(super::stream_failure(&out))
    };
    run(first, &mut runs, spool)?;
    loop {
        let summary = runs.summary_rows(scenario.simulation.antithetic);
        let widths = summary
            .iter()
            .filter(|row| row.metric == target.metric && target.systems.contains(&row.system));
        if let Some(empty) = widths.clone().find(|row| row.stats.n == 0) {
            return Err(Failure::Input(format!(
                "capsim: error: --target-ci: {} has no values for {} in this scenario (nothing priced, or no such jobs), so no number of replications narrows it\n",
                target.metric, empty.system
            )));
        }
        let widest = widths
            .map(|row| (row.stats.ci95_high - row.stats.ci95_low) / 2.0)
            .fold(
                0.0_f64,
                |a, w| if w.is_nan() { f64::INFINITY } else { a.max(w) },
            );
        let done = end - start;
        if widest <= target.half_width || end >= cap {
            if !quiet {
                let verdict = if widest <= target.half_width {
                    "met"
                } else {
                    "NOT met (the cap from --max-replications or --max-events was reached)"
                };
                progress.println(&format!(
                    "capsim: target {} ≤ {} {verdict}: half-width {} after {done} replications",
                    target.metric,
                    target.half_width,
                    number(widest)
                ));
            }
            return Ok(end);
        }
        // Enough for the target if the spread stays as it is, 10% over; at least one more.
        let needed = (done as f64 * (widest / target.half_width).powi(2) * 1.1).ceil();
        let next = if needed.is_finite() {
            (start + needed as u64).max(end + 1)
        } else {
            end + done
        };
        // Whole antithetic pairs only (`start` and `cap` are even then).
        let next = if scenario.simulation.antithetic {
            next + (next - start) % 2
        } else {
            next
        };
        let next = next.min(cap);
        progress.println(&format!(
            "capsim: {} half-width {} after {done} replications; running {} more",
            target.metric,
            number(widest),
            next - end
        ));
        progress.grow(next - end);
        run(end..next, &mut runs, spool)?;
        end = next;
    }
}
