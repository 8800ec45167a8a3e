//! Replications: seeding, running each system on the same demand, in parallel.
//!
//! Replication k's random streams depend only on (seed, k), results are collected by
//! replication index, and the threads only decide *when* a replication runs, never
//! *what* it computes: so output is bit-identical whatever the thread count.
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::dbg_macro)]

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use crate::engine::{self, EngineError, EventQueue};
use crate::finance::statements::{ProviderTerms, statements};
use crate::metrics::RunMetrics;
use crate::model::SystemName;
use crate::model::outcome::Outcome;
use crate::model::system::SystemModel;
use crate::results::Results;
use crate::scenario::{Scenario, Simulated};

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The engine stopped early.
    #[error("replication {replication}, {system}: {source}")]
    Engine {
        /// Replication index.
        replication: u64,
        /// System being simulated.
        system: SystemName,
        /// The engine's error.
        source: EngineError,
    },
    /// A conservation law failed: a bug in capsim, reported rather than hidden.
    #[error("internal error: invariant violated in replication {replication}, {system}: {detail}")]
    Invariant {
        /// Replication index.
        replication: u64,
        /// System being simulated.
        system: SystemName,
        /// Which law failed, with the numbers.
        detail: String,
    },
    /// The run was asked to stop (Ctrl-C) before this replication ended.
    #[error("stopped on request")]
    Stopped,
    /// The thread pool could not be built.
    #[error("cannot start {threads} worker threads: {reason}")]
    Threads {
        /// Threads requested.
        threads: usize,
        /// Why not.
        reason: String,
    },
}

/// What a run will cost, estimated before it starts from the scenario alone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunEstimate {
    /// Expected events over all replications and systems (an arrival and an end per job).
    pub events: f64,
    /// Largest expected number of jobs waiting at once in one replication.
    pub peak_waiting_jobs: f64,
    /// Memory one replication needs at its peak, bytes (waiting jobs and their events,
    /// and the state of every site).
    pub bytes_per_replication: f64,
    /// Memory of records waiting to be written (one row group's worth per table, as
    /// records are written as replications finish) and of the Parquet writers' footers, bytes.
    pub bytes_retained: f64,
    /// Memory of one replication's records, bytes.
    pub bytes_records_per_replication: f64,
}

impl RunEstimate {
    /// Memory the run needs at its peak with `threads` replications in flight, bytes.
    pub fn bytes_needed(&self, threads: usize) -> f64 {
        // Each thread also holds its share of the batch being run.
        let batch = (BATCH_PER_THREAD * threads as u64) as f64 * self.bytes_records_per_replication;
        self.bytes_per_replication * threads as f64 + self.bytes_retained + batch
    }
}

/// Bytes of a site's state during a replication: GPU states, four snapshots of its
/// integrals, its placement entry and its records.
const BYTES_PER_SITE: f64 = 600.0;

/// Bytes of one replication's records per system while they wait to be written: its
/// `runs` row (1 kB), each week (50 B) and each finance year of each cohort (400 B).
const BYTES_RECORDS_PER_SYSTEM: f64 = 1_000.0;
const BYTES_RECORDS_PER_WEEK: f64 = 50.0;
const BYTES_RECORDS_PER_YEAR: f64 = 400.0;

/// Bytes the Parquet writers keep until a table's footer is written, per row group:
/// about 2 kB per column chunk over the ~120 columns of the raw tables (heaptrack).
const BYTES_PER_ROW_GROUP: f64 = 250_000.0;

/// Bytes per waiting job: its queue entry (40) and its abandonment event (32), plus
/// room for the queue's doubling growth.
const BYTES_PER_WAITING_JOB: f64 = 150.0;

/// Estimates the size of a run.
///
/// The queue is bounded by Little's law when every segment has a patience (jobs wait at
/// most that long); when some jobs wait forever and the offered load reaches the
/// capacity, the queue grows for the whole horizon and holds the excess arrivals.
pub fn estimate(scenario: &Scenario) -> RunEstimate {
    let arrivals = scenario.expected_arrivals();
    let systems = scenario.systems();
    // Outages add a candidate per GPU per mean time in service (thinned, so an upper
    // bound) and a return per outage: without them a site whose GPUs fail every few
    // minutes, or are taken back almost at once, would pass the size check and run for ever.
    let horizon_hours = scenario.simulation.horizon_hours;
    let outage_events: f64 = systems
        .iter()
        .flat_map(Simulated::sites)
        .map(|site| {
            let gpu_hours = f64::from(site.gpus) * horizon_hours;
            site.reliability
                .as_ref()
                .map_or(0.0, |r| 2.0 * gpu_hours / r.mtbf_hours)
                + site
                    .owner_use
                    .as_ref()
                    .map_or(0.0, |o| 2.0 * gpu_hours / o.offered_mean_hours)
        })
        .sum();
    let events = (2.0 * arrivals * systems.len() as f64 + outage_events)
        * f64::from(scenario.simulation.replications);
    let rate: f64 = scenario
        .segments
        .iter()
        .map(|s| s.arrivals.max_rate(scenario.simulation.horizon_hours))
        .sum();
    let load = scenario.offered_load_gpus();
    let everyone_gives_up = scenario.segments.iter().all(|s| s.patience_hours.is_some());
    let longest_patience = scenario
        .segments
        .iter()
        .filter_map(|s| s.patience_hours.as_ref())
        .map(|p| p.mean())
        .fold(0.0, f64::max);
    let peak_waiting_jobs = systems
        .iter()
        .map(|system| {
            let capacity = system.initial_gpus() as f64;
            if everyone_gives_up {
                rate * longest_patience
            } else if load >= capacity {
                arrivals * (1.0 - capacity / load)
            } else {
                // Stable with infinite patience: the queue is short; allow a day of arrivals.
                rate * 24.0
            }
        })
        .fold(0.0, f64::max);
    let sites: usize = systems.iter().map(|system| system.sites().count()).sum();
    let horizon = scenario.simulation.horizon_hours;
    let years = f64::from(crate::units::finance_years(horizon));
    let per_system = BYTES_RECORDS_PER_SYSTEM
        + (horizon / 168.0).floor() * BYTES_RECORDS_PER_WEEK
        + (years + 1.0) * years * BYTES_RECORDS_PER_YEAR;
    let records = per_system * systems.len() as f64;
    let replications = f64::from(scenario.simulation.replications);
    let row_groups = (replications / crate::results::REPLICATIONS_PER_ROW_GROUP as f64).ceil();
    RunEstimate {
        events,
        peak_waiting_jobs,
        bytes_per_replication: peak_waiting_jobs * BYTES_PER_WAITING_JOB
            + sites as f64 * BYTES_PER_SITE,
        bytes_retained: records
            * replications.min(crate::results::REPLICATIONS_PER_ROW_GROUP as f64)
            + row_groups * BYTES_PER_ROW_GROUP,
        bytes_records_per_replication: records,
    }
}

/// Event budget per replication and system. Each job causes a handful of events
/// (arrival, completion or abandonment, a stale abandonment, restarts after failures),
/// arrivals may continue for one more window after the horizon, and each GPU fails and
/// is repaired at most a few times a year: a budget far above that is only reached by a
/// runaway model.
fn event_budget(scenario: &Scenario) -> u64 {
    let horizon = scenario.simulation.horizon_hours;
    let failures: f64 = scenario
        .systems()
        .iter()
        .flat_map(|system| system.sites().collect::<Vec<_>>())
        .map(|site| {
            let failures = site
                .reliability
                .as_ref()
                .map_or(0.0, |r| horizon / r.mtbf_hours);
            let withdrawals = site
                .owner_use
                .as_ref()
                .map_or(0.0, |o| horizon / o.offered_mean_hours);
            f64::from(site.gpus) * 2.0 * (failures + withdrawals)
        })
        .sum();
    (16.0 * scenario.expected_arrivals() + 100.0 * failures + horizon).min(1e15) as u64 + 1_000_000
}

/// A stop flag nobody sets, for runs that are never interrupted.
pub static NEVER_STOP: AtomicBool = AtomicBool::new(false);

/// Simulates one system for one replication and returns its raw outcome; `stop`, when
/// set (by a Ctrl-C handler, say), ends it early.
///
/// # Errors
/// [`SimError::Engine`] if the event budget runs out, [`SimError::Stopped`] if `stop`
/// was set, [`SimError::Invariant`] if a conservation law fails.
pub fn simulate(
    scenario: &Scenario,
    replication: u64,
    system: &Simulated,
    stop: &AtomicBool,
) -> Result<(Outcome, u64), SimError> {
    let mut model = SystemModel::new(scenario, system, replication);
    let mut events = EventQueue::new();
    model.prime(&mut events);
    let counts =
        engine::run(&mut model, &mut events, event_budget(scenario), stop).map_err(|source| {
            match source {
                EngineError::Stopped { .. } => SimError::Stopped,
                source => SimError::Engine {
                    replication,
                    system: system.name.clone(),
                    source,
                },
            }
        })?;
    let outcome = model.finish();
    outcome
        .check_invariants()
        .map_err(|detail| SimError::Invariant {
            replication,
            system: system.name.clone(),
            detail,
        })?;
    Ok((outcome, counts.processed))
}

/// Simulates one system of one replication and derives its row.
///
/// # Errors
/// As [`simulate`].
pub fn run_system(
    scenario: &Scenario,
    replication: u64,
    system: &Simulated,
    stop: &AtomicBool,
) -> Result<RunMetrics, SimError> {
    let (outcome, events) = simulate(scenario, replication, system, stop)?;
    // A network's statements are also given per cohort of operators.
    let providers: Vec<ProviderTerms> = system
        .providers
        .iter()
        .map(|member| ProviderTerms {
            take_rate: member.spec.take_rate,
            by_cohort: member.kind == crate::model::SystemKind::Distributed,
        })
        .collect();
    let finance = statements(&scenario.finance, &providers, &outcome);
    let mut metrics = RunMetrics::from_outcome(
        replication,
        system.name.clone(),
        &outcome,
        finance,
        events,
        &scenario.segments,
        &system
            .providers
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>(),
    );
    metrics.groups = outcome
        .groups
        .iter()
        .map(|tally| {
            let member = &system.providers[tally.provider as usize];
            crate::metrics::GroupRow::new(
                &member.name,
                &member.spec.groups[tally.group as usize],
                member.spec.take_rate,
                tally,
            )
        })
        .collect();
    Ok(metrics)
}

/// Runs every system of one replication on the same demand.
///
/// # Errors
/// As [`simulate`].
pub fn run_replication(scenario: &Scenario, replication: u64) -> Result<Vec<RunMetrics>, SimError> {
    scenario
        .systems()
        .into_iter()
        .map(|system| run_system(scenario, replication, &system, &NEVER_STOP))
        .collect()
}

/// Runs every system of every replication of `replications` as its own task (the
/// systems of a replication are independent simulations, so the finer tasks keep every
/// thread busy until the end of a batch) and returns each replication's rows in order.
/// `finished(events)` is called as each replication's last system ends. Once `stop` is
/// set, tasks not yet started end at once with [`SimError::Stopped`].
fn run_batch(
    pool: &rayon::ThreadPool,
    scenario: &Scenario,
    replications: Range<u64>,
    finished: &(dyn Fn(u64) + Sync),
    stop: &AtomicBool,
) -> Vec<Result<Vec<RunMetrics>, SimError>> {
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};
    let systems = scenario.systems();
    let per_replication = systems.len().max(1);
    let count = usize::try_from(replications.end - replications.start).unwrap_or(usize::MAX);
    // Systems done and events so far, per replication of the batch.
    let progress: Vec<(AtomicUsize, AtomicU64)> = (0..count)
        .map(|_| (AtomicUsize::new(0), AtomicU64::new(0)))
        .collect();
    let rows: Vec<Result<RunMetrics, SimError>> = pool.install(|| {
        (0..count * systems.len())
            .into_par_iter()
            .map(|task| {
                if stop.load(Ordering::Relaxed) {
                    return Err(SimError::Stopped);
                }
                let (offset, system) = (task / per_replication, &systems[task % per_replication]);
                let row = run_system(scenario, replications.start + offset as u64, system, stop)?;
                let (done, events) = &progress[offset];
                events.fetch_add(row.events, SeqCst);
                // The last system to finish sees every event count added before its own.
                if done.fetch_add(1, SeqCst) + 1 == per_replication {
                    finished(events.load(SeqCst));
                }
                Ok(row)
            })
            .collect()
    });
    let mut rows = rows.into_iter();
    (0..count)
        .map(|_| rows.by_ref().take(per_replication).collect())
        .collect()
}

/// Runs replications `0..scenario.simulation.replications` on `threads` threads (all
/// cores when `None`) and returns the rows ordered by replication, then system.
///
/// # Errors
/// The first failing replication's error (by index), or [`SimError::Threads`].
pub fn run(scenario: &Scenario, threads: Option<usize>) -> Result<Vec<RunMetrics>, SimError> {
    run_range(
        scenario,
        0..u64::from(scenario.simulation.replications),
        threads,
    )
}

/// Why a streamed run stopped.
#[derive(Debug, thiserror::Error)]
pub enum StreamError<E: std::error::Error + 'static> {
    /// A replication failed.
    #[error(transparent)]
    Sim(#[from] SimError),
    /// The sink refused a batch.
    #[error(transparent)]
    Sink(E),
}

/// Replications in flight per thread: enough that threads rarely wait for a batch's
/// slowest replication, few enough that a batch's records stay small.
const BATCH_PER_THREAD: u64 = 32;

/// Runs the replications of `replications` in parallel batches and hands each batch's
/// records to `sink` in replication order, so a run of any length holds at most one
/// batch of records. `finished(events)` is called as each replication ends, in whatever
/// order threads finish them: for progress displays only. Setting `stop` ends the run
/// within milliseconds, handing nothing more to `sink`.
///
/// # Errors
/// The first failing replication's error (by index), [`SimError::Threads`], the sink's
/// error, or [`SimError::Stopped`]; replications after it are not run.
pub fn run_streaming<E: std::error::Error + 'static>(
    scenario: &Scenario,
    replications: Range<u64>,
    threads: Option<usize>,
    finished: &(dyn Fn(u64) + Sync),
    sink: &mut dyn FnMut(Results) -> Result<(), E>,
    stop: &AtomicBool,
) -> Result<(), StreamError<E>> {
    let pool = thread_pool(threads)?;
    let batch = BATCH_PER_THREAD * pool.current_num_threads().max(1) as u64;
    let hurdle = scenario.finance.hurdle_rate;
    let mut start = replications.start;
    while start < replications.end {
        let end = start.saturating_add(batch).min(replications.end);
        let mut records = Results::default();
        let batch = run_batch(&pool, scenario, start..end, finished, stop);
        // A stop reported by any replication wins over the errors of replications it cut short.
        if stop.load(Ordering::Relaxed) {
            return Err(StreamError::Sim(SimError::Stopped));
        }
        for rows in batch {
            records.append(Results::from_rows(&rows?, hurdle));
        }
        sink(records).map_err(StreamError::Sink)?;
        start = end;
    }
    Ok(())
}

/// Runs every replication of `replications` in parallel and returns its rows, in
/// replication order whatever the threads did.
fn each_replication(
    scenario: &Scenario,
    replications: Range<u64>,
    threads: Option<usize>,
) -> Result<Vec<Vec<RunMetrics>>, SimError> {
    let pool = thread_pool(threads)?;
    run_batch(&pool, scenario, replications, &|_| {}, &NEVER_STOP)
        .into_iter()
        .collect()
}

fn thread_pool(threads: Option<usize>) -> Result<rayon::ThreadPool, SimError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .build()
        .map_err(|e| SimError::Threads {
            threads: threads.unwrap_or(0),
            reason: e.to_string(),
        })
}

/// Shard `shard` (from 0) of `shards` of `replications`: consecutive blocks whose sizes
/// differ by at most one, together covering the range once.
pub fn shard_range(replications: Range<u64>, shard: u32, shards: u32) -> Range<u64> {
    let length = replications.end - replications.start;
    // length < 2^32 (replications are counted in u32) and shard ≤ 2^32: no overflow.
    let at = |k: u32| replications.start + length * u64::from(k) / u64::from(shards);
    at(shard)..at(shard + 1)
}

/// Runs the replications in `replications` (each seeded by its index alone, so any split
/// of a run into ranges gives the same rows) and returns the rows ordered by
/// replication, then system.
///
/// # Errors
/// As [`run`].
pub fn run_range(
    scenario: &Scenario,
    replications: Range<u64>,
    threads: Option<usize>,
) -> Result<Vec<RunMetrics>, SimError> {
    Ok(each_replication(scenario, replications, threads)?
        .into_iter()
        .flatten()
        .collect())
}
