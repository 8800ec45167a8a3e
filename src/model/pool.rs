//! A fixed pool of GPUs with a FIFO queue and impatient jobs.
//!
//! Rules: a job starts when it reaches the head of the queue and enough GPUs are free
//! (strict FIFO: a large job at the head blocks smaller ones behind it, which is how a
//! gang-scheduled cluster without backfill behaves); a multi-GPU job holds all its GPUs
//! until it completes; a job that has not started within its patience leaves. Patience
//! 0 means a job that cannot start at once leaves at once (Erlang B).
//!
//! Measurement: jobs that arrive in the window [warmup, horizon) are followed to the
//! end. Arrivals stop at the horizon and the run drains, so every such job's wait is
//! known exactly; under strict FIFO later arrivals cannot change an earlier job's wait,
//! so draining does not bias it. GPU-hours and queue length are time-averaged over the
//! window itself.

use std::collections::VecDeque;

use crate::engine::{EventQueue, Handled, Hours, Model};
use crate::model::demand::{JobSource, JobSpec};

/// Events of the pool model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PoolEvent {
    /// The next job of a segment arrives.
    Arrival {
        /// Segment index.
        segment: u32,
    },
    /// A running job finishes and frees its GPUs.
    Completion {
        /// GPUs freed.
        gpus: u32,
        /// When the job started (for the window's busy GPU-hours).
        started: Hours,
        /// Whether the job arrived in the measurement window.
        in_window: bool,
    },
    /// A waiting job's patience runs out (stale if it has started meanwhile).
    Abandon {
        /// Job id, increasing in arrival order.
        job: u64,
    },
    /// The end of the window: arrivals stop and conservation is checked.
    Horizon,
}

/// A job in the FIFO queue.
#[derive(Debug, Clone, Copy)]
struct Waiting {
    job: u64,
    arrived: Hours,
    gpus: u32,
    duration_hours: Hours,
    in_window: bool,
    /// Left the queue by abandonment; removed lazily when it reaches the head.
    abandoned: bool,
}

/// Job counts, for one population (window arrivals, or every arrival).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct JobTally {
    /// Jobs that arrived.
    pub arrived: u64,
    /// Jobs that started.
    pub started: u64,
    /// Jobs that ran to completion.
    pub completed: u64,
    /// Jobs that gave up before starting.
    pub abandoned: u64,
    /// Jobs whose time in queue was > 0 (abandoners included).
    pub waited: u64,
    /// Sum of time in queue, hours (abandoners until they left).
    pub wait_hours: f64,
    /// Jobs waiting now.
    pub waiting: u64,
    /// Jobs running now.
    pub running: u64,
}

impl JobTally {
    fn arrive(&mut self) {
        self.arrived += 1;
    }

    fn start(&mut self, wait: Hours, queued: bool) {
        self.started += 1;
        self.running += 1;
        self.record_wait(wait);
        if queued {
            self.waiting -= 1;
        }
    }

    fn abandon(&mut self, wait: Hours, queued: bool) {
        self.abandoned += 1;
        self.record_wait(wait);
        if queued {
            self.waiting -= 1;
        }
    }

    fn record_wait(&mut self, wait: Hours) {
        if wait > 0.0 {
            self.waited += 1;
            self.wait_hours += wait;
        }
    }

    /// Jobs arrived = completed + abandoned + waiting + running, each counted separately.
    fn conserved(&self) -> bool {
        self.arrived == self.completed + self.abandoned + self.waiting + self.running && self.started == self.completed + self.running
    }
}

/// Time integrals, in GPU-hours or job-hours.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Areas {
    /// ∫ busy GPUs dt.
    pub busy_gpu_hours: f64,
    /// ∫ idle GPUs dt.
    pub idle_gpu_hours: f64,
    /// ∫ jobs waiting dt.
    pub queue_job_hours: f64,
    /// Length of the interval integrated over, hours.
    pub hours: f64,
}

impl Areas {
    fn add(&mut self, busy: u32, idle: u32, waiting: u64, dt: Hours) {
        self.busy_gpu_hours += f64::from(busy) * dt;
        self.idle_gpu_hours += f64::from(idle) * dt;
        self.queue_job_hours += waiting as f64 * dt;
        self.hours += dt;
    }
}

/// Everything measured in one replication of one pool.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PoolOutcome {
    /// GPUs installed.
    pub gpus: u32,
    /// Window start and end, hours.
    pub window: (Hours, Hours),
    /// Jobs that arrived in the window, followed to the end of the run.
    pub window_jobs: JobTally,
    /// The same population, as it stood at the horizon.
    pub window_jobs_at_horizon: JobTally,
    /// Every job of the run (warm-up included), at the end of the run.
    pub all_jobs: JobTally,
    /// Every job of the run, at the horizon.
    pub all_jobs_at_horizon: JobTally,
    /// Integrals over the window.
    pub window_areas: Areas,
    /// Integrals over the whole run.
    pub total_areas: Areas,
    /// GPU-hours of window overlap summed job by job at completion: an independent
    /// count of `window_areas.busy_gpu_hours`.
    pub window_busy_by_job: f64,
    /// GPU-hours of work (GPUs × duration) of every completed job.
    pub work_by_job: f64,
    /// Sum of every job's time in queue (abandoners until they left), hours.
    pub wait_by_job: f64,
}

/// The pool model for one replication of one system.
pub struct GpuPool {
    free: u32,
    sources: Vec<JobSource>,
    queue: VecDeque<Waiting>,
    next_job: u64,
    last_time: Hours,
    outcome: PoolOutcome,
}

impl GpuPool {
    /// A pool of `gpus` GPUs fed by `sources`, measured over `[warmup, horizon)`.
    pub fn new(gpus: u32, sources: Vec<JobSource>, warmup: Hours, horizon: Hours) -> Self {
        let outcome = PoolOutcome { gpus, window: (warmup, horizon), ..PoolOutcome::default() };
        GpuPool { free: gpus, sources, queue: VecDeque::new(), next_job: 0, last_time: 0.0, outcome }
    }

    /// Schedules each segment's first arrival and the horizon marker.
    pub fn prime(&mut self, queue: &mut EventQueue<PoolEvent>) {
        let horizon = self.outcome.window.1;
        for (idx, source) in self.sources.iter_mut().enumerate() {
            if let Some(first) = source.next_arrival(0.0, horizon) {
                // Segment count is bounded by u32 (the scenario file is at most 4 MiB).
                queue.schedule(first, PoolEvent::Arrival { segment: idx as u32 });
            }
        }
        queue.schedule(horizon, PoolEvent::Horizon);
    }

    /// The measurements, once the engine has drained the queue.
    pub fn finish(self) -> PoolOutcome {
        self.outcome
    }

    /// Integrates busy, idle and queued counts from the last event up to `now`.
    #[inline]
    fn advance(&mut self, now: Hours) {
        let busy = self.outcome.gpus - self.free;
        let waiting = self.outcome.all_jobs.waiting;
        let dt = now - self.last_time;
        if dt > 0.0 {
            self.outcome.total_areas.add(busy, self.free, waiting, dt);
            let (warmup, horizon) = self.outcome.window;
            let overlap = now.min(horizon) - self.last_time.max(warmup);
            if overlap > 0.0 {
                self.outcome.window_areas.add(busy, self.free, waiting, overlap);
            }
        }
        self.last_time = now;
    }

    /// Applies `update` to the all-jobs tally and, for a window job, the window tally.
    #[inline]
    fn tally(&mut self, in_window: bool, update: impl Fn(&mut JobTally)) {
        update(&mut self.outcome.all_jobs);
        if in_window {
            update(&mut self.outcome.window_jobs);
        }
    }

    /// Starts `job` now; `queued` says whether it leaves the queue (or never joined it).
    fn start(&mut self, now: Hours, job: &Waiting, queued: bool, events: &mut EventQueue<PoolEvent>) {
        debug_assert!(job.gpus <= self.free, "started a job without enough free GPUs");
        self.free -= job.gpus;
        let wait = now - job.arrived;
        self.outcome.wait_by_job += wait;
        self.tally(job.in_window, |tally| tally.start(wait, queued));
        events.schedule(now + job.duration_hours, PoolEvent::Completion { gpus: job.gpus, started: now, in_window: job.in_window });
    }

    fn on_arrival(&mut self, now: Hours, segment: u32, events: &mut EventQueue<PoolEvent>) {
        let horizon = self.outcome.window.1;
        let source = &mut self.sources[segment as usize];
        let job: JobSpec = source.next_job();
        if let Some(next) = source.next_arrival(now, horizon) {
            events.schedule(next, PoolEvent::Arrival { segment });
        }
        let in_window = now >= self.outcome.window.0;
        self.tally(in_window, |tally| tally.arrive());
        // The id is only taken (next_job advanced) if the job joins the queue.
        let entry =
            Waiting { job: self.next_job, arrived: now, gpus: job.gpus, duration_hours: job.duration_hours, in_window, abandoned: false };
        if self.outcome.all_jobs.waiting == 0 {
            self.queue.clear();
            if job.gpus <= self.free {
                self.start(now, &entry, false, events);
                return;
            }
        }
        if job.patience_hours == Some(0.0) {
            self.tally(in_window, |tally| tally.abandon(0.0, false));
            return;
        }
        self.next_job += 1;
        self.queue.push_back(entry);
        self.tally(in_window, |tally| tally.waiting += 1);
        if let Some(patience) = job.patience_hours {
            events.schedule(now + patience, PoolEvent::Abandon { job: entry.job });
        }
    }

    fn on_completion(&mut self, now: Hours, gpus: u32, started: Hours, in_window: bool, events: &mut EventQueue<PoolEvent>) {
        self.free += gpus;
        let (warmup, horizon) = self.outcome.window;
        let overlap = now.min(horizon) - started.max(warmup);
        if overlap > 0.0 {
            self.outcome.window_busy_by_job += f64::from(gpus) * overlap;
        }
        self.outcome.work_by_job += f64::from(gpus) * (now - started);
        self.tally(in_window, |tally| {
            tally.completed += 1;
            tally.running -= 1;
        });
        self.start_from_queue(now, events);
    }

    fn on_abandon(&mut self, now: Hours, job: u64, events: &mut EventQueue<PoolEvent>) -> Handled {
        // Ids increase in queue order, so the queue is sorted by id.
        let Ok(idx) = self.queue.binary_search_by_key(&job, |waiting| waiting.job) else {
            return Handled::Stale;
        };
        let entry = &mut self.queue[idx];
        if entry.abandoned {
            return Handled::Stale;
        }
        entry.abandoned = true;
        let (wait, in_window) = (now - entry.arrived, entry.in_window);
        self.outcome.wait_by_job += wait;
        self.tally(in_window, |tally| tally.abandon(wait, true));
        if idx == 0 {
            self.start_from_queue(now, events);
        }
        Handled::Processed
    }

    /// Starts jobs from the head of the queue while they fit, dropping abandoned ones.
    fn start_from_queue(&mut self, now: Hours, events: &mut EventQueue<PoolEvent>) {
        while let Some(head) = self.queue.front().copied() {
            if head.abandoned {
                self.queue.pop_front();
            } else if head.gpus <= self.free {
                self.queue.pop_front();
                self.start(now, &head, true, events);
            } else {
                break;
            }
        }
    }

    fn on_horizon(&mut self) {
        self.outcome.window_jobs_at_horizon = self.outcome.window_jobs;
        self.outcome.all_jobs_at_horizon = self.outcome.all_jobs;
    }
}

impl Model for GpuPool {
    type Event = PoolEvent;

    #[inline]
    fn handle(&mut self, now: Hours, event: PoolEvent, events: &mut EventQueue<PoolEvent>) -> Handled {
        self.advance(now);
        match event {
            PoolEvent::Arrival { segment } => self.on_arrival(now, segment, events),
            PoolEvent::Completion { gpus, started, in_window } => self.on_completion(now, gpus, started, in_window, events),
            PoolEvent::Abandon { job } => return self.on_abandon(now, job, events),
            PoolEvent::Horizon => self.on_horizon(),
        }
        Handled::Processed
    }
}

/// Relative agreement of two sums of the same non-negative quantity added in different
/// orders: float rounding allows ~n·ε relative error; 1e-9 is far above that for any
/// run this tool makes and far below any bookkeeping mistake (one job-hour in a million).
fn agree(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

impl PoolOutcome {
    /// Checks the conservation laws that must hold in every run, exactly for counts and
    /// to rounding for hours.
    ///
    /// # Errors
    /// A description of the first law that fails: that is a bug in capsim.
    pub fn check_invariants(&self) -> Result<(), String> {
        let tallies = [
            ("window jobs at the horizon", &self.window_jobs_at_horizon),
            ("all jobs at the horizon", &self.all_jobs_at_horizon),
            ("window jobs at the end", &self.window_jobs),
            ("all jobs at the end", &self.all_jobs),
        ];
        for (label, tally) in tallies {
            if !tally.conserved() {
                return Err(format!("job conservation fails for {label}: {tally:?}"));
            }
        }
        if self.all_jobs.waiting != 0 || self.all_jobs.running != 0 {
            return Err(format!("run ended with jobs in the system: {:?}", self.all_jobs));
        }
        let installed = f64::from(self.gpus) * self.window_areas.hours;
        let window = &self.window_areas;
        let checks = [
            ("busy + idle = installed GPU-hours (window)", window.busy_gpu_hours + window.idle_gpu_hours, installed),
            ("busy GPU-hours: time integral = sum over jobs (window)", window.busy_gpu_hours, self.window_busy_by_job),
            ("busy GPU-hours: time integral = sum over jobs (run)", self.total_areas.busy_gpu_hours, self.work_by_job),
            ("Little: queue-length integral = sum of waits (run)", self.total_areas.queue_job_hours, self.wait_by_job),
            ("window length", window.hours, self.window.1 - self.window.0),
        ];
        for (label, left, right) in checks {
            if !agree(left, right) {
                return Err(format!("{label} fails: {left} vs {right}"));
            }
        }
        if window.busy_gpu_hours > installed * (1.0 + 1e-12) {
            return Err(format!("busy GPU-hours {} exceed installed {installed}", window.busy_gpu_hours));
        }
        Ok(())
    }
}
