//! Take-or-pay contracts: GPUs a provider holds for a segment's customers while their
//! contracts run, paid for every hour whether used or not.
//!
//! Each customer's contract (an entry of `demand.contracts`, `count` times) runs from a
//! start week drawn per customer for its term, renewed at each end with its probability;
//! start, term and renewals are demand, drawn from the entry's own stream whether its
//! provider is in the architecture or not. Where it is, the contract's GPUs are *held*
//! on the provider's sites (in site order, as many as each has that no other contract
//! holds): a held GPU no committed job is using is kept from every other job, so a
//! segment's jobs find their commitment free first and burst to on-demand, at the list
//! price, only beyond it. A job uses the commitment when its whole gang fits in the idle
//! held GPUs of one site. Holdings follow the provider's capacity: GPUs a site loses
//! (leaving, retiring) are held elsewhere where there is room, and a commitment the
//! provider cannot hold yet is held as capacity arrives, its fee accruing only on GPUs
//! held. Fees accrue to the sites that hold the GPUs (so operators' and cohorts'
//! revenue includes them) and stop at the horizon, when the books close. A commitment
//! that starts while its GPUs are busy is honoured as they free up: no running job is
//! stopped for it.

use crate::engine::{EventQueue, Hours};
use crate::model::system::{JobState, SystemEvent, SystemModel};
use crate::scenario::{Contract, Scenario, Simulated};
use crate::seeds::{self, Seeding, Stream};

/// No holding: a job running on the provider's general capacity.
pub(super) const NO_HOLDING: u32 = u32::MAX;
/// Not in a segment's list of jobs running beyond its commitment.
pub(super) const NOT_BURSTING: u32 = u32::MAX;

/// The contracts of one architecture in one replication.
#[derive(Debug, Default)]
pub(super) struct Commitments {
    /// Every customer's contract whose provider is in the architecture.
    pub(super) contracts: Vec<Commitment>,
    /// GPUs held on a site for one contract; never removed (a job knows its index).
    pub(super) holdings: Vec<Holding>,
    /// Per segment, the holdings its jobs may use (empty without contracts).
    pub(super) by_segment: Vec<Vec<u32>>,
    /// Per segment, GPUs committed by its running contracts (empty without contracts).
    pub(super) segment_committed: Vec<u64>,
    /// Per segment with a contract here, the slots of its jobs running at list price
    /// (in no order; each job knows its place): the ones a freed commitment covers.
    pub(super) bursting: Vec<Vec<u32>>,
    /// Per segment, whether a contract of it is in the architecture.
    has_contracts: Vec<bool>,
    /// Whether fees stopped (the horizon passed).
    fees_closed: bool,
}

/// One customer's contract.
#[derive(Debug, Clone)]
pub(super) struct Commitment {
    pub(super) segment: u32,
    pub(super) provider: usize,
    pub(super) gpus: u32,
    pub(super) usd_per_gpu_hour: f64,
    /// From its first start to the end of its last renewal, hours.
    pub(super) span: (Hours, Hours),
    pub(super) running: bool,
    /// GPUs its holdings hold now.
    pub(super) held: u32,
}

/// GPUs of one site held for one contract.
#[derive(Debug, Clone, Copy)]
pub(super) struct Holding {
    pub(super) contract: u32,
    pub(super) site: usize,
    pub(super) gpus: u32,
    /// GPUs of it that committed jobs run on (may pass `gpus` after the site shrank).
    pub(super) busy: u32,
    /// Accrued (fees, window GPU-hours) up to here.
    since: Hours,
}

impl Holding {
    fn idle(&self) -> u32 {
        self.gpus.saturating_sub(self.busy)
    }
}

/// When one customer's contract runs: from its start week for whole terms, renewed at
/// each end with `renewal_probability`, until it is not renewed or a term ends at or
/// past `horizon`. Draws, in order: the start week, then one uniform per renewal.
pub(super) fn span(contract: &Contract, rng: &mut seeds::SimRng, horizon: Hours) -> (Hours, Hours) {
    use rand::RngExt;
    let start = contract.start_week.sample(rng) * crate::units::HOURS_PER_WEEK;
    let mut end = start + contract.term_hours;
    while end < horizon && rng.random::<f64>() < contract.renewal_probability {
        end += contract.term_hours;
    }
    (start, end)
}

impl Commitments {
    /// The contracts of the scenario whose provider is in `system`, each customer's span
    /// drawn from its entry's stream (customers in order).
    pub(super) fn new(
        scenario: &Scenario,
        system: &Simulated,
        seeding: Seeding,
        replication: u64,
    ) -> Commitments {
        if scenario.contracts.is_empty() {
            return Commitments::default();
        }
        let horizon = scenario.simulation.horizon_hours;
        let mut contracts = Vec::new();
        for (idx, contract) in scenario.contracts.iter().enumerate() {
            // The scenario has far fewer than 2^32 entries (the file is at most 4 MiB).
            let stream = Stream::Contracts {
                contract: idx as u32,
            };
            let mut rng = seeds::rng(seeding, replication, stream);
            let spans: Vec<(Hours, Hours)> = (0..contract.count)
                .map(|_| span(contract, &mut rng, horizon))
                .collect();
            let Some(provider) = system
                .providers
                .iter()
                .position(|member| member.name == contract.provider)
            else {
                continue;
            };
            for span in spans {
                contracts.push(Commitment {
                    segment: contract.segment as u32,
                    provider,
                    gpus: contract.gpus,
                    usd_per_gpu_hour: contract.usd_per_gpu_hour,
                    span,
                    running: false,
                    held: 0,
                });
            }
        }
        let mut has_contracts = vec![false; scenario.segments.len()];
        for contract in &contracts {
            has_contracts[contract.segment as usize] = true;
        }
        Commitments {
            contracts,
            holdings: Vec::new(),
            by_segment: vec![Vec::new(); scenario.segments.len()],
            segment_committed: vec![0; scenario.segments.len()],
            bursting: vec![Vec::new(); scenario.segments.len()],
            has_contracts,
            fees_closed: false,
        }
    }

    /// Whether jobs of `segment` may have a contract here (their starts are tracked).
    #[inline]
    pub(super) fn tracks(&self, segment: u32) -> bool {
        !self.has_contracts.is_empty() && self.has_contracts[segment as usize]
    }

    /// The holding on `site_idx` with `gpus` idle that a job of `segment` may use.
    #[inline]
    pub(super) fn holding_on(&self, segment: u32, site_idx: usize, gpus: u32) -> Option<u32> {
        if !self.entitled(segment) {
            return None;
        }
        self.by_segment[segment as usize]
            .iter()
            .copied()
            .find(|&h| {
                let holding = &self.holdings[h as usize];
                holding.site == site_idx && holding.idle() >= gpus
            })
    }

    /// Whether a segment's jobs have a running commitment here.
    #[inline]
    pub(super) fn entitled(&self, segment: u32) -> bool {
        !self.segment_committed.is_empty() && self.segment_committed[segment as usize] > 0
    }

    /// GPUs committed but not held yet for contracts of `provider` whose segment is in
    /// `region` (per `segment_region`): capacity its procurement owes.
    pub(super) fn unheld_gpus(
        &self,
        provider: usize,
        region: usize,
        segment_region: &[usize],
    ) -> u64 {
        self.contracts
            .iter()
            .filter(|c| {
                c.running && c.provider == provider && segment_region[c.segment as usize] == region
            })
            .map(|c| u64::from(c.gpus - c.held))
            .sum()
    }
}

impl SystemModel<'_> {
    /// Schedules each contract's start and end before the horizon.
    pub(super) fn schedule_contracts(&mut self, events: &mut EventQueue<SystemEvent>) {
        let horizon = self.accounts.outcome.window.1;
        for (idx, contract) in self.commitments.contracts.iter().enumerate() {
            let (start, end) = contract.span;
            let contract = idx as u32;
            if start < horizon && end > start.max(0.0) {
                events.schedule(start.max(0.0), SystemEvent::ContractStart { contract });
                if end < horizon {
                    events.schedule(end, SystemEvent::ContractEnd { contract });
                }
            }
        }
    }

    pub(super) fn on_contract_start(
        &mut self,
        now: Hours,
        contract: u32,
        events: &mut EventQueue<SystemEvent>,
    ) {
        let c = &mut self.commitments.contracts[contract as usize];
        c.running = true;
        self.commitments.segment_committed[c.segment as usize] += u64::from(c.gpus);
        let provider = c.provider;
        self.hold(now, provider);
        self.start_anywhere(now, events);
    }

    pub(super) fn on_contract_end(
        &mut self,
        now: Hours,
        contract: u32,
        events: &mut EventQueue<SystemEvent>,
    ) {
        let c = &mut self.commitments.contracts[contract as usize];
        c.running = false;
        self.commitments.segment_committed[c.segment as usize] -= u64::from(c.gpus);
        let provider = c.provider;
        for h in 0..self.commitments.holdings.len() {
            if self.commitments.holdings[h].contract == contract {
                self.set_holding(now, h, 0);
            }
        }
        // GPUs it gave back may back another contract of the provider not fully held.
        self.hold(now, provider);
        self.start_anywhere(now, events);
    }

    /// Brings a provider's holdings in line with its capacity: none on a leaving site,
    /// no more on a site than it has installed; then every running contract of it that
    /// is not fully held takes GPUs no other contract holds, site by site in order.
    /// Returns whether a holding grew (waiting committed jobs may start).
    pub(super) fn hold(&mut self, now: Hours, provider: usize) -> bool {
        if self.commitments.contracts.is_empty() {
            return false;
        }
        let mut grew = false;
        for h in 0..self.commitments.holdings.len() {
            let holding = self.commitments.holdings[h];
            let site = &self.capacity.sites[holding.site];
            if site.provider != provider || holding.gpus == 0 {
                continue;
            }
            let room = if site.leaving {
                0
            } else {
                site.installed.saturating_sub(site.held - holding.gpus)
            };
            if holding.gpus > room {
                self.set_holding(now, h, room);
            }
        }
        for contract in 0..self.commitments.contracts.len() {
            let c = &self.commitments.contracts[contract];
            if !c.running || c.provider != provider || c.held == c.gpus {
                continue;
            }
            for site_idx in 0..self.capacity.sites.len() {
                let c = &self.commitments.contracts[contract];
                let site = &self.capacity.sites[site_idx];
                let wanted = c.gpus - c.held;
                if wanted == 0 {
                    break;
                }
                if site.provider != provider || site.leaving || site.held >= site.installed {
                    continue;
                }
                let take = wanted.min(site.installed - site.held);
                let existing = self
                    .commitments
                    .holdings
                    .iter()
                    .position(|h| h.contract == contract as u32 && h.site == site_idx);
                let h = existing.unwrap_or_else(|| {
                    let segment = c.segment as usize;
                    self.commitments.holdings.push(Holding {
                        contract: contract as u32,
                        site: site_idx,
                        gpus: 0,
                        busy: 0,
                        since: now,
                    });
                    let h = self.commitments.holdings.len() - 1;
                    self.commitments.by_segment[segment].push(h as u32);
                    h
                });
                let gpus = self.commitments.holdings[h].gpus + take;
                self.set_holding(now, h, gpus);
                grew = true;
            }
        }
        grew
    }

    /// Sets the GPUs a holding holds from `now`: accrues its fee and GPU-hours so far,
    /// then moves the site's held counts, fee rate and free GPUs others may take.
    fn set_holding(&mut self, now: Hours, h: usize, gpus: u32) {
        self.accrue_holding(now, h);
        let site_idx = self.commitments.holdings[h].site;
        self.capacity.sites[site_idx].advance(now);
        let holding = &mut self.commitments.holdings[h];
        let (before, idle_before) = (holding.gpus, holding.idle());
        holding.gpus = gpus;
        let idle_after = holding.idle();
        let contract = &mut self.commitments.contracts[holding.contract as usize];
        contract.held = contract.held + gpus - before;
        let rate = contract.usd_per_gpu_hour;
        let segment = contract.segment;
        let site = &mut self.capacity.sites[site_idx];
        site.held = site.held + gpus - before;
        site.held_idle = site.held_idle + idle_after - idle_before;
        if !self.commitments.fees_closed {
            site.contract_usd_per_hour = if site.held == 0 {
                0.0
            } else {
                site.contract_usd_per_hour + rate * (f64::from(gpus) - f64::from(before))
            };
        }
        if self.capacity.sites[site_idx].resold_gpus > self.capacity.sites[site_idx].held_idle {
            self.settle_resold(site_idx);
        }
        self.capacity.sync(site_idx);
        if idle_after > idle_before {
            self.cover_bursting(now, site_idx, segment);
        }
        if self.commitments.holdings[h].busy > gpus {
            self.uncover(now, h);
        }
    }

    /// A holding shrank below the GPUs its committed jobs use (its contract ended, its
    /// site leaves or lost GPUs): jobs on it, most recently started first, go on running at
    /// the list price from now until it covers the rest. Each is billed from now: its run
    /// is billed from its start when it ends, so it is credited the hours before, which
    /// the commitment paid for.
    fn uncover(&mut self, now: Hours, h: usize) {
        let mut on_holding: Vec<u32> = (0..self.jobs.slots.len() as u32)
            .filter(|&slot| {
                let job = &self.jobs.slots[slot as usize];
                job.state == JobState::Running && job.holding == h as u32
            })
            .collect();
        on_holding.sort_by(|&a, &b| {
            let started = |slot: u32| self.jobs.slots[slot as usize].started;
            started(b).total_cmp(&started(a)).then(b.cmp(&a))
        });
        for slot in on_holding {
            let holding = self.commitments.holdings[h];
            if holding.busy <= holding.gpus {
                break;
            }
            let job = &self.jobs.slots[slot as usize];
            let (gpus, started, payer, tier, segment, probe) = (
                job.spec.gpus,
                job.started,
                job.payer(),
                job.spec.tier(),
                job.segment,
                job.probe,
            );
            let site_idx = holding.site;
            let site = &self.capacity.sites[site_idx];
            // A run on GPUs that do not deliver pays nothing, covered or not.
            let price = if probe > 0 {
                0.0
            } else {
                self.providers[site.provider].prices.at_site(site, tier)
            };
            self.use_holding(now, h as u32, gpus, false);
            let site = &mut self.capacity.sites[site_idx];
            site.advance(now);
            site.start_paying(price * f64::from(gpus));
            let credit = -(price * f64::from(gpus) * (now - started));
            self.bill(payer, site_idx, credit, false);
            let job = &mut self.jobs.slots[slot as usize];
            job.price = price;
            job.holding = NO_HOLDING;
            if self.commitments.tracks(segment) {
                self.note_bursting(segment, slot);
            }
            if tier == crate::model::outcome::SPOT {
                self.spot_on(site_idx, slot, gpus);
            }
            self.capacity.sync(site_idx);
        }
    }

    /// A job of `segment` in `slot` starts beyond its commitment: it is covered as soon as
    /// committed GPUs of its site free up.
    pub(super) fn note_bursting(&mut self, segment: u32, slot: u32) {
        let list = &mut self.commitments.bursting[segment as usize];
        // Slots are bounded by jobs in the system, far below 2^32.
        self.jobs.slots[slot as usize].bursting_pos = list.len() as u32;
        list.push(slot);
    }

    /// Takes the job in `slot` out of its segment's bursting list.
    pub(super) fn stop_bursting(&mut self, segment: u32, slot: u32) {
        let pos = self.jobs.slots[slot as usize].bursting_pos as usize;
        let list = &mut self.commitments.bursting[segment as usize];
        debug_assert_eq!(list[pos], slot, "a bursting job knows its place");
        list.swap_remove(pos);
        if let Some(&moved) = list.get(pos) {
            self.jobs.slots[moved as usize].bursting_pos = pos as u32;
        }
        self.jobs.slots[slot as usize].bursting_pos = NOT_BURSTING;
    }

    /// Committed GPUs of `site_idx` fell idle: jobs of `segment` running there at list
    /// price move into the commitment (the same site's GPUs, relabelled), most recently
    /// started first, so at every moment the commitment covers the segment's use before
    /// any GPU-hour is billed at list. A moved job is billed at its price up to now.
    pub(super) fn cover_bursting(&mut self, now: Hours, site_idx: usize, segment: u32) {
        loop {
            let jobs = &self.jobs.slots;
            // The list is in no order (swap-removes): the latest start, then the highest
            // slot, decides.
            let found = self.commitments.bursting[segment as usize]
                .iter()
                .filter_map(|&slot| {
                    let job = &jobs[slot as usize];
                    if job.site != site_idx {
                        return None;
                    }
                    self.commitments
                        .holding_on(segment, site_idx, job.spec.gpus)
                        .map(|h| (job.started, slot, h))
                })
                .max_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let Some((_, slot, h)) = found else { return };
            self.stop_bursting(segment, slot);
            let job = &self.jobs.slots[slot as usize];
            let (price, gpus, started, payer) =
                (job.price, job.spec.gpus, job.started, job.payer());
            let site = &mut self.capacity.sites[site_idx];
            site.advance(now);
            site.stop_paying(price * f64::from(gpus), gpus);
            self.bill(
                payer,
                site_idx,
                price * f64::from(gpus) * (now - started),
                false,
            );
            if self.jobs.slots[slot as usize].resold {
                self.resold_off(site_idx, slot, gpus);
            } else if self.jobs.slots[slot as usize].spec.tier() == crate::model::outcome::SPOT {
                self.spot_off(site_idx, slot, gpus);
            }
            let job = &mut self.jobs.slots[slot as usize];
            job.price = 0.0;
            job.holding = h;
            self.use_holding(now, h, gpus, true);
            self.capacity.sync(site_idx);
        }
    }

    /// A committed job of `gpus` GPUs starts or ends on holding `h`.
    pub(super) fn use_holding(&mut self, now: Hours, h: u32, gpus: u32, starts: bool) {
        let h = h as usize;
        self.accrue_holding(now, h);
        let holding = &mut self.commitments.holdings[h];
        let idle_before = holding.idle();
        if starts {
            holding.busy += gpus;
        } else {
            holding.busy -= gpus;
        }
        let idle_after = holding.idle();
        let site_idx = holding.site;
        let site = &mut self.capacity.sites[site_idx];
        site.held_idle = site.held_idle + idle_after - idle_before;
        if site.resold_gpus > site.held_idle {
            self.settle_resold(site_idx);
        }
    }

    /// The first site where a job of `segment` needing `gpus` GPUs of at least
    /// `min_speed` and `memory_gb_per_gpu` fits in its commitment now.
    pub(super) fn place_committed(
        &self,
        segment: u32,
        gpus: u32,
        min_speed: f64,
        memory_gb_per_gpu: f64,
    ) -> Option<usize> {
        if !self.commitments.entitled(segment) {
            return None;
        }
        self.commitments.by_segment[segment as usize]
            .iter()
            .map(|&h| &self.commitments.holdings[h as usize])
            .find(|holding| {
                let site = &self.capacity.sites[holding.site];
                holding.idle() >= gpus
                    && site.free >= gpus
                    && !site.leaving
                    && site.holds(gpus, min_speed, memory_gb_per_gpu)
            })
            .map(|holding| holding.site)
    }

    /// Accrues holding `h` from its last accrual to `now`: the fee billed (to the horizon
    /// only) and, over the window, the GPU-hours held and used.
    fn accrue_holding(&mut self, now: Hours, h: usize) {
        let holding = self.commitments.holdings[h];
        let dt = now - holding.since;
        if dt <= 0.0 {
            return;
        }
        self.commitments.holdings[h].since = now;
        let contract = &self.commitments.contracts[holding.contract as usize];
        let (segment, rate) = (contract.segment as usize, contract.usd_per_gpu_hour);
        let (warmup, horizon) = self.accounts.outcome.window;
        let overlap = now.min(horizon) - holding.since.max(warmup);
        let gpus = f64::from(holding.gpus);
        if overlap > 0.0 {
            let (held, used) = (
                gpus * overlap,
                f64::from(holding.busy.min(holding.gpus)) * overlap,
            );
            let tally = &mut self.accounts.outcome.segments[segment];
            tally.committed_gpu_hours += held;
            tally.committed_used_gpu_hours += used;
            let provider = self.capacity.sites[holding.site].provider;
            let tally = &mut self.accounts.outcome.providers[provider];
            tally.committed_gpu_hours += held;
            tally.committed_used_gpu_hours += used;
        }
        if self.commitments.fees_closed || holding.gpus == 0 {
            return;
        }
        self.capacity.sites[holding.site].advance(now);
        let whole_usd = rate * gpus * dt;
        self.accounts.outcome.billed_usd += whole_usd;
        if overlap > 0.0 {
            let window_usd = rate * gpus * overlap;
            self.accounts.outcome.segments[segment].contract_spend_usd += window_usd;
            let provider = self.capacity.sites[holding.site].provider;
            let split = self.providers[provider].spec.take_rate.split(window_usd);
            self.capacity.sites[holding.site].window_jobs_revenue_usd += split.provider_usd;
            let tally = &mut self.accounts.outcome.providers[provider];
            tally.spend_usd += window_usd;
            tally.contract_revenue_usd += window_usd;
            tally.protocol_revenue_usd += split.protocol_usd;
            let ledger = &mut self.accounts.outcome.ledger;
            ledger.spend_usd += window_usd;
            ledger.protocol_revenue_usd += split.protocol_usd;
        }
    }

    /// The horizon: every holding's fee is billed up to it, and fees stop.
    pub(super) fn close_contracts(&mut self, now: Hours) {
        for h in 0..self.commitments.holdings.len() {
            self.accrue_holding(now, h);
            let site = self.commitments.holdings[h].site;
            self.capacity.sites[site].advance(now);
            self.capacity.sites[site].contract_usd_per_hour = 0.0;
        }
        self.commitments.fees_closed = true;
    }
}
