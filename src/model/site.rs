//! One site (a data center or an operator): its GPUs' states, and the GPU-hours and
//! costs it accrues, integrated lazily whenever its state changes.

use crate::engine::Hours;
use crate::model::outcome::{Areas, GpuStates, Opex};
use crate::montecarlo::seeds::SimRng;
use crate::scenario::GpuClass;
use crate::scenario::supply::{Costs, HOURS_PER_MONTH, HOURS_PER_YEAR, OwnerUse, Reliability, Site};

/// GPU-hours and costs of a site over an interval.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SiteIntegrals {
    /// GPU-hours by state.
    pub areas: Areas,
    /// Operating costs.
    pub opex: Opex,
    /// Depreciation, USD.
    pub depreciation_usd: f64,
    /// Revenue earned by the site (its share of customer spend), USD.
    pub revenue_usd: f64,
}

/// A site during a run.
pub struct SiteState {
    /// Region index.
    pub region: usize,
    /// GPU class index.
    pub class: usize,
    /// Speed of the class.
    pub speed: f64,
    /// Power per GPU at full load, kW.
    power_kw: f64,
    /// Cost structure.
    pub costs: Costs,
    /// Failures, if any.
    pub reliability: Option<Reliability>,
    /// Power limit, MW (IT load × PUE).
    pub power_mw: Option<f64>,
    /// GPUs installed (up or down).
    pub installed: u32,
    /// Up and unused.
    pub free: u32,
    /// Failed, waiting for repair.
    pub down: u32,
    /// Taken back by the owner for a while.
    pub withdrawn: u32,
    /// The owner's own use of the GPUs, if modelled as periods.
    pub owner_use: Option<OwnerUse>,
    /// Invalidates scheduled withdrawal candidates when the site's size changes.
    pub withdrawal_generation: u32,
    /// Withdrawal candidates and return times, each on its own stream.
    pub owner_rng: Option<(SimRng, SimRng)>,
    /// Ordered, not yet delivered.
    pub on_order: u32,
    /// Takes no new jobs and shrinks as its GPUs free up.
    pub leaving: bool,
    /// Invalidates scheduled failure candidates when the failure rate changes.
    pub failure_generation: u32,
    /// Capital on which yield is measured, USD.
    pub capital_usd: f64,
    /// Book value being depreciated (capex of owned, non-sunk GPUs), USD.
    depreciable_usd: f64,
    /// Cash set aside for more GPUs.
    pub reinvest_fund_usd: f64,
    /// Consecutive reviews with yield below the exit floor.
    pub low_reviews: u32,
    /// Failure candidates and repair times, each on its own stream.
    pub failure_rng: Option<(SimRng, SimRng)>,
    last_time: Hours,
    /// Accrued over the measurement window.
    pub window: SiteIntegrals,
    /// Accrued since the last review.
    pub period: SiteIntegrals,
}

impl SiteState {
    /// A site as the scenario describes it, present from `now`.
    pub fn new(spec: &Site, class: &GpuClass, now: Hours, streams: SiteStreams) -> SiteState {
        // A part-time operator's capital and book value are its hardware's offered share.
        let share = spec.owner_use.as_ref().map_or(1.0, |owner| owner.share);
        SiteState {
            region: spec.region,
            class: spec.class,
            speed: class.speed,
            power_kw: class.power_kw,
            costs: spec.costs.clone(),
            reliability: spec.reliability.clone(),
            power_mw: spec.power_mw,
            installed: spec.gpus,
            free: spec.gpus,
            down: 0,
            withdrawn: 0,
            owner_use: spec.owner_use.clone(),
            withdrawal_generation: 0,
            owner_rng: streams.owner,
            on_order: 0,
            leaving: false,
            failure_generation: 0,
            capital_usd: f64::from(spec.gpus) * spec.costs.capital_usd_per_gpu * share,
            depreciable_usd: f64::from(spec.gpus) * spec.costs.capex_usd_per_gpu * share,
            reinvest_fund_usd: 0.0,
            low_reviews: 0,
            failure_rng: streams.failure,
            last_time: now,
            window: SiteIntegrals::default(),
            period: SiteIntegrals::default(),
        }
    }

    /// GPUs running jobs.
    pub fn busy(&self) -> u32 {
        self.installed - self.free - self.down - self.withdrawn
    }

    /// GPUs by state now.
    pub fn states(&self) -> GpuStates {
        GpuStates { busy: self.busy(), idle: self.free, down: self.down, withdrawn: self.withdrawn }
    }

    /// Accrues GPU-hours and costs from the last change up to `now`.
    pub fn advance(&mut self, now: Hours, window: (Hours, Hours)) {
        let dt = now - self.last_time;
        if dt <= 0.0 {
            return;
        }
        let overlap = now.min(window.1) - self.last_time.max(window.0);
        let rates = self.rates();
        let states = self.states();
        let accrue = |into: &mut SiteIntegrals, hours: f64| {
            into.areas.add(states, 0, hours);
            into.opex.power_usd += rates.power_usd_per_hour * hours;
            into.opex.facility_usd += rates.facility_usd_per_hour * hours;
            into.opex.fixed_usd += rates.fixed_usd_per_hour * hours;
            into.depreciation_usd += rates.depreciation_usd_per_hour * hours;
        };
        accrue(&mut self.period, dt);
        if overlap > 0.0 {
            accrue(&mut self.window, overlap);
        }
        self.last_time = now;
    }

    /// Cost rates in the current state, USD per hour.
    fn rates(&self) -> CostRates {
        let costs = &self.costs;
        let drawn_kw = (f64::from(self.busy()) + f64::from(self.free) * costs.idle_power_fraction) * self.power_kw;
        // GPUs an owner takes back are its own business, not the network's cost.
        let installed_kw = f64::from(self.installed - self.withdrawn) * self.power_kw;
        // A site that has left entirely stops paying its fixed costs.
        let present = if self.leaving && self.installed == 0 { 0.0 } else { 1.0 };
        CostRates {
            power_usd_per_hour: drawn_kw * costs.pue * costs.electricity_usd_per_kwh,
            facility_usd_per_hour: installed_kw * costs.facility_usd_per_kw_month / HOURS_PER_MONTH,
            fixed_usd_per_hour: present * costs.fixed_usd_per_year / HOURS_PER_YEAR,
            depreciation_usd_per_hour: self.depreciable_usd * (1.0 - costs.residual_fraction) / (costs.depreciation_years * HOURS_PER_YEAR),
        }
    }

    /// Adds `gpus` delivered GPUs bought at `capex_usd_per_gpu` each.
    pub fn add_gpus(&mut self, gpus: u32, capex_usd_per_gpu: f64) {
        self.installed += gpus;
        self.free += gpus;
        self.capital_usd += f64::from(gpus) * capex_usd_per_gpu;
        self.depreciable_usd += f64::from(gpus) * capex_usd_per_gpu;
        self.failure_generation += 1;
    }

    /// Removes `gpus` GPUs from a leaving site (they were free or just repaired).
    pub fn retire(&mut self, gpus: u32) {
        let share = if self.installed == 0 { 0.0 } else { f64::from(gpus) / f64::from(self.installed) };
        self.capital_usd -= self.capital_usd * share;
        self.depreciable_usd -= self.depreciable_usd * share;
        self.installed -= gpus;
        self.failure_generation += 1;
    }

    /// Annualised operating yield since the last review: (revenue − opex) ÷ capital.
    pub fn period_yield(&self, period_hours: f64) -> f64 {
        if self.capital_usd <= 0.0 || period_hours <= 0.0 {
            return 0.0;
        }
        (self.period.revenue_usd - self.period.opex.total()) / self.capital_usd * (HOURS_PER_YEAR / period_hours)
    }

    /// Power the site would draw with `gpus` GPUs, MW (IT load × PUE).
    pub fn power_needed_mw(&self, gpus: u32) -> f64 {
        f64::from(gpus) * self.power_kw * self.costs.pue / 1000.0
    }
}

/// A site's random streams: (candidates, durations) for failures and for owner use.
#[derive(Default)]
pub struct SiteStreams {
    /// Failure candidates and repair times.
    pub failure: Option<(SimRng, SimRng)>,
    /// Withdrawal candidates and return times.
    pub owner: Option<(SimRng, SimRng)>,
}

struct CostRates {
    power_usd_per_hour: f64,
    facility_usd_per_hour: f64,
    fixed_usd_per_hour: f64,
    depreciation_usd_per_hour: f64,
}
