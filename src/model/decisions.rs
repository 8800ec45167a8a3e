//! The decisions a system takes at each review, as pure functions of what the model
//! observed over the period ([`PeriodView`] and the small views below) to a decision the
//! model then applies (`system/review.rs`). None draws a random number or touches the
//! model, so each is tested here on hand-made inputs; the model keeps the random draws
//! (lead times, onboarding delays) and their order.
//!
//! Adding a pricing policy means: its variant in `scenario::supply::PricePolicy`, its
//! name and keys in `scenario::raw::PolicyName` (and, for a new key, its field in
//! `RawPricing` and `RawPricing::policy_keys`), its resolution in `scenario::supply`, a
//! branch of [`next_price_factor`], its docs and its tests.

use crate::scenario::GpuClass;
use crate::scenario::supply::{CostPlusTerms, Costs, Entry, Exit, PricePolicy, Procurement};
use crate::units::{HOURS_PER_MONTH, HOURS_PER_YEAR, Hours};

/// What one review period looked like to the system: the read-only input of every
/// decision, and what the coming pricing policies read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PeriodView {
    /// The review's time.
    pub now: Hours,
    /// Hours since the previous review.
    pub period_hours: f64,
    /// Busy ÷ up GPU-hours of the whole system over the period.
    pub utilization: f64,
    /// Busy, idle and down GPU-hours of the period per GPU class (index = class).
    pub class_hours: Vec<ClassHours>,
    /// GPUs ordered and not yet delivered.
    pub gpus_on_order: u32,
    /// Every window-or-not arrival of the period (priced-out ones included): its
    /// maximum price per reference GPU-hour (`f64::INFINITY` when it has none) and its
    /// work in reference GPU-hours. Recorded only for systems that review.
    pub arrivals: Vec<ArrivalSeen>,
    /// The reference-class price at the start of the review, USD per GPU-hour.
    pub reference_price_usd: f64,
    /// Up (busy and idle) GPU-hours of the period, each × its class's speed: the work
    /// the system could have done, in reference GPU-hours.
    pub capacity_work_gpu_hours: f64,
}

/// What a cost-based price reads of one site.
#[derive(Debug, Clone, Copy)]
pub struct SiteCost<'c> {
    /// Its GPU class.
    pub class: usize,
    /// Its GPUs (installed, or installed and on order): the weight of its cost in its
    /// class's price, and the GPUs its fixed costs are shared over.
    pub gpus: u32,
    /// What its GPUs cost.
    pub costs: &'c Costs,
    /// Power one of its GPUs draws at full load, kW.
    pub power_kw: f64,
    /// Share of a sunk GPU's first value (`costs.capital_usd_per_gpu`) left now.
    pub value_factor: f64,
    /// Yearly rate k at which hardware loses value, V′ = −k·V.
    pub value_decline_per_year: f64,
    /// The class's price new now ÷ at time 0: GPUs bought are priced at what replacing
    /// them costs today.
    pub capex_factor: f64,
}

/// Yearly payment that recovers `capex_usd` over `years` at `rate` a year, the hardware
/// being worth `residual_usd` at the end: the capital recovery factor applied to the
/// capex less the residual's present value, (V − R·(1+r)^−n) · r ÷ (1 − (1+r)^−n);
/// straight-line (V − R) ÷ n at a zero rate.
pub fn capital_recovery_usd_per_year(
    capex_usd: f64,
    residual_usd: f64,
    years: f64,
    rate: f64,
) -> f64 {
    if rate == 0.0 {
        return (capex_usd - residual_usd) / years;
    }
    let discount = (1.0 + rate).powf(-years);
    (capex_usd - residual_usd * discount) * rate / (1.0 - discount)
}

/// What one installed GPU-hour of a site costs when `utilization` of its hours are sold:
/// capital, power (busy for `utilization` of the hours, idle for the rest, × PUE × the
/// electricity price), facility per kW of board power, and the site's fixed costs shared
/// over its GPUs. Capital is the recovery of the capex over the depreciation life at
/// `rate`, at what the GPU costs new now (its replacement cost, falling with the class's
/// `annual_cost_decline`); for GPUs already owned (no capex) the owner's opportunity cost of keeping them
/// rather than selling, r·V − V′ with V their current value and V′ = −k·V its rate of
/// change on the resale curve: (r + k)·V a year.
pub fn cost_per_installed_gpu_hour(site: &SiteCost, utilization: f64, rate: f64) -> f64 {
    let c = site.costs;
    let capital_usd_per_year = if c.capex_usd_per_gpu > 0.0 {
        let capex_usd = c.capex_usd_per_gpu * site.capex_factor;
        capital_recovery_usd_per_year(
            capex_usd,
            capex_usd * c.residual_fraction,
            c.depreciation_years,
            rate,
        )
    } else {
        (rate + site.value_decline_per_year) * c.capital_usd_per_gpu * site.value_factor
    };
    let drawn_kw = (utilization + (1.0 - utilization) * c.idle_power_fraction) * site.power_kw;
    let power_usd = drawn_kw * c.pue * c.electricity_usd_per_kwh;
    let facility_usd = site.power_kw * c.facility_usd_per_kw_month / HOURS_PER_MONTH;
    let fixed_usd = if site.gpus > 0 {
        c.fixed_usd_per_year / HOURS_PER_YEAR / f64::from(site.gpus)
    } else {
        0.0
    };
    capital_usd_per_year / HOURS_PER_YEAR + power_usd + facility_usd + fixed_usd
}

/// `cost_plus` prices per GPU class, USD per GPU-hour: the GPU-weighted mean over the
/// class's sites of [`cost_per_installed_gpu_hour`] at the planned utilization, ÷ that
/// utilization (the hours sold carry the idle ones), × (1 + margin), ÷ (1 − take rate) so
/// that a network's operators receive the cost plus margin after the protocol's fee.
/// `None` for a class no site with GPUs offers.
pub fn cost_plus_prices<'c>(
    classes: usize,
    sites: impl IntoIterator<Item = SiteCost<'c>>,
    policy: &CostPlusTerms,
    take_rate: f64,
) -> Vec<Option<f64>> {
    let mut sums: Vec<Option<(f64, f64)>> = vec![None; classes];
    for site in sites.into_iter().filter(|site| site.gpus > 0) {
        let cost =
            cost_per_installed_gpu_hour(&site, policy.planned_utilization, policy.cost_of_capital);
        let w = f64::from(site.gpus);
        let sum = sums[site.class].get_or_insert((0.0, 0.0));
        sum.0 += cost * w;
        sum.1 += w;
    }
    sums.into_iter()
        .map(|sum| {
            sum.map(|(weighted, gpus)| cost_plus_gross_up(weighted / gpus, policy, take_rate))
        })
        .collect()
}

/// One operator's own cost-plus ask under `placement: cheapest`, USD per GPU-hour as the
/// customer pays it: [`cost_plus_prices`] for a class with this site alone.
pub fn cost_plus_site_price(site: &SiteCost<'_>, policy: &CostPlusTerms, take_rate: f64) -> f64 {
    let cost =
        cost_per_installed_gpu_hour(site, policy.planned_utilization, policy.cost_of_capital);
    cost_plus_gross_up(cost, policy, take_rate)
}

/// A cost per installed GPU-hour as a price: ÷ the planned utilization, × (1 + margin),
/// ÷ (1 − take rate).
fn cost_plus_gross_up(cost_usd: f64, policy: &CostPlusTerms, take_rate: f64) -> f64 {
    cost_usd / policy.planned_utilization * (1.0 + policy.margin) / (1.0 - take_rate)
}

/// GPU-hours of one class over a period.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ClassHours {
    /// Busy GPU-hours.
    pub busy: f64,
    /// Idle GPU-hours.
    pub idle: f64,
    /// Failed GPU-hours.
    pub down: f64,
}

/// One arrival as a pricing policy sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArrivalSeen {
    /// The most it pays per reference GPU-hour.
    pub max_price_usd: f64,
    /// Its work, reference GPU-hours (GPUs × reference hours).
    pub work_gpu_hours: f64,
    /// What it would pay per reference GPU-hour at the list prices (price factor 1): the
    /// cheapest class it may use, tier discount applied, as the refusal check prices it;
    /// `f64::INFINITY` when the system has no GPU it may use.
    pub list_unit_price_usd: f64,
    /// Its region.
    pub region: usize,
    /// Whether it was priced out (it could use some class, but afforded none).
    pub priced_out: bool,
    /// The slowest class speed it accepts (0: any).
    pub min_speed: f64,
}

/// Work of `region`'s priced-out arrivals whose maximum price covers the provider's cost
/// per reference GPU-hour of the cheapest class each may use (`unit_costs`: (speed, cost)
/// of each class the region offers): demand that would buy if there were capacity to sell
/// it at a price it accepts, reference GPU-hours.
pub fn work_covering_cost(
    arrivals: &[ArrivalSeen],
    region: usize,
    unit_costs: &[(f64, f64)],
) -> f64 {
    arrivals
        .iter()
        .filter(|a| a.region == region && a.priced_out)
        .filter(|a| {
            let cheapest = unit_costs
                .iter()
                .filter(|&&(speed, _)| speed >= a.min_speed)
                .map(|&(_, cost)| cost)
                .fold(f64::INFINITY, f64::min);
            cheapest.is_finite() && a.max_price_usd >= cheapest
        })
        .map(|a| a.work_gpu_hours)
        .sum()
}

/// The price factor at which the period's demand fills `target` of `capacity_gpu_hours`:
/// the largest factor f with Σ work × 1[maximum price ≥ f × list unit price] ≥ target ×
/// capacity, over every arrival the system could serve (priced-out ones included; one
/// without a maximum counts at any price). `f64::INFINITY` when jobs without a maximum
/// alone fill it, 0 when all the demand together does not.
pub fn clearing_factor(arrivals: &[ArrivalSeen], capacity_gpu_hours: f64, target: f64) -> f64 {
    let wanted = target * capacity_gpu_hours;
    let mut thresholds: Vec<(f64, f64)> = arrivals
        .iter()
        .filter(|a| a.list_unit_price_usd.is_finite())
        .map(|a| {
            let threshold = if a.list_unit_price_usd > 0.0 {
                a.max_price_usd / a.list_unit_price_usd
            } else {
                f64::INFINITY
            };
            (threshold, a.work_gpu_hours)
        })
        .collect();
    thresholds.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut work = 0.0;
    for (threshold, gpu_hours) in thresholds {
        work += gpu_hours;
        if work >= wanted {
            return threshold;
        }
    }
    0.0
}

/// The price factor (current price ÷ the list's reference price) after a review.
/// `reference_usd` is the list's reference-class price; `factor` today's factor.
pub fn next_price_factor(
    policy: &PricePolicy,
    reference_usd: f64,
    factor: f64,
    view: &PeriodView,
) -> f64 {
    match *policy {
        PricePolicy::Fixed => factor,
        PricePolicy::Scheduled { annual_decline } => {
            (1.0 - annual_decline).powf(view.now / HOURS_PER_YEAR)
        }
        PricePolicy::Path { ref points } => {
            let current = points
                .iter()
                .take_while(|&&(at, _)| at <= view.now)
                .last()
                .map_or(reference_usd, |&(_, price)| price);
            if reference_usd > 0.0 {
                current / reference_usd
            } else {
                factor
            }
        }
        PricePolicy::UtilizationTarget {
            target,
            sensitivity,
            max_step,
            floor_usd,
            ceiling_usd,
        } => {
            let step = (sensitivity * (view.utilization - target)).clamp(-max_step, max_step);
            let price = (reference_usd * factor * (1.0 + step)).clamp(floor_usd, ceiling_usd);
            if reference_usd > 0.0 {
                price / reference_usd
            } else {
                factor
            }
        }
        PricePolicy::MarketClearing {
            target,
            max_step,
            floor_usd,
            ceiling_usd,
        } => {
            if reference_usd <= 0.0 || view.capacity_work_gpu_hours <= 0.0 {
                return factor;
            }
            let clearing = clearing_factor(&view.arrivals, view.capacity_work_gpu_hours, target);
            let stepped = clearing.clamp(factor * (1.0 - max_step), factor * (1.0 + max_step));
            (reference_usd * stepped).clamp(floor_usd, ceiling_usd) / reference_usd
        }
        // Prices from costs are set class by class ([`cost_plus_prices`]), not by a factor.
        PricePolicy::CostPlus(_) => factor,
    }
}

/// One region of a centralized system at a review.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegionView {
    /// Busy GPU-hours of its (not leaving) sites over the period, each × its class's
    /// speed: capacity used, in reference GPU-hours.
    pub busy_work_gpu_hours: f64,
    /// Reference GPU-hours of work its customers gave up waiting for.
    pub abandoned_work_gpu_hours: f64,
    /// Reference GPU-hours of work priced out that would have covered the provider's
    /// cost ([`work_covering_cost`]; 0 unless the price clears the market).
    pub unmet_work_gpu_hours: f64,
    /// GPUs installed and on order at its sites (less those retiring before an order
    /// could land), each × its class's speed: reference GPUs.
    pub capacity_work_gpus: f64,
    /// GPUs committed to contracts that no committed job uses now, or that it does not
    /// hold yet, in reference GPUs: sold capacity, demand whether used or not.
    pub committed_work_gpus: f64,
}

/// GPUs of a class of speed `speed` to order for a region: demand over the period (work
/// served plus work given up plus unmet work that would cover the cost, all in reference
/// GPU-hours), grown over the mean lead time at the forecast growth, against installed
/// and ordered capacity in reference GPUs; whole servers (`order_multiple`) that bring
/// projected utilization down to the target. `None` when projected demand fits.
pub fn gpus_to_order(
    plan: &Procurement,
    period_hours: f64,
    region: &RegionView,
    speed: f64,
) -> Option<u32> {
    if period_hours <= 0.0 {
        return None;
    }
    let growth =
        (1.0 + plan.forecast_annual_growth).powf(plan.lead_time_hours.mean() / HOURS_PER_YEAR);
    let demand_gpus = (region.busy_work_gpu_hours
        + region.abandoned_work_gpu_hours
        + region.unmet_work_gpu_hours)
        / period_hours
        * growth
        + region.committed_work_gpus;
    if demand_gpus <= plan.target_utilization * region.capacity_work_gpus {
        return None;
    }
    let needed = (demand_gpus / plan.target_utilization - region.capacity_work_gpus) / speed;
    let multiple = f64::from(plan.order_multiple);
    Some(((needed / multiple).ceil() * multiple) as u32)
}

/// The class procurement buys at `now`: of `allowed` (indices into `classes`), the one
/// available most recently (the newest), then the one with the most work per dollar new
/// now, then the one listed last; `default` when nothing is listed; `None` when nothing
/// listed is available yet.
pub fn class_to_buy(
    allowed: &[usize],
    classes: &[GpuClass],
    default: usize,
    now: Hours,
) -> Option<usize> {
    if allowed.is_empty() {
        return Some(default);
    }
    let work_per_usd = |c: &GpuClass| c.speed / (c.capex_usd * c.price_factor(now)).max(1e-9);
    allowed
        .iter()
        .copied()
        .filter(|&idx| classes[idx].available_from_hours <= now)
        .max_by(|&a, &b| {
            let (a, b) = (&classes[a], &classes[b]);
            a.available_from_hours
                .total_cmp(&b.available_from_hours)
                .then(work_per_usd(a).total_cmp(&work_per_usd(b)))
        })
}

/// An operator's standing at a review under the exit rule: its count of consecutive low
/// reviews after this one, and whether it leaves now.
pub fn exit_decision(rule: &Exit, low_reviews: u32, period_yield: f64) -> (u32, bool) {
    let low_reviews = if period_yield < rule.below_yield {
        low_reviews + 1
    } else {
        0
    };
    (low_reviews, low_reviews >= rule.after_reviews)
}

/// The network's trailing yield, annualised: operators' operating cash over the period
/// ÷ their capital, × periods per year; 0 without capital or time.
pub fn network_yield(cash_usd: f64, capital_usd: f64, period_hours: f64) -> f64 {
    if capital_usd > 0.0 && period_hours > 0.0 {
        cash_usd / capital_usd * HOURS_PER_YEAR / period_hours
    } else {
        0.0
    }
}

/// Operators that decide to join at a review: while the network's trailing yield beats
/// the hurdle, up to `per_review`, never past `max_operators` counting those present
/// and those still onboarding.
pub fn operators_joining(rule: &Entry, network_yield: f64, present: u64) -> u64 {
    if network_yield <= rule.hurdle_yield {
        return 0;
    }
    u64::from(rule.max_operators)
        .saturating_sub(present)
        .min(u64::from(rule.per_review))
}

/// What a potential operator of an entry pool reads at a review: the demand the
/// provider saw over the period and the capacity that serves it, in reference GPU-hours.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EntryMarket {
    /// Work the provider's sites did, plus work that gave up waiting for the market, plus
    /// the work still waiting at the review (as if it came within the next period).
    pub demand_work_gpu_hours: f64,
    /// Up (busy and idle) GPU-hours of its sites × their speed.
    pub capacity_work_gpu_hours: f64,
    /// Hours of the period.
    pub period_hours: f64,
}

/// The utilization a potential operator expects: the period's demand over the capacity
/// that would serve it once `added_work_gpus` more reference GPUs are offered (those
/// already on their way and its own), capped at 1; 1 when there is demand and nothing to
/// serve it, 0 when there is none. Entrants dilute each other, so a supply curve joins
/// until the capacity added meets the demand seen.
pub fn entrant_utilization(market: &EntryMarket, added_work_gpus: f64) -> f64 {
    let capacity = market.capacity_work_gpu_hours + added_work_gpus * market.period_hours;
    if capacity <= 0.0 {
        return if market.demand_work_gpu_hours > 0.0 {
            1.0
        } else {
            0.0
        };
    }
    (market.demand_work_gpu_hours / capacity).min(1.0)
}

/// What one potential operator would make per listed GPU-hour above what its capital
/// needs at `reservation_yield`, USD: it sells `utilization` of the hours its GPUs are
/// offered (`offered_share` of them: an owner's own use takes the rest) at
/// `price_usd_per_gpu_hour` (what it keeps after the protocol's take), less the cost of
/// an installed GPU-hour at that utilization and that rate
/// ([`cost_per_installed_gpu_hour`]: capital recovered at the rate, or for owned GPUs
/// (rate + the resale curve's decline) × their value; power, facility), on the offered
/// share, less its fixed costs over all its GPUs. It joins when this is positive: its own
/// expected yield beats its reservation yield (the cost is increasing in the rate).
pub fn entrant_margin_usd_per_gpu_hour(
    cost: &SiteCost,
    offered_share: f64,
    price_usd_per_gpu_hour: f64,
    utilization: f64,
    reservation_yield: f64,
) -> f64 {
    let fixed = if cost.gpus > 0 {
        cost.costs.fixed_usd_per_year / HOURS_PER_YEAR / f64::from(cost.gpus)
    } else {
        0.0
    };
    let offered_cost = cost_per_installed_gpu_hour(cost, utilization, reservation_yield) - fixed;
    offered_share * (utilization * price_usd_per_gpu_hour - offered_cost) - fixed
}

/// An operator's reinvestment at a review: it adds `share` of its positive operating
/// cash to its fund, then buys as many whole GPUs at `price_usd` as the fund covers.
/// Returns the fund left and the GPUs bought (none when GPUs have no price).
pub fn reinvestment(share: f64, fund_usd: f64, cash_usd: f64, price_usd: f64) -> (f64, u32) {
    let mut fund_usd = fund_usd;
    if cash_usd > 0.0 {
        fund_usd += share * cash_usd;
    }
    if price_usd <= 0.0 || fund_usd < price_usd {
        return (fund_usd, 0);
    }
    let gpus = (fund_usd / price_usd).floor();
    fund_usd -= gpus * price_usd;
    (fund_usd, gpus as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::Dist;

    fn view(now: Hours, utilization: f64) -> PeriodView {
        PeriodView {
            now,
            period_hours: 168.0,
            utilization,
            ..PeriodView::default()
        }
    }

    #[test]
    fn fixed_prices_never_move() {
        assert_eq!(
            next_price_factor(&PricePolicy::Fixed, 2.0, 0.9, &view(5000.0, 1.0)),
            0.9
        );
    }

    /// −20% a year, compounded: after half a year the factor is 0.8^0.5.
    #[test]
    fn a_scheduled_decline_compounds_by_the_hour() {
        let policy = PricePolicy::Scheduled {
            annual_decline: 0.2,
        };
        let factor = next_price_factor(&policy, 6.0, 1.0, &view(4380.0, 0.5));
        assert!((factor - 0.8f64.sqrt()).abs() < 1e-15, "{factor}");
        assert_eq!(next_price_factor(&policy, 6.0, 0.7, &view(0.0, 0.5)), 1.0);
    }

    /// A path reads the last point at or before now; before the first, the list price.
    #[test]
    fn a_price_path_steps_at_its_points() {
        let policy = PricePolicy::Path {
            points: vec![(100.0, 5.0), (200.0, 4.0)],
        };
        let at = |now| next_price_factor(&policy, 6.0, 1.0, &view(now, 0.5));
        assert_eq!(at(50.0), 1.0);
        assert_eq!(at(100.0), 5.0 / 6.0);
        assert_eq!(at(199.0), 5.0 / 6.0);
        assert_eq!(at(1000.0), 4.0 / 6.0);
        // Unpriced (reference 0): nothing to scale.
        assert_eq!(next_price_factor(&policy, 0.0, 1.0, &view(150.0, 0.5)), 1.0);
    }

    /// 10 points above a 0.7 target at sensitivity 1 raise the price 10%, bounded by the
    /// step, the floor and the ceiling.
    #[test]
    fn a_utilization_target_moves_the_price_toward_it_in_bounded_steps() {
        let policy = |max_step, floor_usd, ceiling_usd| PricePolicy::UtilizationTarget {
            target: 0.7,
            sensitivity: 1.0,
            max_step,
            floor_usd,
            ceiling_usd,
        };
        let at = |p: &PricePolicy, u| next_price_factor(p, 2.0, 1.0, &view(168.0, u));
        assert!((at(&policy(0.5, 0.0, 10.0), 0.8) - 1.1).abs() < 1e-12);
        assert!((at(&policy(0.5, 0.0, 10.0), 0.6) - 0.9).abs() < 1e-12);
        assert!(
            (at(&policy(0.05, 0.0, 10.0), 0.8) - 1.05).abs() < 1e-12,
            "step bound"
        );
        assert!(
            (at(&policy(0.05, 0.0, 10.0), 0.1) - 0.95).abs() < 1e-12,
            "step bound"
        );
        assert_eq!(at(&policy(0.5, 0.0, 2.1), 1.0), 2.1 / 2.0, "ceiling");
        assert_eq!(at(&policy(0.5, 1.9, 10.0), 0.0), 1.9 / 2.0, "floor");
        assert_eq!(at(&policy(0.5, 0.0, 10.0), 0.7), 1.0, "on target");
    }

    /// Of H100 (from 0), B200 (from week 20) and H200 (from 0), procurement allowed all
    /// three buys the H100 or H200 before week 20 — the H200's 1.3 per $35,000 is more
    /// work per dollar than the H100's 1 per $30,000 — and the B200 from week 20; allowed
    /// none, the region's own class; allowed only the B200, nothing before it exists.
    #[test]
    fn procurement_buys_the_newest_class_it_may() {
        let mut classes = crate::scenario::supply::builtin_classes();
        classes[2].available_from_hours = 20.0 * 168.0;
        let all = [0, 2, 1];
        assert_eq!(class_to_buy(&all, &classes, 0, 100.0), Some(1));
        assert_eq!(class_to_buy(&all, &classes, 0, 3360.0), Some(2));
        assert_eq!(class_to_buy(&[], &classes, 3, 100.0), Some(3));
        assert_eq!(class_to_buy(&[2], &classes, 0, 3359.0), None);
        // A class whose price falls overtakes one of the same vintage in work per dollar.
        classes[0].annual_cost_decline = 0.5;
        assert_eq!(class_to_buy(&[0, 1], &classes, 0, 2.0 * 8760.0), Some(0));
    }

    fn plan(target_utilization: f64, growth: f64) -> Procurement {
        Procurement {
            target_utilization,
            lead_time_hours: Dist::Constant(HOURS_PER_YEAR),
            order_multiple: 8,
            forecast_annual_growth: growth,
            power_lead_time_hours: None,
            service_life_years: None,
            gpu_classes: Vec::new(),
        }
    }

    /// 100 GPUs busy all period against 100 installed at a 0.8 target: 100 ÷ 0.8 − 100 =
    /// 25 more, rounded up to whole 8-GPU servers = 32. With 50% growth over the one-year
    /// lead time, 150 ÷ 0.8 − 100 = 87.5 → 88.
    #[test]
    fn procurement_orders_whole_servers_to_the_target() {
        let region = |busy, abandoned, capacity| RegionView {
            busy_work_gpu_hours: busy,
            abandoned_work_gpu_hours: abandoned,
            unmet_work_gpu_hours: 0.0,
            capacity_work_gpus: capacity,
            committed_work_gpus: 0.0,
        };
        let period = 168.0;
        assert_eq!(
            gpus_to_order(
                &plan(0.8, 0.0),
                period,
                &region(100.0 * period, 0.0, 100.0),
                1.0
            ),
            Some(32)
        );
        assert_eq!(
            gpus_to_order(
                &plan(0.8, 0.5),
                period,
                &region(100.0 * period, 0.0, 100.0),
                1.0
            ),
            Some(88)
        );
        // Bought as B200s (speed 2.2), the 25 reference GPUs missing are 11.4 → 16 GPUs.
        assert_eq!(
            gpus_to_order(
                &plan(0.8, 0.0),
                period,
                &region(100.0 * period, 0.0, 100.0),
                2.2
            ),
            Some(16)
        );
        // Committed GPUs idle or not held yet count as demand whether used or not: 60
        // reference GPUs busy plus 20 committed idle is the 80 that the target allows.
        let committed = |held_idle| RegionView {
            committed_work_gpus: held_idle,
            ..region(60.0 * period, 0.0, 100.0)
        };
        assert_eq!(
            gpus_to_order(&plan(0.8, 0.0), period, &committed(20.0), 1.0),
            None
        );
        assert_eq!(
            gpus_to_order(&plan(0.8, 0.0), period, &committed(30.0), 1.0),
            Some(16)
        );
        // Work given up counts as demand too.
        assert_eq!(
            gpus_to_order(
                &plan(0.8, 0.0),
                period,
                &region(50.0 * period, 50.0 * period, 100.0),
                1.0
            ),
            Some(32)
        );
        // At or below the target: no order; no period: no order.
        assert_eq!(
            gpus_to_order(
                &plan(0.8, 0.0),
                period,
                &region(80.0 * period, 0.0, 100.0),
                1.0
            ),
            None
        );
        assert_eq!(
            gpus_to_order(&plan(0.8, 0.0), 0.0, &region(1.0, 0.0, 1.0), 1.0),
            None
        );
    }

    /// A market-clearing cloud holding 64 GPUs at 0.8 is at its procurement target
    /// (busy 51.2 GPUs: no order); 3,360 GPU-hours a week of priced-out work that would
    /// cover its cost are 20 GPUs more demand: 71.2 ÷ 0.8 − 64 = 25 → 32 GPUs (servers of 8).
    /// Only priced-out work of the region at or above the cost counts.
    #[test]
    fn priced_out_work_that_covers_the_cost_is_demand_to_plan_for() {
        let priced_out = |max_price_usd, work_gpu_hours, region| ArrivalSeen {
            region,
            priced_out: true,
            ..seen(max_price_usd, work_gpu_hours, 2.0)
        };
        let arrivals = [
            priced_out(3.0, 3_000.0, 0),
            priced_out(2.5, 360.0, 0),
            priced_out(1.5, 900.0, 0),
            seen(9.0, 500.0, 2.0),
            priced_out(9.0, 700.0, 1),
        ];
        let unmet = work_covering_cost(&arrivals, 0, &[(1.0, 2.5)]);
        assert_eq!(unmet, 3_360.0);
        // A job that takes only the faster class (B200s costing $4 per H100-hour of work)
        // counts only when its maximum covers that: the $3 job does not, the $9 one does.
        let fast = |max_price_usd| ArrivalSeen {
            min_speed: 2.0,
            ..priced_out(max_price_usd, 100.0, 0)
        };
        let classes = [(1.0, 2.5), (2.2, 4.0)];
        assert_eq!(
            work_covering_cost(&[fast(3.0), fast(9.0)], 0, &classes),
            100.0
        );
        assert_eq!(work_covering_cost(&[fast(9.0)], 0, &[(1.0, 2.5)]), 0.0);
        let period = 168.0;
        let region = |unmet| RegionView {
            busy_work_gpu_hours: 51.2 * period,
            abandoned_work_gpu_hours: 0.0,
            unmet_work_gpu_hours: unmet,
            capacity_work_gpus: 64.0,
            committed_work_gpus: 0.0,
        };
        assert_eq!(
            gpus_to_order(&plan(0.8, 0.0), period, &region(0.0), 1.0),
            None
        );
        assert_eq!(
            gpus_to_order(&plan(0.8, 0.0), period, &region(unmet), 1.0),
            Some(32)
        );
    }

    /// Three low reviews in a row make an operator leave; one good review resets it.
    #[test]
    fn operators_leave_after_consecutive_low_reviews() {
        let rule = Exit {
            below_yield: 0.05,
            after_reviews: 3,
        };
        assert_eq!(exit_decision(&rule, 0, 0.01), (1, false));
        assert_eq!(exit_decision(&rule, 1, 0.01), (2, false));
        assert_eq!(exit_decision(&rule, 2, 0.01), (3, true));
        assert_eq!(exit_decision(&rule, 2, 0.05), (0, false));
    }

    /// $1,000 of cash a week on $100,000 of capital is 52.14% a year.
    #[test]
    fn network_yield_is_annualised_cash_over_capital() {
        let y = network_yield(1000.0, 100_000.0, 168.0);
        assert!((y - 0.01 * HOURS_PER_YEAR / 168.0).abs() < 1e-15);
        assert_eq!(network_yield(1000.0, 0.0, 168.0), 0.0);
        assert_eq!(network_yield(1000.0, 1.0, 0.0), 0.0);
    }

    #[test]
    fn operators_join_while_the_yield_beats_the_hurdle_within_the_caps() {
        let rule = Entry {
            hurdle_yield: 0.1,
            onboarding_hours: Dist::Constant(168.0),
            per_review: 3,
            max_operators: 10,
            template: Some(crate::scenario::supply::Site::plain(
                "t",
                0,
                0,
                8,
                crate::scenario::supply::Costs::free(),
            )),
            pool: Vec::new(),
        };
        assert_eq!(operators_joining(&rule, 0.1, 0), 0, "at the hurdle: no");
        assert_eq!(operators_joining(&rule, 0.2, 0), 3);
        assert_eq!(operators_joining(&rule, 0.2, 8), 2, "room for two");
        assert_eq!(operators_joining(&rule, 0.2, 12), 0);
    }

    /// 800 GPU-hours of demand a 100-hour period against 400 up: one more 8-GPU
    /// entrant expects 800 ÷ (400 + 8 × 100) = 2/3; with nothing up, all of it (or none).
    #[test]
    fn entrants_expect_the_demand_over_the_capacity_they_would_join() {
        let market = EntryMarket {
            demand_work_gpu_hours: 800.0,
            capacity_work_gpu_hours: 400.0,
            period_hours: 100.0,
        };
        assert_eq!(entrant_utilization(&market, 0.0), 1.0, "capped at 1");
        assert!((entrant_utilization(&market, 8.0) - 2.0 / 3.0).abs() < 1e-15);
        let empty = EntryMarket {
            capacity_work_gpu_hours: 0.0,
            ..market
        };
        assert_eq!(entrant_utilization(&empty, 0.0), 1.0);
        let idle = EntryMarket {
            demand_work_gpu_hours: 0.0,
            ..empty
        };
        assert_eq!(entrant_utilization(&idle, 0.0), 0.0);
    }

    /// By hand: an owned GPU worth $9,000 on a curve losing k = 0.4 a year, no running
    /// costs, fully used at $1.00 kept an hour earns $8,760 a year: a yield of
    /// 8,760 ÷ 9,000 − 0.4 = 0.5733. Just below that reservation it joins, just above it
    /// does not; offered half the time, it earns half on half the capital: the same.
    #[test]
    fn an_owned_gpu_joins_when_its_cash_beats_its_value_at_the_reservation_yield() {
        let costs = Costs {
            capex_usd_per_gpu: 0.0,
            capital_usd_per_gpu: 9_000.0,
            electricity_usd_per_kwh: 0.0,
            facility_usd_per_kw_month: 0.0,
            fixed_usd_per_year: 0.0,
            ..data_center()
        };
        let cost = SiteCost {
            class: 0,
            gpus: 8,
            costs: &costs,
            power_kw: 1.0,
            value_factor: 1.0,
            value_decline_per_year: 0.4,
            capex_factor: 1.0,
        };
        let boundary = HOURS_PER_YEAR / 9_000.0 - 0.4;
        for share in [1.0, 0.5] {
            assert!(entrant_margin_usd_per_gpu_hour(&cost, share, 1.0, 1.0, boundary - 1e-9) > 0.0);
            assert!(entrant_margin_usd_per_gpu_hour(&cost, share, 1.0, 1.0, boundary + 1e-9) < 0.0);
        }
        // At half the utilization it needs twice the price.
        assert!(entrant_margin_usd_per_gpu_hour(&cost, 1.0, 2.0, 0.5, boundary).abs() < 1e-12);
    }

    /// A bought GPU: $30,000 over 5 years, 30% left, at a 10% reservation yield needs
    /// $6,439.75 a year (the capital-recovery test above) plus its power and facility;
    /// with $100,000 a year of fixed costs over 8 GPUs, $12,500 more each.
    #[test]
    fn a_bought_gpu_joins_when_the_price_covers_its_capital_recovery() {
        let costs = data_center();
        let cost = SiteCost {
            class: 0,
            gpus: 8,
            costs: &costs,
            power_kw: 1.275,
            value_factor: 1.0,
            value_decline_per_year: 0.4,
            capex_factor: 1.0,
        };
        let running = 1.275 * 1.2 * 0.08 + 1.275 * 150.0 / HOURS_PER_MONTH;
        let price = (6_439.747_096_7 + 12_500.0) / HOURS_PER_YEAR + running;
        let margin = |p: f64| entrant_margin_usd_per_gpu_hour(&cost, 1.0, p, 1.0, 0.10);
        assert!(margin(price).abs() < 1e-9, "{}", margin(price));
        assert!(margin(price * 1.001) > 0.0);
        assert!(margin(price * 0.999) < 0.0);
    }

    fn data_center() -> Costs {
        Costs {
            capex_usd_per_gpu: 30_000.0,
            capital_usd_per_gpu: 30_000.0,
            age_years: 0.0,
            depreciation_years: 5.0,
            residual_fraction: 0.3,
            electricity_usd_per_kwh: 0.08,
            pue: 1.2,
            idle_power_fraction: 0.15,
            facility_usd_per_kw_month: 150.0,
            fixed_usd_per_year: 100_000.0,
        }
    }

    /// Capital recovery by hand: $30,000 over 5 years at 10% with $9,000 left is
    /// (30,000 − 9,000 × 1.1⁻⁵) × 0.1 ÷ (1 − 1.1⁻⁵) = $6,439.75 a year; at 0% it is the
    /// straight line, $4,200.
    #[test]
    fn capital_recovery_is_the_annuity_that_repays_capex_less_residual() {
        let yearly = capital_recovery_usd_per_year(30_000.0, 9_000.0, 5.0, 0.10);
        assert!((yearly - 6_439.747_096_7).abs() < 1e-6, "{yearly}");
        assert_eq!(
            capital_recovery_usd_per_year(30_000.0, 9_000.0, 5.0, 0.0),
            4_200.0
        );
        // Repaying the annuity's present value returns the capex exactly.
        let pv: f64 = (1..=5).map(|year| yearly * 1.1f64.powi(-year)).sum::<f64>()
            + 9_000.0 * 1.1f64.powi(-5);
        assert!((pv - 30_000.0).abs() < 1e-6, "{pv}");
    }

    /// A data center's H100 (0.7 kW) sold at 70% with a 25% margin, by hand per installed
    /// hour: capital 6,439.75 ÷ 8,760 = 0.735131; power (0.7 + 0.3 × 0.15) × 0.7 kW × 1.2 ×
    /// $0.08 = 0.050064; facility 0.7 kW × $150 ÷ 730 h = 0.143836; fixed $100,000 ÷
    /// 8,760 h ÷ 64 GPUs = 0.178368; total 1.107398, ÷ 0.7 × 1.25 = $1.977497 per hour sold.
    #[test]
    fn a_cost_plus_price_is_the_cost_of_an_hour_sold_plus_margin() {
        let costs = data_center();
        let site = SiteCost {
            class: 0,
            gpus: 64,
            costs: &costs,
            power_kw: 0.7,
            value_factor: 1.0,
            value_decline_per_year: 0.0,
            capex_factor: 1.0,
        };
        let per_installed = cost_per_installed_gpu_hour(&site, 0.7, 0.10);
        assert!(
            (per_installed - 1.107_398_143_5).abs() < 1e-9,
            "{per_installed}"
        );
        let terms = CostPlusTerms {
            margin: 0.25,
            planned_utilization: 0.7,
            cost_of_capital: 0.10,
        };
        let prices = cost_plus_prices(2, [site], &terms, 0.0);
        let price = prices[0].expect("class 0 is offered");
        assert!((price - 1.977_496_684_7).abs() < 1e-9, "{price}");
        assert_eq!(prices[1], None, "a class no site offers has no cost price");
        // Selling fewer of the hours spreads the same costs over fewer: dearer.
        let half = cost_plus_prices(
            1,
            [site],
            &CostPlusTerms {
                planned_utilization: 0.5,
                ..terms
            },
            0.0,
        );
        assert!(half[0].unwrap() > price * 1.3);
    }

    /// An owner of sunk H100s worth $9,000 each (no capex) at 10%: 900 ÷ 8,760 = 0.102740
    /// an hour of opportunity cost, plus power (0.5 + 0.5 × 0.15) × 0.7 kW × 1.56 × $0.12 =
    /// 0.075348; total 0.178088, ÷ 0.5 sold = 0.356175, ÷ (1 − 0.2 take) = $0.445219 so
    /// the operator keeps its cost. Aged to half that value on the default resale curve
    /// (k = −ln 0.3 ÷ 3 = 0.401324 a year), the capital term is (0.10 + 0.401324) × $4,500
    /// ÷ 8,760 = 0.257530 an hour: the value lost a year, V′ = −k·V, adds to the cost.
    #[test]
    fn an_owner_of_sunk_gpus_prices_their_opportunity_cost() {
        let costs = Costs {
            capex_usd_per_gpu: 0.0,
            capital_usd_per_gpu: 9_000.0,
            electricity_usd_per_kwh: 0.12,
            pue: 1.56,
            idle_power_fraction: 0.15,
            ..Costs::free()
        };
        let site = SiteCost {
            class: 0,
            gpus: 4,
            costs: &costs,
            power_kw: 0.7,
            value_factor: 1.0,
            value_decline_per_year: 0.0,
            capex_factor: 1.0,
        };
        let terms = CostPlusTerms {
            margin: 0.0,
            planned_utilization: 0.5,
            cost_of_capital: 0.10,
        };
        let price = cost_plus_prices(1, [site], &terms, 0.2)[0].unwrap();
        assert!((price - 0.445_219_315_07).abs() < 1e-9, "{price}");
        let aged = SiteCost {
            value_factor: 0.5,
            value_decline_per_year: -(0.3f64.ln()) / 3.0,
            ..site
        };
        let capital = cost_per_installed_gpu_hour(&aged, 0.5, 0.10)
            - cost_per_installed_gpu_hour(
                &SiteCost {
                    costs: &Costs {
                        capital_usd_per_gpu: 0.0,
                        ..costs.clone()
                    },
                    ..aged
                },
                0.5,
                0.10,
            );
        assert!((capital - 0.257_529_590).abs() < 1e-8, "{capital}");
    }

    /// Two sites of one class: 8 GPUs costing a and 24 costing b price at (8a + 24b) ÷ 32;
    /// a site with no GPUs weighs nothing.
    #[test]
    fn a_class_is_priced_from_its_sites_gpu_weighted_cost() {
        let (cheap, dear) = (
            Costs {
                electricity_usd_per_kwh: 0.05,
                ..data_center()
            },
            data_center(),
        );
        let site = |gpus, costs| SiteCost {
            class: 0,
            gpus,
            costs,
            power_kw: 0.7,
            value_factor: 1.0,
            value_decline_per_year: 0.0,
            capex_factor: 1.0,
        };
        let terms = CostPlusTerms {
            margin: 0.0,
            planned_utilization: 1.0,
            cost_of_capital: 0.10,
        };
        let (a, b) = (
            cost_per_installed_gpu_hour(&site(8, &cheap), 1.0, 0.10),
            cost_per_installed_gpu_hour(&site(24, &dear), 1.0, 0.10),
        );
        let price = cost_plus_prices(
            1,
            [site(8, &cheap), site(24, &dear), site(0, &cheap)],
            &terms,
            0.0,
        )[0]
        .unwrap();
        assert!(
            (price - (8.0 * a + 24.0 * b) / 32.0).abs() < 1e-12,
            "{price}"
        );
    }

    fn seen(max_price_usd: f64, work_gpu_hours: f64, list_unit_price_usd: f64) -> ArrivalSeen {
        ArrivalSeen {
            max_price_usd,
            work_gpu_hours,
            list_unit_price_usd,
            region: 0,
            priced_out: false,
            min_speed: 0.0,
        }
    }

    /// Demand at factor f is the work of arrivals with maximum ≥ f × list. With list $2 and
    /// maxima $8, $6, $4, $3 (thresholds 4, 3, 2, 1.5) of 10 GPU-hours each, 25 GPU-hours
    /// wanted are reached at the third: factor 2. Jobs without a maximum count at any
    /// factor; unserviceable ones not at all.
    #[test]
    fn the_clearing_factor_is_where_demand_meets_the_target() {
        let arrivals = [
            seen(6.0, 10.0, 2.0),
            seen(3.0, 10.0, 2.0),
            seen(8.0, 10.0, 2.0),
            seen(4.0, 10.0, 2.0),
            seen(100.0, 50.0, f64::INFINITY),
        ];
        assert_eq!(clearing_factor(&arrivals, 50.0, 0.5), 2.0);
        assert_eq!(
            clearing_factor(&arrivals, 50.0, 0.2),
            4.0,
            "exactly met at the first"
        );
        assert_eq!(
            clearing_factor(&arrivals, 50.0, 0.9),
            0.0,
            "demand never fills it"
        );
        let mut with_open = arrivals.to_vec();
        with_open.push(seen(f64::INFINITY, 30.0, 2.0));
        assert_eq!(clearing_factor(&with_open, 50.0, 0.5), f64::INFINITY);
        assert_eq!(clearing_factor(&with_open, 50.0, 0.7), 4.0);
    }

    /// The market-clearing price moves toward the clearing price by at most `max_step`,
    /// within the floor and the ceiling, and stays put without capacity.
    #[test]
    fn a_market_clearing_price_steps_toward_the_clearing_price() {
        let policy = |max_step, floor_usd, ceiling_usd| PricePolicy::MarketClearing {
            target: 0.5,
            max_step,
            floor_usd,
            ceiling_usd,
        };
        let view = PeriodView {
            arrivals: vec![
                seen(6.0, 10.0, 2.0),
                seen(3.0, 10.0, 2.0),
                seen(8.0, 10.0, 2.0),
            ],
            capacity_work_gpu_hours: 40.0,
            ..PeriodView::default()
        };
        // 20 GPU-hours wanted: reached at the second threshold, 3 (price $6 on a $2 list).
        let at = |p: &PricePolicy, factor| next_price_factor(p, 2.0, factor, &view);
        assert_eq!(at(&policy(1.0, 0.0, 100.0), 2.5), 3.0);
        assert!(
            (at(&policy(0.1, 0.0, 100.0), 2.5) - 2.75).abs() < 1e-12,
            "bounded step up"
        );
        assert!(
            (at(&policy(0.1, 0.0, 100.0), 4.0) - 3.6).abs() < 1e-12,
            "bounded step down"
        );
        assert_eq!(at(&policy(1.0, 0.0, 5.0), 2.5), 2.5, "the $5 ceiling");
        assert_eq!(at(&policy(1.0, 7.0, 100.0), 2.5), 3.5, "the $7 floor");
        let empty = PeriodView {
            capacity_work_gpu_hours: 0.0,
            ..view.clone()
        };
        assert_eq!(
            next_price_factor(&policy(1.0, 0.0, 100.0), 2.0, 1.3, &empty),
            1.3
        );
    }

    /// A fund of $20,000 plus half of $30,000 of cash buys one $30,000 GPU, $5,000 left.
    #[test]
    fn reinvestment_buys_whole_gpus_from_the_fund() {
        assert_eq!(
            reinvestment(0.5, 20_000.0, 30_000.0, 30_000.0),
            (5_000.0, 1)
        );
        assert_eq!(
            reinvestment(0.5, 20_000.0, -5_000.0, 30_000.0),
            (20_000.0, 0),
            "losses add nothing"
        );
        assert_eq!(reinvestment(1.0, 0.0, 100_000.0, 30_000.0), (10_000.0, 3));
        assert_eq!(
            reinvestment(1.0, 0.0, 100_000.0, 0.0),
            (100_000.0, 0),
            "no price: no purchase"
        );
    }
}
