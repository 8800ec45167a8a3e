//! The serde mirror of the scenario YAML: close to the file, checked value by value.
//!
//! Single-value rules (a rate is positive, a count is a whole number ≥ 1, a
//! distribution has the parameters its kind needs) are enforced while deserializing,
//! so the parser reports them at the exact line and column with the key path. Rules
//! that relate several values (warm-up shorter than the horizon, a job no larger than
//! the pool) are checked afterwards in `scenario::validate`, using the spans kept here.
//!
//! Error messages built here may carry a hint after [`HINT_SEPARATOR`]; the diagnostic
//! renderer splits it off.

use std::fmt;

use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_saphyr::{Location, Spanned};

/// Separates a message from its hint inside a serde error string. Printable on
/// purpose: the YAML parser escapes control characters in messages.
pub const HINT_SEPARATOR: &str = " ~hint~ ";

fn invalid<E: de::Error>(message: impl fmt::Display, hint: impl fmt::Display) -> E {
    E::custom(format!("{message}{HINT_SEPARATOR}{hint}"))
}

/// The whole file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    #[schemars(with = "ScenarioName")]
    pub name: Spanned<ScenarioName>,
    pub simulation: RawSimulation,
    #[serde(default)]
    #[schemars(with = "Option<Vec<RawGpuClass>>")]
    pub gpu_classes: Option<Vec<Spanned<RawGpuClass>>>,
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub regions: Option<Spanned<Vec<String>>>,
    pub demand: RawDemand,
    #[serde(default)]
    #[schemars(with = "Option<RawCentralized>")]
    pub centralized: Option<Spanned<RawCentralized>>,
    #[serde(default)]
    #[schemars(with = "Option<RawDistributed>")]
    pub distributed: Option<Spanned<RawDistributed>>,
    /// Named providers, each a centralized or a distributed supply (instead of the
    /// `centralized:` / `distributed:` shorthand).
    #[serde(default)]
    #[schemars(with = "Option<Vec<RawProvider>>")]
    pub providers: Option<Spanned<Vec<Spanned<RawProvider>>>>,
    /// Which providers are present in each simulated market, by name.
    #[serde(default)]
    #[schemars(with = "Option<RawArchitectures>")]
    pub architectures: Option<Spanned<RawArchitectures>>,
    /// The pair of architectures compared, `[A, B]`: B against A.
    #[serde(default)]
    #[schemars(with = "Option<Vec<SystemLabel>>")]
    pub compare: Option<Spanned<Vec<Spanned<SystemLabel>>>>,
    #[serde(default)]
    pub finance: Option<RawFinance>,
    /// Declared beliefs about uncertain keys, for `capsim sensitivity`; checked like
    /// every key, not used by a run.
    #[serde(default)]
    pub uncertainty: Option<super::uncertainty::RawUncertainty>,
}

/// `finance:` — how an investor values the systems' cash flows.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFinance {
    #[serde(default)]
    pub discount_rate: Option<AnnualRate>,
    #[serde(default)]
    pub hurdle_rate: Option<AnnualRate>,
    #[serde(default)]
    pub tax_rate: Option<Fraction>,
    #[serde(default)]
    pub depreciation: Option<DepreciationName>,
    #[serde(default)]
    pub terminal_value: Option<TerminalValue>,
    #[serde(default)]
    #[schemars(with = "Option<Count>")]
    pub horizon_years: Option<Spanned<Count>>,
}

/// `finance.depreciation`.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DepreciationName {
    StraightLine,
    DecliningBalance,
}

/// `placement:` of a provider — which of its sites with room a job goes to.
#[derive(Debug, Clone, Copy, Default, Deserialize, serde::Serialize, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlacementPolicy {
    /// The first site with room, in the order sites were created.
    #[default]
    FirstFit,
    /// The site with room whose utilization so far is lowest.
    LeastUtilized,
    /// A site with room drawn uniformly, on the provider's own stream.
    Random,
    /// The site with room asking least (its operator's ask, grossed up by the take rate),
    /// a reverse auction; equal asks go to the least utilized.
    Cheapest,
}

impl PlacementPolicy {
    /// The default, left out of the scenario hash.
    pub fn is_first_fit(&self) -> bool {
        *self == PlacementPolicy::FirstFit
    }
}

/// `gpu_classes:` entry — a GPU type added to (or replacing one of) the built-in catalog.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGpuClass {
    pub name: String,
    pub speed: Positive,
    pub power_kw: NonNegative,
    pub capex_usd: NonNegative,
    #[serde(default)]
    pub resale_after_36_months: Option<ResaleShare>,
    #[serde(default)]
    pub annual_cost_decline: Option<CostDecline>,
    #[serde(default)]
    pub available_from_week: Option<NonNegative>,
    /// On-board memory per GPU, GB (default: no memory limit).
    #[serde(default)]
    pub memory_gb: Option<Positive>,
}

/// `simulation:` — how long, how many replications, which seed.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSimulation {
    #[schemars(with = "Positive")]
    pub horizon_hours: Spanned<Positive>,
    #[serde(default)]
    #[schemars(with = "Option<NonNegative>")]
    pub warmup_hours: Option<Spanned<NonNegative>>,
    #[serde(default)]
    pub replications: Option<Count>,
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    pub antithetic: Option<Spanned<bool>>,
}

/// `demand:` — the job streams offered to every system.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDemand {
    #[schemars(with = "Vec<RawSegment>")]
    pub segments: Spanned<Vec<RawSegment>>,
    #[serde(default)]
    pub contracts: Option<Vec<RawContract>>,
}

/// One entry of `demand.contracts:` — a customer (or `count` similar customers) that
/// commits to GPUs of one provider for a term, take-or-pay.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawContract {
    #[schemars(with = "String")]
    pub provider: Spanned<String>,
    #[schemars(with = "String")]
    pub segment: Spanned<String>,
    pub gpus: Count,
    pub usd_per_gpu_hour: NonNegative,
    pub term_weeks: Positive,
    #[serde(default)]
    pub start_week: Option<DistSpec>,
    #[serde(default)]
    pub renewal_probability: Option<Fraction>,
    #[serde(default)]
    pub count: Option<Count>,
}

/// One demand segment.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSegment {
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    #[schemars(with = "Positive")]
    pub arrivals_per_hour: Spanned<Positive>,
    #[serde(default)]
    pub annual_growth: Option<Growth>,
    #[serde(default)]
    pub seasonality: Option<RawSeasonality>,
    #[serde(default)]
    pub shocks: Option<Vec<RawShock>>,
    #[serde(default)]
    #[schemars(with = "Option<GpuSpec>")]
    pub gpus_per_job: Option<Spanned<GpuSpec>>,
    pub duration_hours: DistSpec,
    #[serde(default)]
    pub patience_hours: Option<DistSpec>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub region: Option<Spanned<String>>,
    #[serde(default)]
    pub reserved_share: Option<Fraction>,
    #[serde(default)]
    #[schemars(with = "Option<Fraction>")]
    pub spot_share: Option<Spanned<Fraction>>,
    #[serde(default)]
    pub checkpoint_every_hours: Option<Positive>,
    #[serde(default)]
    pub max_price_usd_per_gpu_hour: Option<DistSpec>,
    #[serde(default)]
    #[schemars(with = "Option<AnnualChange>")]
    pub max_price_annual_change: Option<Spanned<AnnualChange>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub min_gpu_class: Option<Spanned<String>>,
    #[serde(default)]
    pub data_gb: Option<DistSpec>,
    #[serde(default)]
    pub lock_in: Option<RawLockIn>,
    /// Memory each of a job's GPUs needs, GB, drawn per job (default: none).
    #[serde(default)]
    pub memory_gb_per_gpu: Option<DistSpec>,
}

/// `lock_in:` — a share of a segment's jobs that buy from one provider unless another is
/// cheaper by more than a threshold.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLockIn {
    pub share: Fraction,
    #[schemars(with = "String")]
    pub incumbent: Spanned<String>,
    pub switch_threshold: Fraction,
}

/// `seasonality:` — relative factors by hour of day and by day of week.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSeasonality {
    #[serde(default, deserialize_with = "factors::<_, 24>")]
    #[schemars(length(min = 24, max = 24))]
    pub daily: Option<Vec<NonNegative>>,
    #[serde(default, deserialize_with = "factors::<_, 7>")]
    #[schemars(length(min = 7, max = 7))]
    pub weekly: Option<Vec<NonNegative>>,
}

/// Exactly `N` non-negative factors, not all zero.
fn factors<'de, D: Deserializer<'de>, const N: usize>(
    deserializer: D,
) -> Result<Option<Vec<NonNegative>>, D::Error> {
    let values: Vec<NonNegative> = Vec::deserialize(deserializer)?;
    let what = if N == 24 {
        "daily needs 24 factors, one per hour of day (0–23)"
    } else {
        "weekly needs 7 factors, one per day"
    };
    if values.len() != N {
        return Err(invalid(
            format!("{what}, got {}", values.len()),
            "factors are relative: they are rescaled to average 1",
        ));
    }
    if values.iter().all(|v| v.0 == 0.0) {
        return Err(invalid(
            "seasonal factors are all 0",
            "at least one period must have demand",
        ));
    }
    Ok(Some(values))
}

/// One demand shock.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawShock {
    pub start_hours: NonNegative,
    pub length_hours: Positive,
    pub factor: NonNegative,
}

/// `centralized:` — data centers by region, procurement, costs, prices.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCentralized {
    /// Shorthand: one data center of the reference class in the first region.
    #[serde(default)]
    #[schemars(with = "Option<Count>")]
    pub gpus: Option<Spanned<Count>>,
    #[serde(default)]
    pub data_centers: Option<Vec<RawDataCenter>>,
    #[serde(default)]
    pub costs: Option<RawCosts>,
    #[serde(default)]
    #[schemars(with = "Option<RawPricing>")]
    pub pricing: Option<Spanned<RawPricing>>,
    #[serde(default)]
    pub procurement: Option<RawProcurement>,
    #[serde(default)]
    pub latency_slowdown: Option<Slowdown>,
    #[serde(default)]
    pub review_every_hours: Option<Positive>,
    /// Which site with room a job goes to (default `first_fit`).
    #[serde(default)]
    pub placement: Option<PlacementPolicy>,
}

/// One data center: a region, a GPU class, a fleet size and an optional power limit.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDataCenter {
    #[schemars(with = "String")]
    pub region: Spanned<String>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub gpu_class: Option<Spanned<String>>,
    #[schemars(with = "Count")]
    pub gpus: Spanned<Count>,
    #[serde(default)]
    pub power_mw: Option<Positive>,
    /// The largest job its interconnect holds, GPUs (default: the whole site).
    #[serde(default)]
    #[schemars(with = "Option<Count>")]
    pub max_gang_gpus: Option<Spanned<Count>>,
}

/// `procurement:` — periodic review, order when projected utilization passes a target.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawProcurement {
    pub target_utilization: Fraction,
    pub lead_time_weeks: DistSpec,
    #[serde(default)]
    pub order_multiple: Option<Count>,
    #[serde(default)]
    pub forecast_annual_growth: Option<Growth>,
    #[serde(default)]
    pub power_lead_time_weeks: Option<DistSpec>,
    #[serde(default)]
    pub service_life_years: Option<Positive>,
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub gpu_classes: Option<Vec<Spanned<String>>>,
}

/// `costs:` — the cost structure of a data center or an operator.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCosts {
    #[serde(default)]
    pub capex_usd_per_gpu: Option<NonNegative>,
    #[serde(default)]
    pub depreciation_years: Option<Positive>,
    #[serde(default)]
    pub residual_fraction: Option<Fraction>,
    #[serde(default)]
    #[schemars(with = "Option<NonNegative>")]
    pub age_years: Option<Spanned<NonNegative>>,
    #[serde(default)]
    pub electricity_usd_per_kwh: Option<NonNegative>,
    #[serde(default)]
    pub pue: Option<Pue>,
    #[serde(default)]
    pub idle_power_fraction: Option<Fraction>,
    #[serde(default)]
    pub facility_usd_per_kw_month: Option<NonNegative>,
    #[serde(default)]
    pub fixed_usd_per_year: Option<NonNegative>,
}

/// `pricing:` — a policy by name with its parameters.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPricing {
    #[serde(default)]
    pub policy: Option<PolicyName>,
    // Every policy but `cost_plus` (which prices from costs) needs a price list.
    #[serde(default)]
    #[schemars(with = "Option<Positive>")]
    pub usd_per_gpu_hour: Option<Spanned<Positive>>,
    #[serde(default)]
    #[schemars(with = "Option<Vec<RawClassPrice>>")]
    pub class_usd_per_gpu_hour: Option<Spanned<Vec<RawClassPrice>>>,
    // The policy-specific keys keep their place in the file, so a key the chosen policy
    // does not use can be refused where it is written.
    #[serde(default)]
    #[schemars(with = "Option<Fraction>")]
    pub annual_decline: Option<Spanned<Fraction>>,
    #[serde(default)]
    #[schemars(with = "Option<Vec<RawPricePoint>>")]
    pub path: Option<Spanned<Vec<RawPricePoint>>>,
    #[serde(default)]
    #[schemars(with = "Option<Fraction>")]
    pub target_utilization: Option<Spanned<Fraction>>,
    #[serde(default)]
    #[schemars(with = "Option<NonNegative>")]
    pub sensitivity: Option<Spanned<NonNegative>>,
    #[serde(default)]
    #[schemars(with = "Option<Fraction>")]
    pub max_step: Option<Spanned<Fraction>>,
    #[serde(default)]
    #[schemars(with = "Option<NonNegative>")]
    pub floor_usd_per_gpu_hour: Option<Spanned<NonNegative>>,
    #[serde(default)]
    #[schemars(with = "Option<Positive>")]
    pub ceiling_usd_per_gpu_hour: Option<Spanned<Positive>>,
    #[serde(default)]
    #[schemars(with = "Option<NonNegative>")]
    pub margin: Option<Spanned<NonNegative>>,
    #[serde(default)]
    #[schemars(with = "Option<Fraction>")]
    pub planned_utilization: Option<Spanned<Fraction>>,
    #[serde(default)]
    #[schemars(with = "Option<NonNegative>")]
    pub cost_of_capital: Option<Spanned<NonNegative>>,
    #[serde(default)]
    pub reserved_discount: Option<Fraction>,
    #[serde(default)]
    pub spot_discount: Option<Fraction>,
    #[serde(default)]
    pub spot_on_idle_commitments: Option<bool>,
    #[serde(default)]
    pub egress_usd_per_gb: Option<NonNegative>,
}

impl RawPricing {
    /// The policy-specific keys written in the file, with where each is.
    pub fn policy_keys(&self) -> Vec<(&'static str, &Location)> {
        fn at<'a>(
            value: Option<&'a Location>,
            name: &'static str,
        ) -> Option<(&'static str, &'a Location)> {
            value.map(|at| (name, at))
        }
        [
            at(
                self.usd_per_gpu_hour.as_ref().map(|v| &v.referenced),
                "usd_per_gpu_hour",
            ),
            at(
                self.class_usd_per_gpu_hour.as_ref().map(|v| &v.referenced),
                "class_usd_per_gpu_hour",
            ),
            at(
                self.annual_decline.as_ref().map(|v| &v.referenced),
                "annual_decline",
            ),
            at(self.path.as_ref().map(|v| &v.referenced), "path"),
            at(
                self.target_utilization.as_ref().map(|v| &v.referenced),
                "target_utilization",
            ),
            at(
                self.sensitivity.as_ref().map(|v| &v.referenced),
                "sensitivity",
            ),
            at(self.max_step.as_ref().map(|v| &v.referenced), "max_step"),
            at(
                self.floor_usd_per_gpu_hour.as_ref().map(|v| &v.referenced),
                "floor_usd_per_gpu_hour",
            ),
            at(
                self.ceiling_usd_per_gpu_hour
                    .as_ref()
                    .map(|v| &v.referenced),
                "ceiling_usd_per_gpu_hour",
            ),
            at(self.margin.as_ref().map(|v| &v.referenced), "margin"),
            at(
                self.planned_utilization.as_ref().map(|v| &v.referenced),
                "planned_utilization",
            ),
            at(
                self.cost_of_capital.as_ref().map(|v| &v.referenced),
                "cost_of_capital",
            ),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// One point of a scheduled price path: from `at_hours` on, the reference price is this.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPricePoint {
    pub at_hours: NonNegative,
    pub usd_per_gpu_hour: Positive,
}

/// A price for one GPU class, overriding the speed-scaled reference price.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawClassPrice {
    #[schemars(with = "String")]
    pub gpu_class: Spanned<String>,
    pub usd_per_gpu_hour: Positive,
}

/// The pricing policies.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PolicyName {
    Fixed,
    Scheduled,
    UtilizationTarget,
    MarketClearing,
    CostPlus,
}

/// The price-list keys: every policy reads them except `cost_plus`, which prices from costs.
const PRICE_LIST_KEYS: [&str; 2] = ["usd_per_gpu_hour", "class_usd_per_gpu_hour"];

impl PolicyName {
    /// Every policy, in the order the docs list them.
    pub const ALL: [PolicyName; 5] = [
        PolicyName::Fixed,
        PolicyName::Scheduled,
        PolicyName::UtilizationTarget,
        PolicyName::MarketClearing,
        PolicyName::CostPlus,
    ];

    /// The scenario spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyName::Fixed => "fixed",
            PolicyName::Scheduled => "scheduled",
            PolicyName::UtilizationTarget => "utilization_target",
            PolicyName::MarketClearing => "market_clearing",
            PolicyName::CostPlus => "cost_plus",
        }
    }

    /// The `pricing:` keys this policy reads beyond the ones every policy shares
    /// ([`SHARED_PRICING_KEYS`]); any other policy-specific key is refused under it.
    pub fn keys(self) -> &'static [&'static str] {
        match self {
            PolicyName::Fixed => &PRICE_LIST_KEYS,
            PolicyName::Scheduled => &[
                PRICE_LIST_KEYS[0],
                PRICE_LIST_KEYS[1],
                "annual_decline",
                "path",
            ],
            PolicyName::UtilizationTarget => &[
                PRICE_LIST_KEYS[0],
                PRICE_LIST_KEYS[1],
                "target_utilization",
                "sensitivity",
                "max_step",
                "floor_usd_per_gpu_hour",
                "ceiling_usd_per_gpu_hour",
            ],
            PolicyName::MarketClearing => &[
                PRICE_LIST_KEYS[0],
                PRICE_LIST_KEYS[1],
                "target_utilization",
                "max_step",
                "floor_usd_per_gpu_hour",
                "ceiling_usd_per_gpu_hour",
            ],
            PolicyName::CostPlus => &["margin", "planned_utilization", "cost_of_capital"],
        }
    }

    /// The policy of a scenario spelling.
    pub fn from_name(name: &str) -> Option<PolicyName> {
        PolicyName::ALL
            .into_iter()
            .find(|policy| policy.as_str() == name)
    }
}

/// The `pricing:` keys valid under every policy.
pub const SHARED_PRICING_KEYS: [&str; 5] = [
    "policy",
    "reserved_discount",
    "spot_discount",
    "spot_on_idle_commitments",
    "egress_usd_per_gb",
];

/// A provider's or an architecture's name: tables write it in their `system` column and
/// measures split on `.`, so letters, digits, `-` and `_` only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemLabel(pub String);

impl JsonSchema for SystemLabel {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SystemLabel".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[A-Za-z0-9_-]{1,64}$",
            "description": "a provider's or architecture's name: 1 to 64 letters, digits, `-` or `_`"
        })
    }
}

impl<'de> Deserialize<'de> for SystemLabel {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        let safe = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_');
        if name.is_empty() || name.len() > 64 || !name.chars().all(safe) {
            return Err(invalid(
                format!("invalid name {name:?}"),
                "use 1 to 64 letters, digits, `-` or `_`: tables write it as a system, and measures split on `.`",
            ));
        }
        Ok(SystemLabel(name))
    }
}

/// What a provider supplies: the keys of a `centralized:` or a `distributed:` section.
#[derive(Debug)]
pub enum RawSupply {
    /// `kind: centralized`.
    Centralized(Box<RawCentralized>),
    /// `kind: distributed`.
    Distributed(Box<RawDistributed>),
}

/// One entry of `providers:` — `name` and `kind` first, then the keys its kind's
/// section holds.
#[derive(Debug)]
pub struct RawProvider {
    /// Its name.
    pub name: SystemLabel,
    /// Its supply.
    pub supply: RawSupply,
}

/// `name` and `kind` are read first so that the rest of the entry is checked, key by
/// key with its place in the file, as the section of that kind would be.
impl<'de> Deserialize<'de> for RawProvider {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entry;
        impl<'de> Visitor<'de> for Entry {
            type Value = RawProvider;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a provider: `name`, `kind` (centralized or distributed), then that kind's keys")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawProvider, A::Error> {
                let (mut name, mut kind): (Option<SystemLabel>, Option<String>) = (None, None);
                while name.is_none() || kind.is_none() {
                    let Some(key) = map.next_key::<String>()? else {
                        return Err(invalid(
                            "a provider needs a `name` and a `kind`",
                            "e.g. `- {name: neocloud, kind: centralized, gpus: 256}`",
                        ));
                    };
                    match key.as_str() {
                        "name" if name.is_none() => name = Some(map.next_value()?),
                        "kind" if kind.is_none() => kind = Some(map.next_value()?),
                        "name" | "kind" => {
                            return Err(invalid(format!("`{key}` twice"), "give it once"));
                        }
                        other => {
                            return Err(invalid(
                                format!("`{other}` before the provider's `name` and `kind`"),
                                "write `name` and `kind` first: they say which keys follow",
                            ));
                        }
                    }
                }
                let rest = de::value::MapAccessDeserializer::new(map);
                let supply = match kind.as_deref() {
                    Some("centralized") => {
                        RawSupply::Centralized(Box::new(RawCentralized::deserialize(rest)?))
                    }
                    Some("distributed") => {
                        RawSupply::Distributed(Box::new(RawDistributed::deserialize(rest)?))
                    }
                    other => {
                        return Err(invalid(
                            format!("unknown provider kind {:?}", other.unwrap_or_default()),
                            "`kind: centralized` (data centers that buy GPUs) or `kind: distributed` (operators who contribute them)",
                        ));
                    }
                };
                Ok(RawProvider {
                    name: name.unwrap_or_else(|| SystemLabel(String::new())),
                    supply,
                })
            }
        }
        deserializer.deserialize_map(Entry)
    }
}

/// The shape of a provider, for the JSON Schema: a centralized or a distributed
/// section's keys with `name` and `kind`.
impl JsonSchema for RawProvider {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Provider".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let name = generator.subschema_for::<SystemLabel>();
        let with = |mut section: schemars::Schema, kind: &str| {
            if let Some(properties) = section
                .ensure_object()
                .entry("properties")
                .or_insert_with(|| serde_json::json!({}))
                .as_object_mut()
            {
                properties.insert("name".into(), name.clone().to_value());
                properties.insert("kind".into(), serde_json::json!({"const": kind}));
            }
            let required = section
                .ensure_object()
                .entry("required")
                .or_insert_with(|| serde_json::json!([]));
            if let Some(required) = required.as_array_mut() {
                required.extend([serde_json::json!("name"), serde_json::json!("kind")]);
            }
            section
        };
        let centralized = with(RawCentralized::json_schema(generator), "centralized");
        let distributed = with(RawDistributed::json_schema(generator), "distributed");
        schemars::json_schema!({
            "description": "a provider: `name`, `kind`, then the keys of a `centralized:` or `distributed:` section",
            "oneOf": [centralized, distributed]
        })
    }
}

/// `architectures:` — each name with the providers present in it, in the order written
/// (the first is A when `compare:` is left out).
#[derive(Debug)]
pub struct RawArchitectures(pub Vec<(SystemLabel, Vec<Spanned<SystemLabel>>)>);

impl<'de> Deserialize<'de> for RawArchitectures {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = RawArchitectures;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map from an architecture's name to a list of provider names")
            }

            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<RawArchitectures, A::Error> {
                let mut entries: Vec<(SystemLabel, Vec<Spanned<SystemLabel>>)> = Vec::new();
                while let Some(name) = map.next_key::<SystemLabel>()? {
                    if entries.iter().any(|(other, _)| *other == name) {
                        return Err(invalid(
                            format!("architecture `{}` twice", name.0),
                            "give each architecture one entry",
                        ));
                    }
                    entries.push((name, map.next_value()?));
                }
                Ok(RawArchitectures(entries))
            }
        }
        deserializer.deserialize_map(Entries)
    }
}

impl JsonSchema for RawArchitectures {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Architectures".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let name = generator.subschema_for::<SystemLabel>();
        schemars::json_schema!({
            "description": "each architecture's name with the providers present in it, e.g. `hybrid: [hyperscaler, network]`",
            "type": "object",
            "propertyNames": name.clone(),
            "additionalProperties": {"type": "array", "items": name, "minItems": 1}
        })
    }
}

/// `distributed:` — operators, their dynamics, the take rate and prices.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDistributed {
    /// Shorthand: one operator with this many GPUs of the reference class.
    #[serde(default)]
    #[schemars(with = "Option<Count>")]
    pub gpus: Option<Spanned<Count>>,
    #[serde(default)]
    pub operators: Option<Vec<RawOperators>>,
    #[serde(default)]
    #[schemars(with = "Option<Fraction>")]
    pub take_rate: Option<Spanned<Fraction>>,
    #[serde(default)]
    #[schemars(with = "Option<RawPricing>")]
    pub pricing: Option<Spanned<RawPricing>>,
    #[serde(default)]
    pub entry: Option<RawEntry>,
    #[serde(default)]
    pub exit: Option<RawExit>,
    #[serde(default)]
    pub reinvest: Option<RawReinvest>,
    #[serde(default)]
    pub latency_slowdown: Option<Slowdown>,
    #[serde(default)]
    pub review_every_hours: Option<Positive>,
    /// Which site with room a job goes to (default `first_fit`).
    #[serde(default)]
    pub placement: Option<PlacementPolicy>,
}

/// A group of identical operators.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOperators {
    #[serde(default)]
    pub count: Option<Count>,
    #[schemars(with = "GpuSpec")]
    pub gpus: Spanned<GpuSpec>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub gpu_class: Option<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub region: Option<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Option<Fraction>")]
    pub availability: Option<Spanned<Fraction>>,
    #[serde(default)]
    pub availability_cycle_hours: Option<Positive>,
    /// Owners take their GPUs back when the market's demand peaks (default false).
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    pub availability_follows_demand: Option<Spanned<bool>>,
    #[serde(default)]
    pub mtbf_hours: Option<Positive>,
    #[serde(default)]
    pub mttr_hours: Option<DistSpec>,
    #[serde(default)]
    pub checkpoint_every_hours: Option<Positive>,
    #[serde(default)]
    pub costs: Option<RawCosts>,
    /// The group's label in `groups.parquet` (default `operators[k]`, `pool[k]`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub name: Option<Spanned<String>>,
    /// Pool types only: the yield each potential operator needs before it joins.
    #[serde(default)]
    #[schemars(with = "Option<DistSpec>")]
    pub reservation_yield: Option<Spanned<DistSpec>>,
    /// Pool types only: whether the operators own their GPUs already (true) or buy them
    /// to join (false).
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    pub owned: Option<Spanned<bool>>,
    /// Pool types that buy their GPUs: the market's lead time for them.
    #[serde(default)]
    #[schemars(with = "Option<DistSpec>")]
    pub lead_time_weeks: Option<Spanned<DistSpec>>,
    /// The share of each operator's listed GPUs that really deliver (default 1).
    #[serde(default)]
    #[schemars(with = "Option<DistSpec>")]
    pub verified_share: Option<Spanned<DistSpec>>,
    /// How long a job on an unverified GPU runs before it fails, hours.
    #[serde(default)]
    #[schemars(with = "Option<Positive>")]
    pub verification_hours: Option<Spanned<Positive>>,
    /// The largest job one operator's machines hold, GPUs (default: all its GPUs).
    #[serde(default)]
    #[schemars(with = "Option<Count>")]
    pub max_gang_gpus: Option<Spanned<Count>>,
    /// What the operator asks per GPU-hour, before the take rate (`placement: cheapest`).
    #[serde(default)]
    #[schemars(with = "Option<NonNegative>")]
    pub ask_usd_per_gpu_hour: Option<Spanned<NonNegative>>,
}

/// `entry:` — new operators join: a `template` of identical operators while the
/// network's trailing yield beats a hurdle, or a `pool` of potential operators that each
/// join on their own expected yield.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawEntry {
    #[serde(default)]
    pub hurdle_yield: Option<YieldRate>,
    pub onboarding_weeks: DistSpec,
    #[serde(default)]
    pub operators_per_review: Option<Count>,
    #[serde(default)]
    pub max_operators: Option<Count>,
    #[serde(default)]
    pub template: Option<RawOperators>,
    #[serde(default)]
    pub pool: Option<Vec<RawOperators>>,
}

/// `exit:` — an operator leaves after its yield stays below a floor.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawExit {
    pub below_yield: YieldRate,
    #[serde(default)]
    pub after_reviews: Option<Count>,
}

/// `reinvest:` — operators put a share of their cash into more GPUs.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawReinvest {
    pub share: Fraction,
    pub lead_time_weeks: DistSpec,
}

/// A number newtype that only deserializes from values passing a check, failing with
/// "{what}, got {value}" and a hint at the value's position.
macro_rules! checked_number {
    ($(#[$doc:meta])* $name:ident, $ok:expr, $what:literal, $hint:literal, $schema:tt) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name(pub f64);

        impl JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!($schema)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = deserializer.deserialize_any(NumberVisitor)?;
                let ok: fn(f64) -> bool = $ok;
                if ok(value) { Ok($name(value)) } else { Err(invalid(format!(concat!($what, ", got {}"), value), $hint)) }
            }
        }
    };
}

checked_number!(
    /// A finite number > 0.
    Positive,
    |value| value.is_finite() && value > 0.0,
    "must be a number greater than 0",
    "use a positive finite number such as 1.5",
    {"type": "number", "exclusiveMinimum": 0, "description": "a number greater than 0"}
);
checked_number!(
    /// A finite number ≥ 0.
    NonNegative,
    |value| value.is_finite() && value >= 0.0,
    "must be a number ≥ 0",
    "use a finite number such as 0 or 2.5",
    {"type": "number", "minimum": 0, "description": "a number ≥ 0"}
);
checked_number!(
    /// An annual growth rate: a number > −1 (−1 would mean demand vanishes at once).
    Growth,
    |value| value > -1.0 && value <= 100.0,
    "annual_growth must be greater than −1 and at most 100",
    "0.25 means +25% a year, −0.1 means −10% a year",
    {"type": "number", "exclusiveMinimum": -1, "maximum": 100, "description": "annual growth: 0.25 is +25% a year"}
);
checked_number!(
    /// An annual yield, as a fraction of capital: between −1 and 10.
    YieldRate,
    |value| (-1.0..=10.0).contains(&value),
    "a yield must be between −1 and 10",
    "0.08 means 8% a year on capital",
    {"type": "number", "minimum": -1, "maximum": 10, "description": "a yield per year: 0.08 is 8% on capital"}
);
checked_number!(
    /// A rate of return per year: greater than −1, at most 10.
    AnnualRate,
    |value| value > -1.0 && value <= 10.0,
    "a rate must be greater than −1 and at most 10",
    "0.10 means 10% a year",
    {"type": "number", "exclusiveMinimum": -1, "maximum": 10, "description": "a rate per year: 0.10 is 10%"}
);
checked_number!(
    /// What hardware fetches at the horizon, as a share of its market value (the resale curve).
    TerminalValue,
    |value| (0.0..=2.0).contains(&value),
    "terminal_value must be between 0 and 2 (a share of the hardware's market value)",
    "1 sells the hardware at its resale value at the horizon, 0 counts it worthless",
    {"type": "number", "minimum": 0, "maximum": 2, "description": "share of its market value (resale curve) the hardware fetches at the horizon"}
);
checked_number!(
    /// A number in [0, 1].
    Fraction,
    |value| (0.0..=1.0).contains(&value),
    "must be a fraction between 0 and 1",
    "write 0.2 for 20%",
    {"type": "number", "minimum": 0, "maximum": 1, "description": "a fraction: 0.2 is 20%"}
);
checked_number!(
    /// A yearly fall in the price of new hardware: in [0, 1).
    CostDecline,
    |value| (0.0..1.0).contains(&value),
    "annual_cost_decline must be at least 0 and below 1 (a share of the price lost a year)",
    "0.15 means a new GPU of the class costs 15% less each year; 0 keeps its price",
    {"type": "number", "minimum": 0, "exclusiveMaximum": 1, "description": "yearly fall in the price of a new GPU of the class"}
);
checked_number!(
    /// A yearly relative change: greater than −1, at most 10.
    AnnualChange,
    |value| value > -1.0 && value <= 10.0,
    "a yearly change must be greater than −1 and at most 10",
    "−0.2 means 20% lower each year, 0.1 means 10% higher",
    {"type": "number", "exclusiveMinimum": -1, "maximum": 10, "description": "yearly relative change: −0.2 is −20% a year"}
);
checked_number!(
    /// What a GPU fetches second-hand after 36 months, as a share of its price new: in (0, 1].
    ResaleShare,
    |value| value > 0.0 && value <= 1.0,
    "resale_after_36_months must be greater than 0 and at most 1 (a share of the price new)",
    "0.3 means a 3-year-old GPU fetches 30% of its price new (25–35% is typical); 1 means hardware keeps its value",
    {"type": "number", "exclusiveMinimum": 0, "maximum": 1, "description": "share of its price new a GPU fetches after 36 months"}
);
checked_number!(
    /// A power usage effectiveness: facility power ÷ IT power, between 1 and 5.
    Pue,
    |value| (1.0..=5.0).contains(&value),
    "pue must be between 1 and 5",
    "hyperscale 1.1–1.2, industry average 1.56 (Uptime Institute 2024)",
    {"type": "number", "minimum": 1, "maximum": 5, "description": "power usage effectiveness"}
);
checked_number!(
    /// A run-time multiplier ≥ 1 for jobs placed outside their region.
    Slowdown,
    |value| (1.0..=10.0).contains(&value),
    "latency_slowdown must be between 1 and 10",
    "1.1 means a job placed outside its region runs 10% longer",
    {"type": "number", "minimum": 1, "maximum": 10, "description": "run-time multiplier outside the job's region"}
);

/// A scenario name: used as a directory name, so restricted to a safe alphabet.
#[derive(Debug, Clone)]
pub struct ScenarioName(pub String);

impl JsonSchema for ScenarioName {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ScenarioName".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}$",
            "description": "names the output directory: 1 to 100 letters, digits, `-`, `_` or `.` (not leading)"
        })
    }
}

impl<'de> Deserialize<'de> for ScenarioName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        let safe = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        if name.is_empty() || name.len() > 100 || !name.chars().all(safe) || name.starts_with('.') {
            return Err(invalid(
                format!("invalid scenario name {name:?}"),
                "use 1 to 100 letters, digits, `-`, `_` or `.` (not leading): it names the output directory",
            ));
        }
        Ok(ScenarioName(name))
    }
}

/// A whole number ≥ 1 that fits in 32 bits.
#[derive(Debug, Clone, Copy)]
pub struct Count(pub u32);

impl JsonSchema for Count {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Count".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "integer", "minimum": 1, "maximum": 4294967295u64, "description": "a whole number ≥ 1"})
    }
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = deserializer.deserialize_any(NumberVisitor)?;
        count_from_f64(value)
            .map(Count)
            .map_err(|message| invalid(message, "use a whole number such as 1 or 64"))
    }
}

fn count_from_f64(value: f64) -> Result<u32, String> {
    if value.fract() == 0.0 && value >= 1.0 && value <= f64::from(u32::MAX) {
        // Checked above: a whole number within u32's range, so the cast is exact.
        Ok(value as u32)
    } else if value.fract() == 0.0 && value > f64::from(u32::MAX) {
        Err(format!("must be at most {}, got {value}", u32::MAX))
    } else {
        Err(format!("must be a whole number ≥ 1, got {value}"))
    }
}

/// Accepts any YAML number (integer or float) as f64; anything else is a type error.
struct NumberVisitor;

impl Visitor<'_> for NumberVisitor {
    type Value = f64;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a number")
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<f64, E> {
        Ok(value)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<f64, E> {
        Ok(value as f64)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<f64, E> {
        Ok(value as f64)
    }
}

/// A distribution as written: a bare number, or a one-key map naming the kind.
#[derive(Debug, Clone)]
pub enum DistSpec {
    /// `3` or `{constant: 3}`.
    Constant(f64),
    /// `{exponential: {mean}}`.
    Exponential { mean: f64 },
    /// `{lognormal: {median, sigma}}` or `{lognormal: {mean, sigma}}`, stored as (mu, sigma).
    LogNormal { mu: f64, sigma: f64 },
    /// `{triangular: {min, mode, max}}`.
    Triangular { min: f64, mode: f64, max: f64 },
    /// `{uniform: {min, max}}`.
    Uniform { min: f64, max: f64 },
}

impl JsonSchema for DistSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Distribution".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let one = |kind: &str, params: schemars::Schema| schemars::json_schema!({"type": "object", "properties": {kind: params}, "required": [kind], "additionalProperties": false});
        let lognormal = schemars::json_schema!({
            "type": "object",
            "properties": {"median": {"type": "number", "exclusiveMinimum": 0}, "mean": {"type": "number", "exclusiveMinimum": 0}, "sigma": {"type": "number", "minimum": 0}},
            "required": ["sigma"],
            "oneOf": [{"required": ["median"]}, {"required": ["mean"]}],
            "additionalProperties": false
        });
        let exponential = generator.subschema_for::<ExponentialParams>();
        let triangular = generator.subschema_for::<TriangularParams>();
        let uniform = generator.subschema_for::<UniformParams>();
        let constant = generator.subschema_for::<NonNegative>();
        schemars::json_schema!({
            "description": "a number (a constant), or one of {exponential: {mean}}, {lognormal: {median or mean, sigma}}, {triangular: {min, mode, max}}, {uniform: {min, max}}, {constant}",
            "oneOf": [
                {"type": "number", "minimum": 0},
                one("constant", constant),
                one("exponential", exponential),
                one("lognormal", lognormal),
                one("triangular", triangular),
                one("uniform", uniform)
            ]
        })
    }
}

const DIST_KINDS: &[&str] = &[
    "constant",
    "exponential",
    "lognormal",
    "triangular",
    "uniform",
];
const DIST_HINT: &str = "write a number, or one of {exponential: {mean: 1.0}}, {lognormal: {median: 0.33, sigma: 2.0}}, \
{triangular: {min: 1, mode: 2, max: 4}}, {uniform: {min: 1, max: 2}}, {constant: 3}";

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ExponentialParams {
    mean: Positive,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct LogNormalParams {
    #[serde(default)]
    median: Option<Positive>,
    #[serde(default)]
    mean: Option<Positive>,
    sigma: NonNegative,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct TriangularParams {
    min: NonNegative,
    mode: NonNegative,
    max: NonNegative,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct UniformParams {
    min: NonNegative,
    max: NonNegative,
}

impl<'de> Deserialize<'de> for DistSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DistVisitor)
    }
}

struct DistVisitor;

impl<'de> Visitor<'de> for DistVisitor {
    type Value = DistSpec;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a number or a distribution such as {exponential: {mean: 1.0}}")
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<DistSpec, E> {
        constant(value)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<DistSpec, E> {
        constant(value as f64)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<DistSpec, E> {
        constant(value as f64)
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<DistSpec, E> {
        Err(invalid(
            format!("expected a number or a distribution, got the text {value:?}"),
            DIST_HINT,
        ))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DistSpec, A::Error> {
        let Some(kind) = map.next_key::<String>()? else {
            return Err(invalid("empty distribution", DIST_HINT));
        };
        let spec = match kind.as_str() {
            "constant" => {
                let NonNegative(value) = map.next_value()?;
                DistSpec::Constant(value)
            }
            "exponential" => {
                let params: ExponentialParams = map.next_value()?;
                DistSpec::Exponential {
                    mean: params.mean.0,
                }
            }
            "lognormal" => lognormal(map.next_value()?)?,
            "triangular" => {
                let TriangularParams { min, mode, max } = map.next_value()?;
                if !(min.0 <= mode.0 && mode.0 <= max.0 && min.0 < max.0) {
                    return Err(invalid(
                        format!(
                            "triangular needs min ≤ mode ≤ max and min < max, got min {}, mode {}, max {}",
                            min.0, mode.0, max.0
                        ),
                        "order the three values, e.g. {min: 40, mode: 45, max: 50}",
                    ));
                }
                DistSpec::Triangular {
                    min: min.0,
                    mode: mode.0,
                    max: max.0,
                }
            }
            "uniform" => {
                let UniformParams { min, max } = map.next_value()?;
                if min.0 >= max.0 {
                    return Err(invalid(
                        format!("uniform needs min < max, got min {}, max {}", min.0, max.0),
                        "e.g. {min: 40, max: 50}",
                    ));
                }
                DistSpec::Uniform {
                    min: min.0,
                    max: max.0,
                }
            }
            other => return Err(de::Error::unknown_variant(other, DIST_KINDS)),
        };
        if let Some(extra) = map.next_key::<String>()? {
            return Err(invalid(
                format!("a distribution has exactly one kind, found a second key `{extra}`"),
                DIST_HINT,
            ));
        }
        Ok(spec)
    }
}

fn constant<E: de::Error>(value: f64) -> Result<DistSpec, E> {
    if value.is_finite() && value >= 0.0 {
        Ok(DistSpec::Constant(value))
    } else {
        Err(invalid(
            format!("must be a number ≥ 0, got {value}"),
            DIST_HINT,
        ))
    }
}

/// Log-normal from its median (`mu = ln median`) or its mean (`mu = ln mean − σ²/2`).
fn lognormal<E: de::Error>(params: LogNormalParams) -> Result<DistSpec, E> {
    let sigma = params.sigma.0;
    let mu = match (params.median, params.mean) {
        (Some(median), None) => median.0.ln(),
        (None, Some(mean)) => mean.0.ln() - 0.5 * sigma * sigma,
        _ => {
            return Err(invalid(
                "lognormal needs exactly one of `median` or `mean`, plus `sigma`",
                "e.g. {lognormal: {median: 0.33, sigma: 2.0}} (Philly trace: median ~20 min)",
            ));
        }
    };
    Ok(DistSpec::LogNormal { mu, sigma })
}

/// GPUs per job as written: a whole number, or a map from GPU count to probability.
#[derive(Debug, Clone)]
pub enum GpuSpec {
    /// Every job asks for this many GPUs.
    Constant(u32),
    /// `{1: 0.8, 2: 0.1, 4: 0.07, 8: 0.03}`: probabilities checked to sum to 1.
    Weights(Vec<(u32, f64)>),
}

impl JsonSchema for GpuSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "GpusPerJob".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "a whole number of GPUs, or a map of GPU count to probability summing to 1, such as {1: 0.8, 2: 0.1, 4: 0.07, 8: 0.03}",
            "oneOf": [
                {"type": "integer", "minimum": 1},
                {
                    "type": "object",
                    "minProperties": 1,
                    "patternProperties": {"^[1-9][0-9]*$": {"type": "number", "minimum": 0}},
                    "additionalProperties": false
                }
            ]
        })
    }
}

const GPU_HINT: &str = "write a whole number such as 1, or a map of GPU count to probability such as {1: 0.8, 2: 0.1, 4: 0.07, 8: 0.03}";

impl<'de> Deserialize<'de> for GpuSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(GpuVisitor)
    }
}

struct GpuVisitor;

impl<'de> Visitor<'de> for GpuVisitor {
    type Value = GpuSpec;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a whole number of GPUs or a map of GPU count to probability")
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<GpuSpec, E> {
        count_from_f64(value)
            .map(GpuSpec::Constant)
            .map_err(|message| invalid(message, GPU_HINT))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<GpuSpec, E> {
        self.visit_f64(value as f64)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<GpuSpec, E> {
        self.visit_f64(value as f64)
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<GpuSpec, E> {
        Err(invalid(
            format!("expected GPUs per job, got the text {value:?}"),
            GPU_HINT,
        ))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<GpuSpec, A::Error> {
        let mut pairs: Vec<(u32, f64)> = Vec::new();
        while let Some(Count(gpus)) = map.next_key::<Count>()? {
            let NonNegative(probability) = map.next_value()?;
            if pairs.iter().any(|&(seen, _)| seen == gpus) {
                return Err(invalid(
                    format!("GPU count {gpus} is listed twice"),
                    GPU_HINT,
                ));
            }
            pairs.push((gpus, probability));
        }
        let total: f64 = pairs.iter().map(|&(_, probability)| probability).sum();
        if pairs.is_empty() || (total - 1.0).abs() > 1e-6 {
            return Err(invalid(
                format!("probabilities must sum to 1, they sum to {total}"),
                "adjust the shares so they add up to exactly 1",
            ));
        }
        Ok(GpuSpec::Weights(pairs))
    }
}
