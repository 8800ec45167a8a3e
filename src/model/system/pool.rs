//! An entry pool: a finite population of potential operators, each deciding on its own
//! whether to join ([`decisions::entrant_margin_usd_per_gpu_hour`]), and the groups the
//! network's operators form (`groups.parquet`).
//!
//! Each replication draws every potential operator's size and reservation yield from the
//! pool type's own stream (`Stream::PoolOperators`), so a provider meets the same
//! population in every architecture. At each review the ones still out are taken in
//! increasing order of reservation yield (the supply curve); each expects the provider's
//! price for its class after the take, and the utilization the period's demand would give
//! the capacity present plus everything already on its way plus its own GPUs
//! ([`decisions::entrant_utilization`]), so entrants dilute each other and growth stops
//! where the capacity added meets the demand seen. One that decides onboards after the
//! entry's `onboarding_weeks` (after its GPUs' lead time first, when it buys them) and
//! then stays until its own realised yield has stayed below its reservation yield for the
//! provider's `exit.after_reviews` reviews (no `exit:`, no leaving); it does not come back.

use crate::engine::{EventQueue, Hours};
use crate::model::decisions::{self, EntryMarket, SiteCost};
use crate::model::outcome::{GroupTally, ON_DEMAND};
use crate::model::system::{SystemEvent, SystemModel};
use crate::scenario::supply::{Entry, PricePolicy, System};
use crate::seeds::{self, Seeding, Stream, SystemIndex};

/// The `Join` event's candidate for an operator of the template rule.
pub(super) const TEMPLATE: u32 = u32::MAX;

/// Where a potential operator stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Standing {
    /// Not in the network: it reconsiders at every review.
    Out,
    /// Decided to join; its GPUs are on their way or it is onboarding.
    Coming,
    /// Joined (and perhaps left since: it does not come back).
    Joined,
}

/// One potential operator of a pool, as drawn for the replication.
#[derive(Debug, Clone, Copy)]
pub(super) struct Candidate {
    /// Its type's index in `entry.pool`.
    pub pool_type: u32,
    /// GPUs it would list (its size × the type's listed share, at least 1).
    pub gpus: u32,
    /// The yearly return it needs.
    pub reservation_yield: f64,
    pub standing: Standing,
}

/// Every potential operator of a provider's pool for one replication, in increasing order
/// of reservation yield (ties in the order drawn).
pub(super) fn draw_pool(
    spec: &System,
    seeding: Seeding,
    replication: u64,
    system: SystemIndex,
) -> Vec<Candidate> {
    let Some(entry) = &spec.entry else {
        return Vec::new();
    };
    let mut pool = Vec::new();
    for (idx, pool_type) in entry.pool.iter().enumerate() {
        let pool_type_idx = idx as u32;
        let stream = Stream::PoolOperators {
            system,
            pool_type: pool_type_idx,
        };
        let mut rng = seeds::rng(seeding, replication, stream);
        for _ in 0..pool_type.count {
            let owned = pool_type.sizes.sample(&mut rng);
            let gpus = ((f64::from(owned) * pool_type.listed_share).round() as u32).max(1);
            let reservation_yield = pool_type.reservation_yield.sample(&mut rng);
            pool.push(Candidate {
                pool_type: pool_type_idx,
                gpus,
                reservation_yield,
                standing: Standing::Out,
            });
        }
    }
    pool.sort_by(|a, b| a.reservation_yield.total_cmp(&b.reservation_yield));
    pool
}

impl<'a> SystemModel<'a> {
    /// The pool's potential operators decide at a review (see the module's docs).
    pub(super) fn enter_pool(
        &mut self,
        now: Hours,
        provider: usize,
        period_hours: f64,
        events: &mut EventQueue<SystemEvent>,
    ) {
        let spec: &'a System = self.providers[provider].spec;
        let Some(entry) = &spec.entry else { return };
        if entry.pool.is_empty() || period_hours <= 0.0 {
            return;
        }
        let market = self.entry_market(provider, period_hours);
        let classes = self.classes;
        let speed_of =
            |pool_type: u32| classes[entry.pool[pool_type as usize].operator.class].speed;
        let offered_share = |pool_type: u32| {
            let site = &entry.pool[pool_type as usize].operator;
            site.owner_use.as_ref().map_or(1.0, |owner| owner.share)
        };
        let mut coming_work_gpus: f64 = self.providers[provider]
            .pool
            .iter()
            .filter(|c| c.standing == Standing::Coming)
            .map(|c| f64::from(c.gpus) * speed_of(c.pool_type) * offered_share(c.pool_type))
            .sum();
        let take_rate = spec.take_rate;
        for idx in 0..self.providers[provider].pool.len() {
            let candidate = self.providers[provider].pool[idx];
            if candidate.standing != Standing::Out {
                continue;
            }
            let pool_type = &entry.pool[candidate.pool_type as usize];
            let site = &pool_type.operator;
            let class = &classes[site.class];
            let work_gpus =
                f64::from(candidate.gpus) * class.speed * offered_share(candidate.pool_type);
            let utilization = decisions::entrant_utilization(&market, coming_work_gpus + work_gpus);
            let cost = SiteCost {
                class: site.class,
                gpus: candidate.gpus,
                costs: &site.costs,
                power_kw: class.power_kw,
                value_factor: 1.0,
                value_decline_per_year: class.value_decline_per_year(),
                capex_factor: class.price_factor(now),
            };
            let price = self.entrant_price(provider, &cost);
            let kept = take_rate.split(price).provider_usd;
            let margin = decisions::entrant_margin_usd_per_gpu_hour(
                &cost,
                offered_share(candidate.pool_type),
                kept,
                utilization,
                candidate.reservation_yield,
            );
            if margin <= 0.0 {
                continue;
            }
            coming_work_gpus += work_gpus;
            let state = &mut self.providers[provider];
            state.pool[idx].standing = Standing::Coming;
            state.pending_joins += 1;
            let lead = pool_type
                .lead_time_hours
                .as_ref()
                .map_or(0.0, |lead| lead.sample(&mut state.lead_rng));
            let delay = lead + entry.onboarding_hours.sample(&mut state.onboarding_rng);
            events.schedule(
                now + delay,
                SystemEvent::Join {
                    provider: provider as u32,
                    candidate: idx as u32,
                },
            );
        }
    }

    /// The period's demand and the capacity present as a potential operator of
    /// `provider` reads them (after `advance_sites`): its sites' busy work, the market's
    /// work that gave up and the work waiting now, against the work its GPUs in service
    /// now would give over a period (in service at one instant: unbiased for the
    /// period's mean, and it counts operators that joined during the period in full).
    fn entry_market(&self, provider: usize, period_hours: f64) -> EntryMarket {
        let (busy, up_now) = self
            .capacity
            .sites
            .iter()
            .filter(|s| s.provider == provider)
            .fold((0.0, 0.0), |(busy, up), s| {
                let in_service = if s.leaving {
                    0
                } else {
                    s.installed.saturating_sub(s.down + s.withdrawn)
                };
                (
                    busy + s.period().areas.busy_gpu_hours * s.speed,
                    up + f64::from(in_service) * s.speed,
                )
            });
        let abandoned: f64 = self.providers[provider].period_abandoned_work.iter().sum();
        let waiting = self.waiting_work_gpu_hours();
        EntryMarket {
            demand_work_gpu_hours: busy + abandoned + waiting,
            capacity_work_gpu_hours: up_now * period_hours,
            period_hours,
        }
    }

    /// What an entrant would charge per GPU-hour of its class: the provider's on-demand
    /// price now; under `cost_plus`, for a class no site offers yet, its own cost-plus
    /// price.
    fn entrant_price(&self, provider: usize, cost: &SiteCost) -> f64 {
        let state = &self.providers[provider];
        let listed = state.prices.price(cost.class, ON_DEMAND);
        if listed > 0.0 {
            return listed;
        }
        match state.spec.pricing.as_ref().map(|p| &p.policy) {
            Some(PricePolicy::CostPlus(terms)) => decisions::cost_plus_prices(
                self.classes.len(),
                [*cost],
                terms,
                state.spec.take_rate.0,
            )[cost.class]
                .map_or(0.0, |price| price * state.prices.factor),
            _ => 0.0,
        }
    }

    /// A pool's operator that decided to join arrives: it lists its GPUs now, paying
    /// what bought ones cost new today; with no room left in the system it stays out
    /// and reconsiders at the next review.
    pub(super) fn join_from_pool(
        &mut self,
        now: Hours,
        provider: usize,
        candidate: usize,
        entry: &'a Entry,
    ) -> Option<usize> {
        let drawn = self.providers[provider].pool[candidate];
        if drawn.gpus > self.capacity.gpu_room() {
            self.providers[provider].pool[candidate].standing = Standing::Out;
            return None;
        }
        self.providers[provider].pool[candidate].standing = Standing::Joined;
        let pool_type = &entry.pool[drawn.pool_type as usize];
        let mut spec = pool_type.operator.clone();
        spec.gpus = drawn.gpus;
        spec.name = format!("{}-{}", pool_type.name, candidate);
        let site = self.join_site(now, provider, &spec);
        // It leaves on its own realised yield against the return it needs.
        self.capacity.sites[site].exit_below_yield = Some(drawn.reservation_yield);
        Some(site)
    }

    /// The operator groups' rows at the horizon (after the window closed).
    pub(super) fn group_tallies(&self) -> Vec<GroupTally> {
        let mut groups: Vec<GroupTally> = Vec::new();
        let mut offsets = Vec::with_capacity(self.providers.len());
        for (provider, state) in self.providers.iter().enumerate() {
            offsets.push(groups.len());
            let pool = state.spec.entry.as_ref().map_or(&[][..], |e| &e.pool[..]);
            let first_pool = state.spec.groups.len() - pool.len();
            for group in 0..state.spec.groups.len() {
                let potential = group
                    .checked_sub(first_pool)
                    .map_or(0, |k| u64::from(pool[k].count));
                groups.push(GroupTally {
                    provider: provider as u32,
                    group: group as u32,
                    potential_operators: potential,
                    ..GroupTally::default()
                });
            }
        }
        let joined = &self.accounts.group_joins;
        for (site, record) in self.capacity.sites.iter().zip(&self.accounts.outcome.sites) {
            if self.providers[site.provider].spec.groups.is_empty() {
                continue;
            }
            let tally = &mut groups[offsets[site.provider] + site.group as usize];
            if record.cohort == 0 {
                tally.operators_at_start += 1;
            }
            if !site.leaving {
                tally.operators_at_horizon += 1;
                tally.listed_gpus += u64::from(site.installed);
                tally.verified_gpus += u64::from(site.verified());
            }
            tally.delisted_gpus += u64::from(site.delisted);
            tally.window.add(&site.total.since(&site.at_window_start));
            tally.capital_usd_years += (site.capital_usd_hours
                - site.capital_usd_hours_at_window_start)
                / crate::units::HOURS_PER_YEAR;
        }
        for &(provider, group, left) in joined {
            if let Some(&offset) = offsets.get(provider as usize) {
                let tally = &mut groups[offset + group as usize];
                if left {
                    tally.operators_left += 1;
                } else {
                    tally.operators_joined += 1;
                }
            }
        }
        groups
    }

    /// Work of the jobs waiting now, reference GPU-hours.
    fn waiting_work_gpu_hours(&self) -> f64 {
        let jobs = &self.jobs.slots;
        self.jobs
            .queue
            .in_order(|entry| super::is_live(jobs, entry))
            .into_iter()
            .map(|entry| {
                let job = &jobs[entry.slot as usize];
                f64::from(job.spec.gpus) * job.spec.duration_hours
            })
            .sum()
    }
}
