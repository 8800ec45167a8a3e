//! `capsim sweep`: the shell around [`crate::sweep`]: reading the flags, checking every
//! point before any runs, the design size, progress, the table and the verdict.

use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use super::report::number;
use super::target::Progress;
use super::{
    CommonArgs, Failure, SensitivityArgs, SweepArgs, count, parse_overrides, print_ok,
    render_scenario_error,
};
use crate::metrics::catalog::{Finance, Measure, Metric, Paired};
use crate::model::SystemName;
use crate::output::{self, Provenance};
use crate::results::summaries::paired_label;
use crate::scenario::overrides::{Node, Override};
use crate::scenario::{self, Scenario};
use crate::sweep::{self, Axis, Choice, Constraint, Design, Objective, PointResult};

fn input(flag: &str, spec: &str, error: String) -> Failure {
    Failure::Input(format!("capsim: error: {flag} {spec}: {error}\n"))
}

pub(super) fn sweep(args: &SweepArgs) -> Result<ExitCode, Failure> {
    let axes: Vec<Axis> = args
        .vary
        .iter()
        .map(|spec| sweep::parse_axis(spec).map_err(|e| input("--vary", spec, e)))
        .collect::<Result<_, _>>()?;
    let base = parse_overrides(&args.common.set)?;
    let objective = args
        .objective
        .as_deref()
        .map(|spec| Objective::parse(spec).map_err(|e| input("--objective", spec, e)))
        .transpose()?;
    let constraints: Vec<Constraint> = args
        .constraint
        .iter()
        .map(|spec| Constraint::parse(spec).map_err(|e| input("--constraint", spec, e)))
        .collect::<Result<_, _>>()?;
    let design = match (args.design.as_str(), args.points) {
        ("grid", None) => Design::Grid,
        ("zip", None) => Design::Zip,
        ("lhs", Some(points)) => Design::Lhs(points),
        ("lhs", None) => {
            return Err(input(
                "--design",
                "lhs",
                "give the number of points with --points N".to_string(),
            ));
        }
        ("grid" | "zip", Some(_)) => {
            return Err(input(
                "--points",
                &args.design,
                "only a Latin hypercube (--design lhs) takes --points".to_string(),
            ));
        }
        (other, _) => {
            return Err(input(
                "--design",
                other,
                "expected grid, zip or lhs".to_string(),
            ));
        }
    };
    let (name, values) = {
        let mut template = scenario::load_with(&args.scenario, &base)
            .map_err(|e| Failure::Input(render_scenario_error(&e)))?;
        configure(&mut template, &args.common)?;
        let groups = zip_groups(&axes, &args.zip)?;
        let values = if groups.is_empty() {
            sweep::points(&axes, design, template.simulation.seed)
        } else if design == Design::Grid {
            sweep::grid_with_groups(&axes, &groups)
        } else {
            Err("--zip groups are crossed in a grid: use --design grid (the default)".to_string())
        }
        .map_err(|e| Failure::Input(format!("capsim: error: {e}\n")))?;
        (template.name, values)
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("notebooks-output").join(format!("{name}-sweep")));
    let _lock = super::writable(&out)?;
    let points: Vec<(Vec<Node>, Vec<Override>)> = values
        .into_iter()
        .map(|point| {
            let overrides = [base.clone(), sweep::point_overrides(&axes, &point)].concat();
            (point, overrides)
        })
        .collect();
    let (template, results) = run_points(&args.scenario, &base, points, &args.common)?;
    let provenance = provenance_of(&template);
    let frame = output::sweep_frame(&axes, &results, &provenance)
        .map_err(|e| Failure::Other(format!("cannot build tables: {e}")))?;
    let written = output::write_tables(&out, vec![("sweep", frame)], &provenance)
        .map_err(super::write_failure(&out))?;
    let choice = objective
        .as_ref()
        .map(|objective| (objective, sweep::choose(&results, objective, &constraints)));
    if !args.common.quiet {
        print_ok(print_sweep(
            &axes,
            &results,
            choice.as_ref().map(|(o, c)| (*o, c.as_ref())),
            &constraints,
            &written,
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `--zip A,B` groups, as indices of --vary axes.
fn zip_groups(axes: &[Axis], specs: &[String]) -> Result<Vec<Vec<usize>>, Failure> {
    specs
        .iter()
        .map(|spec| {
            let group: Vec<usize> = spec
                .split(',')
                .map(|path| {
                    let path = path.trim();
                    axes.iter().position(|a| a.path == path).ok_or_else(|| {
                        let known: Vec<&str> = axes.iter().map(|a| a.path.as_str()).collect();
                        input(
                            "--zip",
                            spec,
                            format!("`{path}` is not a --vary key ({})", known.join(", ")),
                        )
                    })
                })
                .collect::<Result<_, _>>()?;
            if group.len() < 2 {
                return Err(input(
                    "--zip",
                    spec,
                    "name at least two --vary keys, comma-separated".to_string(),
                ));
            }
            Ok(group)
        })
        .collect()
}

fn provenance_of(template: &Scenario) -> Provenance {
    Provenance {
        scenario: template.name.clone(),
        scenario_hash: template.hash_hex(),
        seed: template.simulation.seed,
        capsim_version: env!("CARGO_PKG_VERSION").to_string(),
        replications: (0, u64::from(template.simulation.replications)),
        shard: None,
        antithetic: template.simulation.antithetic,
        compare: template.compare_written(),
    }
}

/// Checks every point (the base scenario with its overrides) before anything runs, says
/// the design size, refuses one over --max-events, and runs them all on the same seeds.
/// Returns the base scenario (for provenance) and each point's results.
pub(super) fn run_points(
    path: &Path,
    base: &[Override],
    points: Vec<(Vec<Node>, Vec<Override>)>,
    settings: &CommonArgs,
) -> Result<(Scenario, Vec<PointResult>), Failure> {
    let mut template =
        scenario::load_with(path, base).map_err(|e| Failure::Input(render_scenario_error(&e)))?;
    configure(&mut template, settings)?;
    // Points that choose a pricing policy drop the keys it does not read (see
    // `scenario::overrides::apply`); the design printout says so.
    let mut policy_keys: Vec<String> = points
        .iter()
        .flat_map(|(_, overrides)| &overrides[base.len()..])
        .map(|o| scenario::overrides::path_text(&o.path))
        .filter(|path| path.ends_with("pricing.policy"))
        .collect();
    policy_keys.sort();
    policy_keys.dedup();
    let mut scenarios: Vec<(Vec<Node>, Scenario)> = Vec::with_capacity(points.len());
    for (idx, (values, overrides)) in points.into_iter().enumerate() {
        let mut scenario = scenario::load_with(path, &overrides).map_err(|e| {
            let label: Vec<&str> = overrides[base.len()..]
                .iter()
                .map(|o| o.spec.as_str())
                .collect();
            Failure::Input(format!(
                "capsim: error: point {idx} ({}) is not a valid scenario:\n{}",
                label.join(", "),
                render_scenario_error(&e)
            ))
        })?;
        configure(&mut scenario, settings)?;
        scenarios.push((values, scenario));
    }
    let replications = u64::from(template.simulation.replications);
    let runs: usize = scenarios
        .iter()
        .map(|(_, s)| s.systems().len())
        .sum::<usize>()
        * replications as usize;
    let events: f64 = scenarios
        .iter()
        .map(|(_, s)| crate::montecarlo::estimate(s).events)
        .sum();
    if !settings.quiet {
        eprintln!(
            "capsim: {} points × {replications} replications = {runs} system runs (~{} events expected)",
            scenarios.len(),
            count(events)
        );
        for key in &policy_keys {
            eprintln!(
                "capsim: {key} varies: each point keeps only the pricing keys its policy reads (the others are dropped)"
            );
        }
    }
    if events > settings.size.max_events as f64 && !settings.size.force {
        return Err(Failure::Input(format!(
            "capsim: error: too large to run: ~{} events expected, more than --max-events {}\n   = hint: fewer points or replications, or --force\n",
            count(events),
            count(settings.size.max_events as f64)
        )));
    }
    let progress = Progress::counting(runs as u64, "system runs", settings.quiet);
    let results = sweep::run(
        &scenarios,
        replications,
        settings.threads.map(usize::from),
        &|events| progress.finished(events),
        &super::STOP,
    )
    .map_err(super::sim_failure)?;
    progress.done();
    Ok((template, results))
}

/// `--replications` and `--seed` apply to every point.
fn configure(scenario: &mut Scenario, args: &CommonArgs) -> Result<(), Failure> {
    args.apply(scenario);
    if scenario.simulation.antithetic && scenario.simulation.replications % 2 == 1 {
        return Err(Failure::Input(
            "capsim: error: antithetic replications come in pairs: give an even --replications\n"
                .to_string(),
        ));
    }
    Ok(())
}

fn print_sweep(
    axes: &[Axis],
    results: &[PointResult],
    choice: Option<(&Objective, Option<&Choice>)>,
    constraints: &[Constraint],
    written: &[std::path::PathBuf],
) -> io::Result<()> {
    let mut out = io::stdout().lock();
    let label = |point: &PointResult| -> String {
        axes.iter()
            .zip(&point.values)
            .map(|(a, v)| format!("{}={}", sweep::column_name(&a.path), sweep::node_text(v)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    writeln!(
        out,
        "point  values  →  mean over replications (same seeds at every point)"
    )?;
    for (idx, point) in results.iter().enumerate() {
        let mut line = format!("{idx:>5}  {}", label(point));
        for (kind, _) in &point.systems {
            let short = match kind.as_str() {
                "centralized" => "cent",
                "distributed" => "dist",
                name => name,
            };
            let shown = [
                Measure::Run(Metric::Utilization),
                Measure::Run(Metric::LostDemandFraction),
                Measure::Finance(Finance::OperatorYield),
            ];
            for metric in shown.map(Measure::name) {
                let value = point
                    .series(Some(kind), metric)
                    .map_or(f64::NAN, |s| sweep::stats(s).mean);
                line.push_str(&format!("  {short}.{metric} {}", number(value)));
            }
        }
        if let Some(savings) = point.series(None, sweep::PAIRED_METRICS[0].name()) {
            line.push_str(&format!(
                "  savings like for like {}",
                number(sweep::stats(savings).mean)
            ));
        }
        writeln!(out, "{line}")?;
    }
    if let Some((objective, choice)) = choice {
        let direction = if objective.maximize { "max" } else { "min" };
        let bounds: Vec<String> = constraints
            .iter()
            .map(|c| {
                format!(
                    "{} {} {}",
                    c.measure.text,
                    if c.at_most { "≤" } else { "≥" },
                    c.bound
                )
            })
            .collect();
        let subject = if bounds.is_empty() {
            String::new()
        } else {
            format!(" subject to {}", bounds.join(", "))
        };
        writeln!(
            out,
            "\nobjective: {direction} {}{subject}",
            objective.measure.text
        )?;
        match choice {
            None => writeln!(out, "  no point meets the constraints")?,
            Some(choice) => {
                let value = |idx: usize| number(objective.measure.of(&results[idx]));
                writeln!(
                    out,
                    "  best: point {} ({}): {}   [{} of {} points feasible]",
                    choice.best,
                    label(&results[choice.best]),
                    value(choice.best),
                    choice.feasible,
                    results.len()
                )?;
                if let (Some(other), Some(diff)) = (choice.runner_up, &choice.difference) {
                    let verdict = if diff.ci95_low > 0.0 || diff.ci95_high < 0.0 {
                        "the difference is significant at 95%"
                    } else {
                        "the 95% interval includes 0: the winner may not really win"
                    };
                    writeln!(
                        out,
                        "  runner-up: point {other} ({}): {}",
                        label(&results[other]),
                        value(other)
                    )?;
                    writeln!(
                        out,
                        "  paired difference of {} (best − runner-up, per replication): {} [{}, {}]: {verdict}",
                        objective.measure.metric,
                        number(diff.mean),
                        number(diff.ci95_low),
                        number(diff.ci95_high)
                    )?;
                }
            }
        }
    }
    for path in written {
        writeln!(out, "wrote {}", path.display())?;
    }
    Ok(())
}

pub(super) fn sensitivity(args: &SensitivityArgs) -> Result<ExitCode, Failure> {
    let base = parse_overrides(&args.common.set)?;
    // The file itself is checked (with a located message) before its section is read.
    let template = scenario::load_with(&args.scenario, &base)
        .map_err(|e| Failure::Input(render_scenario_error(&e)))?;
    let mut ranges = template.uncertainty.clone();
    for spec in &args.range {
        let range = sweep::parse_range(spec).map_err(|e| input("--range", spec, e))?;
        ranges.retain(|r| r.path != range.path);
        ranges.push(range);
    }
    if ranges.is_empty() {
        return Err(Failure::Input(
            "capsim: error: no uncertain keys: give --range KEY.PATH=LOW..HIGH or an `uncertainty:` section (KEY.PATH: [LOW, HIGH])\n"
                .to_string(),
        ));
    }
    let sobol = match args.method.as_str() {
        "tornado" => false,
        "sobol" => true,
        other => {
            return Err(input(
                "--method",
                other,
                "expected tornado or sobol".to_string(),
            ));
        }
    };
    let out = args.out.clone().unwrap_or_else(|| {
        Path::new("notebooks-output").join(format!("{}-sensitivity", template.name))
    });
    let _lock = super::writable(&out)?;
    let changes: Vec<Vec<Override>> = if sobol {
        let seed = args.common.seed.unwrap_or(template.simulation.seed);
        sweep::saltelli_points(&ranges, args.samples as usize, seed)
            .into_iter()
            .map(|row| {
                ranges
                    .iter()
                    .zip(row)
                    .map(|(range, value)| sweep::range_override(range, value))
                    .collect()
            })
            .collect()
    } else {
        sweep::tornado_points(&ranges)
    };
    let points = changes
        .into_iter()
        .map(|changes| (Vec::new(), [base.clone(), changes].concat()))
        .collect();
    let (template, results) = run_points(&args.scenario, &base, points, &args.common)?;
    let provenance = provenance_of(&template);
    // The label of the paired rows: `B_vs_A` for the pair the scenario compares.
    let paired_label = template
        .pair()
        .map_or_else(|| output::PAIRED.to_string(), |pair| paired_label(&pair));
    if sobol {
        let rows = sweep::sobol(&results, &ranges);
        let frame = output::sobol_frame(&rows, &paired_label, &provenance)
            .map_err(|e| Failure::Other(format!("cannot build tables: {e}")))?;
        let written = output::write_tables(&out, vec![("sobol", frame)], &provenance)
            .map_err(super::write_failure(&out))?;
        if !args.common.quiet {
            print_ok(print_sobol(
                &rows,
                args.samples,
                &headline(&template),
                &written,
            ))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let rows = sweep::tornado(&results, &ranges);
    let frame = output::sensitivity_frame(&rows, &paired_label, &provenance)
        .map_err(|e| Failure::Other(format!("cannot build tables: {e}")))?;
    let written = output::write_tables(&out, vec![("sensitivity", frame)], &provenance)
        .map_err(super::write_failure(&out))?;
    if !args.common.quiet {
        print_ok(print_tornado(&rows, &headline(&template), &written))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The measures a sensitivity analysis prints (all are in its table): the savings of the
/// pair compared, then each system's operator yield and lost demand — B's before A's,
/// as the paired rows read (`B_vs_A`), else in the order the systems are written.
fn headline(scenario: &Scenario) -> Vec<(Option<SystemName>, &'static str)> {
    let names: Vec<SystemName> = scenario.systems().into_iter().map(|s| s.name).collect();
    let pair = scenario.pair().or_else(|| match &names[..] {
        [a, b] => Some((a.clone(), b.clone())),
        _ => None,
    });
    let mut out = Vec::new();
    let order = match &pair {
        Some((a, b)) => {
            out.push((None, Measure::Paired(Paired::SavingsLikeForLike).name()));
            vec![b.clone(), a.clone()]
        }
        None => names,
    };
    for measure in [
        Measure::Finance(Finance::OperatorYield),
        Measure::Run(Metric::LostDemandFraction),
    ] {
        for system in &order {
            out.push((Some(system.clone()), measure.name()));
        }
    }
    out
}

/// The headline measures' tornados: each key's effect, largest first.
fn print_tornado(
    rows: &[sweep::TornadoRow],
    headline: &[(Option<SystemName>, &'static str)],
    written: &[std::path::PathBuf],
) -> io::Result<()> {
    let mut out = io::stdout().lock();
    for (system, metric) in headline.iter().cloned() {
        let group: Vec<&sweep::TornadoRow> = rows
            .iter()
            .filter(|r| r.system == system && r.metric == metric)
            .collect();
        let Some(first) = group.first() else { continue };
        let name = system.map_or_else(|| metric.to_string(), |s| format!("{s}.{metric}"));
        writeln!(
            out,
            "\n{name} (base {}): change from each key's low to its high value, paired 95% CI",
            number(first.at_base)
        )?;
        let widest = group
            .iter()
            .map(|r| r.effect.mean.abs())
            .fold(0.0_f64, f64::max);
        for row in group {
            let bar = if widest > 0.0 {
                (row.effect.mean.abs() / widest * 30.0).round() as usize
            } else {
                0
            };
            writeln!(
                out,
                "  {:<44} {:>10} [{}, {}]  {}",
                format!("{} {}..{}", row.parameter, row.low, row.high),
                number(row.effect.mean),
                number(row.effect.ci95_low),
                number(row.effect.ci95_high),
                "█".repeat(bar)
            )?;
        }
    }
    for path in written {
        writeln!(out, "wrote {}", path.display())?;
    }
    Ok(())
}

/// The headline measures' Sobol indices, largest total first.
fn print_sobol(
    rows: &[sweep::SobolRow],
    samples: u32,
    headline: &[(Option<SystemName>, &'static str)],
    written: &[std::path::PathBuf],
) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "Sobol indices from {samples} base samples (first order: the key alone; total: with its interactions)"
    )?;
    for (system, metric) in headline.iter().cloned() {
        let group: Vec<&sweep::SobolRow> = rows
            .iter()
            .filter(|r| r.system == system && r.metric == metric)
            .collect();
        if group.is_empty() {
            continue;
        }
        let name = system.map_or_else(|| metric.to_string(), |s| format!("{s}.{metric}"));
        writeln!(out, "\n{name}:")?;
        for row in group {
            writeln!(
                out,
                "  {:<44} first {:>7}  total {:>7}",
                row.parameter,
                number(row.first_order),
                number(row.total)
            )?;
        }
    }
    for path in written {
        writeln!(out, "wrote {}", path.display())?;
    }
    Ok(())
}
