//! One site (a data center or an operator): its GPUs' states, and the GPU-hours,
//! costs and revenue it accrues, integrated lazily whenever its state changes.
//!
//! A site keeps one cumulative integral; the review period, the measurement window and
//! each finance year are differences of snapshots of it, so the hot path accrues once.

use crate::dist::Dist;
use crate::engine::Hours;
use crate::model::decisions::SiteCost;
use crate::model::outcome::{Areas, GpuStates, Opex};
use crate::scenario::GpuClass;
use crate::scenario::supply::{Costs, Site, TakeRate};
use crate::seeds::SimRng;
use crate::units::{HOURS_PER_MONTH, HOURS_PER_YEAR};

/// GPU-hours, costs and revenue of a site over an interval.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SiteIntegrals {
    /// GPU-hours by state.
    pub areas: Areas,
    /// Operating costs (the protocol's fee excluded).
    pub opex: Opex,
    /// What customers paid for the site's GPUs, accrued as they ran (egress when
    /// billed), before the protocol's take, USD.
    pub gross_revenue_usd: f64,
}

impl SiteIntegrals {
    /// The change from `earlier` to `self` (both cumulative).
    pub fn since(&self, earlier: &SiteIntegrals) -> SiteIntegrals {
        SiteIntegrals {
            areas: self.areas.since(&earlier.areas),
            opex: Opex {
                power_usd: self.opex.power_usd - earlier.opex.power_usd,
                facility_usd: self.opex.facility_usd - earlier.opex.facility_usd,
                fixed_usd: self.opex.fixed_usd - earlier.opex.fixed_usd,
            },
            gross_revenue_usd: self.gross_revenue_usd - earlier.gross_revenue_usd,
        }
    }

    /// Adds another interval's integrals (of another site or a later interval).
    pub fn add(&mut self, other: &SiteIntegrals) {
        self.areas.accumulate(&other.areas);
        self.opex.add(&other.opex);
        self.gross_revenue_usd += other.gross_revenue_usd;
    }

    /// Revenue kept after the protocol's take, less operating costs, USD.
    pub fn operating_cash_usd(&self, take_rate: TakeRate) -> f64 {
        take_rate.split(self.gross_revenue_usd).provider_usd - self.opex.total()
    }
}

/// A site during a run.
pub struct SiteState {
    /// Region index.
    pub region: usize,
    /// The provider it belongs to, in the architecture's order.
    pub provider: usize,
    /// Its operator group among its provider's (`System::groups`).
    pub group: u32,
    /// GPU class index.
    pub class: usize,
    /// Speed of the class.
    pub speed: f64,
    /// Memory per GPU of the class, GB (infinite where the class gives none).
    pub memory_gb: f64,
    /// The largest job its interconnect holds, GPUs (`u32::MAX`: any that fits).
    pub max_gang_gpus: u32,
    /// Under `placement: cheapest`, what a customer pays per GPU-hour here before the
    /// price factor and tier discount: the operator's ask ÷ (1 − take rate); `None`
    /// elsewhere (the provider's class price).
    pub gross_ask_usd_per_gpu_hour: Option<f64>,
    /// Whether that ask is its own cost plus margin, set again at each review.
    pub ask_from_costs: bool,
    /// Power per GPU at full load, kW.
    power_kw: f64,
    /// Cost structure.
    pub costs: Costs,
    /// Whether any running cost has a rate (electricity, facility or fixed): a site
    /// without one (money not modelled) adds no opex, and skipping the products of zero
    /// leaves every sum exactly as it was.
    accrues_opex: bool,
    /// The state (GPUs paid for, present) that `standing_usd_per_hour` was computed for.
    standing_for: Option<(u32, bool)>,
    /// (facility, fixed) cost rates in that state, USD per hour.
    standing_usd_per_hour: (f64, f64),
    /// Failures and owners taking GPUs back, indexed by [`Outage::index`]; `None` where
    /// the site has no such process.
    pub outages: [Option<OutageProcess>; 2],
    /// Interrupted jobs resume from a checkpoint taken every this many hours.
    pub checkpoint_every_hours: Option<f64>,
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
    /// Ordered, not yet delivered.
    pub on_order: u32,
    /// Takes no new jobs and shrinks as its GPUs free up.
    pub leaving: bool,
    /// What the site's hardware would fetch now, USD: the capital on which its yield is
    /// measured. It falls along the class's resale curve, brought up to date by
    /// [`SiteState::age_to`] at each review and before GPUs are added.
    pub capital_usd: f64,
    /// The yearly rate of the class's resale curve (see `GpuClass::value_decline_per_year`).
    value_decline_per_year: f64,
    /// What is left of a sunk GPU's value when the site first offered it (1 then): the
    /// share a cost-based price charges the owner's opportunity cost on.
    value_factor: f64,
    /// Time `capital_usd` and `value_factor` were last aged to.
    aged_to: Hours,
    /// ∫ `capital_usd` dt from the site's start to `aged_to`, USD-hours: the capital
    /// employed, on which a group's yield over a window is measured.
    pub capital_usd_hours: f64,
    /// −ln(1 − the class's `annual_cost_decline`): new GPUs of the class cost
    /// e^(−this × years) of their price at time 0.
    new_price_log_decline: f64,
    /// Customers' payment rate for the jobs running here, USD per hour.
    revenue_usd_per_hour: f64,
    /// Contract fees for the GPUs held here, USD per hour (paid whether used or not).
    pub contract_usd_per_hour: f64,
    /// GPUs held here for contracts (up or not, used or not).
    pub held: u32,
    /// Held GPUs that no committed job is using: kept from every other job.
    pub held_idle: u32,
    /// Cash set aside for more GPUs.
    pub reinvest_fund_usd: f64,
    /// Consecutive reviews with yield below the exit floor.
    pub low_reviews: u32,
    /// Listed GPUs that do not deliver and no job has found yet (among `installed`).
    pub unverified: u32,
    /// Unverified GPUs under a job now: found when it fails, then delisted.
    pub probing: u32,
    /// GPUs delisted so far (found not to deliver).
    pub delisted: u32,
    /// How long a job on an unverified GPU runs before it fails, hours.
    pub verification_hours: f64,
    /// The yield below which it leaves, where it is its own (a pool's operator: its
    /// reservation yield); `None` reads the provider's exit rule.
    pub exit_below_yield: Option<f64>,
    last_time: Hours,
    /// Accrued since the site appeared, up to `last_time`.
    pub total: SiteIntegrals,
    /// `total` at the last review.
    pub at_review: SiteIntegrals,
    /// `total` at the start of the measurement window (zero for sites added after it).
    pub at_window_start: SiteIntegrals,
    /// `capital_usd_hours` at the start of the window (zero for sites added after it).
    pub capital_usd_hours_at_window_start: f64,
    /// `total` at the start of the current finance year.
    pub at_year_start: SiteIntegrals,
    /// Provider revenue of window jobs billed here (the ledger's site-by-site count), USD.
    pub window_jobs_revenue_usd: f64,
    /// The GPUs that arrived together, in arrival order (the site's first GPUs, then each
    /// delivery): batch k is the site's k-th `CapitalChange::Added`.
    pub batches: Vec<Batch>,
    /// GPUs past their service life still busy or down: retired as they free up.
    pub retiring: u32,
    /// Slots of the jobs running here, in no order (each job knows its position, so a
    /// start pushes and an end swap-removes in O(1)), kept only where an outage can hit
    /// one: finding the victim is then O(jobs here), not O(jobs in the system).
    pub running: Option<Vec<u32>>,
    /// Slots of the spot jobs running here, in the order they started (the last the
    /// most recent: preempted first).
    pub spot: Vec<u32>,
    /// GPUs those spot jobs hold.
    pub spot_gpus: u32,
    /// Slots of spot jobs running on held GPUs no committed job used (the provider sells
    /// idle commitments as spot), in start order: preempted when a committed job needs them.
    pub resold: Vec<u32>,
    /// GPUs those jobs hold (never more than `held_idle`).
    pub resold_gpus: u32,
}

impl SiteState {
    /// A site as the scenario describes it, present from `now`.
    pub fn new(
        spec: &Site,
        class: &GpuClass,
        now: Hours,
        outages: [Option<OutageProcess>; 2],
    ) -> SiteState {
        SiteState {
            region: spec.region,
            provider: 0,
            group: spec.group,
            class: spec.class,
            speed: class.speed,
            memory_gb: class.memory_gb.unwrap_or(f64::INFINITY),
            max_gang_gpus: spec.max_gang_gpus.unwrap_or(u32::MAX),
            gross_ask_usd_per_gpu_hour: None,
            ask_from_costs: false,
            power_kw: class.power_kw,
            costs: spec.costs.clone(),
            accrues_opex: spec.costs.electricity_usd_per_kwh != 0.0
                || spec.costs.facility_usd_per_kw_month != 0.0
                || spec.costs.fixed_usd_per_year != 0.0,
            standing_for: None,
            standing_usd_per_hour: (0.0, 0.0),
            checkpoint_every_hours: spec.checkpoint_every_hours,
            power_mw: spec.power_mw,
            installed: spec.gpus,
            free: spec.gpus,
            down: 0,
            withdrawn: 0,
            on_order: 0,
            leaving: false,
            capital_usd: Self::initial_capital(spec).0,
            value_decline_per_year: class.value_decline_per_year(),
            value_factor: 1.0,
            aged_to: now,
            capital_usd_hours: 0.0,
            new_price_log_decline: -(1.0 - class.annual_cost_decline).ln(),
            revenue_usd_per_hour: 0.0,
            contract_usd_per_hour: 0.0,
            held: 0,
            held_idle: 0,
            reinvest_fund_usd: 0.0,
            low_reviews: 0,
            exit_below_yield: None,
            unverified: 0,
            probing: 0,
            delisted: 0,
            verification_hours: spec.verification.as_ref().map_or(0.0, |v| v.hours),
            last_time: now,
            total: SiteIntegrals::default(),
            at_review: SiteIntegrals::default(),
            at_window_start: SiteIntegrals::default(),
            capital_usd_hours_at_window_start: 0.0,
            at_year_start: SiteIntegrals::default(),
            window_jobs_revenue_usd: 0.0,
            batches: Vec::new(),
            retiring: 0,
            running: outages.iter().any(Option::is_some).then(Vec::new),
            spot: Vec::new(),
            spot_gpus: 0,
            resold: Vec::new(),
            resold_gpus: 0,
            outages,
        }
    }

    /// Whether a job of `gpus` GPUs needing `min_speed` and `memory_gb_per_gpu` may ever
    /// run here (room aside): the class is fast enough, its memory holds the job's, and
    /// the interconnect holds the gang.
    #[inline]
    pub fn holds(&self, gpus: u32, min_speed: f64, memory_gb_per_gpu: f64) -> bool {
        self.speed >= min_speed && self.memory_gb >= memory_gb_per_gpu && self.max_gang_gpus >= gpus
    }

    /// (capital on which yield is measured, capex paid) of a site as the scenario
    /// describes it, USD. A part-time operator's are its hardware's offered share.
    pub fn initial_capital(spec: &Site) -> (f64, f64) {
        let share = spec.owner_use.as_ref().map_or(1.0, |owner| owner.share);
        let gpus = f64::from(spec.gpus);
        (
            gpus * spec.costs.capital_usd_per_gpu * share,
            gpus * spec.costs.capex_usd_per_gpu * share,
        )
    }

    /// Accrued since the last review.
    pub fn period(&self) -> SiteIntegrals {
        self.total.since(&self.at_review)
    }

    /// A job paying `usd_per_hour` starts here (call after [`SiteState::advance`]).
    pub fn start_paying(&mut self, usd_per_hour: f64) {
        self.revenue_usd_per_hour += usd_per_hour;
    }

    /// A job paying `usd_per_hour` stops running here (call after [`SiteState::advance`]).
    pub fn stop_paying(&mut self, usd_per_hour: f64, gpus: u32) {
        // With no other job left, the rate is exactly zero: no rounding drift survives.
        self.revenue_usd_per_hour = if self.busy() == gpus {
            0.0
        } else {
            self.revenue_usd_per_hour - usd_per_hour
        };
    }

    /// Revenue billed at once (egress), USD.
    pub fn bill_now(&mut self, usd: f64) {
        self.total.gross_revenue_usd += usd;
    }

    /// Free GPUs a job without a commitment here may take: the held idle ones still free
    /// (not resold as spot) are kept.
    #[inline]
    pub fn general_free(&self) -> u32 {
        self.free.saturating_sub(self.held_free())
    }

    /// Held GPUs no committed job uses that are free (not running a resold spot job).
    #[inline]
    pub fn held_free(&self) -> u32 {
        self.held_idle.saturating_sub(self.resold_gpus)
    }

    /// Listed GPUs that deliver: those installed less the ones not yet found out.
    pub fn verified(&self) -> u32 {
        self.installed
            .saturating_sub(self.unverified + self.probing)
    }

    /// What `placement: least_utilized` ranks it by: its utilization so far as of its
    /// last change (a start, end, outage or delivery integrates it) or its provider's last
    /// review (which integrates every site and re-ranks them), so that the index orders
    /// sites without re-reading each at every placement.
    #[inline]
    pub fn rank(&self) -> f64 {
        self.utilization_to(self.last_time)
    }

    /// Busy ÷ up GPU-hours since the site joined, integrated to `now` (0 before any
    /// GPU was up): what `placement: least_utilized` ranks sites by.
    pub fn utilization_to(&self, now: Hours) -> f64 {
        let dt = (now - self.last_time).max(0.0);
        let areas = &self.total.areas;
        let busy = areas.busy_gpu_hours + f64::from(self.busy()) * dt;
        let up = busy + areas.idle_gpu_hours + f64::from(self.free) * dt;
        if up > 0.0 { busy / up } else { 0.0 }
    }

    /// GPUs running jobs.
    pub fn busy(&self) -> u32 {
        self.installed - self.free - self.down - self.withdrawn
    }

    /// GPUs by state now.
    pub fn states(&self) -> GpuStates {
        GpuStates {
            busy: self.busy(),
            idle: self.free,
            down: self.down,
            withdrawn: self.withdrawn,
        }
    }

    /// Accrues GPU-hours, costs and revenue from the last change up to `now`.
    #[inline]
    pub fn advance(&mut self, now: Hours) {
        let dt = now - self.last_time;
        if dt <= 0.0 {
            return;
        }
        let states = self.states();
        if self.accrues_opex {
            let rates = self.rates();
            let opex = &mut self.total.opex;
            opex.power_usd += rates.power_usd_per_hour * dt;
            opex.facility_usd += rates.facility_usd_per_hour * dt;
            opex.fixed_usd += rates.fixed_usd_per_hour * dt;
        }
        let total = &mut self.total;
        total.areas.add(states, 0.0, dt);
        // Without contracts the fee rate is 0 and the sum is the jobs' rate exactly.
        total.gross_revenue_usd += (self.revenue_usd_per_hour + self.contract_usd_per_hour) * dt;
        self.last_time = now;
    }

    /// Cost rates in the current state, USD per hour.
    #[inline]
    fn rates(&mut self) -> CostRates {
        let costs = &self.costs;
        let drawn_kw = (f64::from(self.busy()) + f64::from(self.free) * costs.idle_power_fraction)
            * self.power_kw;
        let power_usd_per_hour = drawn_kw * costs.pue * costs.electricity_usd_per_kwh;
        let (facility_usd_per_hour, fixed_usd_per_hour) = self.standing_rates();
        CostRates {
            power_usd_per_hour,
            facility_usd_per_hour,
            fixed_usd_per_hour,
        }
    }

    /// The facility and fixed cost rates, USD per hour. They change only when GPUs
    /// arrive, leave or are taken back, so they are kept with the state they were
    /// computed for, and most accruals skip the two divisions (which sat on the hot
    /// path's critical path).
    #[inline]
    fn standing_rates(&mut self) -> (f64, f64) {
        // GPUs an owner takes back are its own business, not the network's cost.
        let paid_gpus = self.installed - self.withdrawn;
        // A site that has left entirely, or has no GPUs and none coming (a data center
        // whose GPUs all retired), stops paying its fixed costs.
        let present = !(self.installed == 0 && (self.leaving || self.on_order == 0));
        if self.standing_for != Some((paid_gpus, present)) {
            let costs = &self.costs;
            let installed_kw = f64::from(paid_gpus) * self.power_kw;
            let present_share = if present { 1.0 } else { 0.0 };
            self.standing_for = Some((paid_gpus, present));
            self.standing_usd_per_hour = (
                installed_kw * costs.facility_usd_per_kw_month / HOURS_PER_MONTH,
                present_share * costs.fixed_usd_per_year / HOURS_PER_YEAR,
            );
        }
        self.standing_usd_per_hour
    }

    /// Brings the hardware's value down its resale curve to `now`. Exact at any step
    /// (the curve is geometric), so how often it is called changes no number.
    pub fn age_to(&mut self, now: Hours) {
        let hours = now - self.aged_to;
        let years = hours / HOURS_PER_YEAR;
        if years > 0.0 && self.value_decline_per_year > 0.0 {
            let kept = (-self.value_decline_per_year * years).exp();
            // The integral of C·e^(−k·t) over the interval, exactly.
            self.capital_usd_hours +=
                self.capital_usd * (1.0 - kept) / self.value_decline_per_year * HOURS_PER_YEAR;
            self.capital_usd *= kept;
            self.value_factor *= kept;
        } else if hours > 0.0 {
            self.capital_usd_hours += self.capital_usd * hours;
        }
        self.aged_to = self.aged_to.max(now);
    }

    /// Adds `gpus` GPUs delivered at `now`, bought at `capex_usd_per_gpu` each.
    pub fn add_gpus(&mut self, now: Hours, gpus: u32, capex_usd_per_gpu: f64) {
        self.age_to(now);
        self.installed += gpus;
        self.free += gpus;
        self.capital_usd += f64::from(gpus) * capex_usd_per_gpu;
    }

    /// Removes `gpus` GPUs of batch `batch` (free ones, after [`SiteState::age_to`]):
    /// the site loses that batch's current value for them, not an average. Returns the
    /// share of the batch's GPUs that left.
    pub fn retire_from_batch(&mut self, now: Hours, batch: usize, gpus: u32) -> f64 {
        self.age_to(now);
        let b = &mut self.batches[batch];
        let share = f64::from(gpus) / f64::from(b.gpus);
        let years = (now - b.added) / HOURS_PER_YEAR;
        let value =
            f64::from(gpus) * b.value_usd_per_gpu * (-self.value_decline_per_year * years).exp();
        self.capital_usd = (self.capital_usd - value).max(0.0);
        b.gpus -= gpus;
        self.installed -= gpus;
        self.keep_unverified_installed();
        share
    }

    /// GPUs removed while free may have been unverified ones: those not found out can
    /// never be more than the installed GPUs not under a probe (removals take verified
    /// ones first, an assumption that keeps the listing's flaw the longest).
    fn keep_unverified_installed(&mut self) {
        self.unverified = self
            .unverified
            .min(self.installed.saturating_sub(self.probing));
    }

    /// GPUs still installed that reach the end of their service life by `by` (those
    /// waiting to be retired included): what procurement must replace.
    pub fn gpus_retiring_by(&self, by: Hours) -> u32 {
        self.batches
            .iter()
            .filter(|b| b.end_of_life <= by)
            .map(|b| b.gpus)
            .sum()
    }

    /// Removes `gpus` GPUs from a leaving site (they were free or just repaired);
    /// returns the share of the site's hardware that left.
    pub fn retire(&mut self, gpus: u32) -> f64 {
        let share = if self.installed == 0 {
            0.0
        } else {
            f64::from(gpus) / f64::from(self.installed)
        };
        self.capital_usd -= self.capital_usd * share;
        self.installed -= gpus;
        self.keep_unverified_installed();
        share
    }

    /// Annualised operating yield since the last review: (revenue kept − opex) ÷ capital.
    pub fn period_yield(&self, period_hours: f64, take_rate: TakeRate) -> f64 {
        if self.capital_usd <= 0.0 || period_hours <= 0.0 {
            return 0.0;
        }
        self.period().operating_cash_usd(take_rate) / self.capital_usd
            * (HOURS_PER_YEAR / period_hours)
    }

    /// What a cost-based price reads of this site (as of its last aging, a review or a
    /// delivery): its costs weighted by its installed GPUs (those on order while it has
    /// none yet, so a site receiving its first GPUs is priced), capex at the class's price
    /// new then.
    pub fn cost_view(&self) -> SiteCost<'_> {
        SiteCost {
            class: self.class,
            gpus: if self.installed > 0 {
                self.installed
            } else {
                self.on_order
            },
            costs: &self.costs,
            power_kw: self.power_kw,
            value_factor: self.value_factor,
            value_decline_per_year: self.value_decline_per_year,
            capex_factor: (-self.new_price_log_decline * self.aged_to / HOURS_PER_YEAR).exp(),
        }
    }

    /// Power the site would draw with `gpus` GPUs, MW (IT load × PUE).
    pub fn power_needed_mw(&self, gpus: u32) -> f64 {
        f64::from(gpus) * self.power_kw * self.costs.pue / 1000.0
    }
}

/// GPUs that arrived at a site together and age together.
#[derive(Debug, Clone, Copy)]
pub struct Batch {
    /// GPUs of the batch still installed.
    pub gpus: u32,
    /// Of those, GPUs past their service life waiting to free up.
    pub retiring: u32,
    /// Value of one GPU when the batch arrived, USD.
    pub value_usd_per_gpu: f64,
    /// When it arrived.
    pub added: Hours,
    /// When its GPUs reach the end of their service life (`f64::INFINITY`: never).
    pub end_of_life: Hours,
}

/// Why a GPU leaves service for a while.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outage {
    /// It failed; a repair brings it back.
    Failure,
    /// Its owner took it back; the owner returns it later.
    Withdrawal,
}

impl Outage {
    /// Position in [`SiteState::outages`].
    pub fn index(self) -> usize {
        match self {
            Outage::Failure => 0,
            Outage::Withdrawal => 1,
        }
    }
}

/// A process taking a site's GPUs out of service: each GPU in service leaves at rate
/// 1 / `per_gpu_mean_hours` and comes back after a `back_hours` draw. Failures (MTBF,
/// MTTR) and owners' own use (offered and withdrawn periods) are both this.
pub struct OutageProcess {
    /// Mean time a GPU stays in service before this outage hits it, hours.
    pub per_gpu_mean_hours: f64,
    /// How long an outage lasts, hours.
    pub back_hours: Dist,
    /// Invalidates scheduled candidates when the site's size changes.
    pub generation: u32,
    /// Draws of candidate times and of which GPU is hit.
    pub candidate_rng: SimRng,
    /// Draws of outage lengths.
    pub back_rng: SimRng,
    /// Owners' withdrawals that follow demand: the rate factor by hour of week (the
    /// candidates come at the largest, each kept with probability factor ÷ largest);
    /// `None`: a constant rate.
    pub by_hour: Option<std::sync::Arc<[f64]>>,
    /// The largest factor of `by_hour` (1 without).
    pub max_factor: f64,
}

struct CostRates {
    power_usd_per_hour: f64,
    facility_usd_per_hour: f64,
    fixed_usd_per_hour: f64,
}
