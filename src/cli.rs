//! The command line: a thin shell over the library.
//!
//! Parses flags, loads scenarios, calls `montecarlo`, `verify` and `output`, and prints.
//! Exit codes: 0 success; 2 invalid input (scenario, flags, paths); 1 any other
//! failure (I/O, internal). A closed stdout (`capsim run … | head`) is not an error.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use clap::{Args, Parser, Subcommand};

use crate::metrics::catalog::Metric;
use crate::model::SystemKind;
use crate::output::{self, Provenance, Spool};
use crate::results::summaries::{self, Summaries};
use crate::results::{RawSource, RawTable, Results};
use crate::scenario::{self, Scenario, ScenarioError};
use crate::{montecarlo, verify};

mod compare;
mod report;
mod shards;
mod sweep;
mod target;

use report::{Report, print_run_report};
use target::{Progress, parse_target, run_to_target};

/// capsim: GPU capacity economics, centralized cloud versus distributed network.
#[derive(Debug, Parser)]
#[command(name = "capsim", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Simulate a scenario and write runs, summary, timeseries and savings tables (Parquet).
    Run(RunArgs),
    /// Combine shards (or runs of consecutive replications) into the tables one run writes.
    Merge(MergeArgs),
    /// Check scenario files without running them.
    Validate(ValidateArgs),
    /// Run the built-in queueing cases (Erlang B, C, A) and compare with closed forms.
    Verify(VerifyArgs),
    /// Measure engine speed (events per second, one thread) on the M/M/64 example.
    Bench(BenchArgs),
    /// Run a scenario at many points (values of scenario keys) on the same replication
    /// seeds, write sweep.parquet, and pick the best point under constraints.
    Sweep(SweepArgs),
    /// One-at-a-time (tornado) sensitivity of every headline metric to each uncertain key,
    /// from the scenario's `uncertainty:` section and --range; writes sensitivity.parquet.
    Sensitivity(SensitivityArgs),
    /// Print the JSON Schema of scenario files (for editors: see the README).
    Schema,
    /// Differences B − A of two runs' headline metrics, with 95% intervals (paired when
    /// the runs share a seed); writes compare.parquet.
    Compare(compare::CompareArgs),
    /// Write DIR/report.html: headline table and charts of the results in DIR (a run,
    /// a merge, a sweep or a sensitivity analysis), one self-contained file.
    Report(ReportArgs),
}

#[derive(Debug, Args)]
struct ReportArgs {
    /// A result directory (`notebooks-output/<scenario name>`, or any --out).
    dir: PathBuf,
    /// Open the report in the default browser afterwards.
    #[arg(long)]
    open: bool,
}

#[derive(Debug, Args)]
struct SensitivityArgs {
    /// Scenario file (YAML).
    scenario: PathBuf,
    /// An uncertain key and its range, `KEY.PATH=LOW..HIGH` (repeatable); added to the
    /// scenario's `uncertainty:` section, replacing an entry with the same key.
    #[arg(long, value_name = "KEY.PATH=LOW..HIGH")]
    range: Vec<String>,
    /// tornado (one key at a time, low to high) or sobol (first-order and total Sobol
    /// indices from a Saltelli design of --samples × (keys + 2) points).
    #[arg(long, default_value = "tornado")]
    method: String,
    /// Base samples N of the Saltelli design (sobol).
    #[arg(long, value_name = "N", default_value_t = 32, value_parser = clap::value_parser!(u32).range(2..))]
    samples: u32,
    /// Output directory [default: notebooks-output/<scenario name>-sensitivity].
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    common: CommonArgs,
}

/// How a run (or each point of a sweep or sensitivity analysis) runs.
#[derive(Debug, Args)]
struct CommonArgs {
    /// Override simulation.replications (a sweep runs them at every point, on the same seeds).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    replications: Option<u32>,
    /// Override simulation.seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Change one scenario key before it is checked, e.g.
    /// `--set distributed.pricing.target_utilization=0.75` or
    /// `--set demand.segments[0].arrivals_per_hour=80` (repeatable; VALUE is YAML).
    #[arg(long = "set", value_name = "KEY.PATH=VALUE")]
    set: Vec<String>,
    /// Worker threads [default: all cores]; results do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
    /// Print nothing but errors.
    #[arg(long)]
    quiet: bool,
    #[command(flatten)]
    size: SizeArgs,
}

impl CommonArgs {
    /// `--replications` and `--seed` over the scenario's own.
    fn apply(&self, scenario: &mut Scenario) {
        if let Some(replications) = self.replications {
            scenario.simulation.replications = replications;
        }
        if let Some(seed) = self.seed {
            scenario.simulation.seed = seed;
        }
    }
}

#[derive(Debug, Args)]
struct SweepArgs {
    /// Scenario file (YAML).
    scenario: PathBuf,
    /// A key and its values: `KEY.PATH=V1,V2,…` or `KEY.PATH=A..B:STEP` (or `A..B` with
    /// --design lhs). Repeatable; axes are crossed unless --design says otherwise.
    #[arg(long, value_name = "KEY.PATH=VALUES", required = true)]
    vary: Vec<String>,
    /// grid (every combination), zip (the i-th value of every axis together) or lhs
    /// (a Latin hypercube of --points points).
    #[arg(long, default_value = "grid")]
    design: String,
    /// Points of a Latin hypercube.
    #[arg(long, value_name = "N")]
    points: Option<usize>,
    /// Keys (of --vary, comma-separated) that vary together, their i-th values side by
    /// side, crossed with the other axes (repeatable; grid design).
    #[arg(long, value_name = "KEY.PATH,KEY.PATH,…")]
    zip: Vec<String>,
    /// What to optimise: `max:MEASURE` or `min:MEASURE`, MEASURE = SYSTEM.METRIC[_STAT]
    /// (e.g. max:distributed.operator_yield_p50) or savings_fraction[_STAT].
    #[arg(long)]
    objective: Option<String>,
    /// A bound every chosen point must meet: `MEASURE<=X` or `MEASURE>=X` (repeatable).
    #[arg(long)]
    constraint: Vec<String>,
    /// Output directory [default: notebooks-output/<scenario name>-sweep].
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Scenario file (YAML).
    scenario: PathBuf,
    /// Output directory [default: notebooks-output/<scenario name>].
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    common: CommonArgs,
    /// Index of the first replication (default 0): run replications FROM…FROM+N−1 to
    /// extend an earlier run, then `capsim merge` both.
    #[arg(long, value_name = "FROM", default_value_t = 0)]
    replications_from: u64,
    /// Run only shard K of N (K from 0) and write its raw tables to OUT/shard=K/; `N` alone
    /// takes K from SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX or AWS_BATCH_JOB_ARRAY_INDEX,
    /// `auto` also takes N from SLURM_ARRAY_TASK_COUNT. Combine with `capsim merge OUT`.
    #[arg(long, value_name = "K/N")]
    shard: Option<String>,
    /// Keep adding replications, in batches, until the 95% CI half-width of METRIC is at
    /// most HALFWIDTH (or --max-replications is reached). METRIC is a paired metric such
    /// as `savings_fraction`, or `SYSTEM.METRIC` such as `centralized.utilization`; a bare
    /// per-system metric must meet the target for every system.
    #[arg(long, value_name = "METRIC=HALFWIDTH")]
    target_ci: Option<String>,
    /// Run replications in antithetic pairs (as `simulation.antithetic: true`): replication
    /// 2k+1 mirrors every random number of 2k (u → 1−u); intervals come from pair means
    /// and the summary reports the variance reduction. Needs even replication counts.
    #[arg(long)]
    antithetic: bool,
    /// Also write OUT/report.html (as `capsim report OUT`) at the end of the run.
    #[arg(long)]
    report: bool,
    /// Upper bound on replications for --target-ci.
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    max_replications: u32,
}

#[derive(Debug, Args)]
struct MergeArgs {
    /// Result directories: shard directories, their parent (OUT of the sharded runs), or
    /// complete runs of consecutive replications.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Where to write the merged tables.
    #[arg(long)]
    out: PathBuf,
    /// Print nothing but errors.
    #[arg(long)]
    quiet: bool,
}

#[derive(Debug, Args)]
struct ValidateArgs {
    /// Scenario files.
    #[arg(required = true)]
    scenarios: Vec<PathBuf>,
    #[command(flatten)]
    size: SizeArgs,
}

/// The run-size guard, shared by `run` and `validate`.
#[derive(Debug, Args)]
struct SizeArgs {
    /// Refuse runs expected to need more events than this (guards against typos such as
    /// a rate 1000 times too high).
    #[arg(long, default_value_t = 20_000_000_000)]
    max_events: u64,
    /// Accept runs even if the estimate exceeds --max-events or the machine's memory.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Args)]
struct VerifyArgs {
    /// Replications per case (more gives tighter bands).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(2..))]
    replications: u32,
    /// Master seed.
    #[arg(long, default_value_t = 2024)]
    seed: u64,
    /// Worker threads [default: all cores].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
}

#[derive(Debug, Args)]
struct BenchArgs {
    /// Replications to time (the best is reported too).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    replications: u32,
    /// Simulated hours per replication.
    #[arg(long, default_value_t = 20_000.0)]
    horizon_hours: f64,
    /// Instead, time this scenario on 1 thread and on every core, and report the speed-up
    /// (and that both gave identical results).
    #[arg(long)]
    scaling: Option<PathBuf>,
    /// Instead, time the benchmark scenarios built into capsim (`scenarios/bench/`: the
    /// M/M/64 pool and the seed-scale probe) as whole simulations on one thread: events
    /// and jobs per second, and peak memory.
    #[arg(long)]
    suite: bool,
    /// With --suite: the share of each benchmark's measured hours to simulate (1 = as
    /// written; smaller for a quick look).
    #[arg(long, default_value_t = 1.0, requires = "suite")]
    scale: f64,
    /// With --suite: the minimal event loop's binary (`../shared/bench/minimal-loop`),
    /// run on the same M/M/64 in the same minute; prints the ratio of jobs per second.
    #[arg(long, requires = "suite")]
    compare_minimal: Option<PathBuf>,
}

/// The benchmark scenarios, built in so that `capsim bench --suite` runs anywhere.
const BENCH_SCENARIOS: [(&str, &str); 2] = [
    (
        "scenarios/bench/mm64.yaml",
        include_str!("../scenarios/bench/mm64.yaml"),
    ),
    (
        "scenarios/bench/seed-scale-probe.yaml",
        include_str!("../scenarios/bench/seed-scale-probe.yaml"),
    ),
];

/// Failures, classified by exit code.
enum Failure {
    /// Bad input: exit 2.
    Input(String),
    /// Stopped on request (Ctrl-C, SIGTERM, SIGHUP) before anything was committed: exit 130.
    Stopped,
    /// Anything else: exit 1.
    Other(String),
}

/// Set by the first Ctrl-C (or SIGTERM, as Slurm's `scancel` sends, or SIGHUP): the
/// simulation stops within milliseconds, nothing is committed, and earlier results stay.
static STOP: AtomicBool = AtomicBool::new(false);

/// The first signal asks the run to stop cleanly; a second one quits at once (the
/// staging directory it may leave is removed by the next run into the same place).
fn install_stop_handler() {
    let result = ctrlc::set_handler(|| {
        if STOP.swap(true, Ordering::SeqCst) {
            eprintln!("\ncapsim: stopped at once; results already in place are untouched");
            std::process::exit(130);
        }
        eprintln!("\ncapsim: stopping (press Ctrl-C again to quit at once)…");
    });
    // Without a handler the default action still ends the process, and the output's
    // rename-into-place design still leaves earlier results whole.
    let _ = result;
}

/// True once a stop was requested.
fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// A failed or stopped simulation.
fn sim_failure(error: montecarlo::SimError) -> Failure {
    match error {
        montecarlo::SimError::Stopped => Failure::Stopped,
        error => Failure::Other(error.to_string()),
    }
}

/// A failed or stopped streamed simulation writing into `out`.
fn stream_failure(
    out: &Path,
) -> impl Fn(montecarlo::StreamError<output::OutputError>) -> Failure + Copy + '_ {
    move |error| match error {
        montecarlo::StreamError::Sim(error) => sim_failure(error),
        montecarlo::StreamError::Sink(error) => write_failure(out)(error),
    }
}

/// Results could not be written into `out`: where, why (a full disk is named as such),
/// and that what was there before is still there, whole.
fn write_failure(out: &Path) -> impl Fn(output::OutputError) -> Failure + Copy + '_ {
    move |error| {
        let place = out.display();
        let fix = if error.is_disk_full() {
            format!(
                "the disk holding {place} is full: free some space, or write elsewhere with --out"
            )
        } else {
            format!(
                "check that {place} and the directory around it can be written, or write elsewhere with --out"
            )
        };
        Failure::Other(format!(
            "cannot write results to {place}: {error}\n   = hint: {fix}\n   = note: nothing partial was left behind, and results already in {place} are untouched"
        ))
    }
}

/// Fails before any work if results could not be saved in `out`, or if another capsim
/// is writing there; the lock returned is held until the command is done with `out`.
fn writable(out: &Path) -> Result<output::lock::DirLock, Failure> {
    let lock = hold(out)?;
    output::check_writable(out).map_err(|e| {
        Failure::Input(format!(
            "capsim: error: --out {} is not writable: {e}\n",
            out.display()
        ))
    })?;
    Ok(lock)
}

/// The one-writer lock of `dir`, or a refusal naming its holder (exit 2).
fn hold(dir: &Path) -> Result<output::lock::DirLock, Failure> {
    let command: Vec<String> = std::env::args().collect();
    output::lock::lock(dir, &command.join(" ")).map_err(|e| match e {
        output::lock::LockError::Busy { .. } => Failure::Input(format!(
            "capsim: error: {e}\n   = hint: wait for it to finish, or write elsewhere with --out; its results would be overwritten otherwise\n"
        )),
        output::lock::LockError::Io { .. } => Failure::Input(format!(
            "capsim: error: --out {} is not writable: {e}\n",
            dir.display()
        )),
    })
}

/// Refuses to commit results once a stop was requested during the summaries.
fn unless_stopped() -> Result<(), Failure> {
    if stop_requested() {
        Err(Failure::Stopped)
    } else {
        Ok(())
    }
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let code = if error.use_stderr() { 2 } else { 0 };
            // Help and version go to stdout; a closed pipe there is not an error.
            let _ = error.print();
            return ExitCode::from(code);
        }
    };
    // Only the commands that look at the stop flag take over Ctrl-C; the others keep
    // the default (the process ends, and committed results are whole by design).
    if matches!(
        cli.command,
        Command::Run(_) | Command::Sweep(_) | Command::Sensitivity(_)
    ) {
        install_stop_handler();
    }
    let result = match cli.command {
        Command::Run(args) => run(&args),
        Command::Merge(args) => merge(&args),
        Command::Validate(args) => validate(&args),
        Command::Verify(args) => run_verify(&args),
        Command::Bench(args) => bench(&args),
        Command::Sweep(args) => sweep::sweep(&args),
        Command::Sensitivity(args) => sweep::sensitivity(&args),
        Command::Report(args) => report_command(&args),
        Command::Compare(args) => compare::compare(&args),
        Command::Schema => print_ok(io::stdout().write_all(scenario::json_schema().as_bytes()))
            .map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(Failure::Input(message)) => {
            eprint!("{message}");
            ExitCode::from(2)
        }
        Err(Failure::Stopped) => {
            eprintln!(
                "capsim: stopped on request before the end; nothing was written, and results already in place are untouched"
            );
            ExitCode::from(130)
        }
        Err(Failure::Other(message)) => {
            eprintln!("capsim: error: {message}");
            ExitCode::from(1)
        }
    }
}

/// Treats a closed stdout as success: the reader has seen what it wanted.
fn print_ok(result: io::Result<()>) -> Result<(), Failure> {
    match result {
        Err(error) if error.kind() != io::ErrorKind::BrokenPipe => {
            Err(Failure::Other(format!("cannot write to stdout: {error}")))
        }
        _ => Ok(()),
    }
}

fn load(path: &Path) -> Result<Scenario, Failure> {
    scenario::load(path).map_err(|error| Failure::Input(render_scenario_error(&error)))
}

/// The `--set` flags, each `KEY.PATH=VALUE`.
fn parse_overrides(specs: &[String]) -> Result<Vec<scenario::overrides::Override>, Failure> {
    specs
        .iter()
        .map(|spec| {
            scenario::overrides::parse_override(spec)
                .map_err(|e| Failure::Input(format!("capsim: error: --set {spec}: {e}\n")))
        })
        .collect()
}

/// `capsim: error: …` followed by each located diagnostic.
pub fn render_scenario_error(error: &ScenarioError) -> String {
    error.render()
}

fn run(args: &RunArgs) -> Result<ExitCode, Failure> {
    let overrides = parse_overrides(&args.common.set)?;
    let mut scenario = scenario::load_with(&args.scenario, &overrides)
        .map_err(|error| Failure::Input(render_scenario_error(&error)))?;
    args.common.apply(&mut scenario);
    scenario.simulation.antithetic |= args.antithetic;
    if scenario.simulation.antithetic
        && (scenario.simulation.replications % 2 == 1 || args.replications_from % 2 == 1)
    {
        return Err(Failure::Input(format!(
            "capsim: error: antithetic replications come in mirrored pairs (2k, 2k+1), so the replications ({}) and --replications-from ({}) must be even\n   = hint: use an even --replications and --replications-from\n",
            scenario.simulation.replications, args.replications_from
        )));
    }
    let all = args.replications_from
        ..args
            .replications_from
            .saturating_add(u64::from(scenario.simulation.replications));
    let shard = match &args.shard {
        None => None,
        Some(spec) => Some(
            shards::parse_shard(spec, |key| std::env::var(key).ok())
                .map_err(|e| Failure::Input(format!("capsim: error: {e}\n")))?,
        ),
    };
    if shard.is_some() && args.report {
        return Err(Failure::Input(
            "capsim: error: a shard writes raw tables only, so it has nothing to report\n   = hint: merge the shards, then run `capsim report` on the merged directory\n".to_string(),
        ));
    }
    let part = shard.map_or(all.clone(), |(k, n)| {
        montecarlo::shard_range(all.clone(), k, n)
    });
    let target = match &args.target_ci {
        None => None,
        Some(_) if shard.is_some() => {
            return Err(Failure::Input(
                "capsim: error: --target-ci decides how many replications to run, so it cannot be split into --shard pieces\n   = hint: run --target-ci on one machine, or give --replications to the shards\n".to_string(),
            ));
        }
        Some(spec) => Some(
            parse_target(spec, &scenario)
                .map_err(|e| Failure::Input(format!("capsim: error: --target-ci {spec}: {e}\n")))?,
        ),
    };
    if part.is_empty() {
        let (k, n) = shard.unwrap_or((0, 1));
        return Err(Failure::Input(format!(
            "capsim: error: shard {k} of {n} has no replications: the run has only {}\n   = hint: use at most as many shards as replications\n",
            all.end - all.start
        )));
    }
    let base = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("notebooks-output").join(&scenario.name));
    let out = shard.map_or_else(|| base.clone(), |(k, _)| base.join(format!("shard={k}")));
    if out.exists() && !out.is_dir() {
        return Err(Failure::Input(format!(
            "capsim: error: --out {} exists and is not a directory\n",
            out.display()
        )));
    }
    let threads = args
        .common
        .threads
        .map_or_else(rayon::current_num_threads, usize::from);
    // The size guard and the banner are about this process's share of the run.
    let mut sized = scenario.clone();
    sized.simulation.replications = u32::try_from(part.end - part.start).unwrap_or(u32::MAX);
    let estimate = montecarlo::estimate(&sized);
    if !args.common.size.force {
        check_size(
            &args.scenario,
            &sized,
            &estimate,
            args.common.size.max_events,
            threads,
        )?;
    }
    // Fail before hours of simulation, not after, if the results could not be saved.
    let _lock = writable(&out)?;
    if !args.common.quiet {
        // Said before starting, so nobody waits an hour for a run they did not mean to make.
        let systems = scenario.systems().len();
        let which = shard.map_or_else(String::new, |(k, n)| {
            format!(
                " (shard {k} of {n}: replications {}..{})",
                part.start, part.end
            )
        });
        eprintln!(
            "capsim: running {} replications × {systems} system{}{which} (~{} events expected)",
            part.end - part.start,
            if systems == 1 { "" } else { "s" },
            count(estimate.events)
        );
    }
    // Wall-clock time is measured here, in the shell, and never enters results.
    #[allow(clippy::disallowed_methods)]
    let started = Instant::now();
    let threads_wanted = args.common.threads.map(usize::from);
    let progress = Progress::new(part.end - part.start, args.common.quiet);
    let provenance_for = |end: u64| Provenance {
        scenario: scenario.name.clone(),
        scenario_hash: scenario.hash_hex(),
        seed: scenario.simulation.seed,
        capsim_version: env!("CARGO_PKG_VERSION").to_string(),
        replications: (all.start, end),
        shard,
        antithetic: scenario.simulation.antithetic,
        compare: scenario.compare_written(),
    };
    let output_error = write_failure(&out);
    // Records go to disk as replications finish: memory does not grow with replications.
    let mut spool = Spool::create(&out, &provenance_for(all.end)).map_err(output_error)?;
    let end = match &target {
        None => {
            let mut sink = |batch: Results| spool.push(&batch);
            montecarlo::run_streaming(
                &scenario,
                part,
                threads_wanted,
                &|events| progress.finished(events),
                &mut sink,
                &STOP,
            )
            .map_err(stream_failure(&out))?;
            all.end
        }
        Some(target) => {
            // Replications stop at --max-replications, and where the events expected would
            // pass --max-events (unless --force): a narrow target must not run for a week.
            let per_replication = estimate.events / (part.end - part.start).max(1) as f64;
            let by_events = if args.common.size.force {
                u64::MAX
            } else {
                (args.common.size.max_events as f64 / per_replication.max(1.0)) as u64
            };
            let most = u64::from(args.max_replications)
                .min(by_events)
                .max(u64::from(scenario.simulation.replications));
            // Whole antithetic pairs only.
            let most = if scenario.simulation.antithetic {
                most - most % 2
            } else {
                most
            };
            let cap = all.start.saturating_add(most);
            run_to_target(
                &scenario,
                all.clone(),
                cap,
                target,
                threads_wanted,
                &progress,
                &mut spool,
            )?
        }
    };
    progress.done();
    let elapsed = started.elapsed().as_secs_f64();
    let provenance = provenance_for(end);
    let mut staged = spool.finish(&provenance).map_err(output_error)?;
    let threads = args.common.threads.map_or_else(
        || rayon::current_num_threads().to_string(),
        |t| t.to_string(),
    );
    if shard.is_some() {
        let events = summaries::events(&staged.raw()).map_err(output_error)?;
        unless_stopped()?;
        unless_stopped()?;
        let written = staged.commit().map_err(output_error)?;
        if !args.common.quiet {
            let rate = events as f64 / elapsed.max(1e-9) / 1e6;
            println!(
                "{:.1} M events in {elapsed:.2} s ({rate:.1} M events/s on {threads} threads)",
                events as f64 / 1e6
            );
            for path in written {
                println!("wrote {}", path.display());
            }
            println!(
                "merge the shards with: capsim merge {} --out {}",
                base.display(),
                base.display()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let summaries = summarise_into(&mut staged, &provenance, &out)?;
    unless_stopped()?;
    let mut written = staged.commit().map_err(output_error)?;
    if args.report {
        written.push(write_report(&out)?);
    }
    if !args.common.quiet {
        let report = Report {
            speed: Some((summaries.events, elapsed, threads)),
            ..Report::of_run(&scenario, &provenance, &summaries)
        };
        print_ok(print_run_report(&report, &written))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `capsim report DIR [--open]`.
fn report_command(args: &ReportArgs) -> Result<ExitCode, Failure> {
    // A directory that is not there has no tables: the report refuses it below.
    let _lock = if args.dir.is_dir() {
        Some(hold(&args.dir)?)
    } else {
        None
    };
    let path = write_report(&args.dir)?;
    print_ok(writeln!(io::stdout(), "wrote {}", path.display()))?;
    if args.open {
        open_in_browser(&path);
    }
    Ok(ExitCode::SUCCESS)
}

/// Renders DIR/report.html from the tables in DIR, written beside and renamed into
/// place so a reader never sees half a page.
fn write_report(dir: &Path) -> Result<PathBuf, Failure> {
    let data = crate::report::load(dir)
        .map_err(|e| Failure::Input(format!("capsim: error: cannot make a report: {e}\n")))?;
    let html = crate::report::render(&data);
    let path = dir.join("report.html");
    let temporary = dir.join(".report.html.partial");
    std::fs::write(&temporary, html)
        .and_then(|()| std::fs::rename(&temporary, &path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&temporary);
            Failure::Other(format!("cannot write {}: {e}", path.display()))
        })?;
    Ok(path)
}

/// Best effort: the report is written either way, and its path printed.
fn open_in_browser(path: &Path) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    if let Err(error) = std::process::Command::new(opener).arg(path).spawn() {
        eprintln!(
            "capsim: could not open a browser ({opener}: {error}); open {} yourself",
            path.display()
        );
    }
}

/// Computes every summary from the staged raw tables and stages their tables.
fn summarise_into(
    staged: &mut output::Staged,
    provenance: &Provenance,
    out: &Path,
) -> Result<Summaries, Failure> {
    let output_error = write_failure(out);
    let summaries = summaries::summarise_all(
        &staged.raw(),
        provenance.antithetic,
        provenance.compare.as_ref(),
    )
    .map_err(&output_error)?;
    let tables = output::summary_tables(&summaries, provenance)
        .map_err(|e| Failure::Other(format!("cannot build tables: {e}")))?;
    for (stem, mut frame) in tables {
        staged.write(stem, &mut frame).map_err(output_error)?;
    }
    Ok(summaries)
}

fn merge(args: &MergeArgs) -> Result<ExitCode, Failure> {
    let plan = shards::gather(&args.inputs)
        .map_err(|e| Failure::Input(format!("capsim: error: cannot merge: {e}\n")))?;
    if args.out.exists() && !args.out.is_dir() {
        return Err(Failure::Input(format!(
            "capsim: error: --out {} exists and is not a directory\n",
            args.out.display()
        )));
    }
    let _lock = writable(&args.out)?;
    let output_error = write_failure(&args.out);
    let provenance = plan.provenance;
    // Each part's tables stream through, one row group at a time, in replication order.
    let mut spool = Spool::create(&args.out, &provenance).map_err(output_error)?;
    for dir in &plan.parts {
        for table in RawTable::ALL {
            let mut failed = None;
            dir.scan(table, &mut |piece| {
                if failed.is_none() {
                    failed = spool.push(piece).err();
                }
            })
            .map_err(|e| Failure::Input(format!("capsim: error: cannot merge: {e}\n")))?;
            if let Some(error) = failed {
                return Err(output_error(error));
            }
        }
    }
    let mut staged = spool.finish(&provenance).map_err(&output_error)?;
    let summaries = summarise_into(&mut staged, &provenance, &args.out)?;
    unless_stopped()?;
    let written = staged.commit().map_err(output_error)?;
    if !args.quiet {
        let systems = summaries
            .systems
            .iter()
            .map(|(system, gpus)| {
                let priced = summaries.summary.iter().any(|row| {
                    row.system == system.as_str()
                        && row.metric == Metric::SpendUsdPerGpuHour.name()
                        && row.stats.n > 0
                });
                (system.clone(), *gpus, priced)
            })
            .collect();
        let report = Report {
            title: format!(
                "{} · {} replications ({}..{}) merged · seed {} · scenario hash {}",
                provenance.scenario,
                provenance.replications.1 - provenance.replications.0,
                provenance.replications.0,
                provenance.replications.1,
                provenance.seed,
                provenance.scenario_hash
            ),
            systems,
            discount_rate: None,
            summary: &summaries.summary,
            yields: &summaries.yields,
            segments: &summaries.segments,
            providers: &summaries.providers,
            paired_label: summaries.paired_label.as_deref(),
            speed: None,
        };
        print_ok(print_run_report(&report, &written))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Refuses a run expected to exceed the event budget or the memory available; a run
/// with too many events names the keys that make it so, with their values and where
/// they are written.
fn check_size(
    path: &Path,
    scenario: &scenario::Scenario,
    estimate: &montecarlo::RunEstimate,
    max_events: u64,
    threads: usize,
) -> Result<(), Failure> {
    let memory_needed = estimate.bytes_needed(threads);
    let memory_available = available_memory_bytes();
    let problem = if estimate.events > max_events as f64 {
        Some(format!(
            "~{} events expected, more than --max-events {}{}",
            count(estimate.events),
            count(max_events as f64),
            size_drivers(scenario, estimate.events)
        ))
    } else if memory_needed > 0.8 * memory_available {
        Some(format!(
            "~{:.1} GiB of memory expected (~{} jobs waiting at once × {threads} threads, plus {:.1} GiB of records and Parquet footers kept until the files are finished), more than this machine has available ({:.1} GiB)",
            memory_needed / GIB,
            count(estimate.peak_waiting_jobs),
            estimate.bytes_retained / GIB,
            memory_available / GIB
        ))
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(Failure::Input(format!(
            "capsim: error: too large to run: {problem}\n   = scenario: {}\n   = hint: check rates, horizon and replications; an overloaded pool without patience_hours queues without bound; many replications can be split with --shard K/N; --force runs anyway\n",
            path.display()
        ))),
    }
}

/// The segments whose arrivals make most of a run's events (each at least a tenth, the
/// largest always), as `= from: KEY = VALUE (FILE:LINE:COL) × …` lines.
fn size_drivers(scenario: &scenario::Scenario, events: f64) -> String {
    let sim = &scenario.simulation;
    let systems = scenario.systems().len();
    let located = &scenario.located;
    let at = |place: Option<(usize, usize)>| {
        place.map_or_else(String::new, |(line, column)| {
            format!(" ({}:{line}:{column})", located.file)
        })
    };
    let mut shares: Vec<(usize, f64)> = scenario
        .segments
        .iter()
        .enumerate()
        .map(|(idx, segment)| {
            let arrivals = segment.arrivals.expected_arrivals(sim.horizon_hours);
            (
                idx,
                2.0 * arrivals * systems as f64 * f64::from(sim.replications),
            )
        })
        .collect();
    shares.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut text = String::new();
    for (rank, &(idx, segment_events)) in shares.iter().enumerate() {
        if rank > 0 && segment_events < 0.1 * events {
            break;
        }
        let segment = &scenario.segments[idx];
        text.push_str(&format!(
            "\n   = from: demand.segments[{idx}].arrivals_per_hour = {}{} × simulation.horizon_hours = {}{} × {} replication{} × {systems} system{}: ~{} events ({:.0}%)",
            segment.arrivals.base_per_hour,
            at(located.arrivals_per_hour.get(idx).copied().flatten()),
            sim.horizon_hours,
            at(located.horizon_hours),
            sim.replications,
            if sim.replications == 1 { "" } else { "s" },
            if systems == 1 { "" } else { "s" },
            count(segment_events),
            100.0 * segment_events / events.max(1.0),
        ));
    }
    text
}

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// MemAvailable from /proc/meminfo; 8 GiB where that cannot be read.
fn available_memory_bytes() -> f64 {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemAvailable:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or(8.0 * GIB, |kib| kib * 1024.0)
}

/// A count for people: 56.1 M, 2.3 G.
fn count(value: f64) -> String {
    match value {
        v if v >= 1e12 => format!("{:.1} T", v / 1e12),
        v if v >= 1e9 => format!("{:.1} G", v / 1e9),
        v if v >= 1e6 => format!("{:.1} M", v / 1e6),
        v if v >= 1e3 => format!("{:.1} k", v / 1e3),
        v => format!("{v:.0}"),
    }
}

/// Times a scenario on 1 thread and on every core: the scaling the replications get.
fn bench_scaling(path: &Path) -> Result<ExitCode, Failure> {
    let scenario = load(path)?;
    let cores = rayon::current_num_threads().max(2);
    let mut out = io::stdout().lock();
    let mut timed = Vec::new();
    for threads in [1, cores] {
        #[allow(clippy::disallowed_methods)]
        let started = Instant::now();
        let rows = montecarlo::run(&scenario, Some(threads)).map_err(sim_failure)?;
        let seconds = started.elapsed().as_secs_f64();
        let events: u64 = rows.iter().map(|r| r.events).sum();
        print_ok(writeln!(
            out,
            "{} on {threads} thread{}: {:.1} M events in {seconds:.2} s = {:.2} M events/s",
            scenario.name,
            if threads == 1 { "" } else { "s" },
            events as f64 / 1e6,
            events as f64 / seconds / 1e6
        ))?;
        timed.push((rows, seconds));
    }
    let identical = timed[0].0 == timed[1].0;
    print_ok(writeln!(
        out,
        "speed-up {:.2}× on {cores} threads (ideal {cores}×); results {}",
        timed[0].1 / timed[1].1,
        if identical { "identical" } else { "DIFFER" }
    ))?;
    Ok(if identical {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn validate(args: &ValidateArgs) -> Result<ExitCode, Failure> {
    let mut errors = String::new();
    let mut report = String::new();
    for path in &args.scenarios {
        match scenario::load(path) {
            Ok(scenario) => {
                let estimate = montecarlo::estimate(&scenario);
                if !args.size.force
                    && let Err(Failure::Input(refusal) | Failure::Other(refusal)) = check_size(
                        path,
                        &scenario,
                        &estimate,
                        args.size.max_events,
                        rayon::current_num_threads(),
                    )
                {
                    errors.push_str(&refusal);
                    continue;
                }
                let systems: Vec<String> = scenario
                    .systems()
                    .iter()
                    .map(|system| system.name.to_string())
                    .collect();
                report.push_str(&format!(
                    "ok {}: {} ({} segment{}; {}; offered load {:.1} GPUs; ~{} events, ~{} jobs waiting at peak)\n",
                    path.display(),
                    scenario.name,
                    scenario.segments.len(),
                    if scenario.segments.len() == 1 { "" } else { "s" },
                    systems.join(" + "),
                    scenario.offered_load_gpus(),
                    count(estimate.events),
                    count(estimate.peak_waiting_jobs)
                ));
            }
            Err(error) => errors.push_str(&render_scenario_error(&error)),
        }
    }
    print_ok(io::stdout().lock().write_all(report.as_bytes()))?;
    if errors.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(Failure::Input(errors))
    }
}

fn run_verify(args: &VerifyArgs) -> Result<ExitCode, Failure> {
    let checks = verify::run(
        &verify::builtin_cases(),
        args.replications,
        args.seed,
        args.threads.map(usize::from),
    )
    .map_err(|e| Failure::Other(e.to_string()))?;
    let mut out = io::stdout().lock();
    let failed = checks.iter().filter(|c| !c.passed()).count();
    let critical = checks.first().map_or(0.0, |c| c.critical);
    let mut text = format!(
        "{} replications per case, seed {}; a check passes when |z| ≤ {critical:.2} (Student t, Bonferroni over the {} checks of each system, family error {} per system)\n\n",
        args.replications,
        args.seed,
        checks.len() / 2,
        verify::FAMILY_ALPHA
    );
    text.push_str(&format!(
        "{:<20} {:<12} {:<28} {:>12} {:>10} {:>12} {:>7}  result\n",
        "case", "system", "metric", "simulated", "± s.e.", "exact", "z"
    ));
    for check in &checks {
        text.push_str(&format!(
            "{:<20} {:<12} {:<28} {:>12.6} {:>10.6} {:>12.6} {:>7.2}  {}\n",
            check.case,
            check.system.as_str(),
            check.metric,
            check.simulated,
            check.std_error,
            check.exact,
            check.z,
            if check.passed() { "ok" } else { "FAIL" }
        ));
    }
    text.push_str(&format!(
        "\n{} of {} checks agree with the closed forms\n",
        checks.len() - failed,
        checks.len()
    ));
    print_ok(out.write_all(text.as_bytes()))?;
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Peak resident memory of this process so far, from `/proc/self/status` (Linux).
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// `capsim bench --suite`: each built-in benchmark on one thread, timed around the
/// simulation (summaries and Parquet are not part of it).
fn bench_suite(args: &BenchArgs) -> Result<ExitCode, Failure> {
    if !(args.scale.is_finite() && args.scale > 0.0 && args.scale <= 1.0) {
        return Err(Failure::Input(
            "capsim: error: --scale must be a number in (0, 1]\n".to_string(),
        ));
    }
    let mut out = io::stdout().lock();
    let mut mm64_jobs_per_second = None;
    for (file, text) in BENCH_SCENARIOS {
        let mut scenario =
            scenario::parse(file, text).map_err(|e| Failure::Other(render_scenario_error(&e)))?;
        let sim = &mut scenario.simulation;
        sim.horizon_hours = sim.warmup_hours + (sim.horizon_hours - sim.warmup_hours) * args.scale;
        #[allow(clippy::disallowed_methods)]
        let started = Instant::now();
        let rows = montecarlo::run(&scenario, Some(1)).map_err(sim_failure)?;
        let seconds = started.elapsed().as_secs_f64();
        let events: u64 = rows.iter().map(|r| r.events).sum();
        let jobs: u64 = rows.iter().map(|r| r.jobs_arrived).sum();
        let memory = peak_rss_mb().map_or_else(|| "n/a".to_string(), |mb| format!("{mb:.0} MB"));
        print_ok(writeln!(
            out,
            "{file}: {:.1} M events, {:.1} M jobs in {seconds:.2} s = {:.2} M events/s, {:.2} M jobs/s; peak memory so far {memory}",
            events as f64 / 1e6,
            jobs as f64 / 1e6,
            events as f64 / seconds / 1e6,
            jobs as f64 / seconds / 1e6
        ))?;
        mm64_jobs_per_second.get_or_insert(jobs as f64 / seconds);
    }
    if let (Some(binary), Some(capsim)) = (&args.compare_minimal, mm64_jobs_per_second) {
        let hours = format!("{}", 100_000.0 * args.scale);
        let output = std::process::Command::new(binary)
            .args(["64", "57.6", &hours])
            .output()
            .map_err(|e| {
                Failure::Input(format!(
                    "capsim: error: cannot run {}: {e}\n   = hint: build it with cargo build --release in a copy of ../shared/bench/minimal-loop\n",
                    binary.display()
                ))
            })?;
        let text = String::from_utf8_lossy(&output.stdout);
        let minimal = text
            .split_whitespace()
            .find_map(|word| word.strip_prefix("jobs/s="))
            .and_then(|v| v.strip_suffix('M'))
            .and_then(|v| v.parse::<f64>().ok())
            .ok_or_else(|| {
                Failure::Other(format!(
                    "capsim: error: no jobs/s in the minimal loop's output: {text}\n"
                ))
            })?;
        print_ok(writeln!(
            out,
            "minimal loop (M/M/64, {hours} h, its loop only): {minimal:.2} M jobs/s; capsim ÷ minimal = {:.2}×",
            capsim / 1e6 / minimal
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `capsim bench`: by default the M/M/64 example from the README (λ = 57.6/h,
/// exponential 1 h jobs, exponential patience with mean 2 h), one system, one thread.
fn bench(args: &BenchArgs) -> Result<ExitCode, Failure> {
    if let Some(path) = &args.scaling {
        return bench_scaling(path);
    }
    if args.suite {
        return bench_suite(args);
    }
    if !(args.horizon_hours.is_finite() && args.horizon_hours > 500.0) {
        return Err(Failure::Input(
            "capsim: error: --horizon-hours must be a number greater than 500\n".to_string(),
        ));
    }
    let text = format!(
        "name: bench-mmc\nsimulation: {{horizon_hours: {}, warmup_hours: 500, replications: {}, seed: 7}}\n\
         demand:\n  segments:\n    - name: jobs\n      arrivals_per_hour: 57.6\n      gpus_per_job: 1\n\
         \x20     duration_hours: {{exponential: {{mean: 1.0}}}}\n      patience_hours: {{exponential: {{mean: 2.0}}}}\n\
         centralized: {{gpus: 64}}\n",
        args.horizon_hours, args.replications
    );
    let scenario =
        scenario::parse("<bench>", &text).map_err(|e| Failure::Other(render_scenario_error(&e)))?;
    let Some(system) = scenario.centralized.clone() else {
        return Err(Failure::Other("bench scenario has no pool".to_string()));
    };
    let mut out = io::stdout().lock();
    print_ok(writeln!(
        out,
        "M/M/64+M, λ = 57.6/h, {} h per replication, one thread",
        args.horizon_hours
    ))?;
    let (mut total_events, mut total_seconds, mut best) = (0u64, 0.0f64, 0.0f64);
    for replication in 0..u64::from(args.replications) {
        #[allow(clippy::disallowed_methods)]
        let started = Instant::now();
        let (_, events) = montecarlo::simulate(
            &scenario,
            replication,
            &scenario::Simulated::shorthand(SystemKind::Centralized, &system),
            &STOP,
        )
        .map_err(sim_failure)?;
        let seconds = started.elapsed().as_secs_f64();
        let rate = events as f64 / seconds;
        best = best.max(rate);
        total_events += events;
        total_seconds += seconds;
        print_ok(writeln!(
            out,
            "  replication {replication}: {events} events in {seconds:.3} s = {:.2} M events/s",
            rate / 1e6
        ))?;
    }
    print_ok(writeln!(
        out,
        "total: {total_events} events in {total_seconds:.3} s = {:.2} M events/s (best replication {:.2} M events/s)",
        total_events as f64 / total_seconds / 1e6,
        best / 1e6
    ))?;
    Ok(ExitCode::SUCCESS)
}
