//! One system — the centralized cloud or the distributed network — serving a job stream.
//!
//! Capacity is a list of sites (data centers or operators), each with one GPU class in
//! one region. A job runs on one site (gang: all its GPUs on one site), placed in its own
//! region first, then elsewhere at a run-time slowdown (`latency_slowdown`: the job
//! takes longer, and is billed for the longer time), on the cheapest acceptable class
//! per unit of work. A job refuses a system whose every acceptable class is priced
//! above its maximum (priced out), or which has no class fast enough (unserved).
//!
//! Queueing is first-fit in priority order: reserved-tier jobs before on-demand, first
//! come first served within a tier, and whenever GPUs free up on a site the first
//! waiting jobs that fit there start. A waiting job gives up when its patience runs out
//! (0 = never waits). With one site and one-GPU jobs this is exactly M/M/c(+M).
//!
//! Measurement: jobs arriving in [warmup, horizon) are followed to their end. Because a
//! later arrival can overtake an earlier one (priority, first-fit), arrivals continue
//! past the horizon while any window job still waits, for at most one more window
//! length, so window jobs keep competing with the demand that would really follow;
//! after that, arrivals stop and the run drains.
//!
//! Supply events: GPU failures (each up GPU fails at rate 1/MTBF; a job on it goes back
//! to the head of its queue and restarts or resumes from its last checkpoint, the work
//! since then is lost), repairs, deliveries of ordered GPUs, operators joining; and a
//! periodic review that moves prices, orders GPUs (centralized) and lets operators
//! leave, join or reinvest (distributed). Reviews stop at the horizon; failures stop
//! once no window job is running after it. Jobs still waiting when no event is left
//! (every site gone, or a price above their maximum that no review will lower) are
//! counted as stranded: lost demand.

use rand::RngExt;
use std::cell::RefCell;
use std::sync::Arc;

use crate::dist::Dist;
use crate::engine::{EventQueue, Handled, Hours, Model};
mod contracts;
mod pool;
mod retirement;
mod review;
mod spot;

use crate::model::SystemKind;
use crate::model::decisions::{self, ArrivalSeen};
use crate::model::demand::{JobSource, JobSpec};
use crate::model::outcome::{
    Areas, CapitalChange, FinanceYear, GpuStates, JobTally, Outcome, ProviderTally, RESERVED, SPOT,
    SegmentTally, SiteRecord, Week,
};
use crate::model::placement::{Key, Placement};
use crate::model::queue::{Entry, WaitQueue};
use crate::model::site::{Outage, OutageProcess, SiteIntegrals, SiteState};
use crate::scenario::defaults;
use crate::scenario::owner_use::{self, DemandShape};
use crate::scenario::supply::{OwnerUse, PlacementPolicy, PricePolicy, Site, System};
use crate::scenario::{GpuClass, Scenario, Simulated};
use crate::seeds::{self, SimRng, Stream};
use crate::units::{HOURS_PER_WEEK, HOURS_PER_YEAR, finance_years};

/// Events of the system model. Indices refer to the model's own tables.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SystemEvent {
    /// The next job of a segment arrives.
    Arrival {
        /// Segment index.
        segment: u32,
    },
    /// A run ends (stale if the job was interrupted since).
    Completion {
        /// Job slot.
        slot: u32,
        /// The slot's epoch when the run started.
        epoch: u32,
    },
    /// A waiting job's patience runs out (stale if it started since).
    Abandon {
        /// Job slot.
        slot: u32,
        /// The slot's epoch when the job joined the queue.
        epoch: u32,
    },
    /// A candidate outage at a site: a GPU may fail or be taken back by its owner
    /// (stale if the site's size changed since).
    Outage {
        /// Site index.
        site: u32,
        /// Which outage process.
        kind: Outage,
        /// The process's generation when scheduled.
        generation: u32,
    },
    /// A GPU comes back: repaired, or returned by its owner.
    Back {
        /// Site index.
        site: u32,
        /// The outage that ends.
        kind: Outage,
    },
    /// Ordered GPUs arrive.
    Delivery {
        /// Order index.
        order: u32,
    },
    /// A batch of a site's GPUs reaches the end of its service life.
    EndOfLife {
        /// Site index.
        site: u32,
        /// The batch, in the site's arrival order.
        batch: u32,
    },
    /// An onboarded operator starts offering GPUs.
    Join {
        /// The provider it joins.
        provider: u32,
        /// Its index in the provider's pool (`pool::TEMPLATE` under the template rule).
        candidate: u32,
    },
    /// A provider's periodic review: prices, procurement, entry, exit, reinvestment.
    Review {
        /// The provider reviewing.
        provider: u32,
    },
    /// End of a week of the time series.
    Snapshot,
    /// The end of the warm-up: the measurement window opens.
    WindowStart,
    /// The end of a finance year (before the horizon).
    YearEnd,
    /// The end of the window.
    Horizon,
    /// A customer's contract starts: its GPUs are held from now.
    ContractStart {
        /// Index among the architecture's contracts.
        contract: u32,
    },
    /// A customer's contract ends (not renewed).
    ContractEnd {
        /// Index among the architecture's contracts.
        contract: u32,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum JobState {
    Free,
    Waiting,
    Running,
}

/// A job in the system; slots are reused, and `epoch` tells stale events and queue
/// entries from live ones (it changes at every transition).
#[derive(Debug, Clone, Copy)]
struct Job {
    epoch: u32,
    state: JobState,
    spec: JobSpec,
    /// Remaining work, reference-class hours per GPU.
    work_hours: Hours,
    region: usize,
    /// Index of the segment it came from.
    segment: u32,
    min_speed: f64,
    arrived: Hours,
    queued_at: Hours,
    in_window: bool,
    started_once: bool,
    /// Runs cut short by failures so far.
    interruptions: u32,
    site: usize,
    /// Position in its site's running list, while it runs there (sites that keep one).
    running_pos: u32,
    started: Hours,
    /// Reference work done per hour on the current site (speed ÷ slowdown).
    rate: f64,
    /// Locked at start, USD per GPU-hour.
    price: f64,
    /// The contract holding it runs on, or [`contracts::NO_HOLDING`].
    holding: u32,
    /// Its place in its segment's list of jobs running beyond their commitment, or
    /// [`contracts::NOT_BURSTING`].
    bursting_pos: u32,
    /// A spot job running on held GPUs no committed job used.
    resold: bool,
    /// Unverified GPUs among those it runs on: it fails at its completion event.
    probe: u32,
}

impl Job {
    fn payer(&self) -> Payer {
        Payer {
            in_window: self.in_window,
            segment: self.segment,
            tier: self.spec.tier(),
        }
    }
}

/// Whose payment a bill is: where its spend is counted.
#[derive(Debug, Clone, Copy)]
struct Payer {
    in_window: bool,
    segment: u32,
    tier: usize,
}

/// GPUs on their way to a site.
#[derive(Debug, Clone, Copy)]
struct Order {
    site: usize,
    gpus: u32,
    capex_usd_per_gpu: f64,
}

/// The model of one architecture for one replication: the shared context, then its
/// parts, each the one owner of its state — [`Capacity`], [`Jobs`], the [`Provider`]s
/// (prices, supply streams, what their reviews read), [`Accounts`].
pub struct SystemModel<'a> {
    classes: &'a [GpuClass],
    seeding: seeds::Seeding,
    replication: u64,
    sources: Vec<JobSource>,
    segment_region: Vec<usize>,
    segment_min_speed: Vec<f64>,
    /// Per segment, hours between its jobs' checkpoints (`None`: the site's own).
    segment_checkpoint: Vec<Option<f64>>,
    /// Per segment, the lock-in of its locked jobs where the incumbent is in this
    /// architecture.
    segment_lock_in: Vec<Option<LockIn>>,
    capacity: Capacity,
    jobs: Jobs,
    providers: Vec<Provider<'a>>,
    commitments: contracts::Commitments,
    /// Whether the architecture has contracts or the demand spot jobs: without either,
    /// starts and ends skip their bookkeeping (one test on the hot path).
    extras: bool,
    accounts: Accounts,
    last_time: Hours,
    arrival_cutoff: Hours,
    tail_open: bool,
    /// The yearly rate at which procurement values capital when it prices the cost of the
    /// GPUs it would buy (the finance discount rate).
    planning_rate: f64,
    /// The market's demand over the week, which owners' withdrawals may follow and by
    /// which they are weighed.
    owner_demand: OwnerDemand,
}

/// What owners' withdrawals read of the market's demand: its shape, the calibrated
/// take-back factors of each (offered, withdrawn) mean seen (sites share them), and how
/// far withdrawn GPU-hours have been weighed by demand.
struct OwnerDemand {
    shape: DemandShape,
    factors: Vec<(MeanPeriods, Arc<[f64]>)>,
    weighed_to: Hours,
}

/// The bits of an owner's (offered, withdrawn) mean periods: the key of its factors.
type MeanPeriods = (u64, u64);

impl OwnerDemand {
    /// The take-back factors by hour of week of a site whose owner follows demand.
    fn factors(&mut self, owner: &OwnerUse) -> Arc<[f64]> {
        let key = (
            owner.offered_mean_hours.to_bits(),
            owner.withdrawn_mean_hours.to_bits(),
        );
        if let Some((_, factors)) = self.factors.iter().find(|(k, _)| *k == key) {
            return Arc::clone(factors);
        }
        // The scenario checker refuses a share no factor keeps; were one to come
        // through, the demand shape itself is the closest rule.
        let factors: Arc<[f64]> = owner_use::calibrated_factors(
            &self.shape.hourly,
            owner.offered_mean_hours,
            owner.withdrawn_mean_hours,
        )
        .unwrap_or_else(|_| self.shape.hourly.clone())
        .into();
        self.factors.push((key, Arc::clone(&factors)));
        factors
    }
}

/// One provider of the architecture: its terms and prices, the random streams of its
/// supply-side draws (numbered by the provider, so it draws the same supply in every
/// architecture it is in), and what its reviews read. Its sites sit in the shared
/// [`Capacity`], each knowing its provider.
struct Provider<'a> {
    spec: &'a System,
    kind: SystemKind,
    /// The provider's part in its supply streams' numbers.
    streams: seeds::SystemIndex,
    prices: Prices,
    /// Which of its sites with room a job goes to.
    placement: PlacementPolicy,
    /// Draws of `placement: random` (interior mutability: placing is a query).
    placement_rng: RefCell<SimRng>,
    lead_rng: SimRng,
    onboarding_rng: SimRng,
    /// GPUs installed per class on its sites that are not leaving.
    class_installed: Vec<u64>,
    /// Its sites not leaving, counted by (class, the largest gang one holds): whether a
    /// job too large for every site is unserved. Entries are few (sites of a class
    /// differ in size, not in kind), and a count may fall to 0.
    gang_sites: Vec<(usize, u32, u64)>,
    /// GPUs it ordered that have not arrived.
    on_order: u32,
    /// Operators that decided to join it and are still onboarding.
    pending_joins: u32,
    /// Sites it has had so far: the next one's number in its streams.
    sites_added: u32,
    /// Its entry pool's potential operators for this replication (empty without one).
    pool: Vec<pool::Candidate>,
    period_start: Hours,
    /// The architecture's integrals at its last review (read with one provider only).
    period_start_areas: Areas,
    /// Work that gave up waiting since its last review, by region: every provider sees
    /// what the market lost (assumption: each could have sold it).
    period_abandoned_work: Vec<f64>,
    /// Arrivals since its last review, for the pricing view (market clearing only).
    period_arrivals: Vec<ArrivalSeen>,
    records_arrivals: bool,
}

/// A segment's lock-in in one architecture: the incumbent's index among its providers.
#[derive(Debug, Clone, Copy)]
struct LockIn {
    incumbent: usize,
    switch_threshold: f64,
}

/// The sites, the placement index over them, and the system's GPU totals.
struct Capacity {
    sites: Vec<SiteState>,
    placement: Placement,
    installed_total: u32,
    free_total: u32,
    /// GPUs spot jobs hold, all sites (0: nothing to preempt).
    spot_total: u32,
    /// Jobs preempted for the arrival being placed (scratch, empty between events).
    preempted: Vec<u32>,
    down_total: u32,
    withdrawn_total: u32,
    /// GPUs ordered and not yet delivered, all sites.
    on_order_total: u32,
    orders: Vec<Order>,
}

impl Capacity {
    /// Tells the placement index a site's free GPUs changed (a leaving site offers none).
    #[inline]
    fn sync(&mut self, site_idx: usize) {
        let site = &self.sites[site_idx];
        let free = if site.leaving { 0 } else { site.general_free() };
        self.placement.update(site_idx, free, site.rank());
    }

    /// GPUs the system may still add before reaching [`defaults::MAX_SYSTEM_GPUS`].
    fn gpu_room(&self) -> u32 {
        defaults::MAX_SYSTEM_GPUS
            .saturating_sub(self.installed_total.saturating_add(self.on_order_total))
    }
}

/// The jobs in the system, in reusable slots, and the line of those waiting.
struct Jobs {
    slots: Vec<Job>,
    free_slots: Vec<u32>,
    queue: WaitQueue,
}

impl Jobs {
    fn take(&mut self, job: Job) -> u32 {
        match self.free_slots.pop() {
            Some(slot) => {
                let epoch = self.slots[slot as usize].epoch;
                self.slots[slot as usize] = Job { epoch, ..job };
                slot
            }
            None => {
                self.slots.push(job);
                // Slots are bounded by jobs in the system, far below 2^32.
                (self.slots.len() - 1) as u32
            }
        }
    }

    fn release(&mut self, slot: u32) {
        let job = &mut self.slots[slot as usize];
        job.state = JobState::Free;
        job.epoch = job.epoch.wrapping_add(1);
        self.free_slots.push(slot);
    }
}

/// What the replication measures (the outcome) and the snapshots that review periods
/// and weeks are differences of.
struct Accounts {
    outcome: Outcome,
    /// (provider, group, whether it left) of every operator that joined or decided to
    /// leave in the window, for the groups' rows.
    group_joins: Vec<(u32, u32, bool)>,
    week_start_areas: Areas,
    week_start_lost: u64,
}

impl Accounts {
    #[inline]
    fn tally(&mut self, in_window: bool, segment: u32, update: impl Fn(&mut JobTally)) {
        update(&mut self.outcome.all_jobs);
        if in_window {
            update(&mut self.outcome.window_jobs);
            update(&mut self.outcome.segments[segment as usize].jobs);
        }
    }

    fn in_window(&self, now: Hours) -> bool {
        now >= self.outcome.window.0 && now < self.outcome.window.1
    }
}

impl<'a> SystemModel<'a> {
    /// The model of architecture `system` for replication `replication`, fed the
    /// scenario's demand.
    pub fn new(scenario: &'a Scenario, system: &Simulated<'a>, replication: u64) -> Self {
        let sim = &scenario.simulation;
        let owner_shape = DemandShape::of(&scenario.segments);
        let demand_shape_window_mean = owner_shape.integral(sim.warmup_hours, sim.horizon_hours)
            / (sim.horizon_hours - sim.warmup_hours);
        let sources = scenario
            .segments
            .iter()
            .enumerate()
            // The scenario has far fewer than 2^32 segments (the file is at most 4 MiB).
            .map(|(idx, segment)| JobSource::new(segment, idx as u32, sim.seeding(), replication))
            .collect();
        let classes = scenario.classes.len();
        let providers = system
            .providers
            .iter()
            .map(|member| {
                let (spec, streams) = (member.spec, member.streams);
                let rng = |stream| seeds::rng(sim.seeding(), replication, stream);
                Provider {
                    spec,
                    kind: member.kind,
                    streams,
                    prices: Prices::of(spec, classes),
                    placement: spec.placement,
                    placement_rng: RefCell::new(rng(Stream::Placement { system: streams })),
                    lead_rng: rng(Stream::LeadTimes { system: streams }),
                    onboarding_rng: rng(Stream::Onboarding { system: streams }),
                    class_installed: vec![0; classes],
                    gang_sites: Vec::new(),
                    on_order: 0,
                    pending_joins: 0,
                    sites_added: 0,
                    pool: pool::draw_pool(spec, sim.seeding(), replication, streams),
                    period_start: 0.0,
                    period_start_areas: Areas::default(),
                    period_abandoned_work: vec![0.0; scenario.regions.len()],
                    period_arrivals: Vec::new(),
                    records_arrivals: spec
                        .pricing
                        .as_ref()
                        .is_some_and(|p| matches!(p.policy, PricePolicy::MarketClearing { .. })),
                }
            })
            .collect();
        let mut model = SystemModel {
            classes: &scenario.classes,
            seeding: sim.seeding(),
            replication,
            sources,
            segment_region: scenario.segments.iter().map(|s| s.region).collect(),
            segment_checkpoint: scenario
                .segments
                .iter()
                .map(|s| s.checkpoint_every_hours)
                .collect(),
            segment_min_speed: scenario
                .segments
                .iter()
                .map(|s| s.min_class_speed)
                .collect(),
            segment_lock_in: scenario
                .segments
                .iter()
                .map(|segment| {
                    let lock = segment.lock_in.as_ref()?;
                    let incumbent = system
                        .providers
                        .iter()
                        .position(|member| member.name == lock.incumbent)?;
                    Some(LockIn {
                        incumbent,
                        switch_threshold: lock.switch_threshold,
                    })
                })
                .collect(),
            capacity: Capacity {
                sites: Vec::new(),
                placement: Placement::default(),
                installed_total: 0,
                free_total: 0,
                spot_total: 0,
                preempted: Vec::new(),
                down_total: 0,
                withdrawn_total: 0,
                on_order_total: 0,
                orders: Vec::new(),
            },
            jobs: Jobs {
                slots: Vec::new(),
                free_slots: Vec::new(),
                queue: WaitQueue::default(),
            },
            providers,
            commitments: contracts::Commitments::new(scenario, system, sim.seeding(), replication),
            extras: false,
            last_time: 0.0,
            arrival_cutoff: sim.horizon_hours + (sim.horizon_hours - sim.warmup_hours),
            tail_open: false,
            planning_rate: scenario.finance.discount_rate,
            owner_demand: OwnerDemand {
                shape: owner_shape,
                factors: Vec::new(),
                weighed_to: 0.0,
            },
            accounts: Accounts {
                outcome: Outcome {
                    window: (sim.warmup_hours, sim.horizon_hours),
                    demand_shape_window_mean,
                    initial_gpus: system.initial_gpus(),
                    segments: vec![SegmentTally::default(); scenario.segments.len()],
                    providers: system
                        .providers
                        .iter()
                        .map(|member| ProviderTally {
                            gpus_at_start: member.spec.initial_gpus(),
                            ..ProviderTally::default()
                        })
                        .collect(),
                    ..Outcome::default()
                },
                week_start_areas: Areas::default(),
                week_start_lost: 0,
                group_joins: Vec::new(),
            },
        };
        for (provider, member) in system.providers.iter().enumerate() {
            for site in &member.spec.sites {
                model.add_site(provider, site, 0.0, 1.0);
            }
        }
        for provider in 0..model.providers.len() {
            model.price_from_costs(provider);
        }
        model.extras = !model.commitments.contracts.is_empty()
            || scenario.segments.iter().any(|s| s.spot_share > 0.0);
        model
    }

    /// Schedules first arrivals, the horizon, weekly snapshots, reviews and failures.
    pub fn prime(&mut self, events: &mut EventQueue<SystemEvent>) {
        let horizon = self.accounts.outcome.window.1;
        for (idx, source) in self.sources.iter_mut().enumerate() {
            if let Some(first) = source.next_arrival(0.0, self.arrival_cutoff) {
                // Each segment's next arrival waits in its own lane beside the heap.
                let segment = idx as u32;
                events.schedule_in_lane(idx, first, SystemEvent::Arrival { segment });
            }
        }
        events.schedule(horizon, SystemEvent::Horizon);
        if HOURS_PER_WEEK <= horizon {
            events.schedule(HOURS_PER_WEEK, SystemEvent::Snapshot);
        }
        if self.accounts.outcome.window.0 > 0.0 {
            events.schedule(self.accounts.outcome.window.0, SystemEvent::WindowStart);
        }
        if HOURS_PER_YEAR < horizon {
            events.schedule(HOURS_PER_YEAR, SystemEvent::YearEnd);
        }
        for (idx, provider) in self.providers.iter().enumerate() {
            let spec = provider.spec;
            if spec.needs_reviews() && spec.review_every_hours < horizon {
                let provider = idx as u32;
                events.schedule(spec.review_every_hours, SystemEvent::Review { provider });
            }
        }
        for site in 0..self.capacity.sites.len() {
            self.reschedule_outages(0.0, site, events);
            self.schedule_end_of_life(site, 0, events);
        }
        self.schedule_contracts(events);
    }

    /// The measurements, once the engine has drained the queue.
    pub fn finish(mut self) -> Outcome {
        self.strand_waiting_jobs();
        for (idx, site) in self.capacity.sites.iter().enumerate() {
            let expected = if site.leaving { 0 } else { site.general_free() };
            if self.capacity.placement.recorded(idx) != expected {
                self.accounts.outcome.placement_mismatches += 1;
            }
            // A leaving operator's GPUs go pro rata, not by batch: only others keep them.
            let (gpus, retiring) = site
                .batches
                .iter()
                .fold((0, 0), |(g, r), b| (g + b.gpus, r + b.retiring));
            if !site.leaving && (gpus != site.installed || retiring != site.retiring) {
                self.accounts.outcome.batch_mismatches += 1;
            }
        }
        let now = self.last_time;
        self.weigh_withdrawn(now);
        let outcome = &mut self.accounts.outcome;
        for site in &mut self.capacity.sites {
            site.advance(now);
            outcome.ledger.provider_revenue_usd += site.window_jobs_revenue_usd;
            outcome.providers[site.provider].revenue_usd += site.window_jobs_revenue_usd;
            outcome.accrued_by_sites_usd += site.total.gross_revenue_usd;
        }
        self.accounts.outcome
    }

    /// Brings every site's integrals up to `now` (before a snapshot of them).
    pub(super) fn advance_sites(&mut self, now: Hours) {
        for site in &mut self.capacity.sites {
            site.advance(now);
            site.age_to(now);
        }
    }

    fn on_window_start(&mut self, now: Hours) {
        self.advance_sites(now);
        for site in &mut self.capacity.sites {
            site.at_window_start = site.total;
            site.capital_usd_hours_at_window_start = site.capital_usd_hours;
        }
    }

    /// Sums the window's integrals site by site (an independent count of the system's).
    fn close_window(&mut self) {
        let outcome = &mut self.accounts.outcome;
        for site in &self.capacity.sites {
            let window = site.total.since(&site.at_window_start);
            outcome.window_areas_by_site.accumulate(&window.areas);
            outcome.providers[site.provider]
                .window_areas
                .accumulate(&window.areas);
            outcome.opex.add(&window.opex);
        }
    }

    /// Ends the current finance year at `now`: each site's accruals go to its cohort.
    fn close_year(&mut self, now: Hours) {
        self.advance_sites(now);
        let start = self
            .accounts
            .outcome
            .years
            .last()
            .map_or(0.0, |year| year.span.1);
        let cohorts = finance_years(self.accounts.outcome.window.1) as usize + 1;
        let mut year = FinanceYear {
            span: (start, now),
            providers: vec![vec![SiteIntegrals::default(); cohorts]; self.providers.len()],
        };
        for (site, record) in self
            .capacity
            .sites
            .iter_mut()
            .zip(&self.accounts.outcome.sites)
        {
            let accrued = site.total.since(&site.at_year_start);
            year.providers[site.provider][record.cohort as usize].add(&accrued);
            site.at_year_start = site.total;
        }
        self.accounts.outcome.years.push(year);
    }

    fn on_year_end(&mut self, now: Hours, events: &mut EventQueue<SystemEvent>) {
        self.close_year(now);
        let next = now + HOURS_PER_YEAR;
        if next < self.accounts.outcome.window.1 {
            events.schedule(next, SystemEvent::YearEnd);
        }
    }

    /// Jobs still waiting when no event is left can never start (no capacity will come
    /// back and no price will change): they count as lost demand, waiting until the end.
    fn strand_waiting_jobs(&mut self) {
        let now = self.last_time;
        for slot in 0..self.jobs.slots.len() {
            let job = self.jobs.slots[slot];
            if job.state != JobState::Waiting {
                continue;
            }
            let wait = now - job.queued_at;
            self.accounts.outcome.wait_by_job += wait;
            if !job.started_once {
                self.record_first_wait(job.in_window, job.spec.tier(), now - job.arrived);
            }
            if job.in_window {
                self.accounts.outcome.refused_work_gpu_hours +=
                    f64::from(job.spec.gpus) * job.work_hours;
            }
            self.accounts.tally(job.in_window, job.segment, |tally| {
                tally.waiting -= 1;
                tally.stranded += 1;
            });
            self.jobs.release(slot as u32);
        }
    }

    /// Adds a site present from `now`; GPUs it buys (capex > 0) cost `price_factor` of
    /// their written price (the class's price new then), while its costs keep the written
    /// price, on which a cost-based price applies the factor of the day itself.
    fn add_site(&mut self, provider: usize, spec: &Site, now: Hours, price_factor: f64) -> usize {
        let idx = self.capacity.sites.len();
        // Numbered within its provider, so the provider draws the same supply in every
        // architecture (with one provider, the site's index as always).
        let (system, site) = (
            self.providers[provider].streams,
            self.providers[provider].sites_added,
        );
        self.providers[provider].sites_added += 1;
        let rng = |stream: Stream| seeds::rng(self.seeding, self.replication, stream);
        let process =
            |per_gpu_mean_hours: f64, back_hours: Dist, streams: (Stream, Stream)| OutageProcess {
                per_gpu_mean_hours,
                back_hours,
                generation: 0,
                candidate_rng: rng(streams.0),
                back_rng: rng(streams.1),
                by_hour: None,
                max_factor: 1.0,
            };
        let outages = [
            spec.reliability.as_ref().map(|r| {
                let streams = (
                    Stream::SiteFailures { system, site },
                    Stream::SiteRepairs { system, site },
                );
                process(r.mtbf_hours, r.mttr_hours.clone(), streams)
            }),
            spec.owner_use.as_ref().map(|o| {
                let back = Dist::Exponential {
                    mean: o.withdrawn_mean_hours,
                };
                let streams = (
                    Stream::SiteOwnerTakesBack { system, site },
                    Stream::SiteOwnerReturns { system, site },
                );
                let mut process = process(o.offered_mean_hours, back, streams);
                if o.follows_demand && self.owner_demand.shape.seasonal {
                    let factors = self.owner_demand.factors(o);
                    process.max_factor = factors.iter().copied().fold(0.0, f64::max);
                    process.by_hour = Some(factors);
                }
                process
            }),
        ];
        let verified_share = spec.verification.as_ref().map(|v| {
            let mut draws = rng(Stream::SiteVerification { system, site });
            v.share.sample(&mut draws).clamp(0.0, 1.0)
        });
        let mut site = SiteState::new(spec, &self.classes[spec.class], now, outages);
        site.provider = provider;
        site.gross_ask_usd_per_gpu_hour = self.providers[provider].gross_ask(&site, spec);
        site.ask_from_costs = site.gross_ask_usd_per_gpu_hour.is_some()
            && spec.ask_usd_per_gpu_hour.is_none()
            && self.providers[provider].cost_plus_terms().is_some();
        if let Some(share) = verified_share {
            site.unverified = site.installed - (f64::from(site.installed) * share).round() as u32;
        }
        let (capital_usd, capex_usd) = SiteState::initial_capital(spec);
        // Only the bought part (capex) gets cheaper; owned hardware keeps its value.
        let (capital_usd, capex_usd) = (
            capital_usd - capex_usd * (1.0 - price_factor),
            capex_usd * price_factor,
        );
        site.capital_usd = capital_usd;
        let value_usd_per_gpu = if spec.gpus > 0 {
            capital_usd / f64::from(spec.gpus)
        } else {
            0.0
        };
        site.batches.push(self.new_batch(
            provider,
            &spec.costs,
            site.installed,
            value_usd_per_gpu,
            now,
            spec.costs.age_years,
        ));
        self.accounts
            .outcome
            .capital_changes
            .push(CapitalChange::Added {
                at: now,
                site: idx as u32,
                capital_usd,
                capex_usd,
                gpus: spec.gpus,
            });
        // Year k covers (k − 1, k] years: a site joining at its very end belongs to it. A
        // cloud is one business: a data center it opens later is not a cohort.
        let cohort = if self.providers[provider].kind == SystemKind::Centralized {
            0
        } else {
            ((now / HOURS_PER_YEAR).ceil() as u32)
                .min(finance_years(self.accounts.outcome.window.1))
        };
        self.accounts.outcome.sites.push(SiteRecord {
            cohort,
            depreciation_years: spec.costs.depreciation_years,
            residual_fraction: spec.costs.residual_fraction,
            value_decline_per_year: self.classes[spec.class].value_decline_per_year(),
            class: spec.class,
            provider: provider as u32,
        });
        self.capacity.installed_total += site.installed;
        self.capacity.free_total += site.free;
        self.providers[provider].count_installed(&site, 0, site.installed);
        self.capacity.placement.add(
            Key {
                provider,
                region: site.region,
                class: site.class,
                max_gang_gpus: site.max_gang_gpus,
            },
            self.providers[provider].placement == PlacementPolicy::LeastUtilized,
            site.free,
            site.rank(),
        );
        self.capacity.sites.push(site);
        self.floor_asks(provider);
        self.price_unpriced_classes(provider);
        idx
    }

    /// Under `placement: cheapest`, each class's price (what refusals, views and the
    /// reference price read) is the lowest ask among the provider's sites of the class
    /// that are not leaving; a class none asks for keeps its price.
    fn floor_asks(&mut self, provider: usize) {
        if self.providers[provider].placement != PlacementPolicy::Cheapest {
            return;
        }
        let mut lowest = vec![f64::INFINITY; self.classes.len()];
        for site in self
            .capacity
            .sites
            .iter()
            .filter(|s| s.provider == provider && !s.leaving && s.installed > 0)
        {
            if let Some(gross) = site.gross_ask_usd_per_gpu_hour {
                lowest[site.class] = lowest[site.class].min(gross);
            }
        }
        let prices = &mut self.providers[provider].prices;
        for (base, lowest) in prices.base_usd_per_gpu_hour.iter_mut().zip(lowest) {
            if lowest.is_finite() {
                *base = lowest;
            }
        }
    }

    /// Integrates the system's GPU and queue counts from the last event up to `now`.
    #[inline]
    fn advance(&mut self, now: Hours) {
        let dt = now - self.last_time;
        if dt > 0.0 {
            let states = GpuStates {
                busy: self.capacity.installed_total
                    - self.capacity.free_total
                    - self.capacity.down_total
                    - self.capacity.withdrawn_total,
                idle: self.capacity.free_total,
                down: self.capacity.down_total,
                withdrawn: self.capacity.withdrawn_total,
            };
            let waiting = self.accounts.outcome.all_jobs.waiting as f64;
            self.accounts.outcome.total_areas.add(states, waiting, dt);
            let (warmup, horizon) = self.accounts.outcome.window;
            let overlap = now.min(horizon) - self.last_time.max(warmup);
            if overlap > 0.0 {
                self.accounts
                    .outcome
                    .window_areas
                    .add(states, waiting, overlap);
            }
        }
        self.last_time = now;
    }

    /// The best site for `job` with room now: the lowest effective cost per unit of work
    /// (price × slowdown ÷ speed, plus egress per GPU-hour across providers), then its
    /// own region, then the group created first — providers and their sites in the
    /// order written; within a group, the site its provider's placement picks (under
    /// `cheapest` the group's price is its lowest ask with room, and that site is taken).
    fn place(&self, job: &Job) -> Option<usize> {
        let several = self.providers.len() > 1;
        let allowed: Option<Vec<bool>> = self.lock_of(job).map(|lock| {
            (0..self.providers.len())
                .map(|provider| lock_allows(&self.providers, self.classes, lock, job, provider))
                .collect()
        });
        // (remote, cost, group, the site when the group's price is that site's ask).
        let mut best: Option<(bool, f64, usize, Option<usize>)> = None;
        for (idx, group) in self.capacity.placement.groups.iter().enumerate() {
            let class = &self.classes[group.class];
            if group.max_free() < job.spec.gpus
                || group.max_gang_gpus < job.spec.gpus
                || !class_holds(class, job)
                || allowed
                    .as_ref()
                    .is_some_and(|allowed| !allowed[group.provider])
            {
                continue;
            }
            let speed = class.speed;
            let provider = &self.providers[group.provider];
            let prices = &provider.prices;
            let remote = group.region != job.region;
            let slowdown = if remote { prices.latency_slowdown } else { 1.0 };
            let (price, site) = if provider.placement == PlacementPolicy::Cheapest {
                let Some((site, price)) = self.cheapest_in(idx, job.spec.gpus, job.spec.tier())
                else {
                    continue;
                };
                (price, Some(site))
            } else {
                (prices.price(group.class, job.spec.tier()), None)
            };
            let unit_price = price / speed * slowdown;
            if unit_price > job.spec.max_price_usd_per_gpu_hour {
                continue;
            }
            // One provider's egress is the same on each of its sites: it ranks providers only.
            let cost = if several {
                unit_price + self.providers[group.provider].egress_per_gpu_hour(job)
            } else {
                unit_price
            };
            let better = match best {
                None => true,
                Some((best_remote, best_cost, _, _)) => {
                    cost < best_cost || (cost == best_cost && !remote && best_remote)
                }
            };
            if better {
                best = Some((remote, cost, idx, site));
            }
        }
        best.and_then(|(_, _, group, site)| {
            site.or_else(|| self.site_in(group, job.spec.gpus, job.spec.tier()))
        })
    }

    /// Under `placement: cheapest`, the site of a group with room for `gpus` that asks
    /// least for a job of `tier`, and that price per GPU-hour; equal asks go to the least
    /// utilized so far, then to the site created first.
    fn cheapest_in(&self, group_idx: usize, gpus: u32, tier: usize) -> Option<(usize, f64)> {
        let group = &self.capacity.placement.groups[group_idx];
        let prices = &self.providers[group.provider].prices;
        let now = self.last_time;
        let mut best: Option<(f64, f64, usize)> = None;
        group.visit_with(gpus, |site_idx| {
            let site = &self.capacity.sites[site_idx];
            let price = prices.at_site(site, tier);
            let better = match best {
                None => true,
                Some((lowest, _, _)) if price < lowest => true,
                Some((lowest, utilization, _)) => {
                    price == lowest && site.utilization_to(now) < utilization
                }
            };
            if better {
                best = Some((price, site.utilization_to(now), site_idx));
            }
            true
        });
        best.map(|(price, _, site_idx)| (site_idx, price))
    }

    /// The site of a placement group that takes a job of `gpus` GPUs of `tier`, by its
    /// provider's policy. `first_fit`, and `least_utilized` for one GPU, take one path of
    /// the group's trees; `random`, `cheapest` and gangs under `least_utilized` walk the
    /// sites with room (skipping full subtrees).
    fn site_in(&self, group_idx: usize, gpus: u32, tier: usize) -> Option<usize> {
        let group = &self.capacity.placement.groups[group_idx];
        let provider = &self.providers[group.provider];
        match provider.placement {
            PlacementPolicy::FirstFit => group.first_with(gpus),
            PlacementPolicy::LeastUtilized => group.least_ranked_with(gpus),
            // `place` ranks by price and takes the site itself; the same rule here.
            PlacementPolicy::Cheapest => self
                .cheapest_in(group_idx, gpus, tier)
                .map(|(site, _)| site),
            PlacementPolicy::Random => {
                let mut candidates = 0usize;
                group.visit_with(gpus, |_| {
                    candidates += 1;
                    true
                });
                if candidates == 0 {
                    return None;
                }
                let draw = provider.placement_rng.borrow_mut().random::<f64>();
                let mut left = ((draw * candidates as f64) as usize).min(candidates - 1);
                let mut picked = None;
                group.visit_with(gpus, |site_idx| {
                    if left == 0 {
                        picked = Some(site_idx);
                        return false;
                    }
                    left -= 1;
                    true
                });
                picked
            }
        }
    }

    /// Where `job` starts now: in its segment's commitment where it fits, else as
    /// [`SystemModel::place`] finds.
    #[inline]
    fn place_job(&self, job: &Job) -> Option<usize> {
        if self.extras
            && let Some(site) = self.place_committed(
                job.segment,
                job.spec.gpus,
                job.min_speed,
                job.spec.memory_gb_per_gpu,
            )
        {
            return Some(site);
        }
        self.place(job)
    }

    /// The lock-in that binds this job here: it is locked in and its incumbent is in
    /// the architecture.
    fn lock_of(&self, job: &Job) -> Option<LockIn> {
        if !job.spec.locked_in {
            return None;
        }
        self.segment_lock_in[job.segment as usize]
    }

    /// A provider's cheapest price per reference GPU-hour, at the list (factor 1), of a
    /// class a job of this tier may use (fast enough, memory enough, on a site that holds
    /// its gang); infinite when it has none.
    fn list_unit_price(&self, provider: usize, job: &Job) -> f64 {
        let provider = &self.providers[provider];
        self.classes
            .iter()
            .enumerate()
            .filter(|&(idx, class)| {
                provider.class_installed[idx] > 0
                    && class_holds(class, job)
                    && provider.holds_gang(idx, job.spec.gpus)
            })
            .map(|(idx, class)| provider.prices.list_price(idx, job.spec.tier()) / class.speed)
            .fold(f64::INFINITY, f64::min)
    }

    /// Why a job refuses a provider outright, if it does: too large when some class it
    /// may use is installed but no site of one holds its gang.
    fn refused_by(&self, provider: usize, job: &Job) -> Option<Refusal> {
        let provider = &self.providers[provider];
        let (mut capable, mut too_large) = (false, false);
        for (class_idx, class) in self.classes.iter().enumerate() {
            if provider.class_installed[class_idx] == 0 || !class_holds(class, job) {
                continue;
            }
            if !provider.holds_gang(class_idx, job.spec.gpus) {
                too_large = true;
                continue;
            }
            capable = true;
            if provider.prices.price(class_idx, job.spec.tier()) / class.speed
                <= job.spec.max_price_usd_per_gpu_hour
            {
                return None;
            }
        }
        Some(if capable {
            Refusal::PricedOut
        } else if too_large {
            Refusal::TooLarge
        } else {
            Refusal::Unserved
        })
    }

    /// Why a job refuses the whole market, if it does: priced out when some provider
    /// could run it but every one that could is too dear, else too large when some has a
    /// class it may use but no site holding its gang, else unserved.
    fn refusal(&self, job: &Job) -> Option<Refusal> {
        let mut refusal = Refusal::Unserved;
        for provider in 0..self.providers.len() {
            match self.refused_by(provider, job) {
                None => return None,
                Some(Refusal::PricedOut) => refusal = Refusal::PricedOut,
                Some(Refusal::TooLarge) if refusal == Refusal::Unserved => {
                    refusal = Refusal::TooLarge;
                }
                Some(_) => {}
            }
        }
        Some(refusal)
    }

    fn on_arrival(
        &mut self,
        now: Hours,
        segment: u32,
        events: &mut EventQueue<SystemEvent>,
    ) -> Handled {
        if now >= self.accounts.outcome.window.1 {
            self.tail_open = self.tail_open && self.accounts.outcome.window_jobs.waiting > 0;
            if !self.tail_open {
                return Handled::Stale;
            }
        }
        let source = &mut self.sources[segment as usize];
        let spec = source.next_job(now);
        if let Some(next) = source.next_arrival(now, self.arrival_cutoff) {
            events.schedule_in_lane(segment as usize, next, SystemEvent::Arrival { segment });
        }
        let in_window = self.accounts.in_window(now);
        self.accounts
            .tally(in_window, segment, |tally| tally.arrived += 1);
        if self.extras && in_window && spec.tier() == SPOT {
            self.accounts.outcome.spot_jobs_arrived += 1;
        }
        if in_window {
            self.accounts.outcome.segments[segment as usize].offered_work_gpu_hours[spec.tier()] +=
                f64::from(spec.gpus) * spec.duration_hours;
        }
        let job = Job {
            epoch: 0,
            state: JobState::Waiting,
            spec,
            work_hours: spec.duration_hours,
            region: self.segment_region[segment as usize],
            segment,
            min_speed: self.segment_min_speed[segment as usize],
            arrived: now,
            queued_at: now,
            in_window,
            started_once: false,
            interruptions: 0,
            site: 0,
            running_pos: 0,
            started: 0.0,
            rate: 1.0,
            price: 0.0,
            holding: contracts::NO_HOLDING,
            bursting_pos: contracts::NOT_BURSTING,
            resold: false,
            probe: 0,
        };
        // A customer with a running commitment here has bought its GPUs already.
        let refusal = if self.extras && self.commitments.entitled(segment) {
            None
        } else {
            self.refusal(&job)
        };
        if now < self.accounts.outcome.window.1 {
            // A market-clearing provider sees every arrival, and whether its own price
            // refused it.
            for provider in 0..self.providers.len() {
                if !self.providers[provider].records_arrivals {
                    continue;
                }
                let list_unit_price_usd = self.list_unit_price(provider, &job);
                let priced_out =
                    matches!(self.refused_by(provider, &job), Some(Refusal::PricedOut));
                self.providers[provider].period_arrivals.push(ArrivalSeen {
                    max_price_usd: spec.max_price_usd_per_gpu_hour,
                    work_gpu_hours: f64::from(spec.gpus) * spec.duration_hours,
                    list_unit_price_usd,
                    region: job.region,
                    priced_out,
                    min_speed: job.min_speed,
                });
            }
        }
        if let Some(refusal) = refusal {
            if in_window {
                self.accounts.outcome.refused_work_gpu_hours +=
                    f64::from(spec.gpus) * spec.duration_hours;
            }
            match refusal {
                Refusal::PricedOut => {
                    self.accounts
                        .tally(in_window, segment, |tally| tally.priced_out += 1);
                }
                Refusal::Unserved => {
                    self.accounts
                        .tally(in_window, segment, |tally| tally.unserved += 1);
                }
                Refusal::TooLarge => {
                    self.accounts.tally(in_window, segment, |tally| {
                        tally.unserved += 1;
                        tally.unserved_too_large += 1;
                    });
                }
            }
            return Handled::Processed;
        }
        if let Some(site) = self.place_job(&job) {
            let slot = self.jobs.take(job);
            self.start(now, slot, site, false, events);
        } else if let Some(site) = self.extras.then(|| self.place_resold(&job)).flatten() {
            let slot = self.jobs.take(job);
            self.start(now, slot, site, false, events);
        } else if let Some(site) = self
            .extras
            .then(|| self.reclaim_commitment(now, &job, events))
            .flatten()
            .or_else(|| {
                (self.capacity.spot_total > 0)
                    .then(|| self.make_room(now, &job, events))
                    .flatten()
            })
        {
            let slot = self.jobs.take(job);
            self.start(now, slot, site, false, events);
            // GPUs preempted beyond its need go to the jobs waiting, and the preempted
            // jobs to any other site with room.
            self.start_on_site(now, site, events);
            self.restart_preempted(now, events);
        } else if spec.patience_hours == Some(0.0) {
            self.accounts.tally(in_window, segment, |tally| {
                tally.abandoned += 1;
            });
            self.record_first_wait(in_window, spec.tier(), 0.0);
            if in_window {
                self.accounts.outcome.abandoned_work_gpu_hours +=
                    f64::from(spec.gpus) * spec.duration_hours;
            }
            self.abandoned(job.region, f64::from(spec.gpus) * spec.duration_hours);
        } else {
            let slot = self.jobs.take(job);
            self.enqueue(slot, false);
            if let Some(patience) = spec.patience_hours {
                let epoch = self.jobs.slots[slot as usize].epoch;
                events.schedule(now + patience, SystemEvent::Abandon { slot, epoch });
            }
        }
        Handled::Processed
    }

    /// Work that gave up waiting in `region`: every provider's procurement sees it.
    fn abandoned(&mut self, region: usize, work_gpu_hours: f64) {
        for provider in &mut self.providers {
            provider.period_abandoned_work[region] += work_gpu_hours;
        }
    }

    /// Records the wait of a window job before its first start (or until it gave up).
    fn record_first_wait(&mut self, in_window: bool, tier: usize, wait: Hours) {
        if in_window {
            self.accounts.outcome.first_waits.push(wait as f32);
            let tier = &mut self.accounts.outcome.tier_waits[tier];
            tier.0 += 1;
            tier.1 += wait;
        }
    }

    /// Puts a job in its tier's queue: at the back, or at the front for a job whose run
    /// was interrupted (it was already served once).
    fn enqueue(&mut self, slot: u32, front: bool) {
        let job = &mut self.jobs.slots[slot as usize];
        job.state = JobState::Waiting;
        job.epoch = job.epoch.wrapping_add(1);
        let (in_window, segment, tier, gpus, epoch) = (
            job.in_window,
            job.segment,
            job.spec.tier(),
            job.spec.gpus,
            job.epoch,
        );
        self.jobs.queue.push(tier, gpus, slot, epoch, front);
        self.accounts
            .tally(in_window, segment, |tally| tally.waiting += 1);
    }

    /// Starts the job in `slot` on `site` now; `queued` says whether it leaves the queue.
    fn start(
        &mut self,
        now: Hours,
        slot: u32,
        site_idx: usize,
        queued: bool,
        events: &mut EventQueue<SystemEvent>,
    ) {
        let provider = self.capacity.sites[site_idx].provider;
        let prices = &self.providers[provider].prices;
        let (segment, gpus) = {
            let job = &self.jobs.slots[slot as usize];
            (job.segment, job.spec.gpus)
        };
        let holding = if self.extras {
            self.commitments
                .holding_on(segment, site_idx, gpus)
                .filter(|_| self.capacity.sites[site_idx].free >= gpus)
        } else {
            None
        };
        // A job on GPUs listed that do not deliver pays nothing and fails when found out.
        let probe = self.capacity.sites[site_idx].unverified.min(gpus);
        let (price, latency_slowdown) = {
            let job = &self.jobs.slots[slot as usize];
            // A committed job's GPU-hours are paid by its contract's fee.
            let price = if holding.is_some() || probe > 0 {
                0.0
            } else {
                prices.at_site(&self.capacity.sites[site_idx], job.spec.tier())
            };
            (price, prices.latency_slowdown)
        };
        if let Some(h) = holding {
            self.use_holding(now, h, gpus, true);
        }
        // A spot job with no room beyond the held GPUs runs on an idle commitment, resold.
        let resold = self.extras
            && holding.is_none()
            && self.capacity.sites[site_idx].general_free() < gpus
            && self.jobs.slots[slot as usize].spec.tier() == SPOT;
        let site = &mut self.capacity.sites[site_idx];
        site.advance(now);
        let job = &mut self.jobs.slots[slot as usize];
        if probe > 0 {
            site.unverified -= probe;
            site.probing += probe;
            job.probe = probe;
        }
        if let Some(running) = &mut site.running {
            // Slots are bounded by jobs in the system, far below 2^32.
            job.running_pos = running.len() as u32;
            running.push(slot);
        }
        site.start_paying(price * f64::from(job.spec.gpus));
        debug_assert!(
            job.spec.gpus <= site.free,
            "started a job without enough free GPUs"
        );
        site.free -= job.spec.gpus;
        self.capacity.free_total -= job.spec.gpus;
        let free = site.general_free();
        self.capacity.placement.update(site_idx, free, site.rank());
        let slowdown = if site.region == job.region {
            1.0
        } else {
            latency_slowdown
        };
        job.state = JobState::Running;
        job.epoch = job.epoch.wrapping_add(1);
        job.site = site_idx;
        job.started = now;
        job.rate = site.speed / slowdown;
        job.price = price;
        job.holding = holding.unwrap_or(contracts::NO_HOLDING);
        let wait = now - job.queued_at;
        let first = !job.started_once;
        job.started_once = true;
        let (in_window, segment, epoch, run_hours) = (
            job.in_window,
            job.segment,
            job.epoch,
            if probe > 0 {
                site.verification_hours
            } else {
                job.work_hours / job.rate
            },
        );
        if queued {
            self.jobs.queue.went_stale();
        }
        self.accounts.outcome.wait_by_job += wait;
        if first {
            let tier = self.jobs.slots[slot as usize].spec.tier();
            if in_window {
                self.accounts.outcome.providers[provider].jobs_started += 1;
            }
            self.record_first_wait(in_window, tier, wait);
            self.accounts.tally(in_window, segment, |tally| {
                tally.started += 1;
                tally.running += 1;
                tally.record_wait(wait);
                if queued {
                    tally.waiting -= 1;
                }
            });
        } else {
            self.accounts.tally(in_window, segment, |tally| {
                tally.restarted += 1;
                tally.running += 1;
                tally.waiting -= 1;
            });
        }
        if self.extras && holding.is_none() {
            self.started_beyond_commitment(site_idx, slot, resold);
        }
        events.schedule(now + run_hours, SystemEvent::Completion { slot, epoch });
    }

    /// A job started on general capacity where contracts or spot exist: a contract
    /// segment's job is covered as its commitment frees up, a spot job is preemptible.
    /// (A spot job on its own commitment runs on GPUs its customer paid for: no one
    /// preempts it there.)
    #[inline(never)]
    fn started_beyond_commitment(&mut self, site_idx: usize, slot: u32, resold: bool) {
        let job = &self.jobs.slots[slot as usize];
        let (segment, gpus, tier) = (job.segment, job.spec.gpus, job.spec.tier());
        if self.commitments.tracks(segment) {
            self.note_bursting(segment, slot);
        }
        if resold {
            self.resold_on(site_idx, slot, gpus);
            // The GPUs it took were held ones: the others' room is as it was.
            self.capacity.sync(site_idx);
        } else if tier == SPOT {
            self.spot_on(site_idx, slot, gpus);
        }
    }

    /// Ends the current run of the job in `slot`: bills the GPU-hours held and counts them.
    /// Returns the site and the GPUs to give back.
    fn end_run(&mut self, now: Hours, slot: u32) -> (usize, u32) {
        // Field by field: a copy of the whole job was a call to memcpy on every run.
        let job = &self.jobs.slots[slot as usize];
        let (started, price, running_pos, gpu_count, site_idx, payer, holding) = (
            job.started,
            job.price,
            job.running_pos,
            job.spec.gpus,
            job.site,
            job.payer(),
            job.holding,
        );
        let bursting = job.bursting_pos != contracts::NOT_BURSTING;
        let probe = job.probe;
        if probe > 0 {
            // Cut short before it failed (an outage, a preemption): what it ran on is
            // still unfound. The job keeps its mark until the rewind, which saves none
            // of a run that did no work.
            let site = &mut self.capacity.sites[site_idx];
            site.probing -= probe;
            site.unverified += probe;
        }
        let job = &self.jobs.slots[slot as usize];
        if self.extras && holding == contracts::NO_HOLDING && job.spec.tier() == SPOT {
            if job.resold {
                self.resold_off(site_idx, slot, gpu_count);
            } else {
                self.spot_off(site_idx, slot, gpu_count);
            }
        }
        let held_hours = now - started;
        let gpus = f64::from(gpu_count);
        self.accounts.outcome.held_by_job += gpus * held_hours;
        let (warmup, horizon) = self.accounts.outcome.window;
        let overlap = now.min(horizon) - started.max(warmup);
        if overlap > 0.0 {
            self.accounts.outcome.window_busy_by_job += gpus * overlap;
        }
        let site = &mut self.capacity.sites[site_idx];
        site.advance(now);
        site.stop_paying(price * gpus, gpu_count);
        if let Some(running) = &mut site.running {
            let pos = running_pos as usize;
            debug_assert_eq!(running[pos], slot, "a running job knows its place");
            running.swap_remove(pos);
            if let Some(&moved) = running.get(pos) {
                self.jobs.slots[moved as usize].running_pos = pos as u32;
            }
        }
        self.bill(payer, site_idx, price * gpus * held_hours, false);
        if holding != contracts::NO_HOLDING {
            self.jobs.slots[slot as usize].holding = contracts::NO_HOLDING;
            self.use_holding(now, holding, gpu_count, false);
            self.cover_bursting(now, site_idx, payer.segment);
        } else if bursting {
            self.stop_bursting(payer.segment, slot);
        }
        (site_idx, gpu_count)
    }

    /// Records a customer payment and splits it between the site and the protocol. Run
    /// time was accrued by the site as it ran; egress is accrued now.
    fn bill(&mut self, payer: Payer, site: usize, amount_usd: f64, egress: bool) {
        self.accounts.outcome.billed_usd += amount_usd;
        if egress {
            self.capacity.sites[site].bill_now(amount_usd);
        }
        if payer.in_window {
            self.accounts.outcome.segments[payer.segment as usize].spend_usd[payer.tier] +=
                amount_usd;
            let provider = self.capacity.sites[site].provider;
            let split = self.providers[provider].spec.take_rate.split(amount_usd);
            self.capacity.sites[site].window_jobs_revenue_usd += split.provider_usd;
            let tally = &mut self.accounts.outcome.providers[provider];
            tally.spend_usd += amount_usd;
            tally.protocol_revenue_usd += split.protocol_usd;
            if payer.tier == SPOT {
                tally.spot_revenue_usd += amount_usd;
            }
            let ledger = &mut self.accounts.outcome.ledger;
            ledger.spend_usd += amount_usd;
            ledger.protocol_revenue_usd += split.protocol_usd;
            if egress {
                ledger.egress_usd += amount_usd;
            }
        }
    }

    /// Gives `gpus` GPUs back to a site: free again, or retired if the site is leaving.
    fn release(
        &mut self,
        site_idx: usize,
        gpus: u32,
        now: Hours,
        events: &mut EventQueue<SystemEvent>,
    ) {
        let site = &mut self.capacity.sites[site_idx];
        if site.leaving {
            let share = site.retire(gpus);
            self.accounts
                .outcome
                .capital_changes
                .push(CapitalChange::Retired {
                    at: now,
                    site: site_idx as u32,
                    share,
                    batch: None,
                });
            self.capacity.installed_total -= gpus;
            self.reschedule_outages(now, site_idx, events);
        } else {
            let gpus = if site.retiring > 0 {
                self.retire_released(now, site_idx, gpus, events)
            } else {
                gpus
            };
            let site = &mut self.capacity.sites[site_idx];
            site.free += gpus;
            self.capacity.free_total += gpus;
            self.capacity.sync(site_idx);
        }
    }

    fn on_completion(
        &mut self,
        now: Hours,
        slot: u32,
        epoch: u32,
        events: &mut EventQueue<SystemEvent>,
    ) -> Handled {
        let job = &self.jobs.slots[slot as usize];
        if job.epoch != epoch || job.state != JobState::Running {
            return Handled::Stale;
        }
        if job.probe > 0 {
            self.fail_unverified(now, slot, events);
            return Handled::Processed;
        }
        let (payer, data_gb, duration_hours) =
            (job.payer(), job.spec.data_gb, job.spec.duration_hours);
        let (site, gpus) = self.end_run(now, slot);
        if data_gb > 0.0 {
            let provider = &self.providers[self.capacity.sites[site].provider];
            self.bill(payer, site, data_gb * provider.egress_usd_per_gb(), true);
        }
        if payer.in_window {
            let work = f64::from(gpus) * duration_hours;
            self.accounts.outcome.useful_work_gpu_hours += work;
            self.accounts.outcome.segments[payer.segment as usize].served_work_gpu_hours
                [payer.tier] += work;
        }
        self.accounts
            .tally(payer.in_window, payer.segment, |tally| {
                tally.completed += 1;
                tally.running -= 1;
            });
        self.jobs.release(slot);
        self.release(site, gpus, now, events);
        self.start_on_site(now, site, events);
        Handled::Processed
    }

    /// A job that ran on GPUs listed but not delivering fails after the site's
    /// `verification_hours`: unbilled (it started at no price), with none of its work
    /// kept, back at the head of the queue; the GPUs it found are delisted.
    fn fail_unverified(&mut self, now: Hours, slot: u32, events: &mut EventQueue<SystemEvent>) {
        let probe = std::mem::take(&mut self.jobs.slots[slot as usize].probe);
        let started = self.jobs.slots[slot as usize].started;
        let (site_idx, gpus) = self.end_run(now, slot);
        let job = &mut self.jobs.slots[slot as usize];
        let progress = (now - started) * job.rate;
        job.queued_at = now;
        let (in_window, segment) = (job.in_window, job.segment);
        if in_window {
            self.accounts.outcome.lost_work_gpu_hours += f64::from(gpus) * progress;
            let (warmup, horizon) = self.accounts.outcome.window;
            let overlap = (now.min(horizon) - started.max(warmup)).max(0.0);
            let tally =
                &mut self.accounts.outcome.providers[self.capacity.sites[site_idx].provider];
            tally.jobs_failed_unverified += 1;
            tally.unverified_gpu_hours += f64::from(gpus) * overlap;
        }
        self.accounts.tally(in_window, segment, |tally| {
            tally.interrupted += 1;
            tally.running -= 1;
        });
        self.enqueue(slot, true);
        if self.capacity.sites[site_idx].leaving {
            // A leaving operator's GPUs go pro rata as they free up, found ones too.
            let site = &mut self.capacity.sites[site_idx];
            site.probing -= probe;
            site.delisted += probe;
            self.release(site_idx, gpus, now, events);
        } else {
            self.delist(now, site_idx, probe, events);
            self.release(site_idx, gpus - probe, now, events);
        }
        self.restart_after_interruption(now, slot, site_idx, events);
    }

    /// Takes `gpus` GPUs found not to deliver off a site's listing for good (oldest
    /// batch first; their capital goes with them).
    fn delist(
        &mut self,
        now: Hours,
        site_idx: usize,
        gpus: u32,
        events: &mut EventQueue<SystemEvent>,
    ) {
        let site = &mut self.capacity.sites[site_idx];
        site.advance(now);
        site.probing -= gpus;
        site.delisted += gpus;
        let mut left = gpus;
        while left > 0 {
            let site = &mut self.capacity.sites[site_idx];
            // GPUs not yet due to retire first; then ones waiting to retire as they free
            // up (the probe's own GPUs may be those): they go now instead.
            let (batch, gone) =
                if let Some(b) = site.batches.iter().position(|b| b.gpus > b.retiring) {
                    (b, left.min(site.batches[b].gpus - site.batches[b].retiring))
                } else if let Some(b) = site.batches.iter().position(|b| b.retiring > 0) {
                    let gone = left.min(site.batches[b].retiring);
                    site.batches[b].retiring -= gone;
                    site.retiring -= gone;
                    (b, gone)
                } else {
                    debug_assert!(false, "delisted GPUs are installed in some batch");
                    break;
                };
            self.remove_from_batch(now, site_idx, batch, gone);
            left -= gone;
        }
        self.reschedule_outages(now, site_idx, events);
        // Holdings that counted on these GPUs are held elsewhere.
        let provider = self.capacity.sites[site_idx].provider;
        self.hold(now, provider);
    }

    fn on_abandon(&mut self, now: Hours, slot: u32, epoch: u32) -> Handled {
        let job = self.jobs.slots[slot as usize];
        if job.epoch != epoch || job.state != JobState::Waiting {
            return Handled::Stale;
        }
        // First-fit: every waiting job that fits has started, so a job leaving frees
        // nothing another could use; only its queue entry goes stale.
        let wait = now - job.arrived;
        self.accounts.outcome.wait_by_job += wait;
        let work = f64::from(job.spec.gpus) * job.spec.duration_hours;
        self.record_first_wait(job.in_window, job.spec.tier(), wait);
        if job.in_window {
            self.accounts.outcome.abandoned_work_gpu_hours += work;
        }
        self.abandoned(job.region, work);
        self.accounts.tally(job.in_window, job.segment, |tally| {
            tally.abandoned += 1;
            tally.waiting -= 1;
            tally.record_wait(wait);
        });
        self.jobs.queue.went_stale();
        self.jobs.release(slot);
        Handled::Processed
    }

    /// Starts waiting jobs on `site_idx`, whose free GPUs just grew: in priority order,
    /// each job that fits there (other sites had no room for it, or it would be running).
    fn start_on_site(&mut self, now: Hours, site_idx: usize, events: &mut EventQueue<SystemEvent>) {
        loop {
            let site = &self.capacity.sites[site_idx];
            if site.leaving || site.free == 0 {
                break;
            }
            let (jobs, prices) = (&self.jobs.slots, &self.providers[site.provider].prices);
            let (providers, classes, locks) =
                (&self.providers, self.classes, &self.segment_lock_in);
            let (commitments, extras) = (&self.commitments, self.extras);
            let live = |entry: Entry| is_live(jobs, entry);
            let accept = |entry: Entry| {
                let job = &jobs[entry.slot as usize];
                if extras
                    && site.free >= job.spec.gpus
                    && site.holds(job.spec.gpus, job.min_speed, job.spec.memory_gb_per_gpu)
                    && commitments
                        .holding_on(job.segment, site_idx, job.spec.gpus)
                        .is_some()
                {
                    return true;
                }
                prices.acceptable(site, job).is_some()
                    && match locks[job.segment as usize] {
                        Some(lock) if job.spec.locked_in => {
                            lock_allows(providers, classes, lock, job, site.provider)
                        }
                        _ => true,
                    }
            };
            let Some(entry) = self.jobs.queue.first_fit(site.free, live, accept) else {
                break;
            };
            self.start(now, entry.slot, site_idx, true, events);
        }
        let jobs = &self.jobs.slots;
        self.jobs.queue.compact(|entry| is_live(jobs, entry));
    }

    /// Starts every waiting job that fits anywhere (after prices or capacity changed broadly).
    fn start_anywhere(&mut self, now: Hours, events: &mut EventQueue<SystemEvent>) {
        let jobs = &self.jobs.slots;
        for entry in self.jobs.queue.in_order(|entry| is_live(jobs, entry)) {
            let job = self.jobs.slots[entry.slot as usize];
            let site = self
                .place_job(&job)
                .or_else(|| self.extras.then(|| self.place_resold(&job)).flatten());
            if let Some(site) = site {
                self.start(now, entry.slot, site, true, events);
            }
        }
        let jobs = &self.jobs.slots;
        self.jobs.queue.compact(|entry| is_live(jobs, entry));
    }

    /// Schedules a site's next candidate of an outage: candidates come at rate
    /// installed ÷ mean time in service, and one that picks a GPU already out of service
    /// is ignored, so each GPU in service is hit at exactly that rate (thinning).
    /// Outages stop once the window is over and no window job is running (they could
    /// then only delay waiting jobs).
    fn schedule_outage(
        &mut self,
        now: Hours,
        site_idx: usize,
        kind: Outage,
        events: &mut EventQueue<SystemEvent>,
    ) {
        let site = &mut self.capacity.sites[site_idx];
        let installed = site.installed;
        let Some(process) = &mut site.outages[kind.index()] else {
            return;
        };
        process.generation = process.generation.wrapping_add(1);
        if installed == 0 {
            return;
        }
        let unit = process.candidate_rng.exp1();
        let at =
            now + unit * process.per_gpu_mean_hours / (f64::from(installed) * process.max_factor);
        events.schedule(
            at,
            SystemEvent::Outage {
                site: site_idx as u32,
                kind,
                generation: process.generation,
            },
        );
    }

    /// A site's size changed: its outage rates change with it.
    pub(super) fn reschedule_outages(
        &mut self,
        now: Hours,
        site_idx: usize,
        events: &mut EventQueue<SystemEvent>,
    ) {
        self.schedule_outage(now, site_idx, Outage::Failure, events);
        self.schedule_outage(now, site_idx, Outage::Withdrawal, events);
    }

    fn window_jobs_running(&self) -> bool {
        self.accounts.outcome.window_jobs.running > 0
    }

    fn on_outage(
        &mut self,
        now: Hours,
        site_idx: usize,
        kind: Outage,
        generation: u32,
        events: &mut EventQueue<SystemEvent>,
    ) -> Handled {
        let current = self.capacity.sites[site_idx].outages[kind.index()]
            .as_ref()
            .is_some_and(|p| p.generation == generation);
        if !current || (now >= self.accounts.outcome.window.1 && !self.window_jobs_running()) {
            return Handled::Stale;
        }
        let site = &mut self.capacity.sites[site_idx];
        site.advance(now);
        let installed = f64::from(site.installed);
        let Some(process) = &mut site.outages[kind.index()] else {
            return Handled::Stale;
        };
        // Withdrawals that follow demand: a candidate at the largest rate is kept with
        // probability (the rate now) ÷ (the largest), which draws them exactly at the
        // hour's rate (thinning, as arrivals are drawn).
        if let Some(by_hour) = &process.by_hour {
            let keep = by_hour[owner_use::hour_of_week(now)] / process.max_factor;
            if process.candidate_rng.random::<f64>() >= keep {
                self.schedule_outage(now, site_idx, kind, events);
                return Handled::Processed;
            }
        }
        let pick = (process.candidate_rng.random::<f64>() * installed) as u32;
        self.take_gpu(now, site_idx, pick, kind, events);
        self.schedule_outage(now, site_idx, kind, events);
        Handled::Processed
    }

    /// A GPU leaves service: `pick` numbers the site's GPUs, those already out of
    /// service first (a candidate on one of those is no event: thinning), then busy ones
    /// (the job on it is interrupted), then idle ones.
    fn take_gpu(
        &mut self,
        now: Hours,
        site_idx: usize,
        pick: u32,
        kind: Outage,
        events: &mut EventQueue<SystemEvent>,
    ) {
        let site = &self.capacity.sites[site_idx];
        let (unavailable, busy) = (site.down + site.withdrawn, site.busy());
        if pick < unavailable {
            return;
        }
        if pick < unavailable + busy {
            let victim = self.running_job_on(site_idx, pick - unavailable);
            self.interrupt(now, victim, kind, events);
            return;
        }
        let site = &mut self.capacity.sites[site_idx];
        site.free -= 1;
        self.capacity.free_total -= 1;
        self.capacity.sync(site_idx);
        self.go_out(now, site_idx, kind, events);
    }

    /// The GPUs of a site out of service for `kind`, and the system's total of them.
    fn out_counts(&mut self, site_idx: usize, kind: Outage) -> (&mut u32, &mut u32) {
        let site = &mut self.capacity.sites[site_idx];
        match kind {
            Outage::Failure => (&mut site.down, &mut self.capacity.down_total),
            Outage::Withdrawal => (&mut site.withdrawn, &mut self.capacity.withdrawn_total),
        }
    }

    /// Weighs the GPU-hours withdrawn since the last change by the market's demand then:
    /// ∫ withdrawn(t) · m(t) dt over the window (`withdrawn_demand_ratio`). Called before
    /// every change of the withdrawn count and at the end.
    fn weigh_withdrawn(&mut self, now: Hours) {
        let (warmup, horizon) = self.accounts.outcome.window;
        let demand = &mut self.owner_demand;
        let withdrawn = self.capacity.withdrawn_total;
        if withdrawn > 0 {
            let demand_hours = demand
                .shape
                .integral(demand.weighed_to.max(warmup), now.min(horizon));
            self.accounts.outcome.withdrawn_demand_weighted_gpu_hours +=
                f64::from(withdrawn) * demand_hours;
        }
        demand.weighed_to = demand.weighed_to.max(now);
    }

    /// Counts one more GPU of a site as out of service, and schedules its return.
    fn go_out(
        &mut self,
        now: Hours,
        site_idx: usize,
        kind: Outage,
        events: &mut EventQueue<SystemEvent>,
    ) {
        if kind == Outage::Withdrawal {
            self.weigh_withdrawn(now);
        }
        let (at_site, in_system) = self.out_counts(site_idx, kind);
        *at_site += 1;
        *in_system += 1;
        let Some(process) = &mut self.capacity.sites[site_idx].outages[kind.index()] else {
            return;
        };
        let hours = process.back_hours.sample(&mut process.back_rng);
        events.schedule(
            now + hours,
            SystemEvent::Back {
                site: site_idx as u32,
                kind,
            },
        );
    }

    /// A GPU is back in service: repaired, or returned by its owner.
    fn on_back(
        &mut self,
        now: Hours,
        site_idx: usize,
        kind: Outage,
        events: &mut EventQueue<SystemEvent>,
    ) {
        self.capacity.sites[site_idx].advance(now);
        if kind == Outage::Withdrawal {
            self.weigh_withdrawn(now);
        }
        let (at_site, in_system) = self.out_counts(site_idx, kind);
        *at_site -= 1;
        *in_system -= 1;
        self.release(site_idx, 1, now, events);
        self.start_on_site(now, site_idx, events);
    }

    /// The running job on a site holding the `target`-th busy GPU (jobs in slot order).
    /// Sorting the site's list here, at an outage, keeps starts and ends O(1): outages
    /// are rare next to them.
    fn running_job_on(&self, site_idx: usize, target: u32) -> u32 {
        let mut seen = 0;
        // Sites an outage can hit keep their running jobs.
        let mut running: Vec<u32> = self.capacity.sites[site_idx]
            .running
            .iter()
            .flatten()
            .copied()
            .collect();
        running.sort_unstable();
        for slot in running {
            seen += self.jobs.slots[slot as usize].spec.gpus;
            if seen > target {
                return slot;
            }
        }
        unreachable!("busy GPUs of a site are held by its running jobs")
    }

    /// A GPU under a running job failed or was taken back: the job loses the work since
    /// its last checkpoint and goes back to the head of its queue (or, after
    /// [`MAX_INTERRUPTIONS`], its customer gives up and all its work is lost); the GPU
    /// goes down or back to its owner.
    fn interrupt(
        &mut self,
        now: Hours,
        slot: u32,
        outage: Outage,
        events: &mut EventQueue<SystemEvent>,
    ) {
        let (site_idx, gpus) = self.end_run(now, slot);
        let (progress, saved) = self.rewind_to_checkpoint(now, slot, site_idx);
        let job = &mut self.jobs.slots[slot as usize];
        job.interruptions += 1;
        let given_up = job.interruptions >= MAX_INTERRUPTIONS;
        let done_before = job.spec.duration_hours - job.work_hours;
        let (in_window, segment, work) = (
            job.in_window,
            job.segment,
            f64::from(gpus) * job.spec.duration_hours,
        );
        let lost = f64::from(gpus)
            * if given_up {
                progress - saved + done_before
            } else {
                progress - saved
            };
        if in_window {
            self.accounts.outcome.lost_work_gpu_hours += lost;
            if given_up {
                self.accounts.outcome.refused_work_gpu_hours += work;
            }
        }
        self.accounts.tally(in_window, segment, |tally| {
            tally.interrupted += 1;
            tally.running -= 1;
            if given_up {
                tally.failed += 1;
            }
        });
        if given_up {
            self.jobs.release(slot);
        } else {
            self.enqueue(slot, true);
        }
        self.release(site_idx, gpus - 1, now, events);
        self.go_out(now, site_idx, outage, events);
        self.restart_after_interruption(now, slot, site_idx, events);
    }

    /// A run of the job in `slot` on `site_idx` was cut short at `now` (failure or
    /// preemption): it keeps the work of its last checkpoint — every
    /// `checkpoint_every_hours` of its segment, else of the site; none without either —
    /// and queues from now. Returns (work done in the run, work kept), reference hours
    /// per GPU.
    fn rewind_to_checkpoint(&mut self, now: Hours, slot: u32, site_idx: usize) -> (f64, f64) {
        let job = &mut self.jobs.slots[slot as usize];
        let held_hours = now - job.started;
        let progress = held_hours * job.rate;
        let every = self.segment_checkpoint[job.segment as usize]
            .or(self.capacity.sites[site_idx].checkpoint_every_hours);
        // A run on GPUs that do not deliver did nothing to keep.
        let probed = std::mem::take(&mut job.probe) > 0;
        let saved = every.filter(|_| !probed).map_or(0.0, |every| {
            ((held_hours / every).floor() * every * job.rate).min(progress)
        });
        job.work_hours -= saved;
        job.queued_at = now;
        (progress, saved)
    }

    /// What starting every waiting job that fits anywhere would do after an interruption,
    /// without scanning the queue: only two things changed, the interrupted job waits
    /// (or gave up) and its site has GPUs free. Every other waiting job fitted nowhere
    /// before, so it can only use that site, and `start_on_site` offers it in priority
    /// order. The interrupted job goes where placement prefers: elsewhere at once (no
    /// job ahead of it can use another site), or that site in its turn, or, if jobs
    /// ahead of it took the room there, the next best site after them.
    fn restart_after_interruption(
        &mut self,
        now: Hours,
        slot: u32,
        site_idx: usize,
        events: &mut EventQueue<SystemEvent>,
    ) {
        let waiting = |model: &Self| model.jobs.slots[slot as usize].state == JobState::Waiting;
        if waiting(self)
            && let Some(best) = self.place_job(&self.jobs.slots[slot as usize])
            && best != site_idx
        {
            self.start(now, slot, best, true, events);
        }
        self.start_on_site(now, site_idx, events);
        if waiting(self)
            && let Some(next) = self.place_job(&self.jobs.slots[slot as usize])
        {
            self.start(now, slot, next, true, events);
        }
    }

    fn on_delivery(&mut self, now: Hours, order_idx: u32, events: &mut EventQueue<SystemEvent>) {
        let order = self.capacity.orders[order_idx as usize];
        let site = &mut self.capacity.sites[order.site];
        site.advance(now);
        site.on_order -= order.gpus;
        let provider = site.provider;
        self.capacity.on_order_total -= order.gpus;
        self.providers[provider].on_order -= order.gpus;
        if site.leaving {
            return;
        }
        site.add_gpus(now, order.gpus, order.capex_usd_per_gpu);
        let batch = self.new_batch(
            provider,
            &self.capacity.sites[order.site].costs,
            order.gpus,
            order.capex_usd_per_gpu,
            now,
            0.0,
        );
        let batches = &mut self.capacity.sites[order.site].batches;
        batches.push(batch);
        let batch = batches.len() - 1;
        self.schedule_end_of_life(order.site, batch, events);
        let site = &mut self.capacity.sites[order.site];
        let capex_usd = f64::from(order.gpus) * order.capex_usd_per_gpu;
        self.accounts
            .outcome
            .capital_changes
            .push(CapitalChange::Added {
                at: now,
                site: order.site as u32,
                capital_usd: capex_usd,
                capex_usd,
                gpus: order.gpus,
            });
        self.capacity.installed_total += order.gpus;
        self.capacity.free_total += order.gpus;
        self.providers[provider].count_installed(site, site.installed - order.gpus, site.installed);
        self.price_unpriced_classes(provider);
        self.capacity.sync(order.site);
        let held_more = self.hold(now, provider);
        if self.accounts.in_window(now) {
            self.accounts.outcome.capex_usd += f64::from(order.gpus) * order.capex_usd_per_gpu;
        }
        self.reschedule_outages(now, order.site, events);
        self.start_on_site(now, order.site, events);
        if held_more {
            self.start_anywhere(now, events);
        }
        self.rescan_if_locked(now, events);
    }

    fn on_join(
        &mut self,
        now: Hours,
        provider: usize,
        candidate: u32,
        events: &mut EventQueue<SystemEvent>,
    ) {
        self.providers[provider].pending_joins -= 1;
        let spec: &'a System = self.providers[provider].spec;
        let Some(entry) = &spec.entry else { return };
        let site = if candidate == pool::TEMPLATE {
            let Some(template) = &entry.template else {
                return;
            };
            if template.gpus > self.capacity.gpu_room() {
                return;
            }
            let mut template = template.clone();
            template.name = format!("joined-{}", self.providers[provider].sites_added);
            self.join_site(now, provider, &template)
        } else {
            match self.join_from_pool(now, provider, candidate as usize, entry) {
                Some(site) => site,
                None => return,
            }
        };
        let held_more = self.hold(now, provider);
        self.reschedule_outages(now, site, events);
        self.start_on_site(now, site, events);
        if held_more {
            self.start_anywhere(now, events);
        }
        self.rescan_if_locked(now, events);
    }

    /// An operator that joins now: its site, its capex (bought GPUs at what they cost new
    /// today) and its count.
    fn join_site(&mut self, now: Hours, provider: usize, spec: &Site) -> usize {
        // An operator that buys its GPUs pays what they cost new when it joins.
        let price_factor = self.classes[spec.class].price_factor(now);
        let site = self.add_site(provider, spec, now, price_factor);
        if self.accounts.in_window(now) {
            self.accounts.outcome.operators_joined += 1;
            self.accounts
                .group_joins
                .push((provider as u32, spec.group, false));
            // As its capital record counts it: a part-time operator's offered share.
            self.accounts.outcome.capex_usd += SiteState::initial_capital(spec).1 * price_factor;
        }
        site
    }

    /// Where lock-in binds among several providers, what a locked job may buy moves with
    /// every price and every class a provider gains or loses: after a review, a delivery
    /// or a join, every waiting job is offered every site again (a locked job freed by
    /// the change starts at once, not at the next completion). Retirements and
    /// exits between reviews are caught at the next review.
    fn rescan_if_locked(&mut self, now: Hours, events: &mut EventQueue<SystemEvent>) {
        if self.providers.len() > 1 && self.segment_lock_in.iter().any(Option::is_some) {
            self.start_anywhere(now, events);
        }
    }

    fn on_snapshot(&mut self, now: Hours, events: &mut EventQueue<SystemEvent>) {
        let areas = self
            .accounts
            .outcome
            .total_areas
            .since(&self.accounts.week_start_areas);
        // Window jobs, as the per-run counts: the weeks' sum is the per-run count less
        // what window jobs lose after the last snapshot.
        let lost = self.accounts.outcome.window_jobs.lost();
        let week = self.accounts.outcome.weeks.len() as u32;
        let (listed_gpus, verified_gpus) = self
            .capacity
            .sites
            .iter()
            .filter(|s| !s.leaving)
            .fold((0, 0), |(listed, verified), s| {
                (listed + s.installed, verified + s.verified())
            });
        self.accounts.outcome.weeks.push(Week {
            week,
            installed_gpus: self.capacity.installed_total,
            listed_gpus,
            verified_gpus,
            utilization: areas.utilization(),
            queue_length: if areas.hours > 0.0 {
                areas.queue_job_hours / areas.hours
            } else {
                0.0
            },
            price_usd_per_gpu_hour: self.reference_price(),
            lost_jobs: lost - self.accounts.week_start_lost,
        });
        self.accounts.week_start_areas = self.accounts.outcome.total_areas;
        self.accounts.week_start_lost = lost;
        let next = now + HOURS_PER_WEEK;
        if next <= self.accounts.outcome.window.1 {
            events.schedule(next, SystemEvent::Snapshot);
        }
    }

    /// The architecture's reference price: its provider's, or with several the mean of
    /// theirs weighted by the GPUs each has installed (assumption: what a customer of the
    /// market pays on average for the reference class, before it chooses).
    fn reference_price(&self) -> f64 {
        if let [provider] = &self.providers[..] {
            return provider.reference_price();
        }
        let (mut weighted, mut gpus) = (0.0, 0.0);
        for provider in &self.providers {
            let installed = provider.class_installed.iter().sum::<u64>() as f64;
            weighted += installed * provider.reference_price();
            gpus += installed;
        }
        if gpus > 0.0 {
            weighted / gpus
        } else {
            self.providers
                .iter()
                .map(Provider::reference_price)
                .fold(f64::INFINITY, f64::min)
        }
    }

    /// Under `cost_plus`, sets every offered class's price from its sites' current costs
    /// ([`decisions::cost_plus_prices`]; a class no site offers keeps its price) and the
    /// reference price to the GPU-weighted mean price per reference GPU-hour. Returns
    /// whether some price fell and whether some price rose.
    fn price_from_costs(&mut self, provider: usize) -> (bool, bool) {
        let spec = self.providers[provider].spec;
        let Some(PricePolicy::CostPlus(terms)) = spec.pricing.as_ref().map(|p| &p.policy) else {
            return (false, false);
        };
        let mut prices = decisions::cost_plus_prices(
            self.classes.len(),
            self.capacity
                .sites
                .iter()
                .filter(|s| !s.leaving && s.provider == provider)
                .map(SiteState::cost_view),
            terms,
            spec.take_rate.0,
        );
        let (mut asks_fell, mut asks_rose) = (false, false);
        if self.providers[provider].placement == PlacementPolicy::Cheapest {
            // Each operator without a written ask asks its own cost plus margin, and a
            // class's price is its lowest ask.
            // A site without GPUs (none delivered yet, or all retired) asks nothing.
            let mut lowest = vec![f64::INFINITY; self.classes.len()];
            for site in self.capacity.sites.iter_mut() {
                if site.provider != provider || site.leaving || site.installed == 0 {
                    continue;
                }
                if site.ask_from_costs {
                    let gross =
                        decisions::cost_plus_site_price(&site.cost_view(), terms, spec.take_rate.0);
                    // A waiting job may now afford this site, or no longer any.
                    let before = site.gross_ask_usd_per_gpu_hour.unwrap_or(gross);
                    asks_fell |= gross < before;
                    asks_rose |= gross > before;
                    site.gross_ask_usd_per_gpu_hour = Some(gross);
                }
                if let Some(gross) = site.gross_ask_usd_per_gpu_hour {
                    lowest[site.class] = lowest[site.class].min(gross);
                }
            }
            for (price, lowest) in prices.iter_mut().zip(lowest) {
                if lowest.is_finite() {
                    *price = Some(lowest);
                }
            }
        }
        let state = &mut self.providers[provider];
        let (mut fell, mut rose) = (asks_fell, asks_rose);
        for (base, price) in state.prices.base_usd_per_gpu_hour.iter_mut().zip(&prices) {
            if let Some(price) = *price {
                fell |= price < *base;
                rose |= price > *base;
                *base = price;
            }
        }
        let (mut weighted, mut gpus) = (0.0, 0.0);
        for (idx, class) in self.classes.iter().enumerate() {
            let installed = state.class_installed[idx] as f64;
            if installed > 0.0 {
                weighted += installed * state.prices.base_usd_per_gpu_hour[idx] / class.speed;
                gpus += installed;
            }
        }
        if gpus > 0.0 {
            state.prices.reference_usd_per_gpu_hour = weighted / gpus;
        }
        (fell, rose)
    }

    /// Under `cost_plus`, a class offered for the first time between reviews (an operator
    /// joining with it, a first delivery) is priced at once, with every other class, from
    /// the costs then: until then it has no price, and would be sold for nothing.
    fn price_unpriced_classes(&mut self, provider: usize) {
        let state = &self.providers[provider];
        let unpriced = (0..self.classes.len()).any(|class| {
            state.class_installed[class] > 0 && state.prices.base_usd_per_gpu_hour[class] == 0.0
        });
        if unpriced {
            self.price_from_costs(provider);
        }
    }

    /// After prices rose: a waiting job that has never run and can now afford no class it
    /// may use leaves, counted as priced out (its wait recorded as an abandoner's). Without
    /// this, jobs queued just before a rise would wait for a fall that may never come, and
    /// every start would scan past them. An interrupted job keeps its place.
    fn price_out_waiting(&mut self, now: Hours) {
        let jobs = &self.jobs.slots;
        for entry in self.jobs.queue.in_order(|entry| is_live(jobs, entry)) {
            let job = self.jobs.slots[entry.slot as usize];
            // A customer with a running commitment has bought its GPUs: never priced out.
            if job.started_once
                || (self.extras && self.commitments.entitled(job.segment))
                || !matches!(self.refusal(&job), Some(Refusal::PricedOut))
            {
                continue;
            }
            let wait = now - job.arrived;
            self.accounts.outcome.wait_by_job += wait;
            self.record_first_wait(job.in_window, job.spec.tier(), wait);
            if job.in_window {
                self.accounts.outcome.refused_work_gpu_hours +=
                    f64::from(job.spec.gpus) * job.spec.duration_hours;
            }
            self.accounts.tally(job.in_window, job.segment, |tally| {
                tally.priced_out += 1;
                tally.waiting -= 1;
                tally.record_wait(wait);
            });
            self.jobs.queue.went_stale();
            self.jobs.release(entry.slot);
        }
        let jobs = &self.jobs.slots;
        self.jobs.queue.compact(|entry| is_live(jobs, entry));
    }

    fn on_horizon(&mut self, now: Hours) {
        self.close_contracts(now);
        self.close_year(now);
        self.close_window();
        self.accounts.outcome.groups = self.group_tallies();
        self.accounts.outcome.window_jobs_at_horizon = self.accounts.outcome.window_jobs;
        self.accounts.outcome.gpus_at_horizon = u64::from(self.capacity.installed_total);
        self.accounts.outcome.price_at_horizon = self.reference_price();
        let tallies = &mut self.accounts.outcome.providers;
        for (provider, tally) in self.providers.iter().zip(tallies.iter_mut()) {
            tally.price_at_horizon = provider.reference_price();
        }
        for site in &self.capacity.sites {
            let tally = &mut tallies[site.provider];
            tally.gpus_at_horizon += u64::from(site.installed);
            if !site.leaving {
                tally.listed_gpus += u64::from(site.installed);
                tally.verified_gpus += u64::from(site.verified());
            }
        }
        self.tail_open = self.accounts.outcome.window_jobs.waiting > 0;
    }
}

/// Interruptions after which a job's customer gives up (counted as failed, lost
/// demand): without checkpoints, a job much longer than its GPUs' time between failures
/// would otherwise restart for ever.
pub const MAX_INTERRUPTIONS: u32 = 10;

/// Whether a queue entry still stands for a waiting job.
fn is_live(jobs: &[Job], entry: Entry) -> bool {
    let job = &jobs[entry.slot as usize];
    job.epoch == entry.epoch && job.state == JobState::Waiting
}

/// Current prices of a system.
struct Prices {
    /// Price per GPU-hour of each class before the policy's factor and tier discount
    /// (under `placement: cheapest`, the lowest ask of the class's sites).
    base_usd_per_gpu_hour: Vec<f64>,
    /// The written list per class: what an operator without an ask asks under
    /// `placement: cheapest` (empty otherwise).
    list_usd_per_gpu_hour: Vec<f64>,
    /// The reference class's price before the factor (under `cost_plus`, the GPU-weighted
    /// mean price per reference GPU-hour of the classes offered).
    reference_usd_per_gpu_hour: f64,
    /// Where the pricing policy has moved prices, relative to the base.
    factor: f64,
    /// The share of the price each tier pays: 1 − its discount (reserved, on-demand, spot).
    tier_share: [f64; 3],
    /// Whether spot jobs may run on held GPUs no committed job uses.
    spot_on_idle_commitments: bool,
    latency_slowdown: f64,
}

impl Provider<'_> {
    /// A new site's ask as its customers pay it, before the price factor and tier
    /// discount, under `placement: cheapest` (`None` otherwise): its operator's written
    /// ask ÷ (1 − take rate); else, under `cost_plus`, its own costs
    /// ([`decisions::cost_plus_site_price`]); else the written list of its class.
    fn gross_ask(&self, site: &SiteState, spec: &Site) -> Option<f64> {
        if self.placement != PlacementPolicy::Cheapest || self.spec.pricing.is_none() {
            return None;
        }
        let take = self.spec.take_rate.0;
        Some(match (spec.ask_usd_per_gpu_hour, self.cost_plus_terms()) {
            (Some(ask), _) => ask / (1.0 - take),
            (None, Some(terms)) => decisions::cost_plus_site_price(&site.cost_view(), terms, take),
            (None, None) => self
                .prices
                .list_usd_per_gpu_hour
                .get(site.class)
                .copied()
                .unwrap_or(0.0),
        })
    }

    /// The terms of its `cost_plus` pricing, if it prices so.
    fn cost_plus_terms(&self) -> Option<&crate::scenario::supply::CostPlusTerms> {
        match self.spec.pricing.as_ref().map(|p| &p.policy) {
            Some(PricePolicy::CostPlus(terms)) => Some(terms),
            _ => None,
        }
    }

    /// Records a change of a site's GPUs as the provider counts them (sites not
    /// leaving), from `before` to `after`: by class, and the site's largest gang among
    /// those of its class — its `max_gang_gpus`, and at most its GPUs where the provider
    /// cannot add GPUs to a site (a cloud that procures or operators who reinvest can
    /// grow one to hold a job that waits; a job too large for what is there counts
    /// toward that growth, as it always did).
    fn count_installed(&mut self, site: &SiteState, before: u32, after: u32) {
        let class = &mut self.class_installed[site.class];
        *class = (*class + u64::from(after))
            .checked_sub(u64::from(before))
            .expect("installed GPUs never go below 0");
        let grows = self.spec.procurement.is_some() || self.spec.reinvest.is_some();
        let mut move_site = |gpus: u32, step: i64| {
            let gang = if grows {
                site.max_gang_gpus
            } else {
                site.max_gang_gpus.min(gpus)
            };
            let key = (site.class, gang);
            match self.gang_sites.iter().position(|&(c, g, _)| (c, g) == key) {
                Some(idx) => {
                    let sites = &mut self.gang_sites[idx].2;
                    *sites = sites.checked_add_signed(step).expect("a site counted");
                    // Sizes a site passed through are dropped: the list stays short.
                    if *sites == 0 {
                        self.gang_sites.swap_remove(idx);
                    }
                }
                None => self.gang_sites.push((key.0, key.1, step as u64)),
            }
        };
        if before > 0 {
            move_site(before, -1);
        }
        if after > 0 {
            move_site(after, 1);
        }
    }

    /// Whether some site of class `class` holds a gang of `gpus`.
    fn holds_gang(&self, class: usize, gpus: u32) -> bool {
        self.gang_sites
            .iter()
            .any(|&(c, gang, sites)| c == class && gang >= gpus && sites > 0)
    }

    fn reference_price(&self) -> f64 {
        self.prices.reference_usd_per_gpu_hour * self.prices.factor
    }

    fn egress_usd_per_gb(&self) -> f64 {
        self.spec
            .pricing
            .as_ref()
            .map_or(0.0, |p| p.egress_usd_per_gb)
    }

    /// What a job's output costs to take out of this provider, per GPU-hour of its work:
    /// part of its effective cost when it chooses between providers.
    fn egress_per_gpu_hour(&self, job: &Job) -> f64 {
        let work = f64::from(job.spec.gpus) * job.spec.duration_hours;
        if job.spec.data_gb > 0.0 && work > 0.0 {
            job.spec.data_gb * self.egress_usd_per_gb() / work
        } else {
            0.0
        }
    }
}

impl Prices {
    /// A provider's list prices, before any review moved them.
    fn of(spec: &System, classes: usize) -> Prices {
        Prices {
            base_usd_per_gpu_hour: spec
                .pricing
                .as_ref()
                .map_or_else(|| vec![0.0; classes], |p| p.class_usd_per_gpu_hour.clone()),
            list_usd_per_gpu_hour: match (&spec.pricing, spec.placement) {
                (Some(p), PlacementPolicy::Cheapest) => p.class_usd_per_gpu_hour.clone(),
                _ => Vec::new(),
            },
            reference_usd_per_gpu_hour: spec
                .pricing
                .as_ref()
                .map_or(0.0, |p| p.reference_usd_per_gpu_hour),
            factor: 1.0,
            tier_share: {
                let discount = |get: fn(&crate::scenario::supply::Pricing) -> f64| {
                    spec.pricing.as_ref().map_or(0.0, get)
                };
                let mut share = [1.0; 3];
                share[RESERVED] = 1.0 - discount(|p| p.reserved_discount);
                share[SPOT] = 1.0 - discount(|p| p.spot_discount);
                share
            },
            latency_slowdown: spec.latency_slowdown,
            spot_on_idle_commitments: spec
                .pricing
                .as_ref()
                .is_some_and(|p| p.spot_on_idle_commitments),
        }
    }

    /// Price per GPU-hour of a class now, for a job of the given tier.
    #[inline]
    fn price(&self, class: usize, tier: usize) -> f64 {
        self.base_usd_per_gpu_hour[class] * self.factor * self.tier(tier)
    }

    /// Price per GPU-hour on one site now, for a job of the given tier: its ask grossed
    /// up (`placement: cheapest`), else its class's price.
    #[inline]
    fn at_site(&self, site: &SiteState, tier: usize) -> f64 {
        match site.gross_ask_usd_per_gpu_hour {
            Some(gross) => gross * self.factor * self.tier(tier),
            None => self.price(site.class, tier),
        }
    }

    /// [`Self::price`] at factor 1 (the list).
    fn list_price(&self, class: usize, tier: usize) -> f64 {
        self.base_usd_per_gpu_hour[class] * self.tier(tier)
    }

    /// The share of the price a job of this tier pays.
    #[inline]
    fn tier(&self, tier: usize) -> f64 {
        self.tier_share[tier]
    }

    /// Whether `job` may run on `site` now, and at what price per reference GPU-hour of work.
    #[inline]
    fn acceptable(&self, site: &SiteState, job: &Job) -> Option<f64> {
        let room = site.general_free() >= job.spec.gpus
            // A spot job may take held GPUs no committed job uses where they are resold.
            || (self.spot_on_idle_commitments
                && job.spec.tier() == SPOT
                && site.free >= job.spec.gpus
                && site.held_free() >= job.spec.gpus);
        if site.leaving
            || !room
            || !site.holds(job.spec.gpus, job.min_speed, job.spec.memory_gb_per_gpu)
        {
            return None;
        }
        let slowdown = if site.region == job.region {
            1.0
        } else {
            self.latency_slowdown
        };
        let unit_price = self.at_site(site, job.spec.tier()) / site.speed * slowdown;
        (unit_price <= job.spec.max_price_usd_per_gpu_hour).then_some(unit_price)
    }
}

/// A provider's offer to a job: its lowest price per reference GPU-hour over the classes
/// it has installed that are fast enough and within the job's maximum, plus its egress
/// per GPU-hour of the job when there are several providers (as placement ranks them);
/// infinite when it has none. The out-of-region slowdown is left out: the offer is the
/// provider's list to the customer, wherever the job would run.
fn offer_usd_per_gpu_hour(
    providers: &[Provider],
    classes: &[GpuClass],
    job: &Job,
    provider: usize,
) -> f64 {
    let state = &providers[provider];
    let best = classes
        .iter()
        .enumerate()
        .filter(|&(idx, class)| {
            state.class_installed[idx] > 0
                && class_holds(class, job)
                && state.holds_gang(idx, job.spec.gpus)
        })
        .map(|(idx, class)| state.prices.price(idx, job.spec.tier()) / class.speed)
        .filter(|&unit| unit <= job.spec.max_price_usd_per_gpu_hour)
        .fold(f64::INFINITY, f64::min);
    if best.is_finite() && providers.len() > 1 {
        best + state.egress_per_gpu_hour(job)
    } else {
        best
    }
}

/// Whether a locked-in job may buy from `provider`: its incumbent always; another only
/// when that one's offer is below the incumbent's × (1 − threshold); any provider when
/// the incumbent makes it no offer (no class fast enough or cheap enough: the lock
/// cannot bind).
fn lock_allows(
    providers: &[Provider],
    classes: &[GpuClass],
    lock: LockIn,
    job: &Job,
    provider: usize,
) -> bool {
    if provider == lock.incumbent {
        return true;
    }
    let incumbent = offer_usd_per_gpu_hour(providers, classes, job, lock.incumbent);
    incumbent.is_infinite()
        || offer_usd_per_gpu_hour(providers, classes, job, provider)
            < incumbent * (1.0 - lock.switch_threshold)
}

/// Why a job refuses a system outright.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    PricedOut,
    /// Some class it may use is there, but no site of one holds its gang.
    TooLarge,
    Unserved,
}

/// Whether a class may ever run a job: fast enough, and memory enough per GPU.
#[inline]
fn class_holds(class: &GpuClass, job: &Job) -> bool {
    class.speed >= job.min_speed
        && class
            .memory_gb
            .is_none_or(|memory| memory >= job.spec.memory_gb_per_gpu)
}

impl Model for SystemModel<'_> {
    type Event = SystemEvent;

    #[inline]
    fn handle(
        &mut self,
        now: Hours,
        event: SystemEvent,
        events: &mut EventQueue<SystemEvent>,
    ) -> Handled {
        self.advance(now);
        match event {
            SystemEvent::Arrival { segment } => return self.on_arrival(now, segment, events),
            SystemEvent::Completion { slot, epoch } => {
                return self.on_completion(now, slot, epoch, events);
            }
            SystemEvent::Abandon { slot, epoch } => return self.on_abandon(now, slot, epoch),
            SystemEvent::Outage {
                site,
                kind,
                generation,
            } => return self.on_outage(now, site as usize, kind, generation, events),
            SystemEvent::Back { site, kind } => self.on_back(now, site as usize, kind, events),
            SystemEvent::Delivery { order } => self.on_delivery(now, order, events),
            SystemEvent::EndOfLife { site, batch } => {
                self.on_end_of_life(now, site as usize, batch as usize, events);
            }
            SystemEvent::Join {
                provider,
                candidate,
            } => self.on_join(now, provider as usize, candidate, events),
            SystemEvent::Review { provider } => self.on_review(now, provider as usize, events),
            SystemEvent::Snapshot => self.on_snapshot(now, events),
            SystemEvent::WindowStart => self.on_window_start(now),
            SystemEvent::YearEnd => self.on_year_end(now, events),
            SystemEvent::Horizon => self.on_horizon(now),
            SystemEvent::ContractStart { contract } => {
                self.on_contract_start(now, contract, events);
            }
            SystemEvent::ContractEnd { contract } => {
                self.on_contract_end(now, contract, events);
            }
        }
        Handled::Processed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(gpus: u32) -> Job {
        Job {
            epoch: 0,
            state: JobState::Waiting,
            spec: JobSpec {
                gpus,
                duration_hours: 1.0,
                patience_hours: None,
                tier: crate::model::outcome::ON_DEMAND as u8,
                max_price_usd_per_gpu_hour: f64::INFINITY,
                data_gb: 0.0,
                locked_in: false,
                memory_gb_per_gpu: 0.0,
            },
            work_hours: 1.0,
            region: 0,
            segment: 0,
            min_speed: 0.0,
            arrived: 0.0,
            queued_at: 0.0,
            in_window: true,
            started_once: false,
            interruptions: 0,
            site: 0,
            running_pos: 0,
            started: 0.0,
            rate: 1.0,
            price: 0.0,
            holding: contracts::NO_HOLDING,
            bursting_pos: contracts::NOT_BURSTING,
            resold: false,
            probe: 0,
        }
    }

    /// A released slot is reused by the next job, with a new epoch, so an event or a
    /// queue entry of the job that held it before is recognised as stale.
    #[test]
    fn job_slots_are_reused_with_a_new_epoch() {
        let mut jobs = Jobs {
            slots: Vec::new(),
            free_slots: Vec::new(),
            queue: WaitQueue::default(),
        };
        let (a, b) = (jobs.take(job(1)), jobs.take(job(2)));
        assert_eq!((a, b), (0, 1));
        jobs.release(a);
        assert_eq!(jobs.slots[0].state, JobState::Free);
        let c = jobs.take(job(4));
        assert_eq!(c, a, "the free slot is taken first");
        assert_eq!(jobs.slots[0].epoch, 1, "its epoch moved on");
        assert_eq!(jobs.slots[0].spec.gpus, 4);
        assert_eq!(jobs.take(job(8)), 2, "no free slot: a new one");
    }

    /// Windowed tallies count only window jobs; every job is counted in the totals.
    #[test]
    fn accounts_tally_window_jobs_separately() {
        let mut accounts = Accounts {
            outcome: Outcome {
                window: (10.0, 20.0),
                segments: vec![SegmentTally::default()],
                ..Outcome::default()
            },
            week_start_areas: Areas::default(),
            week_start_lost: 0,
            group_joins: Vec::new(),
        };
        for now in [5.0, 10.0, 19.9, 20.0] {
            let in_window = accounts.in_window(now);
            accounts.tally(in_window, 0, |tally| tally.arrived += 1);
        }
        assert_eq!(accounts.outcome.all_jobs.arrived, 4);
        assert_eq!(
            accounts.outcome.window_jobs.arrived, 2,
            "[10, 20) holds 10 and 19.9"
        );
    }

    /// Orders and joins stop at the system bound, counting GPUs on order too.
    #[test]
    fn capacity_leaves_room_up_to_the_system_bound() {
        let mut capacity = Capacity {
            sites: Vec::new(),
            placement: Placement::default(),
            installed_total: defaults::MAX_SYSTEM_GPUS - 100,
            free_total: 0,
            spot_total: 0,
            preempted: Vec::new(),
            down_total: 0,
            withdrawn_total: 0,
            on_order_total: 40,
            orders: Vec::new(),
        };
        assert_eq!(capacity.gpu_room(), 60);
        capacity.on_order_total = 200;
        assert_eq!(capacity.gpu_room(), 0);
    }
}
