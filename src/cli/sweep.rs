//! `capsim sweep`: the shell around [`crate::sweep`]: reading the flags, checking every
//! point before any runs, the design size, progress, the table and the verdict.

use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use super::report::number;
use super::target::Progress;
use super::{Failure, SweepArgs, count, print_ok, render_scenario_error};
use crate::model::SystemKind;
use crate::output::{self, Provenance};
use crate::scenario::{self, Scenario};
use crate::sweep::{self, Axis, Choice, Constraint, Design, Objective, PointResult};

fn input(flag: &str, spec: &str, error: String) -> Failure {
    Failure::Input(format!("capsim: error: {flag} {spec}: {error}\n"))
}

pub(super) fn sweep(args: &SweepArgs) -> Result<ExitCode, Failure> {
    let axes: Vec<Axis> =
        args.vary.iter().map(|spec| sweep::parse_axis(spec).map_err(|e| input("--vary", spec, e))).collect::<Result<_, _>>()?;
    let base: Vec<_> = args
        .set
        .iter()
        .map(|spec| scenario::overrides::parse_override(spec).map_err(|e| input("--set", spec, e)))
        .collect::<Result<_, _>>()?;
    let objective = args.objective.as_deref().map(|spec| Objective::parse(spec).map_err(|e| input("--objective", spec, e))).transpose()?;
    let constraints: Vec<Constraint> =
        args.constraint.iter().map(|spec| Constraint::parse(spec).map_err(|e| input("--constraint", spec, e))).collect::<Result<_, _>>()?;
    let design = match (args.design.as_str(), args.points) {
        ("grid", None) => Design::Grid,
        ("zip", None) => Design::Zip,
        ("lhs", Some(points)) => Design::Lhs(points),
        ("lhs", None) => return Err(input("--design", "lhs", "give the number of points with --points N".to_string())),
        ("grid" | "zip", Some(_)) => {
            return Err(input("--points", &args.design, "only a Latin hypercube (--design lhs) takes --points".to_string()));
        }
        (other, _) => return Err(input("--design", other, "expected grid, zip or lhs".to_string())),
    };
    let mut template = scenario::load_with(&args.scenario, &base).map_err(|e| Failure::Input(render_scenario_error(&e)))?;
    configure(&mut template, args)?;
    let values = sweep::points(&axes, design, template.simulation.seed).map_err(|e| Failure::Input(format!("capsim: error: {e}\n")))?;
    // Every point is checked before anything runs.
    let mut scenarios: Vec<(Vec<scenario::overrides::Node>, Scenario)> = Vec::with_capacity(values.len());
    for (idx, point) in values.into_iter().enumerate() {
        let overrides = [base.clone(), sweep::point_overrides(&axes, &point)].concat();
        let mut scenario = scenario::load_with(&args.scenario, &overrides).map_err(|e| {
            let label: Vec<String> = axes.iter().zip(&point).map(|(a, v)| format!("{}={}", a.path, sweep::node_text(v))).collect();
            Failure::Input(format!(
                "capsim: error: sweep point {idx} ({}) is not a valid scenario:\n{}",
                label.join(", "),
                render_scenario_error(&e)
            ))
        })?;
        configure(&mut scenario, args)?;
        scenarios.push((point, scenario));
    }
    let replications = u64::from(template.simulation.replications);
    let runs: usize = scenarios.iter().map(|(_, s)| s.systems().len()).sum::<usize>() * replications as usize;
    let events: f64 = scenarios.iter().map(|(_, s)| crate::montecarlo::estimate(s).events).sum();
    if !args.quiet {
        eprintln!(
            "capsim: sweep of {} points × {replications} replications = {runs} system runs (~{} events expected)",
            scenarios.len(),
            count(events)
        );
    }
    if events > args.size.max_events as f64 && !args.size.force {
        return Err(Failure::Input(format!(
            "capsim: error: too large to run: ~{} events expected, more than --max-events {}\n   = hint: fewer points or replications, or --force\n",
            count(events),
            count(args.size.max_events as f64)
        )));
    }
    let out = args.out.clone().unwrap_or_else(|| Path::new("notebooks-output").join(format!("{}-sweep", template.name)));
    output::check_writable(&out).map_err(|e| Failure::Input(format!("capsim: error: --out {} is not writable: {e}\n", out.display())))?;
    let progress = Progress::new(runs as u64, args.quiet);
    let results = sweep::run(&scenarios, replications, args.threads.map(usize::from), &|events| progress.finished(events))
        .map_err(|e| Failure::Other(e.to_string()))?;
    progress.done();
    let provenance = Provenance {
        scenario: template.name.clone(),
        scenario_hash: template.hash_hex(),
        seed: template.simulation.seed,
        capsim_version: env!("CARGO_PKG_VERSION").to_string(),
        replications: (0, replications),
        shard: None,
        antithetic: template.simulation.antithetic,
    };
    let frame = output::sweep_frame(&axes, &results, &provenance).map_err(|e| Failure::Other(format!("cannot build tables: {e}")))?;
    let written = output::write_tables(&out, vec![("sweep", frame)], &provenance)
        .map_err(|e| Failure::Other(format!("cannot write results: {e}")))?;
    let choice = objective.as_ref().map(|objective| (objective, sweep::choose(&results, objective, &constraints)));
    if !args.quiet {
        print_ok(print_sweep(&axes, &results, choice.as_ref().map(|(o, c)| (*o, c.as_ref())), &constraints, &written))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `--replications` and `--seed` apply to every point.
fn configure(scenario: &mut Scenario, args: &SweepArgs) -> Result<(), Failure> {
    if let Some(replications) = args.replications {
        scenario.simulation.replications = replications;
    }
    if let Some(seed) = args.seed {
        scenario.simulation.seed = seed;
    }
    if scenario.simulation.antithetic && scenario.simulation.replications % 2 == 1 {
        return Err(Failure::Input("capsim: error: antithetic replications come in pairs: give an even --replications\n".to_string()));
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
    writeln!(out, "point  values  →  mean over replications (same seeds at every point)")?;
    for (idx, point) in results.iter().enumerate() {
        let mut line = format!("{idx:>5}  {}", label(point));
        for (kind, _) in &point.systems {
            let short = if *kind == SystemKind::Centralized { "cent" } else { "dist" };
            for metric in ["utilization", "lost_demand_fraction", "operator_yield"] {
                let value = point.series(Some(*kind), metric).map_or(f64::NAN, |s| sweep::stats(s).mean);
                line.push_str(&format!("  {short}.{metric} {}", number(value)));
            }
        }
        if let Some(savings) = point.series(None, sweep::PAIRED_METRIC) {
            line.push_str(&format!("  savings {}", number(sweep::stats(savings).mean)));
        }
        writeln!(out, "{line}")?;
    }
    if let Some((objective, choice)) = choice {
        let direction = if objective.maximize { "max" } else { "min" };
        let bounds: Vec<String> =
            constraints.iter().map(|c| format!("{} {} {}", c.measure.text, if c.at_most { "≤" } else { "≥" }, c.bound)).collect();
        let subject = if bounds.is_empty() { String::new() } else { format!(" subject to {}", bounds.join(", ")) };
        writeln!(out, "\nobjective: {direction} {}{subject}", objective.measure.text)?;
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
                    writeln!(out, "  runner-up: point {other} ({}): {}", label(&results[other]), value(other))?;
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
