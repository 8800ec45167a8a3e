//! The supply side of a scenario: GPU classes, regions, and the two systems
//! (data centers with procurement; operators with entry, exit and reinvestment), their
//! costs and their pricing policies, resolved from the raw file with defaults applied.

use serde_saphyr::{Location, Spanned};

pub use super::raw::PlacementPolicy;
use super::raw::{
    self, DistSpec, GpuSpec, RawCentralized, RawCosts, RawDistributed, RawGpuClass, RawOperators,
    RawPricing, RawProcurement, RawScenario, RawSegment,
};
use super::{Checker, defaults, dist};
use crate::dist::{Dist, GpuCountDist};
use crate::seeds::{self, SimRng, Stream};
use crate::units::{HOURS_PER_WEEK, HOURS_PER_YEAR};

/// A GPU type.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GpuClass {
    /// Name used in scenario files (`H100`, …).
    pub name: String,
    /// Work per hour relative to the reference class (H100 = 1): a job's duration is
    /// given for the reference class and divided by this.
    pub speed: f64,
    /// Power a server draws per GPU of this class at full load, kW (host included).
    pub power_kw: f64,
    /// Purchase price per GPU, USD, with its share of server and networking.
    pub capex_usd: f64,
    /// What a GPU fetches second-hand after 36 months, as a share of its price new; its
    /// value falls geometrically in between and beyond (1: hardware keeps its value).
    pub resale_after_36_months: f64,
    /// Yearly fall in the price of a new GPU of this class (`capex_usd` is its price at
    /// time 0).
    pub annual_cost_decline: f64,
    /// Procurement may order the class from this time on, hours (0: from the start).
    pub available_from_hours: f64,
    /// On-board memory per GPU, GB; `None` = no limit (a class without a figure holds
    /// any job). Left out of the hash unless some segment needs memory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_gb: Option<f64>,
}

impl GpuClass {
    /// The yearly rate k at which a GPU's market value falls, V(a) = V(0)·e^(−k·a): the
    /// curve through `resale_after_36_months` at 3 years. Geometric, so a GPU's value
    /// falls by the same share each year whatever its age (memoryless): the value of a
    /// batch is its value when it arrived × e^(−k × the time since).
    pub fn value_decline_per_year(&self) -> f64 {
        -self.resale_after_36_months.ln() / 3.0
    }

    /// Market value of a GPU of this class aged `age_years`, as a share of its price new.
    pub fn resale_share(&self, age_years: f64) -> f64 {
        (-self.value_decline_per_year() * age_years).exp()
    }

    /// The price of a new GPU of this class at `now`, as a share of its price at time 0:
    /// (1 − `annual_cost_decline`)^(years).
    pub fn price_factor(&self, now: f64) -> f64 {
        if self.annual_cost_decline == 0.0 {
            1.0
        } else {
            (1.0 - self.annual_cost_decline).powf(now / HOURS_PER_YEAR)
        }
    }
}

/// The built-in catalog. H100 is the reference (speed 1) and its numbers are the
/// MISSION.md calibration (~$30k per GPU, an 8×H100 server being $300–350k with
/// networking). Power is what a server draws per GPU at full load, not the chip's board
/// power, since the host's CPUs, memory, fans and network draw too, and the facility and
/// the power envelope are sized for it: an 8×H100 server draws 10.2 kW (MISSION.md; NVIDIA
/// DGX H100 datasheet, maximum system power), 1.275 kW per GPU against the chip's 0.70;
/// DGX H200 the same 10.2 kW; DGX B200 14.3 kW (1.79 per GPU); DGX A100 6.5 kW (0.81).
/// L40S servers: the chip's 0.35 kW × the DGX H100's ratio of 1.82 (assumption, 0.64);
/// an RTX 4090 rig: the card's 0.45 kW plus a third for its host (assumption, 0.60). The
/// other speeds are rough training-throughput ratios and their prices approximate
/// 2024–2025 street prices: assumptions to override with `gpu_classes:`.
///
/// Memory per GPU is the vendor's figure: H100 SXM 80 GB HBM3 (NVIDIA H100 datasheet),
/// H200 141 GB HBM3e (NVIDIA H200 product page), B200 192 GB HBM3e (NVIDIA Blackwell
/// datasheet; a DGX B200 lists 1,440 GB for its 8, 180 usable each), A100 80 GB (the SXM4
/// 80 GB; the 40 GB part is a `gpu_classes:` entry with `memory_gb: 40`), L40S 48 GB
/// GDDR6 (NVIDIA L40S datasheet), GeForce RTX 4090 24 GB GDDR6X (NVIDIA specifications).
pub fn builtin_classes() -> Vec<GpuClass> {
    let class = |name: &str, speed, power_kw, capex_usd, memory_gb| GpuClass {
        name: name.to_string(),
        speed,
        power_kw,
        capex_usd,
        resale_after_36_months: defaults::RESALE_AFTER_36_MONTHS,
        annual_cost_decline: 0.0,
        available_from_hours: 0.0,
        memory_gb: Some(memory_gb),
    };
    vec![
        class("H100", 1.0, 1.275, 30_000.0, 80.0),
        class("H200", 1.3, 1.275, 35_000.0, 141.0),
        class("B200", 2.2, 1.79, 45_000.0, 192.0),
        class("A100", 0.45, 0.81, 12_000.0, 80.0),
        class("L40S", 0.5, 0.64, 9_000.0, 48.0),
        class("RTX4090", 0.3, 0.60, 2_000.0, 24.0),
    ]
}

/// One system: its sites (data centers or operators) and the rules that change them.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct System {
    /// Sites present at time 0. A multi-GPU job runs on a single site (gang).
    pub sites: Vec<Site>,
    /// Prices and the policy that moves them; `None`: money is not modelled (no
    /// `pricing:` section), every price is 0 and spend per GPU-hour is NaN.
    pub pricing: Option<Pricing>,
    /// Run-time multiplier for a job placed outside its own region.
    pub latency_slowdown: f64,
    /// Share of customer spend kept by the protocol (distributed only; 0 otherwise).
    pub take_rate: TakeRate,
    /// Hours between reviews (prices, procurement, entry and exit, reinvestment).
    pub review_every_hours: f64,
    /// Which of its sites with room a job goes to, among those its choice of provider,
    /// class and region left (first fit by default).
    #[serde(skip_serializing_if = "PlacementPolicy::is_first_fit")]
    pub placement: PlacementPolicy,
    /// Centralized capacity planning.
    pub procurement: Option<Procurement>,
    /// Distributed: operators joining while yields beat a hurdle.
    pub entry: Option<Entry>,
    /// Distributed: operators leaving when their yield stays low.
    pub exit: Option<Exit>,
    /// Distributed: operators buying GPUs with a share of their cash.
    pub reinvest: Option<Reinvest>,
    /// Distributed: the labels of its operator groups (each `operators:` entry, the
    /// entry template, each pool type), indexed by `Site::group`. Labels only: they
    /// enter no hash.
    #[serde(skip)]
    pub groups: Vec<String>,
}

impl System {
    /// A fixed pool of `gpus` reference-class GPUs in the first region, every mechanism
    /// off: the queueing model of the validation cases.
    pub fn pool(gpus: u32) -> System {
        System {
            sites: vec![Site::plain("pool", 0, 0, gpus, Costs::free())],
            pricing: None,
            latency_slowdown: 1.0,
            take_rate: TakeRate(0.0),
            review_every_hours: defaults::REVIEW_EVERY_HOURS,
            placement: PlacementPolicy::FirstFit,
            procurement: None,
            entry: None,
            exit: None,
            reinvest: None,
            groups: Vec::new(),
        }
    }

    /// GPUs installed at time 0.
    pub fn initial_gpus(&self) -> u64 {
        self.sites.iter().map(|site| u64::from(site.gpus)).sum()
    }

    /// Whether anything changes the system over time besides jobs.
    pub fn needs_reviews(&self) -> bool {
        self.procurement.is_some()
            || self.entry.is_some()
            || self.exit.is_some()
            || self.reinvest.is_some()
            || self
                .pricing
                .as_ref()
                .is_some_and(|p| !matches!(p.policy, PricePolicy::Fixed))
    }
}

/// A data center or an operator.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Site {
    /// Label (data center region/class, or operator group and number).
    pub name: String,
    /// Region index.
    pub region: usize,
    /// GPU class index.
    pub class: usize,
    /// GPUs offered at the start.
    pub gpus: u32,
    /// Power available to GPUs (IT load × PUE), MW; `None` = not a constraint.
    pub power_mw: Option<f64>,
    /// Cost structure.
    pub costs: Costs,
    /// Failures; `None` = GPUs never fail.
    pub reliability: Option<Reliability>,
    /// The owner's own use as periods; `None` = every listed GPU is always offered.
    pub owner_use: Option<OwnerUse>,
    /// An interrupted job (failure or owner taking a GPU back) resumes from its last
    /// checkpoint, taken every this many hours of run time; `None` = it restarts.
    pub checkpoint_every_hours: Option<f64>,
    /// Its operator group (index into `System::groups`; 0 for data centers). Derived
    /// from the order of the file's groups, so it enters no hash.
    #[serde(skip)]
    pub group: u32,
    /// Listed GPUs that do not all deliver; `None` = every listed GPU delivers. Left out
    /// of the hash when `None`, so scenarios without it keep theirs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
    /// The largest job its interconnect holds, GPUs; `None` = any job that fits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_gang_gpus: Option<u32>,
    /// What its operator asks per GPU-hour before the take rate (`placement: cheapest`);
    /// `None` = the provider's price (or, under `cost_plus`, its own costs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ask_usd_per_gpu_hour: Option<f64>,
}

/// Listed versus verified: of an operator's listed GPUs, a share `share` (drawn per
/// operator) really delivers. A job that lands on one of the others fails after `hours`,
/// unbilled, goes back to the head of the queue, and the GPUs it found are delisted.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Verification {
    /// Share of an operator's listed GPUs that deliver, drawn per operator (in [0, 1]).
    pub share: Dist,
    /// Run time before a job on an unverified GPU fails, hours.
    pub hours: f64,
}

/// A part-time operator: each GPU is offered for an exponential time with mean
/// `share × cycle`, then taken back for one with mean `(1 − share) × cycle`, so a
/// share `share` of GPU-time is offered. Taking back a busy GPU interrupts its job as a
/// failure would.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OwnerUse {
    /// Long-run share of GPU-time offered.
    pub share: f64,
    /// Mean offered period, hours.
    pub offered_mean_hours: f64,
    /// Mean period of the owner's own use, hours.
    pub withdrawn_mean_hours: f64,
    /// Owners take GPUs back at the market's peaks (`availability_follows_demand`), at
    /// rates that keep `share`, rather than at times independent of demand.
    pub follows_demand: bool,
}

impl Site {
    /// A site with no power limit, failures, part-time use or checkpoints.
    pub fn plain(name: &str, region: usize, class: usize, gpus: u32, costs: Costs) -> Site {
        Site {
            name: name.to_string(),
            region,
            class,
            gpus,
            power_mw: None,
            costs,
            reliability: None,
            owner_use: None,
            checkpoint_every_hours: None,
            verification: None,
            group: 0,
            max_gang_gpus: None,
            ask_usd_per_gpu_hour: None,
        }
    }
}

/// What a site's GPUs cost to own and run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Costs {
    /// Paid per GPU when it is delivered; 0 for GPUs already owned (sunk).
    pub capex_usd_per_gpu: f64,
    /// Value per GPU on which yield is measured when it is first offered: the capex, or
    /// for sunk GPUs their resale value (class capex × the resale curve at `age_years`,
    /// or × `residual_fraction` when no age is given). It falls along the class's resale
    /// curve from then on.
    pub capital_usd_per_gpu: f64,
    /// Age of the GPUs when first offered, years (for sunk GPUs without a written age:
    /// the age at which the resale curve reaches `residual_fraction`).
    pub age_years: f64,
    /// Straight-line depreciation life, years.
    pub depreciation_years: f64,
    /// Value left at the end of the life, as a share of capex.
    pub residual_fraction: f64,
    /// Electricity price, USD per kWh.
    pub electricity_usd_per_kwh: f64,
    /// Power usage effectiveness (facility power ÷ IT power).
    pub pue: f64,
    /// Power drawn by an idle GPU as a share of full load.
    pub idle_power_fraction: f64,
    /// Facility (space, cooling, colocation) cost per kW of GPU power per month.
    pub facility_usd_per_kw_month: f64,
    /// Staff and other fixed costs per site per year.
    pub fixed_usd_per_year: f64,
}

impl Costs {
    /// Nothing costs anything: money not modelled.
    pub fn free() -> Costs {
        Costs {
            capex_usd_per_gpu: 0.0,
            capital_usd_per_gpu: 0.0,
            age_years: 0.0,
            depreciation_years: 1.0,
            residual_fraction: 0.0,
            electricity_usd_per_kwh: 0.0,
            pue: 1.0,
            idle_power_fraction: 0.0,
            facility_usd_per_kw_month: 0.0,
            fixed_usd_per_year: 0.0,
        }
    }
}

/// GPU failures: each GPU fails at rate 1/MTBF while up and is repaired after MTTR.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Reliability {
    /// Mean time between failures of one GPU, hours.
    pub mtbf_hours: f64,
    /// Repair time, hours.
    pub mttr_hours: Dist,
}

/// Prices of one system.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Pricing {
    /// How prices move.
    pub policy: PricePolicy,
    /// Price of one reference-class GPU-hour at time 0, USD.
    pub reference_usd_per_gpu_hour: f64,
    /// Price per GPU-hour of each class at time 0 (explicit, or the reference price × speed).
    pub class_usd_per_gpu_hour: Vec<f64>,
    /// Discount for the reserved tier, a share of the price.
    pub reserved_discount: f64,
    /// Discount for spot (preemptible) jobs, a share of the price.
    pub spot_discount: f64,
    /// Whether spot jobs may run on GPUs held for contracts while no committed job uses
    /// them (preempted when one does).
    pub spot_on_idle_commitments: bool,
    /// Data transfer out, USD per GB.
    pub egress_usd_per_gb: f64,
}

/// The protocol's share of what customers pay a distributed provider. Every split of a
/// payment — billing, the revenue sites accrue, operators' cash and yields, the yearly
/// statements — goes through [`TakeRate::split`], so the fee is one rule.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct TakeRate(pub f64);

/// A payment split between the provider (the operators) and the protocol.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FeeSplit {
    /// What the provider keeps, USD.
    pub provider_usd: f64,
    /// The protocol's fee, USD.
    pub protocol_usd: f64,
}

impl TakeRate {
    /// Splits `amount_usd`: the provider keeps `amount × (1 − take rate)`, the protocol
    /// `amount × take rate` (each computed from the amount, so both are exact products).
    #[inline]
    pub fn split(self, amount_usd: f64) -> FeeSplit {
        FeeSplit {
            provider_usd: amount_usd * (1.0 - self.0),
            protocol_usd: amount_usd * self.0,
        }
    }
}

/// A pricing policy; every class's price moves by the same factor.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum PricePolicy {
    /// Prices never change.
    Fixed,
    /// Prices fall by `annual_decline` a year, compounded at each review.
    Scheduled {
        /// Yearly decline, a share of the price.
        annual_decline: f64,
    },
    /// The reference price follows a path of steps, read at each review: from each
    /// point's time on, its price (before the first point, `usd_per_gpu_hour`).
    Path {
        /// (from hour, reference price in USD per GPU-hour), in increasing time.
        points: Vec<(f64, f64)>,
    },
    /// At each review the price moves by `sensitivity × (utilization − target)`, bounded
    /// by ±`max_step`, then clamped to [floor, ceiling] (reference-class prices).
    UtilizationTarget {
        /// Utilization aimed at.
        target: f64,
        /// Relative price change per unit of utilization gap.
        sensitivity: f64,
        /// Largest relative change per review.
        max_step: f64,
        /// Lowest reference-class price, USD per GPU-hour.
        floor_usd: f64,
        /// Highest reference-class price, USD per GPU-hour.
        ceiling_usd: f64,
    },
    /// At each review the price moves toward the one at which the period's demand
    /// (priced-out arrivals included) would fill `target` of the capacity
    /// (`model::decisions::clearing_factor`), by at most ±`max_step`, within [floor,
    /// ceiling]; one factor moves every class.
    MarketClearing {
        /// Share of up GPU-hours the price aims to sell.
        target: f64,
        /// Largest relative change per review.
        max_step: f64,
        /// Lowest reference-class price, USD per GPU-hour.
        floor_usd: f64,
        /// Highest reference-class price, USD per GPU-hour.
        ceiling_usd: f64,
    },
    /// Each class's price is its cost per GPU-hour sold at `planned_utilization`, times
    /// (1 + `margin`), grossed up by the take rate (`model::decisions::cost_plus_prices`);
    /// set at time 0 and at every review from the sites' current costs.
    CostPlus(CostPlusTerms),
}

/// The terms of a cost-based price.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct CostPlusTerms {
    /// Mark-up on cost, a share of it.
    pub margin: f64,
    /// Share of installed GPU-hours the price expects to sell.
    pub planned_utilization: f64,
    /// Yearly rate at which capital is recovered (and at which owned hardware's value
    /// could earn elsewhere).
    pub cost_of_capital: f64,
}

/// Centralized capacity planning by periodic review.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Procurement {
    /// Order when projected utilization exceeds this.
    pub target_utilization: f64,
    /// Time from order to delivery, hours.
    pub lead_time_hours: Dist,
    /// Orders are whole multiples of this many GPUs (a server).
    pub order_multiple: u32,
    /// Growth the planner assumes when projecting demand over the lead time.
    pub forecast_annual_growth: f64,
    /// Time to add data-center power when an order exceeds it, hours; `None` = power
    /// limits are hard: orders beyond them are cut.
    pub power_lead_time_hours: Option<Dist>,
    /// GPUs are retired this many years after they were new (their age when first
    /// offered counts); `None`: at the end of each site's depreciation life.
    pub service_life_years: Option<f64>,
    /// Classes it may buy (indices), the newest available one taken; empty: the class of
    /// the region's first data center.
    pub gpu_classes: Vec<usize>,
}

/// Operators joining the network.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Entry {
    /// Operators join while the network's trailing yield exceeds this.
    pub hurdle_yield: f64,
    /// Time from the decision to join to offering GPUs, hours.
    pub onboarding_hours: Dist,
    /// Operators that decide to join at one review.
    pub per_review: u32,
    /// Cap on operators in the network (present and onboarding).
    pub max_operators: u32,
    /// What a new operator looks like, under the template rule (unlimited identical
    /// operators joining on the network's average yield, at most `per_review` a review);
    /// `None` under a pool.
    pub template: Option<Site>,
    /// The potential operators, by type, each joining on its own expected yield (empty:
    /// the template rule).
    pub pool: Vec<PoolType>,
}

impl Entry {
    /// The operators that may join: the template, or one of each pool type (at its
    /// largest size).
    pub fn sites(&self) -> impl Iterator<Item = &Site> {
        self.template
            .iter()
            .chain(self.pool.iter().map(|pool_type| &pool_type.operator))
    }
}

/// One type of potential operator in an entry pool: `count` of them, each with its own
/// size and reservation yield drawn per replication (`Stream::PoolOperators`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PoolType {
    /// Its label in `groups.parquet`.
    pub name: String,
    /// Potential operators of this type.
    pub count: u32,
    /// What one looks like (its `gpus` the largest size; its `group` the pool type's).
    pub operator: Site,
    /// GPUs each owns, before availability.
    pub sizes: GpuCountDist,
    /// Share of owned GPUs listed (availability without periods; 1 with them).
    pub listed_share: f64,
    /// The yearly return on its capital it needs to join.
    pub reservation_yield: Dist,
    /// Its GPUs are bought when it decides to join: they arrive after this lead time
    /// (the market's), and their capex is paid then. `None`: it owns them already.
    pub lead_time_hours: Option<Dist>,
}

/// Operators leaving the network.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Exit {
    /// An operator whose trailing yield is below this …
    pub below_yield: f64,
    /// … for this many consecutive reviews leaves (after its running jobs end).
    pub after_reviews: u32,
}

/// Operators buying more GPUs.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Reinvest {
    /// Share of each review's positive operating cash set aside for GPUs.
    pub share: f64,
    /// Time from order to delivery, hours (the same market as anyone's).
    pub lead_time_hours: Dist,
}

/// Which kind of system a raw block describes (for defaults) and where it is written
/// (for messages: `centralized`, or `providers[k]`).
#[derive(Clone, Copy)]
struct Side<'a> {
    centralized: bool,
    base: &'a str,
}

impl<'a> Side<'a> {
    fn key(self) -> &'a str {
        self.base
    }
}

impl Checker<'_> {
    /// The class catalog: built-ins, then the scenario's own (replacing same names).
    pub(super) fn classes(&mut self, raw: &RawScenario) -> Vec<GpuClass> {
        let mut classes = builtin_classes();
        for entry in raw.gpu_classes.iter().flatten() {
            let RawGpuClass {
                name,
                speed,
                power_kw,
                capex_usd,
                resale_after_36_months,
                annual_cost_decline,
                available_from_week,
                memory_gb,
            } = &entry.value;
            let class = GpuClass {
                name: name.clone(),
                speed: speed.0,
                power_kw: power_kw.0,
                capex_usd: capex_usd.0,
                resale_after_36_months: resale_after_36_months
                    .map_or(defaults::RESALE_AFTER_36_MONTHS, |r| r.0),
                annual_cost_decline: annual_cost_decline.map_or(0.0, |d| d.0),
                available_from_hours: available_from_week.map_or(0.0, |w| w.0 * HOURS_PER_WEEK),
                memory_gb: memory_gb.map(|m| m.0),
            };
            match classes.iter_mut().find(|c| c.name == *name) {
                Some(existing) => *existing = class,
                None => classes.push(class),
            }
        }
        classes
    }

    /// Region names: as listed, or one region called `default`.
    pub(super) fn regions(&mut self, raw: &RawScenario) -> Vec<String> {
        let Some(regions) = &raw.regions else {
            return vec!["default".to_string()];
        };
        if regions.value.is_empty() {
            self.report(
                &regions.referenced,
                "regions",
                &hinted(
                    "the region list is empty",
                    "list at least one region name, or omit `regions`",
                ),
            );
            return vec!["default".to_string()];
        }
        for (idx, name) in regions.value.iter().enumerate() {
            if regions.value[..idx].contains(name) {
                self.report(
                    &regions.referenced,
                    "regions",
                    &hinted(
                        &format!("region `{name}` is listed twice"),
                        "region names must be unique",
                    ),
                );
            }
        }
        regions.value.clone()
    }

    /// Looks `name` up in `names`, reporting an unknown name with the valid ones.
    pub(super) fn lookup(
        &mut self,
        names: &[String],
        name: &Spanned<String>,
        key_path: &str,
        what: &str,
    ) -> usize {
        if let Some(idx) = names.iter().position(|n| *n == name.value) {
            return idx;
        }
        let valid: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
        let closest = names
            .iter()
            .min_by_key(|n| super::diagnostic::edit_distance(n, &name.value))
            .cloned()
            .unwrap_or_default();
        let plural = if what.ends_with('s') { "es" } else { "s" };
        let message = hinted(
            &format!("unknown {what} `{}`", name.value),
            &format!(
                "did you mean `{closest}`? valid {what}{plural}: {}",
                valid.join(", ")
            ),
        );
        self.report(&name.referenced, key_path, &message);
        0
    }

    pub(super) fn centralized(
        &mut self,
        block: &RawCentralized,
        at: &Location,
        ctx: &Context,
        base: &str,
    ) -> System {
        let side = Side {
            centralized: true,
            base,
        };
        let costs = self.costs(block.costs.as_ref(), side, &ctx.classes[0]);
        self.age_of_owned_only(block.costs.as_ref(), side, &format!("{base}.costs"));
        let mut sites = Vec::new();
        match (&block.gpus, &block.data_centers) {
            (Some(gpus), None) => {
                self.site_size(gpus, &format!("{base}.gpus"));
                sites.push(Site::plain("dc-0", 0, 0, gpus.value.0, costs.clone()));
            }
            (None, Some(centers)) if !centers.is_empty() => {
                for (idx, center) in centers.iter().enumerate() {
                    let key = format!("{base}.data_centers[{idx}]");
                    let region = self.lookup(
                        &ctx.regions,
                        &center.region,
                        &format!("{key}.region"),
                        "region",
                    );
                    let class = center.gpu_class.as_ref().map_or(0, |c| {
                        self.lookup(
                            &ctx.class_names(),
                            c,
                            &format!("{key}.gpu_class"),
                            "GPU class",
                        )
                    });
                    self.site_size(&center.gpus, &format!("{key}.gpus"));
                    let costs = self.costs(block.costs.as_ref(), side, &ctx.classes[class]);
                    let name = format!("{}-{}", ctx.regions[region], ctx.classes[class].name);
                    sites.push(Site {
                        name,
                        region,
                        class,
                        gpus: center.gpus.value.0,
                        power_mw: center.power_mw.map(|p| p.0),
                        costs,
                        reliability: None,
                        owner_use: None,
                        checkpoint_every_hours: None,
                        verification: None,
                        group: 0,
                        max_gang_gpus: center.max_gang_gpus.as_ref().map(|m| m.value.0),
                        ask_usd_per_gpu_hour: None,
                    });
                }
            }
            _ => self.report(
                at,
                side.key(),
                &hinted(
                    "give exactly one of `gpus` or a non-empty `data_centers` list",
                    "`gpus: 512` is one data center of the reference class in the first region",
                ),
            ),
        }
        self.system_size(&sites, at, side);
        System {
            sites,
            pricing: self.pricing(block.pricing.as_ref(), side, ctx),
            latency_slowdown: block
                .latency_slowdown
                .map_or(defaults::LATENCY_SLOWDOWN, |s| s.0),
            take_rate: TakeRate(0.0),
            review_every_hours: block
                .review_every_hours
                .map_or(defaults::REVIEW_EVERY_HOURS, |h| h.0),
            placement: placement_or_default(block.placement, base),
            procurement: block.procurement.as_ref().map(|p| {
                let plan = self.procurement(p, ctx, base);
                self.age_within_life(block.costs.as_ref(), &plan, base);
                plan
            }),
            entry: None,
            exit: None,
            reinvest: None,
            groups: Vec::new(),
        }
    }

    /// `costs.age_years` is the age of GPUs already owned: refused where the GPUs are
    /// bought (capex > 0, a data center's default), since GPUs bought at the start are new.
    fn age_of_owned_only(&mut self, raw: Option<&RawCosts>, side: Side, key: &str) {
        let Some(raw) = raw else { return };
        let Some(age) = &raw.age_years else { return };
        let bought = match raw.capex_usd_per_gpu {
            Some(capex) => capex.0 > 0.0,
            None => side.centralized,
        };
        if bought {
            let message = hinted(
                "age_years is the age of GPUs already owned, but these are bought (capex_usd_per_gpu > 0): GPUs bought at the start are new",
                "for a fleet already owned, set capex_usd_per_gpu: 0 (valued on the resale curve at that age); else remove age_years",
            );
            self.report(&age.referenced, &format!("{key}.age_years"), &message);
        }
    }

    /// A data center's first GPUs must not be past their service life at the start.
    fn age_within_life(&mut self, raw: Option<&RawCosts>, plan: &Procurement, base: &str) {
        let Some(age) = raw.and_then(|c| c.age_years.as_ref()) else {
            return;
        };
        let life = plan.service_life_years.unwrap_or_else(|| {
            raw.and_then(|c| c.depreciation_years)
                .map_or(defaults::DEPRECIATION_YEARS, |y| y.0)
        });
        if age.value.0 >= life {
            let message = hinted(
                &format!(
                    "GPUs {} years old are at or past their {life}-year service life at the start",
                    age.value.0
                ),
                "lower age_years below procurement.service_life_years (default: depreciation_years)",
            );
            self.report(
                &age.referenced,
                &format!("{base}.costs.age_years"),
                &message,
            );
        }
    }

    fn procurement(&mut self, raw: &RawProcurement, ctx: &Context, base: &str) -> Procurement {
        let names = ctx.class_names();
        let gpu_classes = raw
            .gpu_classes
            .iter()
            .flatten()
            .enumerate()
            .map(|(idx, name)| {
                let key = format!("{base}.procurement.gpu_classes[{idx}]");
                self.lookup(&names, name, &key, "GPU class")
            })
            .collect();
        Procurement {
            target_utilization: raw.target_utilization.0,
            lead_time_hours: dist(&raw.lead_time_weeks).scaled(HOURS_PER_WEEK),
            order_multiple: raw.order_multiple.map_or(defaults::ORDER_MULTIPLE, |c| c.0),
            forecast_annual_growth: raw
                .forecast_annual_growth
                .map_or(defaults::FORECAST_ANNUAL_GROWTH, |g| g.0),
            power_lead_time_hours: raw
                .power_lead_time_weeks
                .as_ref()
                .map(|d| dist(d).scaled(HOURS_PER_WEEK)),
            service_life_years: raw.service_life_years.map(|y| y.0),
            gpu_classes,
        }
    }

    /// A network's sites and terms; `provider` is its name when it is a named provider
    /// (its operator sizes are then drawn from streams of its own).
    pub(super) fn distributed(
        &mut self,
        block: &RawDistributed,
        at: &Location,
        ctx: &Context,
        base: &str,
        provider: Option<&str>,
    ) -> System {
        let side = Side {
            centralized: false,
            base,
        };
        let mut sites = Vec::new();
        let mut labels = Vec::new();
        match (&block.gpus, &block.operators) {
            (Some(gpus), None) => {
                self.site_size(gpus, &format!("{base}.gpus"));
                let costs = self.costs(None, side, &ctx.classes[0]);
                sites.push(Site::plain("operator-0", 0, 0, gpus.value.0, costs));
                labels.push("operators".to_string());
            }
            (None, Some(groups)) if !groups.is_empty() => {
                let groups: &[RawOperators] = if self.too_many_operators(groups, at, base) {
                    &[]
                } else {
                    groups
                };
                for (group_idx, group) in groups.iter().enumerate() {
                    let key = format!("{base}.operators[{group_idx}]");
                    self.pool_keys_refused(group, &key);
                    labels.push(label(group, &format!("operators[{group_idx}]")));
                    let mut template = self.operator(group, &key, ctx);
                    template.group = group_idx as u32;
                    let sizes = match &group.gpus.value {
                        GpuSpec::Constant(gpus) => GpuCountDist::constant(*gpus),
                        GpuSpec::Weights(pairs) => GpuCountDist::from_weights(pairs.clone()),
                    };
                    let mut population = population_rng(provider, group_idx);
                    let availability = group
                        .availability
                        .as_ref()
                        .map_or(defaults::AVAILABILITY, |a| a.value.0);
                    let share = if template.owner_use.is_some() {
                        1.0
                    } else {
                        availability
                    };
                    for number in 0..group.count.map_or(defaults::OPERATOR_COUNT, |c| c.0) {
                        let mut site = template.clone();
                        site.name = format!("group{group_idx}-{number}");
                        site.gpus = offered(sizes.sample(&mut population), share).max(1);
                        sites.push(site);
                    }
                }
            }
            _ => self.report(
                at,
                side.key(),
                &hinted(
                    "give exactly one of `gpus` or a non-empty `operators` list",
                    "`gpus: 448` is one operator of the reference class in the first region",
                ),
            ),
        }
        let entry = block
            .entry
            .as_ref()
            .map(|entry| self.entry(entry, at, ctx, base, &mut labels));
        self.system_size(&sites, at, side);
        let pricing = self.pricing(block.pricing.as_ref(), side, ctx);
        let take_rate = block
            .take_rate
            .as_ref()
            .map_or(defaults::TAKE_RATE, |t| t.value.0);
        let placement = placement_or_default(block.placement, base);
        let cost_plus = pricing
            .as_ref()
            .is_some_and(|p| matches!(p.policy, PricePolicy::CostPlus(_)));
        let grossed_up = cost_plus || (placement == PlacementPolicy::Cheapest && pricing.is_some());
        if let (true, true, Some(at)) = (
            grossed_up,
            take_rate >= 1.0,
            block.take_rate.as_ref().map(|t| &t.referenced),
        ) {
            let message = hinted(
                "a take rate of 1 leaves operators nothing: a cost-plus price or an operator's ask grossed up by it would be infinite",
                "lower take_rate below 1 (e.g. 0.2), or price by another policy",
            );
            self.report(at, &format!("{}.take_rate", side.key()), &message);
        }
        self.asks_need_cheapest(block, placement, base);
        System {
            sites,
            pricing,
            latency_slowdown: block
                .latency_slowdown
                .map_or(defaults::LATENCY_SLOWDOWN, |s| s.0),
            take_rate: TakeRate(take_rate),
            review_every_hours: block
                .review_every_hours
                .map_or(defaults::REVIEW_EVERY_HOURS, |h| h.0),
            placement,
            procurement: None,
            entry,
            exit: block.exit.as_ref().map(|exit| Exit {
                below_yield: exit.below_yield.0,
                after_reviews: exit
                    .after_reviews
                    .map_or(defaults::EXIT_AFTER_REVIEWS, |c| c.0),
            }),
            reinvest: block.reinvest.as_ref().map(|r| Reinvest {
                share: r.share.0,
                lead_time_hours: dist(&r.lead_time_weeks).scaled(HOURS_PER_WEEK),
            }),
            groups: labels,
        }
    }

    /// An operator's `ask_usd_per_gpu_hour` is read only by `placement: cheapest` with a
    /// `pricing:` section: written otherwise it would change nothing (or price a provider
    /// whose money is not modelled), so it is refused.
    fn asks_need_cheapest(
        &mut self,
        block: &RawDistributed,
        placement: PlacementPolicy,
        base: &str,
    ) {
        let cheapest = placement == PlacementPolicy::Cheapest;
        if cheapest && block.pricing.is_some() {
            return;
        }
        let entry = block.entry.as_ref();
        let groups = block
            .operators
            .iter()
            .flatten()
            .enumerate()
            .map(|(idx, g)| (format!("{base}.operators[{idx}]"), g))
            .chain(
                entry
                    .and_then(|e| e.template.as_ref())
                    .map(|g| (format!("{base}.entry.template"), g)),
            )
            .chain(
                entry
                    .and_then(|e| e.pool.as_ref())
                    .into_iter()
                    .flatten()
                    .enumerate()
                    .map(|(idx, g)| (format!("{base}.entry.pool[{idx}]"), g)),
            );
        let asks: Vec<(String, Location)> = groups
            .filter_map(|(key, g)| g.ask_usd_per_gpu_hour.as_ref().map(|a| (key, a.referenced)))
            .collect();
        for (key, at) in asks {
            let message = if cheapest {
                hinted(
                    "an operator's ask is a price, but this provider has no pricing: money is not modelled",
                    "add pricing: (e.g. pricing: {usd_per_gpu_hour: 2.0}, the list for operators without an ask), or remove ask_usd_per_gpu_hour",
                )
            } else {
                hinted(
                    "an operator's ask is used only when jobs go to the lowest ask: under this placement it changes nothing",
                    "add placement: cheapest to the provider, or remove ask_usd_per_gpu_hour",
                )
            };
            self.report(&at, &format!("{key}.ask_usd_per_gpu_hour"), &message);
        }
    }

    /// `entry:`: exactly one of a `template` (with its `hurdle_yield`) or a `pool`. Adds
    /// the labels of its groups after the operators' (`labels`).
    fn entry(
        &mut self,
        entry: &raw::RawEntry,
        at: &Location,
        ctx: &Context,
        base: &str,
        labels: &mut Vec<String>,
    ) -> Entry {
        let onboarding_hours = dist(&entry.onboarding_weeks).scaled(HOURS_PER_WEEK);
        let key = format!("{base}.entry");
        match (&entry.template, &entry.pool) {
            (Some(template), None) => {
                let key = &format!("{key}.template");
                self.pool_keys_refused(template, key);
                if let GpuSpec::Weights(_) = template.gpus.value {
                    let message = hinted(
                        "a template's gpus must be a whole number",
                        "every operator that joins has the same size; a pool's types may vary in size",
                    );
                    self.report(&template.gpus.referenced, &format!("{key}.gpus"), &message);
                }
                let hurdle_yield = entry.hurdle_yield.map_or_else(
                    || {
                        let message = hinted(
                            "entry.template needs `hurdle_yield`: operators join while the network's trailing yield beats it",
                            "e.g. hurdle_yield: 0.15, or describe potential operators as a `pool` with their own reservation_yield",
                        );
                        self.report(&template.gpus.referenced, &format!("{key}.hurdle_yield"), &message);
                        0.0
                    },
                    |h| h.0,
                );
                let mut site = self.operator(template, key, ctx);
                site.group = labels.len() as u32;
                labels.push(label(template, "entry"));
                Entry {
                    hurdle_yield,
                    onboarding_hours,
                    per_review: entry
                        .operators_per_review
                        .map_or(defaults::OPERATORS_PER_REVIEW, |c| c.0),
                    max_operators: entry.max_operators.map_or(defaults::MAX_OPERATORS, |c| c.0),
                    template: Some(site),
                    pool: Vec::new(),
                }
            }
            (None, Some(types)) if !types.is_empty() => {
                let template_only = [
                    ("hurdle_yield", entry.hurdle_yield.is_some()),
                    ("operators_per_review", entry.operators_per_review.is_some()),
                    ("max_operators", entry.max_operators.is_some()),
                ];
                for (name, given) in template_only {
                    if given {
                        let message = hinted(
                            &format!("`{name}` belongs to entry.template, not to a pool"),
                            "a pool's operators join on their own reservation_yield, with no cap per review; remove the key",
                        );
                        self.report(at, &format!("{key}.{name}"), &message);
                    }
                }
                let potential: u64 = types
                    .iter()
                    .map(|t| u64::from(t.count.map_or(0, |c| c.0)))
                    .sum();
                self.over_operator_bound(
                    potential,
                    "potential operators",
                    at,
                    &format!("{key}.pool"),
                );
                let pool = types
                    .iter()
                    .enumerate()
                    .map(|(idx, raw)| {
                        let key = format!("{key}.pool[{idx}]");
                        let mut pool_type = self.pool_type(raw, &key, ctx, idx);
                        pool_type.operator.group = labels.len() as u32;
                        labels.push(pool_type.name.clone());
                        pool_type
                    })
                    .collect();
                Entry {
                    hurdle_yield: 0.0,
                    onboarding_hours,
                    per_review: 0,
                    max_operators: 0,
                    template: None,
                    pool,
                }
            }
            _ => {
                let message = hinted(
                    "give exactly one of `template` (identical operators joining on the network's yield) or a non-empty `pool` (potential operators, each joining on its own)",
                    "pool: [{count: 200, gpus: 8, gpu_class: H100, reservation_yield: {uniform: {min: 0.05, max: 0.3}}}]",
                );
                self.report(at, &key, &message);
                Entry {
                    hurdle_yield: 0.0,
                    onboarding_hours,
                    per_review: 0,
                    max_operators: 0,
                    template: None,
                    pool: Vec::new(),
                }
            }
        }
    }

    /// One type of potential operator: the operator keys, plus a `count`, a
    /// `reservation_yield`, and whether it owns its GPUs (`owned`, default true) or buys
    /// them on the market's `lead_time_weeks`.
    fn pool_type(&mut self, raw: &RawOperators, key: &str, ctx: &Context, idx: usize) -> PoolType {
        let capex_given = raw.costs.as_ref().and_then(|c| c.capex_usd_per_gpu);
        // Operators own their GPUs unless they are written to buy them (`owned: false`,
        // or a capex).
        let owned = raw
            .owned
            .as_ref()
            .map_or(capex_given.is_none_or(|c| c.0 == 0.0), |o| o.value);
        let mut operator = self.operator(raw, key, ctx);
        let class = &ctx.classes[operator.class];
        if let (true, Some(capex), Some(at)) = (owned, capex_given, raw.owned.as_ref())
            && capex.0 > 0.0
        {
            let message = hinted(
                "an operator that owns its GPUs pays no capex to join",
                "set owned: false for operators that buy their GPUs, or remove costs.capex_usd_per_gpu",
            );
            self.report(&at.referenced, &format!("{key}.owned"), &message);
        }
        let lead_time_hours = if owned {
            if let Some(lead) = &raw.lead_time_weeks {
                let message = hinted(
                    "lead_time_weeks applies to operators that buy their GPUs",
                    "set owned: false, or remove lead_time_weeks",
                );
                self.report(
                    &lead.referenced,
                    &format!("{key}.lead_time_weeks"),
                    &message,
                );
            }
            None
        } else {
            // Bought GPUs cost the class price new unless the costs say otherwise, and
            // are valued at it.
            if capex_given.is_none() {
                operator.costs.capex_usd_per_gpu = class.capex_usd;
                operator.costs.capital_usd_per_gpu = class.capex_usd;
                operator.costs.age_years = 0.0;
            }
            match &raw.lead_time_weeks {
                Some(lead) => Some(dist(&lead.value).scaled(HOURS_PER_WEEK)),
                None => {
                    let message = hinted(
                        "an operator that buys its GPUs needs `lead_time_weeks`: they arrive after the market's lead time",
                        "e.g. lead_time_weeks: {triangular: {min: 8, mode: 12, max: 26}} (the clouds' procurement lead time)",
                    );
                    let at = raw
                        .owned
                        .as_ref()
                        .map_or(&raw.gpus.referenced, |o| &o.referenced);
                    self.report(at, &format!("{key}.lead_time_weeks"), &message);
                    Some(Dist::Constant(0.0))
                }
            }
        };
        let count = raw.count.map(|c| c.0).unwrap_or_else(|| {
            let message = hinted(
                "a pool type needs `count`: how many potential operators of this type there are",
                "e.g. count: 200",
            );
            self.report(&raw.gpus.referenced, &format!("{key}.count"), &message);
            0
        });
        let reservation_yield = match &raw.reservation_yield {
            Some(spec) => dist(&spec.value),
            None => {
                let message = hinted(
                    "a pool type needs `reservation_yield`: the yearly return each potential operator needs before it joins",
                    "e.g. reservation_yield: {uniform: {min: 0.05, max: 0.30}}",
                );
                self.report(
                    &raw.gpus.referenced,
                    &format!("{key}.reservation_yield"),
                    &message,
                );
                Dist::Constant(0.0)
            }
        };
        let availability = raw
            .availability
            .as_ref()
            .map_or(defaults::AVAILABILITY, |a| a.value.0);
        PoolType {
            name: label(raw, &format!("pool[{idx}]")),
            count,
            listed_share: if operator.owner_use.is_some() {
                1.0
            } else {
                availability
            },
            sizes: match &raw.gpus.value {
                GpuSpec::Constant(gpus) => GpuCountDist::constant(*gpus),
                GpuSpec::Weights(pairs) => GpuCountDist::from_weights(pairs.clone()),
            },
            operator,
            reservation_yield,
            lead_time_hours,
        }
    }

    /// The keys only a pool type takes, refused on an `operators:` entry or a template.
    fn pool_keys_refused(&mut self, raw: &RawOperators, key: &str) {
        let given = [
            (
                "reservation_yield",
                raw.reservation_yield.as_ref().map(|s| &s.referenced),
            ),
            ("owned", raw.owned.as_ref().map(|s| &s.referenced)),
            (
                "lead_time_weeks",
                raw.lead_time_weeks.as_ref().map(|s| &s.referenced),
            ),
        ];
        for (name, at) in given {
            if let Some(at) = at {
                let message = hinted(
                    &format!("`{name}` belongs to a type of an entry pool"),
                    "operators present from the start, and the template's, are already in; describe potential operators under entry.pool",
                );
                self.report(at, &format!("{key}.{name}"), &message);
            }
        }
    }

    /// A system whose sites hold more than [`defaults::MAX_SYSTEM_GPUS`] is refused.
    fn system_size(&mut self, sites: &[Site], at: &Location, side: Side) {
        let total: u64 = sites.iter().map(|site| u64::from(site.gpus)).sum();
        if total > u64::from(defaults::MAX_SYSTEM_GPUS) {
            let message = hinted(
                &format!(
                    "{total} GPUs in {} is more than the {} capsim accepts",
                    side.key(),
                    defaults::MAX_SYSTEM_GPUS
                ),
                "model a representative slice and scale results (see seed-baseline's comments)",
            );
            self.report(at, side.key(), &message);
        }
    }

    /// A site larger than [`defaults::MAX_SITE_GPUS`] is refused (a typo, or a size no
    /// count in the model is meant to hold).
    fn site_size(&mut self, gpus: &Spanned<raw::Count>, key: &str) {
        if gpus.value.0 > defaults::MAX_SITE_GPUS {
            let message = hinted(
                &format!(
                    "{} GPUs at one site is more than the {} capsim accepts",
                    gpus.value.0,
                    defaults::MAX_SITE_GPUS
                ),
                "the largest clusters hold ~100,000 GPUs; split capacity into several sites",
            );
            self.report(&gpus.referenced, key, &message);
        }
    }

    /// More than [`defaults::MAX_SITES`] operators are refused before any is built.
    fn too_many_operators(&mut self, groups: &[RawOperators], at: &Location, base: &str) -> bool {
        let operators: u64 = groups
            .iter()
            .map(|g| u64::from(g.count.map_or(defaults::OPERATOR_COUNT, |c| c.0)))
            .sum();
        self.over_operator_bound(operators, "operators", at, &format!("{base}.operators"))
    }

    /// Refuses more operators (or potential ones) than one run holds.
    fn over_operator_bound(&mut self, count: u64, what: &str, at: &Location, key: &str) -> bool {
        if count > defaults::MAX_SITES {
            let message = hinted(
                &format!(
                    "{count} {what} is more than the {} capsim accepts",
                    defaults::MAX_SITES
                ),
                "model groups of similar operators as fewer, larger ones",
            );
            self.report(at, key, &message);
        }
        count > defaults::MAX_SITES
    }

    /// One operator of a group, with the group's largest size; availability scales the
    /// GPUs it offers.
    fn operator(&mut self, raw: &RawOperators, key: &str, ctx: &Context) -> Site {
        let side = Side {
            centralized: false,
            base: key,
        };
        self.age_of_owned_only(raw.costs.as_ref(), side, &format!("{key}.costs"));
        let region = raw.region.as_ref().map_or(0, |r| {
            self.lookup(&ctx.regions, r, &format!("{key}.region"), "region")
        });
        let class = raw.gpu_class.as_ref().map_or(0, |c| {
            self.lookup(
                &ctx.class_names(),
                c,
                &format!("{key}.gpu_class"),
                "GPU class",
            )
        });
        let (smallest, owned) = match &raw.gpus.value {
            GpuSpec::Constant(gpus) => (*gpus, *gpus),
            GpuSpec::Weights(pairs) => {
                let sizes = pairs
                    .iter()
                    .filter(|&&(_, p)| p > 0.0)
                    .map(|&(gpus, _)| gpus);
                (sizes.clone().min().unwrap_or(1), sizes.max().unwrap_or(1))
            }
        };
        if owned > defaults::MAX_SITE_GPUS {
            let message = hinted(
                &format!(
                    "{owned} GPUs at one operator is more than the {} capsim accepts",
                    defaults::MAX_SITE_GPUS
                ),
                "split the capacity into several operators",
            );
            self.report(&raw.gpus.referenced, &format!("{key}.gpus"), &message);
        }
        let availability = raw
            .availability
            .as_ref()
            .map_or(defaults::AVAILABILITY, |a| a.value.0);
        let owner_use = raw
            .availability_cycle_hours
            .filter(|_| availability < 1.0)
            .map(|cycle| OwnerUse {
                share: availability,
                offered_mean_hours: availability * cycle.0,
                withdrawn_mean_hours: (1.0 - availability) * cycle.0,
                follows_demand: raw
                    .availability_follows_demand
                    .as_ref()
                    .is_some_and(|f| f.value),
            });
        if let (Some(follows), Some(owner), Some(shape)) = (
            raw.availability_follows_demand.as_ref(),
            owner_use.as_ref().filter(|o| o.follows_demand),
            ctx.demand_shape.as_ref(),
        ) && let Err(lowest) = super::owner_use::calibrated_factors(
            shape,
            owner.offered_mean_hours,
            owner.withdrawn_mean_hours,
        ) {
            let message = hinted(
                &format!(
                    "availability {availability} cannot be kept by owners who follow demand: they take nothing back in hours without demand, so even taking every GPU back the moment demand returns they offer {lowest:.3} of GPU-time"
                ),
                "lengthen availability_cycle_hours (GPUs then refill less in the empty hours), or give demand some level in every hour",
            );
            self.report(
                &follows.referenced,
                &format!("{key}.availability_follows_demand"),
                &message,
            );
        }
        if let Some(follows) = raw
            .availability_follows_demand
            .as_ref()
            .filter(|f| f.value && owner_use.is_none())
        {
            let message = hinted(
                "availability_follows_demand needs owners who take their GPUs back part of the time: availability below 1 and availability_cycle_hours",
                "set availability_cycle_hours (how long an offered-and-taken-back cycle lasts) and an availability below 1, or remove availability_follows_demand",
            );
            self.report(
                &follows.referenced,
                &format!("{key}.availability_follows_demand"),
                &message,
            );
        }
        if owner_use.is_some() && availability <= 0.0 {
            let at = raw
                .availability
                .as_ref()
                .map_or(&raw.gpus.referenced, |a| &a.referenced);
            let message = hinted(
                "availability 0 with availability_cycle_hours offers no GPU time: every GPU would be taken back the moment it is offered",
                "raise availability above 0, or leave this operator out",
            );
            self.report(at, &format!("{key}.availability"), &message);
        }
        // With periods every GPU is listed and offered part of the time; without, a
        // fixed share of them is offered all the time.
        let listed = |owned: u32| {
            if owner_use.is_some() {
                owned
            } else {
                offered(owned, availability)
            }
        };
        if listed(smallest) == 0 {
            let owned = smallest;
            let at = raw
                .availability
                .as_ref()
                .map_or(&raw.gpus.referenced, |a| &a.referenced);
            let message = hinted(
                &format!("{owned} GPUs × availability {availability} rounds to 0 GPUs offered"),
                "raise availability or gpus",
            );
            self.report(at, &format!("{key}.availability"), &message);
        }
        let reliability = raw.mtbf_hours.map(|mtbf| Reliability {
            mtbf_hours: mtbf.0,
            mttr_hours: raw
                .mttr_hours
                .as_ref()
                .map_or(Dist::Constant(defaults::MTTR_HOURS), dist),
        });
        Site {
            name: String::new(),
            region,
            class,
            gpus: listed(owned).max(1),
            power_mw: None,
            costs: self.costs(raw.costs.as_ref(), side, &ctx.classes[class]),
            reliability,
            owner_use,
            checkpoint_every_hours: raw.checkpoint_every_hours.map(|c| c.0),
            group: 0,
            verification: self.verification(raw, key),
            max_gang_gpus: raw.max_gang_gpus.as_ref().map(|m| m.value.0),
            ask_usd_per_gpu_hour: raw.ask_usd_per_gpu_hour.as_ref().map(|a| a.value.0),
        }
    }

    /// `verified_share` and `verification_hours` of an operator group: a share's
    /// distribution must stay within [0, 1].
    fn verification(&mut self, raw: &RawOperators, key: &str) -> Option<Verification> {
        let Some(share) = &raw.verified_share else {
            if let Some(hours) = &raw.verification_hours {
                let message = hinted(
                    "verification_hours without verified_share changes nothing: every listed GPU delivers",
                    "add verified_share (e.g. verified_share: {uniform: {min: 0.5, max: 1}}), or remove verification_hours",
                );
                self.report(
                    &hours.referenced,
                    &format!("{key}.verification_hours"),
                    &message,
                );
            }
            return None;
        };
        let highest = match share.value {
            DistSpec::Constant(v) => Some(v),
            DistSpec::Uniform { max, .. } | DistSpec::Triangular { max, .. } => Some(max),
            DistSpec::Exponential { .. } | DistSpec::LogNormal { .. } => None,
        };
        if highest.is_none_or(|h| h > 1.0) {
            let message = hinted(
                "verified_share is a share of listed GPUs: its distribution must lie within [0, 1]",
                "use a constant, uniform or triangular share with max ≤ 1, e.g. verified_share: {triangular: {min: 0.04, mode: 0.5, max: 1}}",
            );
            self.report(
                &share.referenced,
                &format!("{key}.verified_share"),
                &message,
            );
        }
        Some(Verification {
            share: dist(&share.value),
            hours: raw
                .verification_hours
                .as_ref()
                .map_or(defaults::VERIFICATION_HOURS, |h| h.value.0),
        })
    }

    fn costs(&mut self, raw: Option<&RawCosts>, side: Side, class: &GpuClass) -> Costs {
        let class_capex_usd = class.capex_usd;
        let empty = RawCosts::default();
        let raw = raw.unwrap_or(&empty);
        let residual_fraction = raw
            .residual_fraction
            .map_or(defaults::RESIDUAL_FRACTION, |f| f.0);
        // Data centers buy their GPUs; operators already own theirs unless told otherwise.
        let default_capex = if side.centralized {
            class_capex_usd
        } else {
            defaults::OPERATOR_CAPEX_USD_PER_GPU
        };
        let capex_usd_per_gpu = raw.capex_usd_per_gpu.map_or(default_capex, |c| c.0);
        let written_age = raw.age_years.as_ref().map(|a| a.value.0);
        // GPUs bought are valued at what they cost; sunk ones at what they would fetch: by
        // their age on the resale curve, or at the residual share, whose age the curve
        // then tells (so they age from there).
        let (capital_usd_per_gpu, age_years) = match (capex_usd_per_gpu > 0.0, written_age) {
            (true, age) => (capex_usd_per_gpu, age.unwrap_or(defaults::AGE_YEARS)),
            (false, Some(age)) => (class_capex_usd * class.resale_share(age), age),
            (false, None) => {
                let decline = class.value_decline_per_year();
                let age = if decline > 0.0 && residual_fraction > 0.0 {
                    (-residual_fraction.ln() / decline).max(0.0)
                } else {
                    0.0
                };
                (class_capex_usd * residual_fraction, age)
            }
        };
        Costs {
            capex_usd_per_gpu,
            capital_usd_per_gpu,
            age_years,
            depreciation_years: raw
                .depreciation_years
                .map_or(defaults::DEPRECIATION_YEARS, |y| y.0),
            residual_fraction,
            electricity_usd_per_kwh: raw
                .electricity_usd_per_kwh
                .map_or(defaults::ELECTRICITY_USD_PER_KWH, |e| e.0),
            pue: raw.pue.map_or(
                if side.centralized {
                    defaults::PUE_CENTRALIZED
                } else {
                    defaults::PUE_OPERATOR
                },
                |p| p.0,
            ),
            idle_power_fraction: raw
                .idle_power_fraction
                .map_or(defaults::IDLE_POWER_FRACTION, |f| f.0),
            facility_usd_per_kw_month: raw
                .facility_usd_per_kw_month
                .map_or(defaults::FACILITY_USD_PER_KW_MONTH, |f| f.0),
            fixed_usd_per_year: raw
                .fixed_usd_per_year
                .map_or(defaults::FIXED_USD_PER_YEAR, |f| f.0),
        }
    }

    fn pricing(
        &mut self,
        raw: Option<&Spanned<RawPricing>>,
        side: Side,
        ctx: &Context,
    ) -> Option<Pricing> {
        let Spanned {
            value: raw,
            referenced: at,
            ..
        } = raw?;
        let key = |field: &str| format!("{}.pricing.{field}", side.key());
        let name = raw.policy.unwrap_or(raw::PolicyName::Fixed);
        // `cost_plus` prices from costs (the model sets its list at time 0), so it has no list.
        let reference = match &raw.usd_per_gpu_hour {
            Some(price) => price.value.0,
            None if name == raw::PolicyName::CostPlus => 0.0,
            None => {
                self.report(
                    at,
                    &key("usd_per_gpu_hour"),
                    &hinted(
                        &format!("policy `{}` needs `usd_per_gpu_hour`", name.as_str()),
                        "e.g. usd_per_gpu_hour: 2.0 (the reference class's price), or policy: cost_plus to price from costs",
                    ),
                );
                0.0
            }
        };
        let mut class_prices: Vec<f64> = ctx.classes.iter().map(|c| reference * c.speed).collect();
        let listed = raw.class_usd_per_gpu_hour.as_ref().map(|list| &list.value);
        for (idx, entry) in listed.into_iter().flatten().enumerate() {
            let key = format!(
                "{}.pricing.class_usd_per_gpu_hour[{idx}].gpu_class",
                side.key()
            );
            let class = self.lookup(&ctx.class_names(), &entry.gpu_class, &key, "GPU class");
            class_prices[class] = entry.usd_per_gpu_hour.0;
        }
        for (field, at) in raw.policy_keys() {
            if !name.keys().contains(&field) {
                let users: Vec<&str> = raw::PolicyName::ALL
                    .into_iter()
                    .filter(|other| other.keys().contains(&field))
                    .map(raw::PolicyName::as_str)
                    .collect();
                let message = hinted(
                    &format!("policy `{}` does not use `{field}`", name.as_str()),
                    &format!(
                        "remove `{field}`, or choose the policy that uses it (policy: {}); keys every policy reads: {}",
                        users.join(" or "),
                        raw::SHARED_PRICING_KEYS.join(", ")
                    ),
                );
                self.report(at, &key(field), &message);
            }
        }
        let policy = match name {
            raw::PolicyName::Fixed => PricePolicy::Fixed,
            raw::PolicyName::Scheduled => match (&raw.annual_decline, &raw.path) {
                (Some(decline), None) => PricePolicy::Scheduled {
                    annual_decline: decline.value.0,
                },
                (None, Some(path)) => {
                    let points: Vec<(f64, f64)> = path
                        .value
                        .iter()
                        .map(|p| (p.at_hours.0, p.usd_per_gpu_hour.0))
                        .collect();
                    if points.is_empty() || points.windows(2).any(|pair| pair[0].0 >= pair[1].0) {
                        let message = hinted(
                            "a price path needs at least one point, in increasing at_hours",
                            "e.g. path: [{at_hours: 4380, usd_per_gpu_hour: 5.5}]",
                        );
                        self.report(&path.referenced, &key("path"), &message);
                    }
                    PricePolicy::Path { points }
                }
                _ => {
                    self.report(
                        at,
                        &key("annual_decline"),
                        &hinted(
                            "policy `scheduled` needs exactly one of `annual_decline` or `path`",
                            "e.g. annual_decline: 0.2 for −20% a year, or path: [{at_hours: 4380, usd_per_gpu_hour: 5.5}]",
                        ),
                    );
                    PricePolicy::Fixed
                }
            },
            raw::PolicyName::UtilizationTarget => {
                let target = self.needed(
                    &raw.target_utilization,
                    (at, &key("target_utilization")),
                    "utilization_target",
                    "e.g. target_utilization: 0.75",
                )?;
                let (floor_usd, ceiling_usd) =
                    self.price_bounds(raw, at, &key("floor_usd_per_gpu_hour"));
                PricePolicy::UtilizationTarget {
                    target: target.value.0,
                    sensitivity: raw
                        .sensitivity
                        .as_ref()
                        .map_or(defaults::SENSITIVITY, |s| s.value.0),
                    max_step: self.max_step(raw, &key("max_step")),
                    floor_usd,
                    ceiling_usd,
                }
            }
            raw::PolicyName::MarketClearing => {
                let target = self.needed(
                    &raw.target_utilization,
                    (at, &key("target_utilization")),
                    "market_clearing",
                    "e.g. target_utilization: 0.8 (the share of capacity the price aims to fill)",
                )?;
                let (floor_usd, ceiling_usd) =
                    self.price_bounds(raw, at, &key("floor_usd_per_gpu_hour"));
                PricePolicy::MarketClearing {
                    target: target.value.0,
                    max_step: self.max_step(raw, &key("max_step")),
                    floor_usd,
                    ceiling_usd,
                }
            }
            raw::PolicyName::CostPlus => {
                let planned = self.needed(
                    &raw.planned_utilization,
                    (at, &key("planned_utilization")),
                    "cost_plus",
                    "e.g. planned_utilization: 0.7 (the share of installed GPU-hours the price expects to sell)",
                )?;
                if planned.value.0 <= 0.0 {
                    self.report(
                        &planned.referenced,
                        &key("planned_utilization"),
                        &hinted(
                            "planned_utilization must be above 0: costs are spread over the hours sold",
                            "e.g. planned_utilization: 0.7",
                        ),
                    );
                }
                PricePolicy::CostPlus(CostPlusTerms {
                    margin: raw.margin.as_ref().map_or(defaults::MARGIN, |m| m.value.0),
                    planned_utilization: planned.value.0,
                    cost_of_capital: raw
                        .cost_of_capital
                        .as_ref()
                        .map_or(defaults::COST_OF_CAPITAL, |r| r.value.0),
                })
            }
        };
        Some(Pricing {
            policy,
            reference_usd_per_gpu_hour: reference,
            class_usd_per_gpu_hour: class_prices,
            reserved_discount: raw
                .reserved_discount
                .map_or(defaults::RESERVED_DISCOUNT, |d| d.0),
            spot_discount: raw.spot_discount.map_or(defaults::SPOT_DISCOUNT, |d| d.0),
            spot_on_idle_commitments: raw.spot_on_idle_commitments.unwrap_or(false),
            egress_usd_per_gb: raw
                .egress_usd_per_gb
                .map_or(defaults::EGRESS_USD_PER_GB, |e| e.0),
        })
    }

    /// A key `policy` cannot do without; reported at the `pricing:` section when missing.
    fn needed<'r, T>(
        &mut self,
        value: &'r Option<Spanned<T>>,
        (at, key): (&Location, &str),
        policy: &str,
        example: &str,
    ) -> Option<&'r Spanned<T>> {
        if value.is_none() {
            let field = key.rsplit('.').next().unwrap_or(key);
            let message = hinted(&format!("policy `{policy}` needs `{field}`"), example);
            self.report(at, key, &message);
        }
        value.as_ref()
    }

    /// A policy's largest step per review (default 5%); a step of 100% is refused, since
    /// one review could then take the price to 0, where no relative step moves it again.
    fn max_step(&mut self, raw: &RawPricing, key: &str) -> f64 {
        let Some(step) = &raw.max_step else {
            return defaults::MAX_STEP;
        };
        if step.value.0 >= 1.0 {
            let message = hinted(
                "max_step 1 can take the price to 0 in one review, and no relative step moves it from there",
                "use a step below 1, e.g. max_step: 0.5",
            );
            self.report(&step.referenced, key, &message);
        }
        step.value.0
    }

    /// A price policy's floor and ceiling (defaults: none), refused when crossed.
    fn price_bounds(&mut self, raw: &RawPricing, at: &Location, key: &str) -> (f64, f64) {
        let floor_usd = raw
            .floor_usd_per_gpu_hour
            .as_ref()
            .map_or(defaults::PRICE_FLOOR_USD, |f| f.value.0);
        let ceiling_usd = raw
            .ceiling_usd_per_gpu_hour
            .as_ref()
            .map_or(defaults::PRICE_CEILING_USD, |c| c.value.0);
        if floor_usd > ceiling_usd {
            self.report(
                at,
                key,
                &hinted(
                    &format!("floor {floor_usd} is above ceiling {ceiling_usd}"),
                    "the floor must not exceed the ceiling",
                ),
            );
        }
        (floor_usd, ceiling_usd)
    }

    /// A job larger than every site of every system holds (its GPUs, or its
    /// `max_gang_gpus`) would be unserved everywhere: almost surely a mistake in the file,
    /// so it is refused. Where some system holds it, the others count it
    /// (`jobs_unserved_too_large`), a result.
    pub(super) fn jobs_fit(
        &mut self,
        sites: &[&Site],
        segments: &[RawSegment],
        largest_per_segment: &[u32],
    ) {
        let biggest = sites
            .iter()
            .map(|site| {
                site.max_gang_gpus
                    .map_or(site.gpus, |gang| gang.min(site.gpus))
            })
            .max()
            .unwrap_or(0);
        for (idx, segment) in segments.iter().enumerate() {
            let largest = largest_per_segment[idx];
            if largest > biggest {
                let Some(spec) = &segment.gpus_per_job else {
                    continue;
                };
                let message = hinted(
                    &format!(
                        "segment `{}` asks for up to {largest} GPUs per job but the largest site of any system holds {biggest}",
                        segment.name.value
                    ),
                    "a job runs on one site (gang), so jobs this large would be unserved everywhere; give a site more GPUs (or a larger max_gang_gpus) or cap gpus_per_job",
                );
                self.report(
                    &spec.referenced,
                    &format!("demand.segments[{idx}].gpus_per_job"),
                    &message,
                );
            }
        }
    }
}

/// A provider's placement: as written, else [`defaults::PROVIDER_PLACEMENT`] for a
/// `providers:` entry and [`defaults::SHORTHAND_PLACEMENT`] for the shorthand.
fn placement_or_default(written: Option<PlacementPolicy>, base: &str) -> PlacementPolicy {
    written.unwrap_or(if base.starts_with("providers") {
        defaults::PROVIDER_PLACEMENT
    } else {
        defaults::SHORTHAND_PLACEMENT
    })
}

/// A group's label: its written `name`, or `default`.
fn label(raw: &RawOperators, default: &str) -> String {
    raw.name
        .as_ref()
        .map_or_else(|| default.to_string(), |n| n.value.clone())
}

/// GPUs an operator owning `owned` offers at `availability`.
fn offered(owned: u32, availability: f64) -> u32 {
    (f64::from(owned) * availability).round() as u32
}

/// The generator of operator sizes drawn from a distribution: fixed per scenario file
/// (not per replication or seed), so every replication and every seed sees the same
/// operators, and the scenario hash fingerprints them. The shorthand's network keys it
/// by the group's index (as it always did); a named provider by its name and the group,
/// so two providers with the same groups draw operators of their own, and a provider
/// the same ones in every architecture.
fn population_rng(provider: Option<&str>, group_idx: usize) -> SimRng {
    const POPULATION_SEED: u64 = 0x6f70_6572_6174_6f72;
    let key = match provider {
        None => group_idx as u64,
        Some(name) => {
            // FNV-1a of the name (stable across platforms and versions), kept apart from
            // the shorthand's small group numbers by the top bit.
            let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
            });
            (1 << 63) | (hash << 17 >> 1) | (group_idx as u64 & 0xffff)
        }
    };
    seeds::standard(POPULATION_SEED, key, Stream::OperatorSizes)
}

/// What supply resolution needs from the rest of the scenario.
pub(super) struct Context {
    pub classes: Vec<GpuClass>,
    pub regions: Vec<String>,
    /// The market's demand by hour of week (`None`: flat), resolved before supply.
    pub demand_shape: Option<Vec<f64>>,
}

impl Context {
    fn class_names(&self) -> Vec<String> {
        self.classes.iter().map(|c| c.name.clone()).collect()
    }
}

pub(super) fn hinted(message: &str, hint: &str) -> String {
    format!("{message}{}{hint}", raw::HINT_SEPARATOR)
}

#[cfg(test)]
mod tests {
    /// The two lists of policy keys agree: with every policy-specific key written, each
    /// policy refuses exactly the keys `PolicyName::keys` does not give it, so the reader's
    /// list (`RawPricing::policy_keys`) and the policies' lists cannot drift apart.
    #[test]
    fn each_policy_refuses_exactly_the_keys_it_does_not_read() {
        use crate::scenario::raw::PolicyName;
        const PRICED: &str = "name: p\nsimulation: {horizon_hours: 100, replications: 2, seed: 1}\ndemand:\n  segments:\n    - name: jobs\n      arrivals_per_hour: 2\n      duration_hours: 1\ncentralized:\n  gpus: 8\n  pricing: {usd_per_gpu_hour: 2.0}\n";
        let all = [
            "usd_per_gpu_hour: 2.0",
            "class_usd_per_gpu_hour: [{gpu_class: H100, usd_per_gpu_hour: 2.0}]",
            "annual_decline: 0.2",
            "path: [{at_hours: 100, usd_per_gpu_hour: 1.5}]",
            "target_utilization: 0.7",
            "sensitivity: 1",
            "max_step: 0.1",
            "floor_usd_per_gpu_hour: 1",
            "ceiling_usd_per_gpu_hour: 4",
            "margin: 0.2",
            "planned_utilization: 0.7",
            "cost_of_capital: 0.1",
        ];
        let every_key: Vec<&str> = all.iter().map(|k| k.split(':').next().unwrap()).collect();
        let listed: std::collections::BTreeSet<&str> = PolicyName::ALL
            .iter()
            .flat_map(|p| p.keys().iter().copied())
            .collect();
        assert_eq!(
            listed,
            every_key.iter().copied().collect(),
            "every policy key is some policy's"
        );
        for policy in PolicyName::ALL {
            let keys = all.map(|k| format!("    {k}\n")).concat();
            let text = PRICED.replace(
                "  pricing: {usd_per_gpu_hour: 2.0}\n",
                &format!("  pricing:\n    policy: {}\n{keys}", policy.as_str()),
            );
            let rendered = crate::scenario::parse("p.yaml", &text)
                .expect_err("foreign keys")
                .render();
            for key in &every_key {
                let refused = rendered.contains(&format!(
                    "policy `{}` does not use `{key}`",
                    policy.as_str()
                ));
                assert_eq!(
                    refused,
                    !policy.keys().contains(key),
                    "{policy:?} {key}:\n{rendered}"
                );
            }
        }
    }
}
