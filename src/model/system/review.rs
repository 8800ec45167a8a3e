//! The periodic review of a system: prices move, the cloud orders GPUs, operators
//! leave, join and reinvest. Everything here happens at review times only, before the
//! horizon, and uses the GPU-hours, revenue and costs accrued since the last review.
//! Each decision is a pure function in `model::decisions`; this file builds what they
//! read and applies what they decide, keeping the random draws in their order.

use crate::engine::{EventQueue, Hours};
use crate::model::decisions::{self, ClassHours, PeriodView, RegionView};
use crate::model::outcome::CapitalChange;
use crate::model::site::SiteState;
use crate::model::system::{Order, SystemEvent, SystemModel};
use crate::scenario::System;

use crate::scenario::supply::{CostPlusTerms, Exit, PlacementPolicy, PricePolicy};

impl<'a> SystemModel<'a> {
    pub(super) fn on_review(
        &mut self,
        now: Hours,
        provider: usize,
        events: &mut EventQueue<SystemEvent>,
    ) {
        self.advance_sites(now);
        let view = self.period_view(now, provider);
        let spec: &'a System = self.providers[provider].spec;
        let old_factor = self.providers[provider].prices.factor;
        if let Some(pricing) = &spec.pricing {
            let reference = pricing.reference_usd_per_gpu_hour;
            self.providers[provider].prices.factor =
                decisions::next_price_factor(&pricing.policy, reference, old_factor, &view);
        }
        let (cost_fell, cost_rose) = self.price_from_costs(provider);
        let factor = self.providers[provider].prices.factor;
        if factor > old_factor || cost_rose {
            self.price_out_waiting(now);
        }
        if spec.procurement.is_some() {
            self.procure(now, provider, &view, events);
        }
        self.exit(now, provider, view.period_hours, events);
        self.enter(now, provider, view.period_hours, events);
        self.reinvest(now, provider, events);
        let held_more = self.hold(now, provider);
        for site in &mut self.capacity.sites {
            if site.provider == provider {
                site.at_review = site.total;
            }
        }
        // Every site was integrated to now: least-utilized ranks are refreshed, so a site
        // no event touched since it last ranked high is not passed over for more than a
        // review period.
        if self.providers[provider].placement == PlacementPolicy::LeastUtilized {
            for idx in 0..self.capacity.sites.len() {
                if self.capacity.sites[idx].provider == provider {
                    self.capacity.sync(idx);
                }
            }
        }
        let total_areas = self.accounts.outcome.total_areas;
        let state = &mut self.providers[provider];
        state.period_start = now;
        state.period_start_areas = total_areas;
        state
            .period_abandoned_work
            .iter_mut()
            .for_each(|work| *work = 0.0);
        state.period_arrivals = view.arrivals;
        state.period_arrivals.clear();
        if factor < old_factor || cost_fell || held_more {
            self.start_anywhere(now, events);
        } else {
            self.rescan_if_locked(now, events);
        }
        let next = now + spec.review_every_hours;
        if next < self.accounts.outcome.window.1 {
            let provider = provider as u32;
            events.schedule(next, SystemEvent::Review { provider });
        }
    }

    /// What the provider's period since its last review looked like (taking this
    /// period's arrival records; the caller hands their buffer back). With one provider
    /// its utilization is the architecture's, integrated event by event; with several,
    /// the same integral summed over its own sites.
    fn period_view(&mut self, now: Hours, provider: usize) -> PeriodView {
        let mut class_hours = vec![ClassHours::default(); self.classes.len()];
        let mut own = crate::model::outcome::Areas::default();
        for site in self
            .capacity
            .sites
            .iter()
            .filter(|s| s.provider == provider)
        {
            let areas = site.period().areas;
            let hours = &mut class_hours[site.class];
            hours.busy += areas.busy_gpu_hours;
            hours.idle += areas.idle_gpu_hours;
            hours.down += areas.down_gpu_hours;
            own.accumulate(&areas);
        }
        let capacity_work_gpu_hours = class_hours
            .iter()
            .zip(self.classes)
            .map(|(hours, class)| (hours.busy + hours.idle) * class.speed)
            .sum();
        let utilization = if self.providers.len() == 1 {
            self.accounts
                .outcome
                .total_areas
                .since(&self.providers[provider].period_start_areas)
                .utilization()
        } else {
            own.utilization()
        };
        let reference_price_usd = self.providers[provider].reference_price();
        let state = &mut self.providers[provider];
        PeriodView {
            now,
            period_hours: now - state.period_start,
            utilization,
            class_hours,
            gpus_on_order: state.on_order,
            arrivals: std::mem::take(&mut state.period_arrivals),
            reference_price_usd,
            capacity_work_gpu_hours,
        }
    }

    /// Centralized planning, region by region ([`decisions::gpus_to_order`]); each order
    /// goes to the region's first site and arrives after a sampled lead time (and the
    /// power it needs). A market-clearing provider also plans for the priced-out work that
    /// would have covered its cost ([`Self::unmet_work`]): its price rations a shortage,
    /// it does not end it.
    fn procure(
        &mut self,
        now: Hours,
        provider: usize,
        view: &PeriodView,
        events: &mut EventQueue<SystemEvent>,
    ) {
        let spec: &'a System = self.providers[provider].spec;
        let Some(plan) = &spec.procurement else {
            return;
        };
        let period_hours = view.period_hours;
        let clears = spec
            .pricing
            .as_ref()
            .is_some_and(|p| matches!(p.policy, PricePolicy::MarketClearing { .. }));
        let own = |s: &SiteState, region: usize| {
            s.provider == provider && s.region == region && !s.leaving
        };
        for region in 0..self.providers[provider].period_abandoned_work.len() {
            let Some(first_site) = self.capacity.sites.iter().position(|s| own(s, region)) else {
                continue;
            };
            let in_region = self.capacity.sites.iter().filter(|s| own(s, region));
            // GPUs that reach the end of their life before an order placed at the next
            // review would land are gone already, as far as planning goes.
            let gone_by = now + spec.review_every_hours + plan.lead_time_hours.mean();
            let (busy, capacity, held_idle) =
                in_region.fold((0.0, 0.0, 0.0), |(busy, capacity, held_idle), s| {
                    let kept = s.installed + s.on_order - s.gpus_retiring_by(gone_by);
                    (
                        busy + s.period().areas.busy_gpu_hours * s.speed,
                        capacity + f64::from(kept) * s.speed,
                        held_idle + f64::from(s.held_idle) * s.speed,
                    )
                });
            // Committed GPUs are sold whether used or not: those idle now and those not
            // held yet are demand it must keep capacity for (reference class speed for
            // the latter, as the order is sized in reference GPUs).
            let unheld = self
                .commitments
                .unheld_gpus(provider, region, &self.segment_region);
            let region_view = RegionView {
                busy_work_gpu_hours: busy,
                abandoned_work_gpu_hours: self.providers[provider].period_abandoned_work[region],
                unmet_work_gpu_hours: if clears {
                    self.unmet_work(view, provider, region, plan.target_utilization)
                } else {
                    0.0
                },
                capacity_work_gpus: capacity,
                committed_work_gpus: held_idle + unheld as f64,
            };
            let first_class = self.capacity.sites[first_site].class;
            let Some(class) =
                decisions::class_to_buy(&plan.gpu_classes, self.classes, first_class, now)
            else {
                continue;
            };
            let speed = self.classes[class].speed;
            let Some(gpus) = decisions::gpus_to_order(plan, period_hours, &region_view, speed)
            else {
                continue;
            };
            let target_site = self.site_for_class(now, provider, region, class, first_site);
            let lead = plan
                .lead_time_hours
                .sample(&mut self.providers[provider].lead_rng);
            let Some((gpus, ready)) = self.power_for(now, target_site, gpus, now + lead) else {
                continue;
            };
            // Priced when ordered, at what a new GPU of the class costs then.
            let capex = self.capacity.sites[target_site].costs.capex_usd_per_gpu
                * self.classes[class].price_factor(now);
            self.order(
                now,
                target_site,
                gpus,
                capex,
                (now + lead).max(ready),
                events,
            );
        }
    }

    /// The region's first site of `class` that is not leaving, or a new data center of
    /// that class opened now (with no GPUs until its first order lands) on the terms of
    /// the region's first site as the scenario wrote it: its costs, with the capex scaled
    /// from that site's class price to this class's (keeping its networking share), its
    /// reliability; no power limit of its own.
    fn site_for_class(
        &mut self,
        now: Hours,
        provider: usize,
        region: usize,
        class: usize,
        first: usize,
    ) -> usize {
        if let Some(idx) = self.capacity.sites.iter().position(|s| {
            s.provider == provider && s.region == region && s.class == class && !s.leaving
        }) {
            return idx;
        }
        let spec: &'a System = self.providers[provider].spec;
        // The region's first site is one the scenario wrote (only this adds data centers).
        let Some(template) = spec.sites.iter().find(|s| s.region == region) else {
            return first;
        };
        let mut site = template.clone();
        let (new_class, old_class) = (&self.classes[class], &self.classes[template.class]);
        // The site's capex over its class price (networking, say) carries over; a site
        // written with sunk GPUs buys the new class at its price.
        let capex_usd = if template.costs.capex_usd_per_gpu > 0.0 && old_class.capex_usd > 0.0 {
            template.costs.capex_usd_per_gpu * new_class.capex_usd / old_class.capex_usd
        } else {
            new_class.capex_usd
        };
        site.name = format!("{}-new-{}", template.name, new_class.name);
        site.class = class;
        site.gpus = 0;
        site.power_mw = None;
        site.costs.capex_usd_per_gpu = capex_usd;
        site.costs.capital_usd_per_gpu = capex_usd;
        site.costs.age_years = 0.0;
        self.add_site(provider, &site, now, 1.0)
    }

    /// Priced-out work of `region` this period whose maximum price covers the cost of
    /// serving it: the cost-plus price per reference GPU-hour, at the procurement target's
    /// utilization, no margin, capital at the finance discount rate, of the cheapest of the
    /// region's classes the job may use (none counts when the region has no GPUs to price).
    fn unmet_work(
        &self,
        view: &PeriodView,
        provider: usize,
        region: usize,
        utilization: f64,
    ) -> f64 {
        let terms = CostPlusTerms {
            margin: 0.0,
            planned_utilization: utilization,
            cost_of_capital: self.planning_rate,
        };
        let costs = decisions::cost_plus_prices(
            self.classes.len(),
            self.capacity
                .sites
                .iter()
                .filter(|s| s.provider == provider && s.region == region && !s.leaving)
                .map(SiteState::cost_view),
            &terms,
            0.0,
        );
        let unit_costs: Vec<(f64, f64)> = costs
            .iter()
            .zip(self.classes)
            .filter_map(|(cost, class)| cost.map(|cost| (class.speed, cost / class.speed)))
            .collect();
        decisions::work_covering_cost(&view.arrivals, region, &unit_costs)
    }

    /// Power for `gpus` more GPUs at a site: (GPUs that fit, when the power is ready).
    /// Without a power lead time the limit is hard and the order is cut to fit.
    /// GPUs that retire by the time the order lands (`lands`) free their power for it.
    fn power_for(
        &mut self,
        now: Hours,
        site_idx: usize,
        gpus: u32,
        lands: Hours,
    ) -> Option<(u32, Hours)> {
        let site = &self.capacity.sites[site_idx];
        let Some(limit_mw) = site.power_mw else {
            return Some((gpus, now));
        };
        let kept = site.installed + site.on_order - site.gpus_retiring_by(lands);
        let after = kept + gpus;
        if site.power_needed_mw(after) <= limit_mw {
            return Some((gpus, now));
        }
        let provider = site.provider;
        let power_lead = self.providers[provider]
            .spec
            .procurement
            .as_ref()
            .and_then(|p| p.power_lead_time_hours.clone());
        match power_lead {
            Some(lead) => {
                let ready = now + lead.sample(&mut self.providers[provider].lead_rng);
                let needed = site.power_needed_mw(after);
                self.capacity.sites[site_idx].power_mw = Some(needed);
                Some((gpus, ready))
            }
            None => {
                let per_gpu = site.power_needed_mw(1);
                let room = ((limit_mw - site.power_needed_mw(kept)) / per_gpu).floor();
                (room >= 1.0).then(|| ((room as u32).min(gpus), now))
            }
        }
    }

    /// Orders GPUs for a site, at most up to `MAX_SYSTEM_GPUS` installed and
    /// ordered in the whole system (a bound, so counts stay far inside 32 bits).
    fn order(
        &mut self,
        now: Hours,
        site: usize,
        gpus: u32,
        capex_usd_per_gpu: f64,
        arrives: Hours,
        events: &mut EventQueue<SystemEvent>,
    ) {
        let gpus = gpus.min(self.capacity.gpu_room());
        if gpus == 0 {
            return;
        }
        // An empty site starts paying its fixed costs once GPUs are on their way.
        if self.capacity.sites[site].installed == 0 {
            self.capacity.sites[site].advance(now);
        }
        self.capacity.sites[site].on_order += gpus;
        self.capacity.on_order_total += gpus;
        self.providers[self.capacity.sites[site].provider].on_order += gpus;
        if self.accounts.in_window(now) {
            self.accounts.outcome.gpus_ordered += u64::from(gpus);
        }
        self.capacity.orders.push(Order {
            site,
            gpus,
            capex_usd_per_gpu,
        });
        events.schedule(
            arrives,
            SystemEvent::Delivery {
                order: (self.capacity.orders.len() - 1) as u32,
            },
        );
    }

    /// Operators whose trailing yield stayed below the floor leave
    /// ([`decisions::exit_decision`]): their free GPUs go at once, busy ones as their
    /// jobs end.
    fn exit(
        &mut self,
        now: Hours,
        provider: usize,
        period_hours: f64,
        events: &mut EventQueue<SystemEvent>,
    ) {
        let spec: &'a System = self.providers[provider].spec;
        let Some(rule) = &spec.exit else { return };
        for idx in 0..self.capacity.sites.len() {
            let site = &mut self.capacity.sites[idx];
            if site.leaving || site.provider != provider {
                continue;
            }
            let period_yield = site.period_yield(period_hours, spec.take_rate);
            let own = site.exit_below_yield.map(|below_yield| Exit {
                below_yield,
                after_reviews: rule.after_reviews,
            });
            let (low_reviews, leaves) = decisions::exit_decision(
                own.as_ref().unwrap_or(rule),
                site.low_reviews,
                period_yield,
            );
            site.low_reviews = low_reviews;
            if leaves {
                site.leaving = true;
                let free = site.free;
                site.free = 0;
                let share = site.retire(free);
                self.accounts
                    .outcome
                    .capital_changes
                    .push(CapitalChange::Retired {
                        at: now,
                        site: idx as u32,
                        share,
                        batch: None,
                    });
                self.providers[provider].count_installed(site, site.installed + free, 0);
                self.capacity.installed_total -= free;
                self.capacity.free_total -= free;
                self.capacity.sync(idx);
                if self.accounts.in_window(now) {
                    self.accounts.outcome.operators_left += 1;
                    let group = self.capacity.sites[idx].group;
                    self.accounts
                        .group_joins
                        .push((provider as u32, group, true));
                }
                self.reschedule_outages(now, idx, events);
            }
        }
        self.floor_asks(provider);
    }

    /// New operators decide to join while the network's trailing yield beats the hurdle
    /// ([`decisions::operators_joining`]); each onboards after a sampled delay.
    fn enter(
        &mut self,
        now: Hours,
        provider: usize,
        period_hours: f64,
        events: &mut EventQueue<SystemEvent>,
    ) {
        let spec: &'a System = self.providers[provider].spec;
        let Some(entry) = &spec.entry else { return };
        if entry.template.is_none() {
            self.enter_pool(now, provider, period_hours, events);
            return;
        }
        let active = |s: &&SiteState| !s.leaving && s.provider == provider;
        let take_rate = spec.take_rate;
        let (cash, capital) =
            self.capacity
                .sites
                .iter()
                .filter(active)
                .fold((0.0, 0.0), |(cash, capital), s| {
                    (
                        cash + s.period().operating_cash_usd(take_rate),
                        capital + s.capital_usd,
                    )
                });
        let network_yield = decisions::network_yield(cash, capital, period_hours);
        let state = &mut self.providers[provider];
        let present = self.capacity.sites.iter().filter(active).count() as u64
            + u64::from(state.pending_joins);
        for _ in 0..decisions::operators_joining(entry, network_yield, present) {
            let delay = entry.onboarding_hours.sample(&mut state.onboarding_rng);
            state.pending_joins += 1;
            let provider = provider as u32;
            events.schedule(
                now + delay,
                SystemEvent::Join {
                    provider,
                    candidate: super::pool::TEMPLATE,
                },
            );
        }
    }

    /// Operators set aside a share of their positive operating cash and buy GPUs of
    /// their class when the fund covers one ([`decisions::reinvestment`]), delivered
    /// after a sampled lead time.
    fn reinvest(&mut self, now: Hours, provider: usize, events: &mut EventQueue<SystemEvent>) {
        let spec: &'a System = self.providers[provider].spec;
        let Some(rule) = &spec.reinvest else { return };
        for idx in 0..self.capacity.sites.len() {
            let site = &mut self.capacity.sites[idx];
            if site.leaving || site.provider != provider {
                continue;
            }
            let cash = site.period().operating_cash_usd(spec.take_rate);
            let price =
                self.classes[site.class].capex_usd * self.classes[site.class].price_factor(now);
            let (fund, gpus) =
                decisions::reinvestment(rule.share, site.reinvest_fund_usd, cash, price);
            site.reinvest_fund_usd = fund;
            if gpus == 0 {
                continue;
            }
            let lead_rng = &mut self.providers[provider].lead_rng;
            let arrives = now + rule.lead_time_hours.sample(lead_rng);
            self.order(now, idx, gpus, price, arrives, events);
        }
    }
}
