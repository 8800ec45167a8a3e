//! Hardware that reaches the end of its service life: a centralized provider retires
//! each batch of GPUs `procurement.service_life_years` after it was new (a site's first
//! GPUs may already be `costs.age_years` old), and its procurement, which counts the
//! GPUs retiring within a lead time as gone, replaces them. Free GPUs of the batch go at
//! once; busy or failed ones as they free up. Operators of a network do not retire by
//! age: they leave by their exit rule.

use crate::engine::{EventQueue, Hours};
use crate::model::outcome::CapitalChange;
use crate::model::site::Batch;
use crate::model::system::{SystemEvent, SystemModel};
use crate::scenario::supply::Costs;
use crate::units::HOURS_PER_YEAR;

impl SystemModel<'_> {
    /// Hours a GPU of a site with these costs serves from new; `None` where nothing
    /// retires by age (no procurement to replace it).
    pub(super) fn service_life_hours(&self, provider: usize, costs: &Costs) -> Option<f64> {
        let plan = self.providers[provider].spec.procurement.as_ref()?;
        Some(plan.service_life_years.unwrap_or(costs.depreciation_years) * HOURS_PER_YEAR)
    }

    /// A batch of `gpus` GPUs arriving at `now`, worth `value_usd_per_gpu` each and
    /// `age_years` old, with its end of life.
    pub(super) fn new_batch(
        &self,
        provider: usize,
        costs: &Costs,
        gpus: u32,
        value_usd_per_gpu: f64,
        now: Hours,
        age_years: f64,
    ) -> Batch {
        let end_of_life = self
            .service_life_hours(provider, costs)
            .map_or(f64::INFINITY, |life| {
                now + (life - age_years * HOURS_PER_YEAR).max(0.0)
            });
        Batch {
            gpus,
            retiring: 0,
            value_usd_per_gpu,
            added: now,
            end_of_life,
        }
    }

    /// Schedules a batch's end of life, if it comes before the horizon.
    pub(super) fn schedule_end_of_life(
        &self,
        site: usize,
        batch: usize,
        events: &mut EventQueue<SystemEvent>,
    ) {
        let end_of_life = self.capacity.sites[site].batches[batch].end_of_life;
        if end_of_life < self.accounts.outcome.window.1 {
            let (site, batch) = (site as u32, batch as u32);
            events.schedule(end_of_life, SystemEvent::EndOfLife { site, batch });
        }
    }

    pub(super) fn on_end_of_life(
        &mut self,
        now: Hours,
        site_idx: usize,
        batch: usize,
        events: &mut EventQueue<SystemEvent>,
    ) {
        let site = &mut self.capacity.sites[site_idx];
        if site.leaving {
            // Its GPUs go as they free up anyway (operators do not retire by age).
            return;
        }
        // Integrate up to now before any GPU changes state (the invariants check it).
        site.advance(now);
        let due = site.batches[batch].gpus - site.batches[batch].retiring;
        let at_once = due.min(site.free);
        site.batches[batch].retiring += due - at_once;
        site.retiring += due - at_once;
        if at_once > 0 {
            site.free -= at_once;
            self.capacity.free_total -= at_once;
            self.retire(now, site_idx, batch, at_once);
            self.capacity.sync(site_idx);
            self.reschedule_outages(now, site_idx, events);
        }
    }

    /// GPUs of a site freed up while some of its GPUs wait to be retired: those are
    /// retired first, oldest batch first. Returns the GPUs left to free.
    pub(super) fn retire_released(
        &mut self,
        now: Hours,
        site_idx: usize,
        gpus: u32,
        events: &mut EventQueue<SystemEvent>,
    ) -> u32 {
        let mut left = gpus;
        while left > 0 {
            let site = &mut self.capacity.sites[site_idx];
            let Some(batch) = site.batches.iter().position(|b| b.retiring > 0) else {
                break;
            };
            let gone = left.min(site.batches[batch].retiring);
            site.batches[batch].retiring -= gone;
            site.retiring -= gone;
            self.retire(now, site_idx, batch, gone);
            left -= gone;
        }
        if left < gpus {
            self.reschedule_outages(now, site_idx, events);
        }
        left
    }

    /// Takes `gpus` (no longer counted free) of a batch out of the system for good.
    fn retire(&mut self, now: Hours, site_idx: usize, batch: usize, gpus: u32) {
        self.remove_from_batch(now, site_idx, batch, gpus);
        if self.accounts.in_window(now) {
            self.accounts.outcome.gpus_retired += u64::from(gpus);
        }
        // Holdings this cost are held elsewhere; jobs waiting for them start at the next
        // completion, delivery or review there.
        let provider = self.capacity.sites[site_idx].provider;
        self.hold(now, provider);
    }

    /// Takes `gpus` GPUs (not counted free) of a batch off the site's books: installed,
    /// the provider's class count and the batch's share of capital (retired at the end
    /// of their life, or delisted as not delivering).
    pub(super) fn remove_from_batch(
        &mut self,
        now: Hours,
        site_idx: usize,
        batch: usize,
        gpus: u32,
    ) {
        let site = &mut self.capacity.sites[site_idx];
        site.advance(now);
        let share = site.retire_from_batch(now, batch, gpus);
        self.capacity.installed_total -= gpus;
        self.providers[site.provider].count_installed(site, site.installed + gpus, site.installed);
        self.accounts
            .outcome
            .capital_changes
            .push(CapitalChange::Retired {
                at: now,
                site: site_idx as u32,
                share,
                batch: Some(batch as u32),
            });
    }
}
