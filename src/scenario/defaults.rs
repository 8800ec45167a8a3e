//! Every default of the scenario format, in one place, each with where it comes from
//! (a source, or "assumption"). A key left out of a file takes the value here; the
//! scenario hash leaves out values that are off (see `Scenario::canonical`), so writing
//! a default out changes nothing.
//!
//! Mechanisms that are **off unless their section is written**: `procurement:` (a
//! centralized fleet stays as built), `entry:`, `exit:` and `reinvest:` (the operator set
//! stays as listed), `pricing:` (money is not modelled: prices 0, spend per GPU-hour
//! NaN, no savings), failures (`mtbf_hours`; GPUs never fail), part-time availability
//! cycles (`availability_cycle_hours`; a fixed share is offered), checkpoints (a failed
//! job restarts from scratch), `power_mw` (unlimited power), `patience_hours` (a job
//! waits for ever), `max_price_usd_per_gpu_hour` (any price is paid), `data_gb` (no
//! egress), `min_gpu_class` (any class), `memory_gb_per_gpu` (a job fits any class's
//! memory), `max_gang_gpus` (a job may take every GPU of a site), seasonality and shocks (a flat rate),
//! `antithetic` (independent replications), `uncertainty:` (no declared beliefs), and
//! `finance.horizon_years` (every simulated year is valued).

// Simulation.

/// `simulation.warmup_hours`: measure from the start.
pub const WARMUP_HOURS: f64 = 0.0;
/// `simulation.replications`: enough for a first look; use more for tight intervals.
pub const REPLICATIONS: u32 = 10;
/// `simulation.seed`.
pub const SEED: u64 = 1;
/// Largest scenario file read, in bytes: scenarios are hand-written, and a bound keeps
/// a wrong path (a video, a dataset) from being slurped into memory.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

// Demand.

/// `gpus_per_job`: one GPU (most jobs of the Philly and Helios traces use one).
pub const GPUS_PER_JOB: u32 = 1;
/// `annual_growth`: a flat rate.
pub const ANNUAL_GROWTH: f64 = 0.0;
/// `reserved_share`: every job buys on demand.
pub const RESERVED_SHARE: f64 = 0.0;

// Supply.

/// `placement` of a `providers:` entry: the least utilized site with room. A network's
/// sites of one class and region are interchangeable to a customer, so which one a job
/// lands on is a tie-break; first fit in creation order starves operators who join
/// later (seed-baseline's year-1 cohort ran at 2% while incumbents ran near 65%), a
/// tie-break reported as a finding. Least utilized spreads the same work evenly with no
/// draw (assumption: schedulers balance load, e.g. Kubernetes' least-allocated scoring).
pub const PROVIDER_PLACEMENT: crate::scenario::raw::PlacementPolicy =
    crate::scenario::raw::PlacementPolicy::LeastUtilized;
/// `placement` of the shorthand's `centralized:` and `distributed:`: first fit, so that
/// results written before placement policies existed stand.
pub const SHORTHAND_PLACEMENT: crate::scenario::raw::PlacementPolicy =
    crate::scenario::raw::PlacementPolicy::FirstFit;

/// `review_every_hours`: weekly.
pub const REVIEW_EVERY_HOURS: f64 = 168.0;
/// `latency_slowdown`: a job outside its region runs at full speed (assumption: no
/// penalty unless the scenario says so).
pub const LATENCY_SLOWDOWN: f64 = 1.0;
/// `distributed.take_rate`: 20%, the protocol fee of Aethir and Akash (MISSION.md).
pub const TAKE_RATE: f64 = 0.2;
/// `operators[].count`: one operator per group.
pub const OPERATOR_COUNT: u32 = 1;
/// `availability`: every GPU offered.
pub const AVAILABILITY: f64 = 1.0;
/// `mttr_hours` when `mtbf_hours` is given without it: one day (an assumption).
pub const MTTR_HOURS: f64 = 24.0;
/// `verification_hours`: a job on a GPU that does not deliver fails within an hour —
/// the time a customer's health check or first step takes to show nothing runs
/// (assumption).
pub const VERIFICATION_HOURS: f64 = 1.0;
/// `procurement.order_multiple`: one 8-GPU server.
pub const ORDER_MULTIPLE: u32 = 8;
/// `procurement.forecast_annual_growth`: plan on demand as last seen.
pub const FORECAST_ANNUAL_GROWTH: f64 = 0.0;
/// `entry.operators_per_review`.
pub const OPERATORS_PER_REVIEW: u32 = 1;
/// `entry.max_operators`.
pub const MAX_OPERATORS: u32 = 10_000;
/// `exit.after_reviews`: a quarter of weekly reviews.
pub const EXIT_AFTER_REVIEWS: u32 = 13;

// Costs.

/// `costs.depreciation_years`: 5, the low end of hyperscaler filings (5–6 years).
pub const DEPRECIATION_YEARS: f64 = 5.0;
/// `costs.residual_fraction`: 0.3, mid-range of 25–35% after 36 months.
pub const RESIDUAL_FRACTION: f64 = 0.3;
/// `gpu_classes[].resale_after_36_months` of the built-in classes: 0.3, mid-range of the
/// 25–35% of its price new that a GPU fetches after 36 months (MISSION.md calibration).
/// Between and beyond, the value falls geometrically: 0.3^(age ÷ 3), −33% a year.
pub const RESALE_AFTER_36_MONTHS: f64 = 0.3;
/// `costs.age_years` of GPUs bought: 0, new when first offered.
pub const AGE_YEARS: f64 = 0.0;
/// `costs.electricity_usd_per_kwh`: 0.08, the US industrial average.
pub const ELECTRICITY_USD_PER_KWH: f64 = 0.08;
/// `costs.pue` of data centers: 1.2 (hyperscale 1.1–1.2).
pub const PUE_CENTRALIZED: f64 = 1.2;
/// `costs.pue` of operators: 1.56, the industry average (Uptime Institute 2024).
pub const PUE_OPERATOR: f64 = 1.56;
/// `costs.idle_power_fraction`: 0.15 of the server's full-load power per GPU, an assumption
/// (an idle H100 chip draws ~60–100 W of its 700; an idle server's fans, CPUs and memory add
/// more, so this is a low end to vary).
pub const IDLE_POWER_FRACTION: f64 = 0.15;
/// `costs.facility_usd_per_kw_month`: none (the scenario states its facility costs).
pub const FACILITY_USD_PER_KW_MONTH: f64 = 0.0;
/// `costs.fixed_usd_per_year`: none (the scenario states its staff and other costs).
pub const FIXED_USD_PER_YEAR: f64 = 0.0;
/// `costs.capex_usd_per_gpu` of an operator: 0, it already owns its GPUs (its capital
/// is then their resale value, class capex × residual); a data center pays the class's
/// capex.
pub const OPERATOR_CAPEX_USD_PER_GPU: f64 = 0.0;

// Pricing.

/// `pricing.sensitivity`: a 10-point utilization gap moves the price 10%.
pub const SENSITIVITY: f64 = 1.0;
/// `pricing.max_step`: at most 5% per review.
pub const MAX_STEP: f64 = 0.05;
/// `pricing.margin` (cost_plus): none, the price is the cost.
pub const MARGIN: f64 = 0.0;
/// `pricing.cost_of_capital` (cost_plus): 10% a year, the same as `finance.discount_rate`'s
/// default (assumption; within the 8–12% weighted cost of capital commonly quoted for
/// data-center operators).
pub const COST_OF_CAPITAL: f64 = 0.10;
/// `pricing.floor_usd_per_gpu_hour`: no floor.
pub const PRICE_FLOOR_USD: f64 = 0.0;
/// `pricing.ceiling_usd_per_gpu_hour`: no ceiling.
pub const PRICE_CEILING_USD: f64 = f64::MAX;
/// `pricing.reserved_discount`: none.
pub const RESERVED_DISCOUNT: f64 = 0.0;
/// `pricing.spot_discount`: spot jobs pay the list price (they are still preempted).
pub const SPOT_DISCOUNT: f64 = 0.0;
/// `pricing.egress_usd_per_gb`: free egress.
pub const EGRESS_USD_PER_GB: f64 = 0.0;

// Finance (`Terms::default` is built from these).

/// `finance.discount_rate`: 10% a year, a common hurdle for infrastructure (assumption).
pub const DISCOUNT_RATE: f64 = 0.10;
/// `finance.tax_rate`: no tax (results before tax unless the scenario says otherwise).
pub const TAX_RATE: f64 = 0.0;
/// `finance.terminal_value`: hardware sold at book value at the horizon.
pub const TERMINAL_VALUE_FRACTION: f64 = 1.0;

// Bounds (not keys: limits that keep every count far inside 32 bits).

/// Most GPUs at one site: the largest clusters today are ~10⁵; 10⁶ leaves room.
pub const MAX_SITE_GPUS: u32 = 1_000_000;
/// Most GPUs in one system, installed and ordered: orders and joins stop there.
pub const MAX_SYSTEM_GPUS: u32 = 100_000_000;
/// Most sites (data centers or operators) a scenario may list.
pub const MAX_SITES: u64 = 1_000_000;
