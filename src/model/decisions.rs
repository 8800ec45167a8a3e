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

use crate::scenario::supply::{Costs, Entry, Exit, PricePolicy, Procurement};
use crate::units::{HOURS_PER_YEAR, Hours};

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
    /// Per GPU class, the current costs of the sites that offer it ([`class_costs`];
    /// `None` for a class no site offers): what a cost-based price is built from.
    pub class_costs: Vec<Option<ClassCosts>>,
}

/// The costs of one GPU class across a system's sites: each per-GPU cost is the mean
/// weighted by installed GPUs, and `fixed_usd_per_year` is the class's sites' total (÷
/// `gpus` for a share per GPU).
#[derive(Debug, Clone, PartialEq)]
pub struct ClassCosts {
    /// GPUs installed at the sites counted.
    pub gpus: u64,
    /// The costs, as above.
    pub costs: Costs,
}

/// The [`ClassCosts`] of each of `classes` GPU classes from `(class, installed GPUs,
/// costs)` of every site counted (sites without GPUs count for nothing).
pub fn class_costs<'c>(
    classes: usize,
    sites: impl IntoIterator<Item = (usize, u32, &'c Costs)>,
) -> Vec<Option<ClassCosts>> {
    let zero = Costs {
        depreciation_years: 0.0,
        pue: 0.0,
        ..Costs::free()
    };
    let mut sums: Vec<Option<ClassCosts>> = vec![None; classes];
    for (class, gpus, costs) in sites.into_iter().filter(|&(_, gpus, _)| gpus > 0) {
        let w = f64::from(gpus);
        let sum = sums[class].get_or_insert_with(|| ClassCosts {
            gpus: 0,
            costs: zero.clone(),
        });
        sum.gpus += u64::from(gpus);
        let c = &mut sum.costs;
        c.capex_usd_per_gpu += costs.capex_usd_per_gpu * w;
        c.capital_usd_per_gpu += costs.capital_usd_per_gpu * w;
        c.depreciation_years += costs.depreciation_years * w;
        c.residual_fraction += costs.residual_fraction * w;
        c.electricity_usd_per_kwh += costs.electricity_usd_per_kwh * w;
        c.pue += costs.pue * w;
        c.idle_power_fraction += costs.idle_power_fraction * w;
        c.facility_usd_per_kw_month += costs.facility_usd_per_kw_month * w;
        c.fixed_usd_per_year += costs.fixed_usd_per_year;
    }
    for sum in sums.iter_mut().flatten() {
        let n = sum.gpus as f64;
        let c = &mut sum.costs;
        for mean in [
            &mut c.capex_usd_per_gpu,
            &mut c.capital_usd_per_gpu,
            &mut c.depreciation_years,
            &mut c.residual_fraction,
            &mut c.electricity_usd_per_kwh,
            &mut c.pue,
            &mut c.idle_power_fraction,
            &mut c.facility_usd_per_kw_month,
        ] {
            *mean /= n;
        }
    }
    sums
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
    }
}

/// One region of a centralized system at a review.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegionView {
    /// Busy GPU-hours of its (not leaving) sites over the period.
    pub busy_gpu_hours: f64,
    /// Reference GPU-hours of work its customers gave up waiting for.
    pub abandoned_work_gpu_hours: f64,
    /// GPUs installed and on order at its sites.
    pub capacity_gpus: f64,
}

/// GPUs to order for a region: demand over the period (GPU-hours served plus those
/// given up), grown over the mean lead time at the forecast growth, against installed
/// and ordered GPUs; whole servers (`order_multiple`) that bring projected utilization
/// down to the target. `None` when projected demand fits.
pub fn gpus_to_order(plan: &Procurement, period_hours: f64, region: &RegionView) -> Option<u32> {
    if period_hours <= 0.0 {
        return None;
    }
    let growth =
        (1.0 + plan.forecast_annual_growth).powf(plan.lead_time_hours.mean() / HOURS_PER_YEAR);
    let demand_gpus =
        (region.busy_gpu_hours + region.abandoned_work_gpu_hours) / period_hours * growth;
    if demand_gpus <= plan.target_utilization * region.capacity_gpus {
        return None;
    }
    let needed = demand_gpus / plan.target_utilization - region.capacity_gpus;
    let multiple = f64::from(plan.order_multiple);
    Some(((needed / multiple).ceil() * multiple) as u32)
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

    fn plan(target_utilization: f64, growth: f64) -> Procurement {
        Procurement {
            target_utilization,
            lead_time_hours: Dist::Constant(HOURS_PER_YEAR),
            order_multiple: 8,
            forecast_annual_growth: growth,
            power_lead_time_hours: None,
        }
    }

    /// 100 GPUs busy all period against 100 installed at a 0.8 target: 100 ÷ 0.8 − 100 =
    /// 25 more, rounded up to whole 8-GPU servers = 32. With 50% growth over the one-year
    /// lead time, 150 ÷ 0.8 − 100 = 87.5 → 88.
    #[test]
    fn procurement_orders_whole_servers_to_the_target() {
        let region = |busy, abandoned, capacity| RegionView {
            busy_gpu_hours: busy,
            abandoned_work_gpu_hours: abandoned,
            capacity_gpus: capacity,
        };
        let period = 168.0;
        assert_eq!(
            gpus_to_order(&plan(0.8, 0.0), period, &region(100.0 * period, 0.0, 100.0)),
            Some(32)
        );
        assert_eq!(
            gpus_to_order(&plan(0.8, 0.5), period, &region(100.0 * period, 0.0, 100.0)),
            Some(88)
        );
        // Work given up counts as demand too.
        assert_eq!(
            gpus_to_order(
                &plan(0.8, 0.0),
                period,
                &region(50.0 * period, 50.0 * period, 100.0)
            ),
            Some(32)
        );
        // At or below the target: no order; no period: no order.
        assert_eq!(
            gpus_to_order(&plan(0.8, 0.0), period, &region(80.0 * period, 0.0, 100.0)),
            None
        );
        assert_eq!(
            gpus_to_order(&plan(0.8, 0.0), 0.0, &region(1.0, 0.0, 1.0)),
            None
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
            template: crate::scenario::supply::Site::plain(
                "t",
                0,
                0,
                8,
                crate::scenario::supply::Costs::free(),
            ),
        };
        assert_eq!(operators_joining(&rule, 0.1, 0), 0, "at the hurdle: no");
        assert_eq!(operators_joining(&rule, 0.2, 0), 3);
        assert_eq!(operators_joining(&rule, 0.2, 8), 2, "room for two");
        assert_eq!(operators_joining(&rule, 0.2, 12), 0);
    }

    /// 8 GPUs at $30,000 and $0.10/kWh with 24 at $20,000 and $0.06/kWh: means $22,500
    /// and $0.07; $40,000 of fixed costs on 32 GPUs is $1,250 per GPU-year; a class no
    /// site offers has none.
    #[test]
    fn class_costs_are_gpu_weighted_means() {
        let costs = |capex, kwh, fixed| Costs {
            capex_usd_per_gpu: capex,
            electricity_usd_per_kwh: kwh,
            fixed_usd_per_year: fixed,
            ..Costs::free()
        };
        let (a, b) = (
            costs(30_000.0, 0.10, 10_000.0),
            costs(20_000.0, 0.06, 30_000.0),
        );
        let by_class = class_costs(3, [(0, 8, &a), (0, 24, &b), (2, 0, &a)]);
        let class = by_class[0].clone().expect("class 0 has GPUs");
        let c = &class.costs;
        assert_eq!(class.gpus, 32);
        assert_eq!(c.capex_usd_per_gpu, 22_500.0);
        assert!((c.electricity_usd_per_kwh - 0.07).abs() < 1e-15);
        assert_eq!(c.fixed_usd_per_year / class.gpus as f64, 1_250.0);
        assert_eq!(
            (c.pue, c.depreciation_years),
            (1.0, 1.0),
            "means of 1 and 1"
        );
        assert_eq!(by_class[1], None);
        assert_eq!(by_class[2], None, "a site without GPUs weighs nothing");
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
