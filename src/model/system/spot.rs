//! Spot capacity: jobs of the spot tier run on GPUs no one else needs, at the spot
//! discount, and give them up when a job of a higher tier needs them.
//!
//! A reserved, on-demand or committed job that finds no site with room takes, among the
//! sites where it would fit if the spot jobs there gave up their GPUs, the one placement
//! prefers (its own commitment first, then lowest effective cost, own region on ties,
//! first listed); there the most recently started spot jobs are preempted, one by one,
//! until it fits, and the preempted jobs are offered every other site at once. A preempted job
//! pays for the hours it held, loses the work since its last checkpoint (its segment's
//! `checkpoint_every_hours`, else the site's; all of it without one) and waits again at the
//! head of the spot tier, which is served after every other. Preemptions are counted apart
//! from failures and never make a customer give up. A job already waiting does not
//! preempt: it takes GPUs as they free up, ahead of every spot job (assumption; with
//! one-GPU jobs it changes nothing, since a spot job starts only when no other job waits
//! for a GPU it could use).

use crate::engine::{EventQueue, Hours};
use crate::model::outcome::SPOT;
use crate::model::site::SiteState;
use crate::model::system::{Job, JobState, SystemEvent, SystemModel, lock_allows};

/// Keeps the better of the best site so far and a candidate `(remote, cost, index)`, as
/// placement ranks them: the lower cost, then its own region, then the first seen.
fn keep_better(best: &mut Option<(bool, f64, usize)>, candidate: (bool, f64, usize)) {
    let (remote, cost, _) = candidate;
    let better = match *best {
        None => true,
        Some((best_remote, best_cost, _)) => {
            cost < best_cost || (cost == best_cost && !remote && best_remote)
        }
    };
    if better {
        *best = Some(candidate);
    }
}

impl SystemModel<'_> {
    /// Whether `site` is outside `job`'s region, and the job's effective cost per
    /// reference GPU-hour there as placement counts it (price ÷ speed, × the slowdown out
    /// of region, + egress among several providers); `None` above its maximum price.
    fn offer_on(&self, job: &Job, site: &SiteState) -> Option<(bool, f64)> {
        let provider = &self.providers[site.provider];
        let remote = site.region != job.region;
        let slowdown = if remote {
            provider.prices.latency_slowdown
        } else {
            1.0
        };
        let unit_price = provider.prices.at_site(site, job.spec.tier()) / site.speed * slowdown;
        if unit_price > job.spec.max_price_usd_per_gpu_hour {
            return None;
        }
        let cost = if self.providers.len() > 1 {
            unit_price + provider.egress_per_gpu_hour(job)
        } else {
            unit_price
        };
        Some((remote, cost))
    }

    /// The spot job in `slot` runs on `site_idx` where others may preempt it.
    pub(super) fn spot_on(&mut self, site_idx: usize, slot: u32, gpus: u32) {
        let site = &mut self.capacity.sites[site_idx];
        site.spot.push(slot);
        site.spot_gpus += gpus;
        self.capacity.spot_total += gpus;
    }

    /// The spot job in `slot` runs on held GPUs of `site_idx` no committed job used.
    pub(super) fn resold_on(&mut self, site_idx: usize, slot: u32, gpus: u32) {
        let site = &mut self.capacity.sites[site_idx];
        site.resold.push(slot);
        site.resold_gpus += gpus;
        self.jobs.slots[slot as usize].resold = true;
    }

    /// The resold spot job in `slot` stops running on held GPUs of `site_idx`.
    pub(super) fn resold_off(&mut self, site_idx: usize, slot: u32, gpus: u32) {
        let site = &mut self.capacity.sites[site_idx];
        if let Some(pos) = site.resold.iter().rposition(|&s| s == slot) {
            site.resold.remove(pos);
            site.resold_gpus -= gpus;
        }
        self.jobs.slots[slot as usize].resold = false;
    }

    /// Held idle GPUs of `site_idx` fell below those resold jobs run on (a committed job
    /// took free GPUs, a holding shrank): the most recently started resold jobs now run on
    /// the site's other GPUs (the same GPUs, relabelled), preemptible as any spot job.
    pub(super) fn settle_resold(&mut self, site_idx: usize) {
        while self.capacity.sites[site_idx].resold_gpus > self.capacity.sites[site_idx].held_idle {
            let Some(&slot) = self.capacity.sites[site_idx].resold.last() else {
                return;
            };
            let gpus = self.jobs.slots[slot as usize].spec.gpus;
            self.resold_off(site_idx, slot, gpus);
            self.spot_on(site_idx, slot, gpus);
        }
    }

    /// Where a spot job with no room elsewhere may run on an idle commitment: the best
    /// site (as placement ranks them) of a provider that sells idle commitments as spot
    /// with that many held GPUs free.
    pub(super) fn place_resold(&self, job: &Job) -> Option<usize> {
        if job.spec.tier() != SPOT {
            return None;
        }
        let lock = self.lock_of(job);
        let mut best: Option<(bool, f64, usize)> = None;
        for (idx, site) in self.capacity.sites.iter().enumerate() {
            let provider = &self.providers[site.provider];
            if !provider.prices.spot_on_idle_commitments
                || site.leaving
                || !site.holds(job.spec.gpus, job.min_speed, job.spec.memory_gb_per_gpu)
                || site.free < job.spec.gpus
                || site.held_free() < job.spec.gpus
                || lock.is_some_and(|lock| {
                    !lock_allows(&self.providers, self.classes, lock, job, site.provider)
                })
            {
                continue;
            }
            let Some((remote, cost)) = self.offer_on(job, site) else {
                continue;
            };
            keep_better(&mut best, (remote, cost, idx));
        }
        best.map(|(_, _, idx)| idx)
    }

    /// A committed job whose commitment has idle GPUs that resold spot jobs run on takes
    /// them back: on the first such site (in its holdings' order), the most recently
    /// started resold jobs are preempted until it fits. The site, with the preempted jobs
    /// in `capacity.preempted`; `None` when no holding of its segment would do.
    pub(super) fn reclaim_commitment(
        &mut self,
        now: Hours,
        job: &Job,
        events: &mut EventQueue<SystemEvent>,
    ) -> Option<usize> {
        if !self.commitments.entitled(job.segment) {
            return None;
        }
        let gpus = job.spec.gpus;
        let site_idx = self.commitments.by_segment[job.segment as usize]
            .iter()
            .map(|&h| self.commitments.holdings[h as usize])
            .find(|holding| {
                let site = &self.capacity.sites[holding.site];
                holding.gpus.saturating_sub(holding.busy) >= gpus
                    && site.resold_gpus > 0
                    && site.free + site.resold_gpus >= gpus
                    && !site.leaving
                    && site.holds(job.spec.gpus, job.min_speed, job.spec.memory_gb_per_gpu)
            })?
            .site;
        while self.capacity.sites[site_idx].free < gpus {
            let &victim = self.capacity.sites[site_idx].resold.last()?;
            self.preempt(now, victim, events);
            self.capacity.preempted.push(victim);
        }
        Some(site_idx)
    }

    /// The spot job in `slot` no longer runs preemptibly on `site_idx` (it ended, or moved
    /// into its customer's commitment).
    pub(super) fn spot_off(&mut self, site_idx: usize, slot: u32, gpus: u32) {
        let site = &mut self.capacity.sites[site_idx];
        let pos = site.spot.iter().rposition(|&s| s == slot);
        debug_assert!(
            pos.is_some(),
            "a preemptible spot job is on its site's list"
        );
        if let Some(pos) = pos {
            site.spot.remove(pos);
            site.spot_gpus -= gpus;
            self.capacity.spot_total -= gpus;
        }
    }

    /// Whether `job` fits on `site_idx` now: in its commitment there (GPUs free and a
    /// holding of its segment with that many idle), or on the GPUs others may take.
    fn fits(&self, job: &Job, site_idx: usize) -> bool {
        let site = &self.capacity.sites[site_idx];
        let gpus = job.spec.gpus;
        site.general_free() >= gpus
            || (site.free >= gpus
                && self
                    .commitments
                    .holding_on(job.segment, site_idx, gpus)
                    .is_some())
    }

    /// Where a job of a tier above spot would start if spot jobs made room: the best site
    /// (as [`SystemModel::place`] ranks them; its own commitment first, at no price) where
    /// it would fit once every preemptible spot job there gave up its GPUs — less those
    /// that would retire as they free up. `None` for a spot job or when no site would do.
    pub(super) fn place_preempting(&self, job: &Job) -> Option<usize> {
        if job.spec.tier() == SPOT || self.capacity.spot_total == 0 {
            return None;
        }
        let lock = self.lock_of(job);
        let gpus = job.spec.gpus;
        let mut best: Option<(bool, f64, usize)> = None;
        for (idx, site) in self.capacity.sites.iter().enumerate() {
            if site.spot_gpus == 0
                || site.leaving
                || !site.holds(job.spec.gpus, job.min_speed, job.spec.memory_gb_per_gpu)
            {
                continue;
            }
            let free_after = site.free + site.spot_gpus.saturating_sub(site.retiring);
            let committed = free_after >= gpus
                && self
                    .commitments
                    .holding_on(job.segment, idx, gpus)
                    .is_some();
            if !committed
                && (free_after.saturating_sub(site.held_free()) < gpus
                    || lock.is_some_and(|lock| {
                        !lock_allows(&self.providers, self.classes, lock, job, site.provider)
                    }))
            {
                continue;
            }
            let offer = if committed {
                Some((site.region != job.region, 0.0))
            } else {
                self.offer_on(job, site)
            };
            let Some((remote, cost)) = offer else {
                continue;
            };
            keep_better(&mut best, (remote, cost, idx));
        }
        best.map(|(_, _, idx)| idx)
    }

    /// Makes room for `job` (of a tier above spot, with no site free for it) by
    /// preempting spot jobs on the site [`Self::place_preempting`] finds, the most
    /// recently started first, until it fits: that site, with the preempted jobs in
    /// `capacity.preempted` for [`Self::restart_preempted`]. `None` when no site would
    /// do; should the room still fall short, the GPUs freed go to the jobs waiting.
    pub(super) fn make_room(
        &mut self,
        now: Hours,
        job: &Job,
        events: &mut EventQueue<SystemEvent>,
    ) -> Option<usize> {
        let site_idx = self.place_preempting(job)?;
        while !self.fits(job, site_idx) {
            let Some(&victim) = self.capacity.sites[site_idx].spot.last() else {
                debug_assert!(false, "place_preempting promised room that is not there");
                self.start_on_site(now, site_idx, events);
                self.restart_preempted(now, events);
                return None;
            };
            self.preempt(now, victim, events);
            self.capacity.preempted.push(victim);
        }
        Some(site_idx)
    }

    /// Offers the jobs just preempted every site again, as an interrupted job is: one
    /// may fit elsewhere (a site the preempting job could not use).
    pub(super) fn restart_preempted(&mut self, now: Hours, events: &mut EventQueue<SystemEvent>) {
        let preempted = std::mem::take(&mut self.capacity.preempted);
        for &slot in &preempted {
            let job = &self.jobs.slots[slot as usize];
            if job.state == JobState::Waiting
                && let Some(site) = self.place_job(job).or_else(|| self.place_resold(job))
            {
                self.start(now, slot, site, true, events);
            }
        }
        let mut preempted = preempted;
        preempted.clear();
        self.capacity.preempted = preempted;
    }

    /// Stops the spot job in `slot`: it pays for the hours held, keeps the work of its last
    /// checkpoint and waits again at the head of the spot tier.
    fn preempt(&mut self, now: Hours, slot: u32, events: &mut EventQueue<SystemEvent>) {
        let (site_idx, gpus) = self.end_run(now, slot);
        let (progress, saved) = self.rewind_to_checkpoint(now, slot, site_idx);
        let job = &self.jobs.slots[slot as usize];
        let (in_window, segment) = (job.in_window, job.segment);
        if in_window {
            let lost = f64::from(gpus) * (progress - saved);
            self.accounts.outcome.lost_work_gpu_hours += lost;
            self.accounts.outcome.preempted_lost_work_gpu_hours += lost;
        }
        self.accounts.tally(in_window, segment, |tally| {
            tally.preempted += 1;
            tally.running -= 1;
        });
        self.enqueue(slot, true);
        // Its GPUs are free now for the job that preempts it: no other waiting job could
        // use them, or it would have started before a spot job.
        self.release(site_idx, gpus, now, events);
    }
}
