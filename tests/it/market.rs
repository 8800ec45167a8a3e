//! Several providers in one architecture: customers take the provider with room whose
//! effective cost is lowest (their own region breaking ties), overflow goes to the next,
//! and a queue is shared by the market. Checked against closed forms of ordered hunting and pooled servers.
//!
//! Method as in `closed_form.rs`: each check passes when the replication mean is within
//! t·s/√n of the closed form, with a Bonferroni correction over a test's checks.

use capsim::metrics::catalog::Metric;
use capsim::metrics::{ProviderRow, RunMetrics};
use capsim::montecarlo;
use capsim::theory;

use crate::{scenario, within_band};

const REPLICATIONS: usize = 20;

fn run(yaml: &str) -> Vec<RunMetrics> {
    montecarlo::run(&scenario(yaml), None).unwrap_or_else(|e| panic!("{e}\n{yaml}"))
}

fn provider<'r>(row: &'r RunMetrics, name: &str) -> &'r ProviderRow {
    row.providers
        .iter()
        .find(|p| p.provider == name)
        .unwrap_or_else(|| panic!("no provider {name} in {:?}", row.providers))
}

/// Window hours of a provider without failures: its up GPU-hours per GPU.
fn window_hours(row: &ProviderRow) -> f64 {
    row.up_gpu_hours / row.gpus_at_start as f64
}

fn market(name: &str, demand: &str, providers: &str, members: &str) -> String {
    format!(
        "name: {name}
simulation: {{horizon_hours: 2100, warmup_hours: 100, replications: {REPLICATIONS}, seed: 17}}
demand:
  segments:
{demand}providers:
{providers}architectures:
  market: [{members}]
  alone: [cheap]
compare: [alone, market]
"
    )
}

/// Ordered hunting in a loss system: arrivals try the cheap provider's c₁ GPUs first, then
/// the dear one's c₂. The cheap one is an Erlang loss system of its own, and the market
/// as a whole one of c₁ + c₂ GPUs (the occupancy is a birth–death chain either way), so
/// the dear provider carries a·(B(c₁, a) − B(c₁ + c₂, a)) busy GPUs and starts
/// λ·(B(c₁, a) − B(c₁ + c₂, a)) jobs per hour.
#[test]
fn overflow_to_the_dearer_provider_follows_erlang_b() {
    let (lambda, c1, c2) = (20.0, 16, 12);
    let yaml = market(
        "overflow",
        &format!(
            "    - {{name: jobs, arrivals_per_hour: {lambda}, duration_hours: {{exponential: {{mean: 1}}}}, patience_hours: 0}}\n"
        ),
        &format!(
            "  - {{name: cheap, kind: centralized, gpus: {c1}, pricing: {{usd_per_gpu_hour: 2}}}}\n  - {{name: dear, kind: distributed, gpus: {c2}, pricing: {{usd_per_gpu_hour: 3}}}}\n"
        ),
        "dear, cheap",
    );
    let rows = run(&yaml);
    let (b1, b12) = (
        theory::erlang_b(c1, lambda),
        theory::erlang_b(c1 + c2, lambda),
    );
    let market: Vec<&RunMetrics> = rows
        .iter()
        .filter(|r| r.system.as_str() == "market")
        .collect();
    assert_eq!(market.len(), REPLICATIONS);
    let share = |f: &dyn Fn(&RunMetrics) -> f64| market.iter().map(|r| f(r)).collect::<Vec<f64>>();
    let checks = 5;
    within_band(
        "cheap busy GPUs",
        &share(&|r| {
            let p = provider(r, "cheap");
            p.busy_gpu_hours / window_hours(p)
        }),
        lambda * (1.0 - b1),
        checks,
    );
    within_band(
        "dear busy GPUs",
        &share(&|r| {
            let p = provider(r, "dear");
            p.busy_gpu_hours / window_hours(p)
        }),
        lambda * (b1 - b12),
        checks,
    );
    within_band(
        "dear jobs per hour",
        &share(&|r| {
            let p = provider(r, "dear");
            p.jobs_started as f64 / window_hours(p)
        }),
        lambda * (b1 - b12),
        checks,
    );
    within_band(
        "market blocking",
        &share(&|r| Metric::AbandonFraction.of(r).as_f64()),
        b12,
        checks,
    );
    // The cheap provider alone blocks B(c₁, a): what the market recovers is the overflow.
    let alone: Vec<f64> = rows
        .iter()
        .filter(|r| r.system.as_str() == "alone")
        .map(|r| Metric::AbandonFraction.of(r).as_f64())
        .collect();
    within_band("alone blocking", &alone, b1, checks);
    // Spend follows the work: each provider is paid its own price for its busy hours.
    for r in &market {
        let (cheap, dear) = (provider(r, "cheap"), provider(r, "dear"));
        assert!(dear.jobs_started > 0 && cheap.jobs_started > dear.jobs_started);
        let spend = Metric::CustomerSpendUsd.of(r).as_f64();
        assert!(((cheap.spend_usd + dear.spend_usd) - spend).abs() <= 1e-9 * spend);
    }
}

/// A market of two providers of c GPUs each, sharing one queue, is one M/M/2c queue: a
/// freed GPU on either takes the head of the line. Erlang C's wait probability and mean
/// wait, and the market's utilization, hold within their bands.
#[test]
fn two_providers_pool_into_one_erlang_c_queue() {
    let (lambda, c) = (12.8, 8);
    let yaml = market(
        "pooling",
        &format!(
            "    - {{name: jobs, arrivals_per_hour: {lambda}, duration_hours: {{exponential: {{mean: 1}}}}}}\n"
        ),
        &format!(
            "  - {{name: cheap, kind: centralized, gpus: {c}, pricing: {{usd_per_gpu_hour: 2}}}}\n  - {{name: other, kind: centralized, gpus: {c}, pricing: {{usd_per_gpu_hour: 2}}}}\n"
        ),
        "other, cheap",
    );
    let rows = run(&yaml);
    let expected = theory::mmc(2 * c, lambda, 1.0);
    let market: Vec<&RunMetrics> = rows
        .iter()
        .filter(|r| r.system.as_str() == "market")
        .collect();
    let of = |metric: Metric| {
        market
            .iter()
            .map(|r| metric.of(r).as_f64())
            .collect::<Vec<f64>>()
    };
    within_band("p_wait", &of(Metric::PWait), expected.p_wait, 3);
    within_band(
        "mean_wait_hours",
        &of(Metric::MeanWaitHours),
        expected.mean_wait_hours,
        3,
    );
    within_band(
        "utilization",
        &of(Metric::Utilization),
        expected.utilization,
        3,
    );
    // Equal prices: the tie goes to the provider listed first in the architecture (not
    // in `providers:`), which therefore carries more of the work; both carry some.
    for r in &market {
        let (first, second) = (provider(r, "other"), provider(r, "cheap"));
        assert!(first.busy_gpu_hours > second.busy_gpu_hours && second.jobs_started > 0);
    }
}

/// Customers take the cheapest provider with room, and never one above their maximum
/// price: a cheap provider with ample room gets every job; a dear provider above the
/// segment's maximum price gets none, so the market loses exactly what the cheap
/// provider alone loses (the same jobs, common random numbers); a market where every
/// provider is above the maximum prices out every job.
#[test]
fn customers_choose_the_cheapest_acceptable_provider() {
    let ample = run(&market(
        "ample",
        "    - {name: jobs, arrivals_per_hour: 5, duration_hours: {exponential: {mean: 1}}, patience_hours: 0}\n",
        "  - {name: cheap, kind: distributed, gpus: 64, pricing: {usd_per_gpu_hour: 2}}\n  - {name: dear, kind: centralized, gpus: 64, pricing: {usd_per_gpu_hour: 3}}\n",
        "dear, cheap",
    ));
    for r in ample.iter().filter(|r| r.system.as_str() == "market") {
        assert_eq!(provider(r, "dear").jobs_started, 0);
        assert!(provider(r, "cheap").jobs_started > 0);
    }
    let capped = run(&market(
        "capped",
        "    - {name: jobs, arrivals_per_hour: 20, duration_hours: {exponential: {mean: 1}}, patience_hours: 0, max_price_usd_per_gpu_hour: 2.5}\n",
        "  - {name: cheap, kind: centralized, gpus: 16, pricing: {usd_per_gpu_hour: 2}}\n  - {name: dear, kind: centralized, gpus: 64, pricing: {usd_per_gpu_hour: 3}}\n",
        "cheap, dear",
    ));
    for pair in capped.chunks(2) {
        let [market, alone] = pair else {
            panic!("two systems")
        };
        assert_eq!(provider(market, "dear").jobs_started, 0);
        for metric in [
            Metric::JobsArrived,
            Metric::JobsCompleted,
            Metric::JobsAbandoned,
            Metric::JobsPricedOut,
            Metric::CustomerSpendUsd,
            Metric::BusyGpuHours,
        ] {
            assert_eq!(
                metric.of(market),
                metric.of(alone),
                "{} : dear adds nothing",
                metric.name()
            );
        }
    }
    let priced_out = run(&market(
        "priced-out",
        "    - {name: jobs, arrivals_per_hour: 20, duration_hours: {exponential: {mean: 1}}, max_price_usd_per_gpu_hour: 1.5}\n",
        "  - {name: cheap, kind: centralized, gpus: 16, pricing: {usd_per_gpu_hour: 2}}\n  - {name: dear, kind: distributed, gpus: 64, pricing: {usd_per_gpu_hour: 3}}\n",
        "cheap, dear",
    ));
    for r in &priced_out {
        assert!(Metric::JobsArrived.of(r).as_u64() > 0);
        assert_eq!(
            Metric::JobsPricedOut.of(r).as_u64(),
            Metric::JobsArrived.of(r).as_u64()
        );
        assert!(r.providers.iter().all(|p| p.jobs_started == 0));
    }
}

/// Money is conserved provider by provider in a hybrid market whose providers keep
/// different take rates: each provider's protocol share is its take rate times what it
/// was paid, the protocol's revenue is their sum, and the yearly statements charge the
/// same fees.
#[test]
fn a_hybrid_keeps_each_providers_take_rate() {
    let rows = run(&market(
        "hybrid",
        "    - {name: jobs, arrivals_per_hour: 30, duration_hours: {exponential: {mean: 1}}, patience_hours: {exponential: {mean: 0.5}}}\n",
        "  - {name: cheap, kind: distributed, gpus: 12, take_rate: 0.2, pricing: {usd_per_gpu_hour: 2}}\n  - {name: rival, kind: distributed, gpus: 12, take_rate: 0.05, pricing: {usd_per_gpu_hour: 2.5}}\n  - {name: cloud, kind: centralized, gpus: 12, pricing: {usd_per_gpu_hour: 4}}\n",
        "cheap, rival, cloud",
    ));
    for r in rows.iter().filter(|r| r.system.as_str() == "market") {
        let mut protocol = 0.0;
        for (name, take) in [("cheap", 0.2), ("rival", 0.05), ("cloud", 0.0)] {
            let p = provider(r, name);
            assert!(p.spend_usd > 0.0, "{name} sells something");
            assert!((p.protocol_revenue_usd - take * p.spend_usd).abs() <= 1e-9 * p.spend_usd);
            protocol += p.protocol_revenue_usd;
        }
        let total = Metric::ProtocolRevenueUsd.of(r).as_f64();
        assert!(
            (protocol - total).abs() <= 1e-9 * total,
            "{protocol} vs {total}"
        );
        let spend: f64 = r.providers.iter().map(|p| p.spend_usd).sum();
        let customer = Metric::CustomerSpendUsd.of(r).as_f64();
        assert!((spend - customer).abs() <= 1e-9 * customer);
    }
}

/// Lock-in: a share of a segment's jobs buys only from its incumbent unless another offer
/// is cheaper by more than the threshold. With a cloud at $4 (the incumbent) and a
/// network at $3.5 both ample, a 12.5% gap under a 20% threshold keeps the locked share
/// at the cloud (every other job takes the cheaper network); a 25% gap frees them all.
/// When the incumbent is full the locked jobs wait for it (here, with no patience, are
/// lost): locked arrivals are a thinned Poisson stream, so the cloud's 2 GPUs are an
/// Erlang loss system of load share × a, and the market loses share × B(2, share × a).
/// The lock draws from its own stream: an architecture it does not bind in keeps every
/// number bit for bit.
#[test]
fn lock_in_keeps_its_share_at_the_incumbent_under_the_threshold() {
    let (lambda, share) = (10.0, 0.3);
    let demand = |lock: &str| {
        format!(
            "    - {{name: jobs, arrivals_per_hour: {lambda}, duration_hours: {{exponential: {{mean: 1}}}}, patience_hours: 0{lock}}}\n"
        )
    };
    let lock = format!(", lock_in: {{share: {share}, incumbent: cloud, switch_threshold: 0.2}}");
    let providers = |cloud_gpus: u32, net_usd: f64| {
        format!(
            "  - {{name: cloud, kind: centralized, gpus: {cloud_gpus}, pricing: {{usd_per_gpu_hour: 4}}}}\n  - {{name: cheap, kind: distributed, gpus: 64, pricing: {{usd_per_gpu_hour: {net_usd}}}}}\n"
        )
    };
    let held = run(&market(
        "held",
        &demand(&lock),
        &providers(64, 3.5),
        "cloud, cheap",
    ));
    let at_cloud: Vec<f64> = held
        .iter()
        .filter(|r| r.system.as_str() == "market")
        .map(|r| {
            let started: u64 = r.providers.iter().map(|p| p.jobs_started).sum();
            provider(r, "cloud").jobs_started as f64 / started as f64
        })
        .collect();
    within_band("locked share at the incumbent", &at_cloud, share, 3);

    let freed = run(&market(
        "freed",
        &demand(&lock),
        &providers(64, 3.0),
        "cloud, cheap",
    ));
    for r in freed.iter().filter(|r| r.system.as_str() == "market") {
        assert_eq!(provider(r, "cloud").jobs_started, 0, "a 25% gap beats 20%");
    }

    let full = run(&market(
        "full",
        &demand(&lock),
        &providers(2, 3.5),
        "cloud, cheap",
    ));
    let market_rows: Vec<&RunMetrics> = full
        .iter()
        .filter(|r| r.system.as_str() == "market")
        .collect();
    let blocking = theory::erlang_b(2, share * lambda);
    let lost: Vec<f64> = market_rows
        .iter()
        .map(|r| Metric::AbandonFraction.of(r).as_f64())
        .collect();
    within_band(
        "locked jobs lost at a full incumbent",
        &lost,
        share * blocking,
        3,
    );
    let cloud_busy: Vec<f64> = market_rows
        .iter()
        .map(|r| {
            let p = provider(r, "cloud");
            p.busy_gpu_hours / window_hours(p)
        })
        .collect();
    within_band(
        "incumbent busy GPUs",
        &cloud_busy,
        share * lambda * (1.0 - blocking),
        3,
    );

    // The architecture without the incumbent: the lock does not bind, and its draws
    // change nothing else.
    let unlocked = run(&market(
        "held",
        &demand(""),
        &providers(64, 3.5),
        "cloud, cheap",
    ));
    for (a, b) in held
        .iter()
        .zip(&unlocked)
        .filter(|(a, _)| a.system.as_str() == "alone")
    {
        assert_eq!(a.column_bits(), b.column_bits());
        assert_eq!(a.segments, b.segments);
    }
}

/// Customers rank offers by effective cost, the out-of-region slowdown included, and
/// their own region only breaks ties: an EU job takes a US provider at $2 (× 1.1 = $2.2
/// of work) over an EU one at $4, and the EU one when the US price is $3.8 (× 1.1 =
/// $4.18 > $4).
#[test]
fn a_cheaper_provider_elsewhere_beats_a_dear_one_at_home() {
    let yaml = |us_usd: f64| {
        format!(
            "name: regions
simulation: {{horizon_hours: 600, warmup_hours: 50, replications: 2, seed: 5}}
regions: [us, eu]
demand:
  segments:
    - {{name: jobs, region: eu, arrivals_per_hour: 5, duration_hours: {{exponential: {{mean: 1}}}}, patience_hours: 0}}
providers:
  - {{name: home, kind: centralized, data_centers: [{{region: eu, gpu_class: H100, gpus: 64}}], latency_slowdown: 1.1, pricing: {{usd_per_gpu_hour: 4}}}}
  - {{name: away, kind: centralized, data_centers: [{{region: us, gpu_class: H100, gpus: 64}}], latency_slowdown: 1.1, pricing: {{usd_per_gpu_hour: {us_usd}}}}}
architectures:
  market: [home, away]
  alone: [home]
"
        )
    };
    for row in run(&yaml(2.0))
        .iter()
        .filter(|r| r.system.as_str() == "market")
    {
        assert_eq!(provider(row, "home").jobs_started, 0);
        assert!(provider(row, "away").jobs_started > 0);
    }
    for row in run(&yaml(3.8))
        .iter()
        .filter(|r| r.system.as_str() == "market")
    {
        assert_eq!(provider(row, "away").jobs_started, 0);
        assert!(provider(row, "home").jobs_started > 0);
    }
}

/// Investors' statements per provider: in a market of a cloud that buys GPUs and two
/// networks with their own take rates (one taking on operators), each provider has its
/// own years and returns, the networks per cohort too; the providers' rows add up to the
/// architecture's and each network's cohorts to its own (`check_statements`); each
/// provider's protocol fee is its take rate × its revenue.
#[test]
fn each_provider_has_its_own_statements() {
    let network = |name: &str, take: f64, entry: &str| {
        format!(
            "  - {{name: {name}, kind: distributed, take_rate: {take}, pricing: {{usd_per_gpu_hour: 2}}, operators: [{{count: 4, gpus: 4, costs: {{capex_usd_per_gpu: 20000}}}}]{entry}}}\n"
        )
    };
    let entry = ", entry: {hurdle_yield: 0.0, onboarding_weeks: 1, template: {gpus: 4, costs: {capex_usd_per_gpu: 20000}}}";
    let yaml = format!(
        "name: statements
simulation: {{horizon_hours: 17520, warmup_hours: 100, replications: 3, seed: 4}}
demand:
  segments:
    - {{name: jobs, arrivals_per_hour: 30, annual_growth: 0.5, duration_hours: {{exponential: {{mean: 1}}}}, patience_hours: 1}}
providers:
  - {{name: cloud, kind: centralized, pricing: {{usd_per_gpu_hour: 3}}, data_centers: [{{region: default, gpu_class: H100, gpus: 16}}], costs: {{capex_usd_per_gpu: 30000}}, procurement: {{target_utilization: 0.7, lead_time_weeks: 4}}}}
{}{}architectures:
  market: [cloud, net, rival]
  cloud_only: [cloud]
compare: [cloud_only, market]
",
        network("net", 0.2, entry),
        network("rival", 0.05, "")
    );
    let rows = run(&yaml);
    for row in rows.iter().filter(|r| r.system.as_str() == "market") {
        crate::finance::check_statements(row, 0.10).unwrap_or_else(|e| panic!("{e}"));
        let years = &row.finance.years;
        for (p, take) in [(0, 0.0), (1, 0.2), (2, 0.05)] {
            let own: Vec<_> = years
                .iter()
                .filter(|y| y.provider == Some(p) && y.cohort.is_none())
                .collect();
            assert_eq!(own.len(), 3, "provider {p}: years 0, 1 and 2");
            assert!(own[1].revenue_usd > 0.0, "provider {p} sells in year 1");
            for y in own.iter().filter(|y| y.year > 0) {
                assert!(
                    (y.protocol_fee_usd - take * y.revenue_usd).abs() <= 1e-9 * y.revenue_usd,
                    "provider {p}: fee {} on {}",
                    y.protocol_fee_usd,
                    y.revenue_usd
                );
            }
            let cohorts = years
                .iter()
                .filter(|y| y.provider == Some(p) && y.cohort.is_some())
                .count();
            assert_eq!(cohorts > 0, p != 0, "only the networks report cohorts");
        }
        assert!(
            years
                .iter()
                .any(|y| y.provider == Some(1) && y.cohort.is_some_and(|c| c > 0)),
            "operators joined the network after the start"
        );
        assert!(
            years
                .iter()
                .all(|y| y.provider.is_some() || y.cohort.is_none())
        );
        // Returns: the architecture, then each provider and its cohorts.
        assert!(row.finance.returns[0].provider.is_none());
        assert_eq!(
            row.finance
                .returns
                .iter()
                .filter(|r| r.cohort.is_none())
                .count(),
            4
        );
    }
    // One provider: no provider rows, as before the market.
    for row in rows.iter().filter(|r| r.system.as_str() == "cloud_only") {
        assert!(row.finance.years.iter().all(|y| y.provider.is_none()));
    }
}

/// A lock loosened by a price change frees the locked jobs at once: every job is locked
/// in to a one-GPU cloud that raises its price from $3 to $10 at hour 300, when arrivals
/// stop; the rival's $4 is not 50% below $3 but is below $10 × 0.5, so at the next review
/// the backlog (~600 jobs) starts on the rival — which, serving nobody, has no completion
/// that would otherwise offer them its GPUs.
#[test]
fn a_loosened_lock_frees_the_waiting_jobs() {
    let yaml = "name: loosened
simulation: {horizon_hours: 600, warmup_hours: 0, replications: 2, seed: 8}
demand:
  segments:
    - {name: jobs, arrivals_per_hour: 3, shocks: [{start_hours: 300, length_hours: 1000, factor: 0}], duration_hours: {exponential: {mean: 1}}, lock_in: {share: 1, incumbent: cloud, switch_threshold: 0.5}}
providers:
  - {name: cloud, kind: centralized, gpus: 1, pricing: {policy: scheduled, usd_per_gpu_hour: 3, path: [{at_hours: 0, usd_per_gpu_hour: 3}, {at_hours: 300, usd_per_gpu_hour: 10}]}}
  - {name: cheap, kind: distributed, gpus: 64, pricing: {usd_per_gpu_hour: 4}}
architectures:
  market: [cloud, cheap]
  alone: [cheap]
compare: [alone, market]
";
    for row in run(yaml).iter().filter(|r| r.system.as_str() == "market") {
        let rival = provider(row, "cheap");
        assert!(
            rival.jobs_started > 300,
            "{} started on the rival",
            rival.jobs_started
        );
        assert!(provider(row, "cloud").jobs_started > 100);
    }
}
