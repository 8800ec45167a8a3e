//! What one replication of one system measured, and the conservation laws it must obey.

use crate::engine::Hours;
use crate::model::site::SiteIntegrals;

/// Job counts, for one population (window arrivals, or every arrival).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct JobTally {
    /// Jobs that arrived.
    pub arrived: u64,
    /// Jobs that started for the first time.
    pub started: u64,
    /// Jobs that ran to completion.
    pub completed: u64,
    /// Jobs that gave up before starting.
    pub abandoned: u64,
    /// Jobs that found every acceptable GPU priced above their maximum (lost demand).
    pub priced_out: u64,
    /// Jobs no GPU class of the system may run (too slow, too little memory, or no
    /// site holding the gang).
    pub unserved: u64,
    /// Of those, jobs some class could run but no site of one holds (a gang larger than
    /// every site's interconnect).
    pub unserved_too_large: u64,
    /// Jobs still waiting when nothing more could happen (every site gone, or prices
    /// above their maximum once reviews ended): they could never start.
    pub stranded: u64,
    /// Jobs given up after too many interruptions by failures.
    pub failed: u64,
    /// Runs cut short by a GPU failure (the job went back to the queue).
    pub interrupted: u64,
    /// Runs of spot jobs stopped for a job of a higher tier (the job went back to the
    /// queue; not counted toward the give-up after interruptions).
    pub preempted: u64,
    /// Restarts of interrupted jobs.
    pub restarted: u64,
    /// Jobs whose first wait was > 0 (abandoners included).
    pub waited: u64,
    /// Sum of first waits, hours (abandoners until they left).
    pub wait_hours: f64,
    /// Jobs waiting now.
    pub waiting: u64,
    /// Jobs running now.
    pub running: u64,
}

impl JobTally {
    pub(super) fn record_wait(&mut self, wait: Hours) {
        if wait > 0.0 {
            self.waited += 1;
            self.wait_hours += wait;
        }
    }

    /// Jobs lost: abandoned, priced out, unserved, stranded or failed (the definition of
    /// `lost_demand_fraction` and of the weekly `lost_jobs`).
    pub fn lost(&self) -> u64 {
        self.abandoned + self.priced_out + self.unserved + self.stranded + self.failed
    }

    /// Every arrival is in exactly one state, and every run that began has ended or is running.
    pub fn conserved(&self) -> bool {
        self.arrived
            == self.completed
                + self.abandoned
                + self.priced_out
                + self.unserved
                + self.stranded
                + self.failed
                + self.waiting
                + self.running
            && self.started + self.restarted
                == self.completed + self.running + self.interrupted + self.preempted
    }
}

/// Tiers, the indices of the per-tier arrays (the queue's priority order): reserved
/// jobs first, then on-demand, then spot (served last, and preempted by the others).
pub const RESERVED: usize = 0;
/// See [`RESERVED`].
pub const ON_DEMAND: usize = 1;
/// See [`RESERVED`].
pub const SPOT: usize = 2;
/// How many tiers there are.
pub const TIERS: usize = 3;

/// What one segment's window jobs did in one replication of one system: their counts,
/// and by tier ([`RESERVED`], [`ON_DEMAND`], [`SPOT`]) the work they offered and had served and what they paid.
/// Work is in reference-class GPU-hours (GPUs × duration on the reference class), so a
/// cell's offered work is the same in every system (common random numbers) and its
/// spend per served GPU-hour is a price for the same unit of work everywhere.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SegmentTally {
    /// The segment's window jobs, followed to their end.
    pub jobs: JobTally,
    /// Work of every window arrival, by tier.
    pub offered_work_gpu_hours: [f64; TIERS],
    /// Work of the window jobs that completed, by tier.
    pub served_work_gpu_hours: [f64; TIERS],
    /// What the window jobs paid (compute and egress), by tier.
    pub spend_usd: [f64; TIERS],
    /// Contract fees of the segment's commitments over the window, USD: every committed
    /// GPU-hour, used or not.
    pub contract_spend_usd: f64,
    /// GPU-hours held for its commitments over the window.
    pub committed_gpu_hours: f64,
    /// Of those, GPU-hours its committed jobs used.
    pub committed_used_gpu_hours: f64,
}

/// GPUs by state at one moment; together they are the GPUs installed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GpuStates {
    /// Running jobs.
    pub busy: u32,
    /// Up and unused.
    pub idle: u32,
    /// Failed, waiting for repair.
    pub down: u32,
    /// Taken back by their owner for a while.
    pub withdrawn: u32,
}

/// Time integrals over an interval.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Areas {
    /// ∫ busy GPUs dt.
    pub busy_gpu_hours: f64,
    /// ∫ idle (up, unused) GPUs dt.
    pub idle_gpu_hours: f64,
    /// ∫ failed GPUs dt.
    pub down_gpu_hours: f64,
    /// ∫ GPUs withdrawn by their owners for their own use dt (part-time operators).
    pub withdrawn_gpu_hours: f64,
    /// ∫ jobs waiting dt.
    pub queue_job_hours: f64,
    /// Length of the interval, hours.
    pub hours: f64,
}

impl Areas {
    /// `waiting` is the count of waiting jobs as a float (exact: far below 2⁵³), taken
    /// by the caller once per event rather than once per integral (a u64-to-float
    /// conversion is several instructions on x86-64).
    ///
    /// A zero count adds exactly nothing (0 × a finite dt is +0, and every integral here
    /// is ≥ +0), so the counts that are zero most of the time (GPUs down or withdrawn,
    /// jobs waiting; a site passes no queue at all) are skipped when zero: the same
    /// sums, fewer instructions on every event.
    #[inline]
    pub(super) fn add(&mut self, gpus: GpuStates, waiting: f64, dt: Hours) {
        self.busy_gpu_hours += f64::from(gpus.busy) * dt;
        self.idle_gpu_hours += f64::from(gpus.idle) * dt;
        if gpus.down > 0 {
            self.down_gpu_hours += f64::from(gpus.down) * dt;
        }
        if gpus.withdrawn > 0 {
            self.withdrawn_gpu_hours += f64::from(gpus.withdrawn) * dt;
        }
        if waiting > 0.0 {
            self.queue_job_hours += waiting * dt;
        }
        self.hours += dt;
    }

    /// Busy ÷ (busy + idle); 0 when nothing was up.
    pub fn utilization(&self) -> f64 {
        let up = self.busy_gpu_hours + self.idle_gpu_hours;
        if up > 0.0 {
            self.busy_gpu_hours / up
        } else {
            0.0
        }
    }

    /// Adds another interval's (or another site's) integrals; `hours` then adds up too.
    pub fn accumulate(&mut self, other: &Areas) {
        self.busy_gpu_hours += other.busy_gpu_hours;
        self.idle_gpu_hours += other.idle_gpu_hours;
        self.down_gpu_hours += other.down_gpu_hours;
        self.withdrawn_gpu_hours += other.withdrawn_gpu_hours;
        self.queue_job_hours += other.queue_job_hours;
        self.hours += other.hours;
    }

    /// The change from `earlier` to `self` (both cumulative).
    pub fn since(&self, earlier: &Areas) -> Areas {
        Areas {
            busy_gpu_hours: self.busy_gpu_hours - earlier.busy_gpu_hours,
            idle_gpu_hours: self.idle_gpu_hours - earlier.idle_gpu_hours,
            down_gpu_hours: self.down_gpu_hours - earlier.down_gpu_hours,
            withdrawn_gpu_hours: self.withdrawn_gpu_hours - earlier.withdrawn_gpu_hours,
            queue_job_hours: self.queue_job_hours - earlier.queue_job_hours,
            hours: self.hours - earlier.hours,
        }
    }
}

/// Operating costs accrued over an interval, USD.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Opex {
    /// Electricity: (busy + idle × idle share) × kW × PUE × $/kWh.
    pub power_usd: f64,
    /// Facility: installed kW × $/kW-month.
    pub facility_usd: f64,
    /// Staff and other fixed costs.
    pub fixed_usd: f64,
}

impl Opex {
    /// The sum of the components.
    pub fn total(&self) -> f64 {
        self.power_usd + self.facility_usd + self.fixed_usd
    }

    pub(super) fn add(&mut self, other: &Opex) {
        self.power_usd += other.power_usd;
        self.facility_usd += other.facility_usd;
        self.fixed_usd += other.fixed_usd;
    }
}

/// Money of the jobs that arrived in the window, followed to their end.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Ledger {
    /// What customers paid: compute plus egress.
    pub spend_usd: f64,
    /// The egress part of `spend_usd`.
    pub egress_usd: f64,
    /// Provider or operator revenue, summed site by site.
    pub provider_revenue_usd: f64,
    /// The protocol's share (distributed only).
    pub protocol_revenue_usd: f64,
}

/// One week of one replication (weeks count from time 0).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Week {
    /// Week index: covers hours [168·week, 168·(week + 1)).
    pub week: u32,
    /// GPUs installed at the end of the week.
    pub installed_gpus: u32,
    /// GPUs listed at the end of the week (installed at sites not leaving).
    pub listed_gpus: u32,
    /// Of those, GPUs that deliver.
    pub verified_gpus: u32,
    /// Busy ÷ up GPU-hours in the week.
    pub utilization: f64,
    /// Time-average jobs waiting.
    pub queue_length: f64,
    /// Reference-class price at the end of the week, USD per GPU-hour.
    pub price_usd_per_gpu_hour: f64,
    /// Jobs lost in the week: abandoned, priced out or unserved.
    pub lost_jobs: u64,
}

/// A change in a system's hardware capital. Recorded in time order; finance derives
/// book values, depreciation, capex and disposals from it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CapitalChange {
    /// Hardware arrives at a site: present at time 0, joined, or delivered.
    Added {
        /// When, hours.
        at: Hours,
        /// Site index.
        site: u32,
        /// Capital on which yield is measured (capex, or the resale value of GPUs the
        /// operator already owned), USD.
        capital_usd: f64,
        /// Cash paid for it (0 for GPUs already owned), USD: the depreciable base.
        capex_usd: f64,
        /// GPUs in it.
        gpus: u32,
    },
    /// A share of a leaving site's hardware goes back to its owner.
    Retired {
        /// When, hours.
        at: Hours,
        /// Site index.
        site: u32,
        /// Share of the site's hardware at that moment (of batch `batch`'s GPUs when
        /// one batch left at the end of its service life).
        share: f64,
        /// `None`: every batch of the site left in that share (an operator leaving);
        /// `Some(k)`: only the site's k-th batch (`Added` of that site) did.
        batch: Option<u32>,
    },
}

/// What finance needs to know of a site.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SiteRecord {
    /// 0 for sites present at time 0; k for sites that joined in finance year k.
    pub cohort: u32,
    /// Depreciation life of its hardware, years.
    pub depreciation_years: f64,
    /// Share of capex left at the end of the life.
    pub residual_fraction: f64,
    /// Yearly rate of its class's resale curve (`GpuClass::value_decline_per_year`).
    pub value_decline_per_year: f64,
    /// Its GPU class.
    pub class: usize,
    /// The provider it belongs to, in the architecture's order.
    pub provider: u32,
}

/// One finance year of one system: what its sites accrued, by cohort.
#[derive(Debug, Clone, PartialEq)]
pub struct FinanceYear {
    /// Start and end, hours (the last year ends at the horizon, possibly short).
    pub span: (Hours, Hours),
    /// Integrals of the sites of each provider and cohort (`[provider][cohort]`): each
    /// provider's statements are its own, and its take rate applies to its own revenue.
    pub providers: Vec<Vec<SiteIntegrals>>,
}

/// What one provider of an architecture did in the window: the rows of `providers.parquet`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProviderTally {
    /// GPUs installed at time 0.
    pub gpus_at_start: u64,
    /// GPUs installed at the horizon.
    pub gpus_at_horizon: u64,
    /// Its sites' integrals over the window.
    pub window_areas: Areas,
    /// Window jobs that first started on one of its sites.
    pub jobs_started: u64,
    /// What window jobs paid it (compute and egress), and its contract fees over the
    /// window.
    pub spend_usd: f64,
    /// The contract fees in `spend_usd`.
    pub contract_revenue_usd: f64,
    /// What spot jobs paid in `spend_usd`.
    pub spot_revenue_usd: f64,
    /// GPU-hours its sites held for contracts over the window.
    pub committed_gpu_hours: f64,
    /// Of those, GPU-hours committed jobs used.
    pub committed_used_gpu_hours: f64,
    /// Its sites' share of that spend (all of it for a cloud; the operators' for a network).
    pub revenue_usd: f64,
    /// The protocol's share.
    pub protocol_revenue_usd: f64,
    /// Its reference price at the horizon, USD per GPU-hour.
    pub price_at_horizon: f64,
    /// GPUs listed at the horizon (installed at sites not leaving).
    pub listed_gpus: u64,
    /// Of those, GPUs that deliver.
    pub verified_gpus: u64,
    /// Window jobs that failed on GPUs that do not deliver (each a run, unbilled).
    pub jobs_failed_unverified: u64,
    /// GPU-hours those failed runs held in the window.
    pub unverified_gpu_hours: f64,
}

/// What one operator group of a distributed provider (an `operators:` entry, the entry
/// template, or a pool type) did in the window: a `groups.parquet` row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupTally {
    /// The provider, in the architecture's order.
    pub provider: u32,
    /// The group, in the provider's `System::groups` order.
    pub group: u32,
    /// Potential operators of a pool type (0 for the others).
    pub potential_operators: u64,
    /// Operators present at time 0.
    pub operators_at_start: u64,
    /// Operators present at the horizon (not leaving).
    pub operators_at_horizon: u64,
    /// Operators that joined in the window.
    pub operators_joined: u64,
    /// Operators that decided to leave in the window.
    pub operators_left: u64,
    /// GPUs listed at the horizon (installed at sites not leaving).
    pub listed_gpus: u64,
    /// Of those, GPUs that deliver.
    pub verified_gpus: u64,
    /// GPUs delisted by the horizon: found not to deliver by a job that failed on them.
    pub delisted_gpus: u64,
    /// Its sites' integrals over the window.
    pub window: SiteIntegrals,
    /// Capital employed over the window, USD-years (∫ capital dt).
    pub capital_usd_years: f64,
}

/// A sample of waits kept exactly but compactly: most jobs of an uncongested system do
/// not wait, so zeros are counted and only positive waits (as `f32`, which is what they
/// were always recorded as) are kept. Quantiles are the same order statistics as those
/// of the full sample.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Waits {
    /// Waits that were exactly 0.
    pub zeros: u64,
    /// The positive waits, hours, in the order recorded.
    pub positive: Vec<f32>,
}

impl Waits {
    /// Records one wait.
    #[inline]
    pub fn push(&mut self, wait_hours: f32) {
        if wait_hours == 0.0 {
            self.zeros += 1;
        } else {
            self.positive.push(wait_hours);
        }
    }

    /// Waits recorded.
    pub fn len(&self) -> u64 {
        self.zeros + self.positive.len() as u64
    }

    /// Whether none was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The type-7 quantile at `probability` of all waits (zeros included), as
    /// the metrics layer's `quantile` of the sorted sample gives it; NaN when empty. Only
    /// the two order statistics it needs are selected, in linear time (the positive waits
    /// are reordered).
    pub fn quantile(&mut self, probability: f64) -> f64 {
        let len = self.len();
        if len == 0 {
            return f64::NAN;
        }
        let position = probability * (len - 1) as f64;
        let lower = position.floor() as u64;
        let upper = (lower + 1).min(len - 1);
        let (low, high) = self.order_statistics(lower, upper);
        if len == 1 {
            return low;
        }
        let fraction = position - lower as f64;
        low + fraction * (high - low)
    }

    /// The `k`-th and `m`-th smallest waits (`k ≤ m ≤ k + 1`, both below `len`).
    fn order_statistics(&mut self, k: u64, m: u64) -> (f64, f64) {
        let zeros = self.zeros;
        let at = |index: u64, positive: &mut Vec<f32>| -> f64 {
            if index < zeros {
                0.0
            } else {
                let i = (index - zeros) as usize;
                let (_, value, _) = positive.select_nth_unstable_by(i, f32::total_cmp);
                f64::from(*value)
            }
        };
        let low = at(k, &mut self.positive);
        if m == k {
            return (low, low);
        }
        if m < zeros {
            return (low, 0.0);
        }
        // After selecting index k − zeros, everything above it is no smaller: the next
        // order statistic is the smallest of that part (or, when k is the last zero, the
        // smallest positive wait).
        let i = (m - zeros) as usize;
        let high = if k < zeros {
            self.positive.iter().copied().min_by(f32::total_cmp)
        } else {
            self.positive[i..].iter().copied().min_by(f32::total_cmp)
        };
        (low, high.map_or(low, f64::from))
    }
}

/// Everything measured in one replication of one system.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// GPUs installed at time 0.
    pub initial_gpus: u64,
    /// GPUs installed at the horizon.
    pub gpus_at_horizon: u64,
    /// Window start and end, hours.
    pub window: (Hours, Hours),
    /// Jobs that arrived in the window, followed to the end of the run.
    pub window_jobs: JobTally,
    /// The same population, as it stood at the horizon.
    pub window_jobs_at_horizon: JobTally,
    /// Every job of the run (warm-up and tail included), at the end of the run.
    pub all_jobs: JobTally,
    /// Integrals over the window.
    pub window_areas: Areas,
    /// ∫ withdrawn GPUs × the market's demand shape m(t) dt over the window.
    pub withdrawn_demand_weighted_gpu_hours: f64,
    /// The mean of m(t) over the window (1 over whole weeks or with flat demand).
    pub demand_shape_window_mean: f64,
    /// Integrals over the whole run.
    pub total_areas: Areas,
    /// The window's GPU-hours summed site by site (an independent count; its `hours` is the
    /// sum of the sites' window lengths).
    pub window_areas_by_site: Areas,
    /// Busy GPU-hours in the window summed job by job.
    pub window_busy_by_job: f64,
    /// GPU-hours held by every run (complete or interrupted) of the whole run.
    pub held_by_job: f64,
    /// Sum of every job's time in queue (re-waits after failures included), hours.
    pub wait_by_job: f64,
    /// First waits of window jobs that started, abandoned or were priced out while waiting,
    /// hours (for quantiles).
    pub first_waits: Waits,
    /// (jobs, sum of first waits in hours) of those jobs by tier: reserved, on-demand, spot.
    pub tier_waits: [(u64, f64); TIERS],
    /// Reference-class GPU-hours of work of window jobs that completed.
    pub useful_work_gpu_hours: f64,
    /// Reference-class GPU-hours of work lost to failures and preemptions (window jobs).
    pub lost_work_gpu_hours: f64,
    /// The part of it lost to preemptions.
    pub preempted_lost_work_gpu_hours: f64,
    /// Window arrivals that buy spot.
    pub spot_jobs_arrived: u64,
    /// Reference-class GPU-hours of work of window jobs that gave up.
    pub abandoned_work_gpu_hours: f64,
    /// Reference-class GPU-hours of work of window jobs priced out, unserved or stranded.
    pub refused_work_gpu_hours: f64,
    /// Money of window jobs.
    pub ledger: Ledger,
    /// The window jobs of each segment (index = the scenario's segment order).
    pub segments: Vec<SegmentTally>,
    /// Each provider of the architecture, in its order.
    pub providers: Vec<ProviderTally>,
    /// Each operator group of its distributed providers, provider by provider.
    pub groups: Vec<GroupTally>,
    /// Operating costs over the window.
    pub opex: Opex,
    /// Capex of GPUs delivered in the window, USD.
    pub capex_usd: f64,
    /// GPUs ordered in the window (procurement or reinvestment).
    pub gpus_ordered: u64,
    /// GPUs retired in the window at the end of their service life.
    pub gpus_retired: u64,
    /// Operators that joined in the window.
    pub operators_joined: u64,
    /// Operators that decided to leave in the window.
    pub operators_left: u64,
    /// Reference-class price at the horizon.
    pub price_at_horizon: f64,
    /// Weekly series from time 0 to the horizon.
    pub weeks: Vec<Week>,
    /// Finance years from time 0 to the horizon.
    pub years: Vec<FinanceYear>,
    /// Every change of hardware capital, in time order.
    pub capital_changes: Vec<CapitalChange>,
    /// Per site (by index), its cohort and depreciation terms.
    pub sites: Vec<SiteRecord>,
    /// Customer payments of every job of the run, as billed when runs end, USD.
    pub billed_usd: f64,
    /// The same payments as the sites accrued them while jobs ran, USD.
    pub accrued_by_sites_usd: f64,
    /// Sites whose free GPUs the placement index recorded wrongly at the end (must be 0).
    pub placement_mismatches: u64,
    /// Sites (not leaving) whose batches by age do not add up to their GPUs installed and
    /// waiting to retire, at the end (must be 0).
    pub batch_mismatches: u64,
}

/// Relative agreement of two sums of the same quantity added in different orders:
/// float rounding allows ~n·ε relative error; 1e-9 is far above that for any run this
/// tool makes and far below any bookkeeping mistake (one job-hour in a million).
fn agree(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

impl Outcome {
    /// Checks the conservation laws that must hold in every run, exactly for counts and
    /// to rounding for hours and money.
    ///
    /// # Errors
    /// A description of the first law that fails: that is a bug in capsim.
    pub fn check_invariants(&self) -> Result<(), String> {
        let tallies = [
            ("window jobs at the horizon", &self.window_jobs_at_horizon),
            ("window jobs at the end", &self.window_jobs),
            ("all jobs at the end", &self.all_jobs),
        ];
        for (label, tally) in tallies {
            if !tally.conserved() {
                return Err(format!("job conservation fails for {label}: {tally:?}"));
            }
        }
        self.check_segments()?;
        if self.placement_mismatches != 0 {
            return Err(format!(
                "placement index out of date for {} sites",
                self.placement_mismatches
            ));
        }
        if self.batch_mismatches != 0 {
            return Err(format!(
                "GPU batches do not add up to the GPUs installed at {} sites",
                self.batch_mismatches
            ));
        }
        if self.all_jobs.waiting != 0 || self.all_jobs.running != 0 {
            return Err(format!(
                "run ended with jobs in the system: {:?}",
                self.all_jobs
            ));
        }
        let window = &self.window_areas;
        let by_site = &self.window_areas_by_site;
        let money = &self.ledger;
        let checks = [
            (
                "busy GPU-hours: system = sum over sites (window)",
                window.busy_gpu_hours,
                by_site.busy_gpu_hours,
            ),
            (
                "idle GPU-hours: system = sum over sites (window)",
                window.idle_gpu_hours,
                by_site.idle_gpu_hours,
            ),
            (
                "down GPU-hours: system = sum over sites (window)",
                window.down_gpu_hours,
                by_site.down_gpu_hours,
            ),
            (
                "withdrawn GPU-hours: system = sum over sites (window)",
                window.withdrawn_gpu_hours,
                by_site.withdrawn_gpu_hours,
            ),
            (
                "busy GPU-hours: time integral = sum over jobs (window)",
                window.busy_gpu_hours,
                self.window_busy_by_job,
            ),
            (
                "busy GPU-hours: time integral = sum over runs (whole run)",
                self.total_areas.busy_gpu_hours,
                self.held_by_job,
            ),
            (
                "Little: queue-length integral = sum of waits (whole run)",
                self.total_areas.queue_job_hours,
                self.wait_by_job,
            ),
            ("window length", window.hours, self.window.1 - self.window.0),
            (
                "money: billed by jobs = accrued by sites (whole run)",
                self.billed_usd,
                self.accrued_by_sites_usd,
            ),
            (
                "money: customer spend = provider revenue + protocol revenue",
                money.spend_usd,
                money.provider_revenue_usd + money.protocol_revenue_usd,
            ),
        ];
        for (label, left, right) in checks {
            if !agree(left, right) {
                return Err(format!("{label} fails: {left} vs {right}"));
            }
        }
        // After the system's own books, so a system-level leak is reported as such.
        self.check_providers()
    }

    /// Each segment's jobs are conserved, and the segments add up to the window: every
    /// count exactly, waits, work and money to rounding.
    fn check_segments(&self) -> Result<(), String> {
        let mut sum = JobTally::default();
        let (mut served, mut spend) = (0.0, 0.0);
        for (idx, segment) in self.segments.iter().enumerate() {
            let jobs = &segment.jobs;
            if !jobs.conserved() {
                return Err(format!(
                    "job conservation fails for segment {idx}: {jobs:?}"
                ));
            }
            sum.arrived += jobs.arrived;
            sum.started += jobs.started;
            sum.completed += jobs.completed;
            sum.abandoned += jobs.abandoned;
            sum.priced_out += jobs.priced_out;
            sum.unserved += jobs.unserved;
            sum.unserved_too_large += jobs.unserved_too_large;
            sum.stranded += jobs.stranded;
            sum.failed += jobs.failed;
            sum.interrupted += jobs.interrupted;
            sum.preempted += jobs.preempted;
            sum.restarted += jobs.restarted;
            sum.waited += jobs.waited;
            sum.wait_hours += jobs.wait_hours;
            sum.waiting += jobs.waiting;
            sum.running += jobs.running;
            served += segment.served_work_gpu_hours.iter().sum::<f64>();
            spend += segment.spend_usd.iter().sum::<f64>() + segment.contract_spend_usd;
        }
        let window = &self.window_jobs;
        let counts_agree = JobTally {
            wait_hours: window.wait_hours,
            ..sum
        } == *window;
        if !counts_agree || !agree(sum.wait_hours, window.wait_hours) {
            return Err(format!(
                "segments do not add up to the window's jobs: {sum:?} vs {window:?}"
            ));
        }
        for (label, left, right) in [
            (
                "served work: sum over segments = window",
                served,
                self.useful_work_gpu_hours,
            ),
            (
                "spend: sum over segments = window",
                spend,
                self.ledger.spend_usd,
            ),
        ] {
            if !agree(left, right) {
                return Err(format!("{label} fails: {left} vs {right}"));
            }
        }
        Ok(())
    }

    /// The providers add up to the architecture: jobs started exactly; spend, revenue and
    /// the window's busy and idle GPU-hours to rounding.
    fn check_providers(&self) -> Result<(), String> {
        if self.providers.is_empty() {
            return Ok(());
        }
        let started: u64 = self.providers.iter().map(|p| p.jobs_started).sum();
        if started != self.window_jobs.started {
            return Err(format!(
                "jobs started: sum over providers {started} vs window {}",
                self.window_jobs.started
            ));
        }
        let sum = |get: fn(&ProviderTally) -> f64| self.providers.iter().map(get).sum::<f64>();
        for (label, left, right) in [
            (
                "spend: sum over providers = window",
                sum(|p| p.spend_usd),
                self.ledger.spend_usd,
            ),
            (
                "revenue: sum over providers = providers' revenue",
                sum(|p| p.revenue_usd),
                self.ledger.provider_revenue_usd,
            ),
            (
                "protocol revenue: sum over providers = window",
                sum(|p| p.protocol_revenue_usd),
                self.ledger.protocol_revenue_usd,
            ),
            (
                "busy GPU-hours: sum over providers = sites",
                sum(|p| p.window_areas.busy_gpu_hours),
                self.window_areas_by_site.busy_gpu_hours,
            ),
            (
                "idle GPU-hours: sum over providers = sites",
                sum(|p| p.window_areas.idle_gpu_hours),
                self.window_areas_by_site.idle_gpu_hours,
            ),
        ] {
            if !agree(left, right) {
                return Err(format!("{label} fails: {left} vs {right}"));
            }
        }
        Ok(())
    }

    /// Installed GPU-hours over the window: busy + idle + down + withdrawn.
    pub fn installed_gpu_hours(&self) -> f64 {
        let window = &self.window_areas;
        window.busy_gpu_hours
            + window.idle_gpu_hours
            + window.down_gpu_hours
            + window.withdrawn_gpu_hours
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::quantile;
    use rand::{Rng, RngExt, SeedableRng};

    /// Skipping zero counts leaves every integral bit for bit what adding each term
    /// would give, over counts that are often zero and steps of any size.
    #[test]
    fn integrals_skipping_zero_counts_are_the_full_sums() {
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(16);
        let mut skipping = Areas::default();
        let mut full = [0.0_f64; 6];
        let count = |rng: &mut rand::rngs::Xoshiro256PlusPlus| {
            if rng.random::<f64>() < 0.6 {
                0
            } else {
                rng.random_range(1..5_000)
            }
        };
        for _ in 0..10_000 {
            let gpus = GpuStates {
                busy: count(&mut rng),
                idle: count(&mut rng),
                down: count(&mut rng),
                withdrawn: count(&mut rng),
            };
            let waiting = f64::from(count(&mut rng));
            let dt = rng.random::<f64>() * 10f64.powi(rng.random_range(-6..3));
            skipping.add(gpus, waiting, dt);
            for (sum, term) in full.iter_mut().zip([
                f64::from(gpus.busy) * dt,
                f64::from(gpus.idle) * dt,
                f64::from(gpus.down) * dt,
                f64::from(gpus.withdrawn) * dt,
                waiting * dt,
                dt,
            ]) {
                *sum += term;
            }
        }
        let got = [
            skipping.busy_gpu_hours,
            skipping.idle_gpu_hours,
            skipping.down_gpu_hours,
            skipping.withdrawn_gpu_hours,
            skipping.queue_job_hours,
            skipping.hours,
        ];
        assert!(
            full.iter().all(|&sum| sum > 0.0),
            "every count was sometimes non-zero"
        );
        assert_eq!(got.map(f64::to_bits), full.map(f64::to_bits));
    }

    /// The compact sample gives exactly the quantile of the full sorted sample, bit for
    /// bit, whether the quantile falls among the zeros, on their edge or above them.
    #[test]
    fn wait_quantiles_are_those_of_the_full_sample() {
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(5);
        for (n, zero_share) in [
            (1, 0.0),
            (1, 1.0),
            (2, 0.5),
            (20, 0.95),
            (21, 0.9),
            (1000, 0.69),
            (997, 0.0),
            (50, 1.0),
        ] {
            let mut waits = Waits::default();
            let mut full = Vec::new();
            for _ in 0..n {
                let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
                let wait = if u < zero_share {
                    0.0
                } else {
                    (u * 7.0) as f32
                };
                waits.push(wait);
                full.push(f64::from(wait));
            }
            full.sort_by(f64::total_cmp);
            for p in [0.0, 0.05, 0.5, 0.9, 0.95, 0.99, 1.0] {
                let expected = quantile(&full, p);
                let got = waits.clone().quantile(p);
                assert_eq!(
                    got.to_bits(),
                    expected.to_bits(),
                    "n {n} zeros {zero_share} p {p}"
                );
            }
        }
        assert!(Waits::default().quantile(0.95).is_nan());
    }
}
