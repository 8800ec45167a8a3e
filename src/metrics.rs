//! Per-replication metrics and their summaries across replications.
//!
//! Pure functions of simulation outcomes: no I/O. Summaries use the sample standard
//! deviation (n − 1), a Student-t 95% interval for the mean, and type-7 (linear
//! interpolation) quantiles, the default of R, NumPy and polars.
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::dbg_macro)]

use statrs::distribution::{ContinuousCDF, StudentsT};

pub mod catalog;

use catalog::{Metric, Paired};

use crate::finance::statements::Statements;
use crate::model::SystemName;
use crate::model::outcome::{
    ON_DEMAND, Outcome, ProviderTally, RESERVED, SPOT, SegmentTally, TIERS, Week,
};
use crate::scenario::Segment;

/// One row of `runs.parquet`: one replication of one system, over the jobs that arrived
/// in the window (followed to their end) and the GPU-hours and costs of the window.
///
/// Equality is bit-for-bit (NaN equals NaN): it is what "identical results" means.
#[derive(Debug, Clone)]
pub struct RunMetrics {
    /// Replication index (0-based).
    pub replication: u64,
    /// System simulated.
    pub system: SystemName,
    /// Busy GPU-hours ÷ up (busy + idle) GPU-hours over the window.
    pub utilization: f64,
    /// Share of window arrivals that waited > 0 before their first start (abandoners included).
    pub p_wait: f64,
    /// Mean first wait over window arrivals that queued or started, hours (abandoners until they left).
    pub mean_wait_hours: f64,
    /// 95th percentile of first waits (started or abandoned window jobs), hours.
    pub p95_wait_hours: f64,
    /// Mean first wait of reserved-tier jobs, hours (NaN when there are none).
    pub mean_wait_hours_reserved: f64,
    /// Mean first wait of on-demand jobs, hours (NaN when there are none); spot jobs
    /// are a tier of their own.
    pub mean_wait_hours_on_demand: f64,
    /// Mean first wait of spot jobs, hours (NaN when there are none).
    pub mean_wait_hours_spot: f64,
    /// Share of window arrivals that gave up waiting.
    pub abandon_fraction: f64,
    /// Share of window arrivals that found every acceptable GPU above their maximum price.
    pub priced_out_fraction: f64,
    /// Share of window arrivals whose minimum GPU class the system lacks.
    pub unserved_fraction: f64,
    /// Abandoned + priced out + unserved + stranded + failed, as a share of window arrivals.
    pub lost_demand_fraction: f64,
    /// Reference-class GPU-hours of work of those lost jobs.
    pub lost_demand_gpu_hours: f64,
    /// Time-average number of jobs waiting over the window.
    pub mean_queue_length: f64,
    /// Window arrivals per hour of window (for Little's law: L = λ W).
    pub arrival_rate_per_hour: f64,
    /// Jobs that arrived in the window.
    pub jobs_arrived: u64,
    /// Window arrivals that completed (followed past the horizon).
    pub jobs_completed: u64,
    /// Window arrivals that gave up.
    pub jobs_abandoned: u64,
    /// Window arrivals priced out.
    pub jobs_priced_out: u64,
    /// Window arrivals unserved (no GPU class fast enough, with memory enough, on a site
    /// that holds the gang).
    pub jobs_unserved: u64,
    /// Of those, jobs larger than every site of a class they may use holds.
    pub jobs_unserved_too_large: u64,
    /// Window arrivals that could never start: every site left, or prices stayed above
    /// their maximum after the last review.
    pub jobs_stranded: u64,
    /// Window arrivals given up after `MAX_INTERRUPTIONS` failures.
    pub jobs_failed: u64,
    /// Runs of window jobs cut short by GPU failures.
    pub jobs_interrupted: u64,
    /// Runs of window spot jobs stopped for a job of a higher tier.
    pub jobs_preempted: u64,
    /// Those preemptions per window spot arrival (NaN without spot jobs).
    pub preemptions_per_spot_job: f64,
    /// Window arrivals still waiting or running at the horizon.
    pub jobs_in_system_at_horizon: u64,
    /// Busy (delivered) GPU-hours in the window.
    pub busy_gpu_hours: f64,
    /// Idle GPU-hours in the window.
    pub idle_gpu_hours: f64,
    /// Failed GPU-hours in the window.
    pub down_gpu_hours: f64,
    /// GPU-hours part-time operators took back for their own use in the window.
    pub withdrawn_gpu_hours: f64,
    /// Installed GPU-hours in the window: busy + idle + down + withdrawn.
    pub installed_gpu_hours: f64,
    /// Demand-weighted withdrawn GPU-hours ÷ withdrawn GPU-hours, relative to the
    /// window's mean demand: 1 when owners take GPUs back at times independent of the
    /// market's demand, above 1 when they take them back at its peaks; NaN without
    /// withdrawals.
    pub withdrawn_demand_ratio: f64,
    /// Reference-class GPU-hours of work of completed window jobs.
    pub useful_work_gpu_hours: f64,
    /// Reference-class GPU-hours of work lost to failures and redone.
    pub lost_work_gpu_hours: f64,
    /// GPUs installed at time 0.
    pub gpus_initial: u64,
    /// GPUs installed at the horizon.
    pub gpus_at_horizon: u64,
    /// GPUs ordered in the window.
    pub gpus_ordered: u64,
    /// GPUs retired in the window at the end of their service life.
    pub gpus_retired: u64,
    /// What window jobs' customers paid (compute + egress), USD.
    pub customer_spend_usd: f64,
    /// The egress part of it, USD.
    pub egress_usd: f64,
    /// Customer spend per GPU-hour of useful work (reference class), USD: comparable
    /// across systems with different GPU speeds, failures and slowdowns. NaN when the
    /// system bills nothing (no `pricing:` section).
    pub spend_usd_per_gpu_hour: f64,
    /// Provider (centralized) or operator (distributed) revenue, USD.
    pub provider_revenue_usd: f64,
    /// Protocol revenue (take rate × spend), USD.
    pub protocol_revenue_usd: f64,
    /// Electricity over the window, USD.
    pub opex_power_usd: f64,
    /// Facility cost over the window, USD.
    pub opex_facility_usd: f64,
    /// Staff and other fixed costs over the window, USD.
    pub opex_fixed_usd: f64,
    /// Depreciation over the window, USD.
    pub depreciation_usd: f64,
    /// Capex of GPUs delivered in the window, USD.
    pub capex_usd: f64,
    /// Operators that joined in the window.
    pub operators_joined: u64,
    /// Operators that decided to leave in the window.
    pub operators_left: u64,
    /// Reference-class price at the horizon, USD per GPU-hour.
    pub price_at_horizon_usd: f64,
    /// Events processed (stale, lazily cancelled events excluded).
    pub events: u64,
    /// Weekly series (not a column: `timeseries.parquet` summarises it).
    pub weeks: Vec<Week>,
    /// Yearly statements and returns (not columns: `yields.parquet` and `returns.parquet`).
    pub finance: Statements,
    /// Each segment's window jobs, in the scenario's order (`segments.parquet`).
    pub segments: Vec<SegmentRow>,
    /// Each provider of the architecture, in its order (`providers.parquet`).
    pub providers: Vec<ProviderRow>,
    /// Each operator group of its distributed providers (`groups.parquet`).
    pub groups: Vec<GroupRow>,
}

/// What one operator group of a distributed provider did in one replication's window (a
/// `groups.parquet` row without its replication and system): an `operators:` entry, the
/// entry template, or a pool type.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRow {
    /// The provider's name.
    pub provider: String,
    /// The group's label.
    pub group: String,
    /// Potential operators of a pool type (0 for the other groups).
    pub potential_operators: u64,
    /// Operators present at time 0.
    pub operators_at_start: u64,
    /// Operators present at the horizon.
    pub operators_at_horizon: u64,
    /// Operators that joined in the window.
    pub operators_joined: u64,
    /// Operators that decided to leave in the window.
    pub operators_left: u64,
    /// GPUs listed at the horizon.
    pub listed_gpus: u64,
    /// Of those, GPUs that deliver.
    pub verified_gpus: u64,
    /// GPUs delisted by the horizon (found not to deliver).
    pub delisted_gpus: u64,
    /// Busy GPU-hours over the window (runs that failed on unverified GPUs included).
    pub busy_gpu_hours: f64,
    /// Up (busy + idle) GPU-hours over the window.
    pub up_gpu_hours: f64,
    /// What customers paid its operators over the window, after the protocol's take, USD.
    pub revenue_usd: f64,
    /// Their operating costs over the window, USD.
    pub opex_usd: f64,
    /// Capital employed over the window (∫ hardware value dt), USD-years.
    pub capital_usd_years: f64,
}

impl GroupRow {
    /// The row of one group's tally, its revenue after the provider's take rate.
    pub fn new(
        provider: &str,
        group: &str,
        take_rate: crate::scenario::supply::TakeRate,
        tally: &crate::model::outcome::GroupTally,
    ) -> GroupRow {
        let areas = &tally.window.areas;
        GroupRow {
            provider: provider.to_string(),
            group: group.to_string(),
            potential_operators: tally.potential_operators,
            operators_at_start: tally.operators_at_start,
            operators_at_horizon: tally.operators_at_horizon,
            operators_joined: tally.operators_joined,
            operators_left: tally.operators_left,
            listed_gpus: tally.listed_gpus,
            verified_gpus: tally.verified_gpus,
            delisted_gpus: tally.delisted_gpus,
            busy_gpu_hours: areas.busy_gpu_hours,
            up_gpu_hours: areas.busy_gpu_hours + areas.idle_gpu_hours,
            revenue_usd: take_rate.split(tally.window.gross_revenue_usd).provider_usd,
            opex_usd: tally.window.opex.total(),
            capital_usd_years: tally.capital_usd_years,
        }
    }

    /// Busy ÷ up GPU-hours over the window; 0 when nothing was up.
    pub fn utilization(&self) -> f64 {
        if self.up_gpu_hours > 0.0 {
            self.busy_gpu_hours / self.up_gpu_hours
        } else {
            0.0
        }
    }

    /// Operating yield over the window, a year's rate: (revenue − opex) ÷ capital
    /// employed; NaN without capital.
    pub fn operating_yield(&self) -> f64 {
        if self.capital_usd_years > 0.0 {
            (self.revenue_usd - self.opex_usd) / self.capital_usd_years
        } else {
            f64::NAN
        }
    }
}

/// What one provider of an architecture did in one replication's window (a
/// `providers.parquet` row without its replication and system).
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderRow {
    /// The provider's name.
    pub provider: String,
    /// GPUs installed at time 0.
    pub gpus_at_start: u64,
    /// GPUs installed at the horizon.
    pub gpus_at_horizon: u64,
    /// Busy GPU-hours of its sites over the window.
    pub busy_gpu_hours: f64,
    /// Up (busy + idle) GPU-hours of its sites over the window.
    pub up_gpu_hours: f64,
    /// Window jobs that first started on one of its sites.
    pub jobs_started: u64,
    /// What window jobs paid it, USD.
    pub spend_usd: f64,
    /// Its sites' share of that spend, USD.
    pub revenue_usd: f64,
    /// The protocol's share, USD.
    pub protocol_revenue_usd: f64,
    /// Its reference price at the horizon, USD per GPU-hour.
    pub price_at_horizon_usd: f64,
    /// The contract fees in `spend_usd` (every committed GPU-hour of the window), USD.
    pub contract_revenue_usd: f64,
    /// What spot jobs paid in `spend_usd`, USD.
    pub spot_revenue_usd: f64,
    /// GPU-hours its sites held for contracts over the window.
    pub committed_gpu_hours: f64,
    /// Of those, GPU-hours committed jobs used.
    pub committed_used_gpu_hours: f64,
    /// GPUs listed at the horizon (installed at sites not leaving).
    pub listed_gpus: u64,
    /// Of those, GPUs that deliver.
    pub verified_gpus: u64,
    /// Window jobs' runs that failed on GPUs that do not deliver (unbilled).
    pub jobs_failed_unverified: u64,
    /// GPU-hours those failed runs held over the window.
    pub unverified_gpu_hours: f64,
}

impl ProviderRow {
    /// The row of one provider's tally.
    pub fn new(provider: &str, tally: &ProviderTally) -> ProviderRow {
        let areas = &tally.window_areas;
        ProviderRow {
            provider: provider.to_string(),
            gpus_at_start: tally.gpus_at_start,
            gpus_at_horizon: tally.gpus_at_horizon,
            busy_gpu_hours: areas.busy_gpu_hours,
            up_gpu_hours: areas.busy_gpu_hours + areas.idle_gpu_hours,
            jobs_started: tally.jobs_started,
            spend_usd: tally.spend_usd,
            revenue_usd: tally.revenue_usd,
            protocol_revenue_usd: tally.protocol_revenue_usd,
            price_at_horizon_usd: tally.price_at_horizon,
            contract_revenue_usd: tally.contract_revenue_usd,
            spot_revenue_usd: tally.spot_revenue_usd,
            committed_gpu_hours: tally.committed_gpu_hours,
            committed_used_gpu_hours: tally.committed_used_gpu_hours,
            listed_gpus: tally.listed_gpus,
            verified_gpus: tally.verified_gpus,
            jobs_failed_unverified: tally.jobs_failed_unverified,
            unverified_gpu_hours: tally.unverified_gpu_hours,
        }
    }

    /// What reserved and on-demand jobs paid it: its spend less contract fees and spot.
    pub fn on_demand_revenue_usd(&self) -> f64 {
        self.spend_usd - self.contract_revenue_usd - self.spot_revenue_usd
    }

    /// Committed GPU-hours used ÷ held on its sites over the window; NaN without any.
    pub fn contract_utilization(&self) -> f64 {
        if self.committed_gpu_hours > 0.0 {
            self.committed_used_gpu_hours / self.committed_gpu_hours
        } else {
            f64::NAN
        }
    }

    /// Busy ÷ up GPU-hours over the window (the run metric's definition); 0 when nothing
    /// was up.
    pub fn utilization(&self) -> f64 {
        if self.up_gpu_hours > 0.0 {
            self.busy_gpu_hours / self.up_gpu_hours
        } else {
            0.0
        }
    }
}

/// What one segment's window jobs did in one replication of one system (a
/// `segments.parquet` row without its replication and system). Work is in
/// reference-class GPU-hours; per-tier arrays are indexed reserved, on-demand.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentRow {
    /// The segment's name.
    pub segment: String,
    /// Jobs that arrived in the window.
    pub jobs_arrived: u64,
    /// Jobs that ran to completion.
    pub jobs_served: u64,
    /// Jobs that gave up waiting.
    pub jobs_abandoned: u64,
    /// Jobs that found every acceptable GPU above their maximum price.
    pub jobs_priced_out: u64,
    /// Jobs whose minimum GPU class the system does not have.
    pub jobs_unserved: u64,
    /// Jobs that could never start (nothing left that could serve them).
    pub jobs_stranded: u64,
    /// Jobs given up after too many interruptions.
    pub jobs_failed: u64,
    /// Work offered by every window arrival, by tier.
    pub offered_work_gpu_hours: [f64; TIERS],
    /// Work of the jobs that completed, by tier.
    pub served_work_gpu_hours: [f64; TIERS],
    /// What the jobs paid, by tier.
    pub spend_usd: [f64; TIERS],
    /// The segment's contract fees over the window (every committed GPU-hour), USD.
    pub contract_spend_usd: f64,
    /// GPU-hours its contracts held over the window.
    pub committed_gpu_hours: f64,
    /// Of those, the GPU-hours its committed jobs used.
    pub committed_used_gpu_hours: f64,
}

impl SegmentRow {
    /// The row of one segment's tally.
    pub fn new(segment: &str, tally: &SegmentTally) -> SegmentRow {
        let jobs = &tally.jobs;
        SegmentRow {
            segment: segment.to_string(),
            jobs_arrived: jobs.arrived,
            jobs_served: jobs.completed,
            jobs_abandoned: jobs.abandoned,
            jobs_priced_out: jobs.priced_out,
            jobs_unserved: jobs.unserved,
            jobs_stranded: jobs.stranded,
            jobs_failed: jobs.failed,
            offered_work_gpu_hours: tally.offered_work_gpu_hours,
            served_work_gpu_hours: tally.served_work_gpu_hours,
            spend_usd: tally.spend_usd,
            contract_spend_usd: tally.contract_spend_usd,
            committed_gpu_hours: tally.committed_gpu_hours,
            committed_used_gpu_hours: tally.committed_used_gpu_hours,
        }
    }

    /// Jobs lost, for every reason (the definition of `lost_demand_fraction`).
    pub fn jobs_lost(&self) -> u64 {
        self.jobs_abandoned
            + self.jobs_priced_out
            + self.jobs_unserved
            + self.jobs_stranded
            + self.jobs_failed
    }

    /// Lost ÷ arrived; 0 when nothing arrived (as the run metric).
    pub fn lost_demand_fraction(&self) -> f64 {
        if self.jobs_arrived == 0 {
            0.0
        } else {
            self.jobs_lost() as f64 / self.jobs_arrived as f64
        }
    }

    /// Work offered, both tiers.
    pub fn work_offered_gpu_hours(&self) -> f64 {
        let work = &self.offered_work_gpu_hours;
        work[RESERVED] + work[ON_DEMAND] + work[SPOT]
    }

    /// Work served, both tiers.
    pub fn work_served_gpu_hours(&self) -> f64 {
        let work = &self.served_work_gpu_hours;
        work[RESERVED] + work[ON_DEMAND] + work[SPOT]
    }

    /// Spend, both tiers.
    pub fn spend_total_usd(&self) -> f64 {
        let spend = &self.spend_usd;
        spend[RESERVED] + spend[ON_DEMAND] + spend[SPOT]
    }

    /// Spend per GPU-hour of work served; NaN when nothing was served or billed (as
    /// the run metric `spend_usd_per_gpu_hour`): what the jobs paid, contract fees apart.
    pub fn spend_usd_per_gpu_hour(&self) -> f64 {
        unit_price(self.spend_total_usd(), self.work_served_gpu_hours())
    }

    /// What the segment paid in all — its jobs and its contracts' fees, unused
    /// commitment included — per GPU-hour of work served (useful work: lost work and
    /// idle commitment are paid for, not served); NaN as `spend_usd_per_gpu_hour`.
    pub fn spend_usd_per_useful_gpu_hour(&self) -> f64 {
        unit_price(
            self.spend_total_usd() + self.contract_spend_usd,
            self.work_served_gpu_hours(),
        )
    }

    /// Committed GPU-hours used ÷ held over the window; NaN without a commitment.
    pub fn contract_utilization(&self) -> f64 {
        if self.committed_gpu_hours > 0.0 {
            self.committed_used_gpu_hours / self.committed_gpu_hours
        } else {
            f64::NAN
        }
    }
}

/// Spend per GPU-hour served; NaN when nothing was served or nothing billed.
pub fn unit_price(spend_usd: f64, served_gpu_hours: f64) -> f64 {
    if served_gpu_hours > 0.0 && spend_usd > 0.0 {
        spend_usd / served_gpu_hours
    } else {
        f64::NAN
    }
}

impl PartialEq for RunMetrics {
    fn eq(&self, other: &Self) -> bool {
        let bits = RunMetrics::column_bits;
        let week_bits = |row: &RunMetrics| -> Vec<[u64; 8]> {
            row.weeks
                .iter()
                .map(|w| {
                    [
                        u64::from(w.week),
                        u64::from(w.installed_gpus),
                        u64::from(w.listed_gpus),
                        u64::from(w.verified_gpus),
                        w.utilization.to_bits(),
                        w.queue_length.to_bits(),
                        w.price_usd_per_gpu_hour.to_bits(),
                        w.lost_jobs,
                    ]
                })
                .collect()
        };
        self.replication == other.replication
            && self.system == other.system
            && bits(self) == bits(other)
            && week_bits(self) == week_bits(other)
            && self.finance == other.finance
            && self.segments == other.segments
    }
}

/// A cell of a `runs.parquet` row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell {
    /// A measurement.
    F64(f64),
    /// A count.
    U64(u64),
}

impl Cell {
    /// A count as it is (measurements are truncated; only counts are read this way).
    pub fn as_u64(self) -> u64 {
        match self {
            Cell::F64(value) => value as u64,
            Cell::U64(value) => value,
        }
    }

    /// The value as a float, for summaries.
    pub fn as_f64(self) -> f64 {
        match self {
            Cell::F64(value) => value,
            Cell::U64(value) => value as f64,
        }
    }
}

impl RunMetrics {
    /// Derives the row from a system's outcome.
    pub fn from_outcome(
        replication: u64,
        system: SystemName,
        outcome: &Outcome,
        finance: Statements,
        events: u64,
        segments: &[Segment],
        providers: &[&str],
    ) -> Self {
        let jobs = &outcome.window_jobs;
        let at_horizon = &outcome.window_jobs_at_horizon;
        let areas = &outcome.window_areas;
        let per_arrival = |x: f64| {
            if jobs.arrived == 0 {
                0.0
            } else {
                x / jobs.arrived as f64
            }
        };
        let lost = jobs.lost();
        let mut waits = outcome.first_waits.clone();
        let queued_or_started = waits.len() as f64;
        let p95_wait_hours = if waits.is_empty() {
            0.0
        } else {
            waits.quantile(0.95)
        };
        let ledger = &outcome.ledger;
        RunMetrics {
            replication,
            system,
            utilization: areas.utilization(),
            p_wait: per_arrival(jobs.waited as f64),
            mean_wait_hours: if queued_or_started > 0.0 {
                jobs.wait_hours / queued_or_started
            } else {
                0.0
            },
            p95_wait_hours,
            mean_wait_hours_reserved: tier_mean(outcome.tier_waits[0]),
            mean_wait_hours_on_demand: tier_mean(outcome.tier_waits[ON_DEMAND]),
            mean_wait_hours_spot: tier_mean(outcome.tier_waits[SPOT]),
            abandon_fraction: per_arrival(jobs.abandoned as f64),
            priced_out_fraction: per_arrival(jobs.priced_out as f64),
            unserved_fraction: per_arrival(jobs.unserved as f64),
            lost_demand_fraction: per_arrival(lost as f64),
            lost_demand_gpu_hours: outcome.abandoned_work_gpu_hours
                + outcome.refused_work_gpu_hours,
            mean_queue_length: areas.queue_job_hours / areas.hours,
            arrival_rate_per_hour: jobs.arrived as f64 / areas.hours,
            jobs_arrived: jobs.arrived,
            jobs_completed: jobs.completed,
            jobs_abandoned: jobs.abandoned,
            jobs_priced_out: jobs.priced_out,
            jobs_unserved: jobs.unserved,
            jobs_unserved_too_large: jobs.unserved_too_large,
            jobs_stranded: jobs.stranded,
            jobs_failed: jobs.failed,
            jobs_interrupted: jobs.interrupted,
            jobs_preempted: jobs.preempted,
            preemptions_per_spot_job: if outcome.spot_jobs_arrived > 0 {
                jobs.preempted as f64 / outcome.spot_jobs_arrived as f64
            } else {
                f64::NAN
            },
            jobs_in_system_at_horizon: at_horizon.waiting + at_horizon.running,
            busy_gpu_hours: areas.busy_gpu_hours,
            idle_gpu_hours: areas.idle_gpu_hours,
            down_gpu_hours: areas.down_gpu_hours,
            withdrawn_gpu_hours: areas.withdrawn_gpu_hours,
            installed_gpu_hours: outcome.installed_gpu_hours(),
            withdrawn_demand_ratio: if areas.withdrawn_gpu_hours > 0.0 {
                outcome.withdrawn_demand_weighted_gpu_hours
                    / (areas.withdrawn_gpu_hours * outcome.demand_shape_window_mean)
            } else {
                f64::NAN
            },
            useful_work_gpu_hours: outcome.useful_work_gpu_hours,
            lost_work_gpu_hours: outcome.lost_work_gpu_hours,
            gpus_initial: outcome.initial_gpus,
            gpus_at_horizon: outcome.gpus_at_horizon,
            gpus_ordered: outcome.gpus_ordered,
            gpus_retired: outcome.gpus_retired,
            customer_spend_usd: ledger.spend_usd,
            egress_usd: ledger.egress_usd,
            spend_usd_per_gpu_hour: unit_price(ledger.spend_usd, outcome.useful_work_gpu_hours),
            provider_revenue_usd: ledger.provider_revenue_usd,
            protocol_revenue_usd: ledger.protocol_revenue_usd,
            opex_power_usd: outcome.opex.power_usd,
            opex_facility_usd: outcome.opex.facility_usd,
            opex_fixed_usd: outcome.opex.fixed_usd,
            depreciation_usd: finance.window_depreciation_usd,
            capex_usd: outcome.capex_usd,
            operators_joined: outcome.operators_joined,
            operators_left: outcome.operators_left,
            price_at_horizon_usd: outcome.price_at_horizon,
            events,
            weeks: outcome.weeks.clone(),
            finance,
            segments: segments
                .iter()
                .zip(&outcome.segments)
                .map(|(segment, tally)| SegmentRow::new(&segment.name, tally))
                .collect(),
            providers: providers
                .iter()
                .zip(&outcome.providers)
                .map(|(name, tally)| ProviderRow::new(name, tally))
                .collect(),
            groups: Vec::new(),
        }
    }

    /// The columns with each value as its bits, for exact comparisons (NaN = NaN).
    pub fn column_bits(&self) -> Vec<(&'static str, u64)> {
        self.columns()
            .into_iter()
            .map(|(name, cell)| match cell {
                Cell::F64(value) => (name, value.to_bits()),
                Cell::U64(value) => (name, value),
            })
            .collect()
    }

    /// The `runs.parquet` columns after `replication` and `system`, in order: the
    /// catalog's run metrics ([`Metric::ALL`]); every one is also summarised in
    /// `summary.parquet`.
    pub fn columns(&self) -> Vec<(&'static str, Cell)> {
        Metric::ALL
            .iter()
            .map(|metric| (metric.name(), metric.of(self)))
            .collect()
    }
}

fn tier_mean((jobs, wait_hours): (u64, f64)) -> f64 {
    if jobs == 0 {
        f64::NAN
    } else {
        wait_hours / jobs as f64
    }
}

/// One segment × tier cell of one system in one replication: the work its window jobs
/// offered and had served (reference GPU-hours) and what they paid.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WorkCell {
    /// Work offered (the same in every system: common random numbers).
    pub offered_gpu_hours: f64,
    /// Work of the jobs that completed.
    pub served_gpu_hours: f64,
    /// What the cell's jobs paid, USD.
    pub spend_usd: f64,
}

impl WorkCell {
    /// A segment row's cells, in tier order. Its contract fees are priced into its
    /// on-demand cell: a commitment is what the segment bought instead of on-demand
    /// hours, so the basket costs the same whether its customers commit or not.
    pub fn of_segment(row: &SegmentRow) -> [WorkCell; TIERS] {
        std::array::from_fn(|tier| WorkCell {
            offered_gpu_hours: row.offered_work_gpu_hours[tier],
            served_gpu_hours: row.served_work_gpu_hours[tier],
            spend_usd: if tier == ON_DEMAND && row.contract_spend_usd != 0.0 {
                row.spend_usd[tier] + row.contract_spend_usd
            } else {
                row.spend_usd[tier]
            },
        })
    }
}

/// What one system brings to a paired comparison: the run metrics compared
/// ([`Paired::compared`] of [`Paired::OF_RUNS`], in that order) and its segment × tier
/// cells in the scenario's order (empty for results that have none).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PairSide {
    /// The compared run metrics.
    pub compared: [f64; 4],
    /// The cells.
    pub cells: Vec<WorkCell>,
}

/// A Laspeyres price index of system B against system A over the same work.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LikeForLike {
    /// 1 − Σ w·p_B ÷ Σ w·p_A over the cells served in both (w a cell's offered work, p its
    /// spend per GPU-hour served); NaN when no cell is served in both or either system
    /// bills nothing.
    pub savings: f64,
    /// Offered work of the cells A serves and B does not, GPU-hours.
    pub only_in_a_gpu_hours: f64,
    /// Offered work of the cells B serves and A does not, GPU-hours.
    pub only_in_b_gpu_hours: f64,
}

/// The like-for-like savings of B against A. Each cell's price is its spend per GPU-hour
/// of work served, and both systems' prices are weighed by the same quantities, the
/// cell's offered work (A's, which is B's: the job streams are shared), so a system that
/// serves a cheaper mix of work is not credited for it — unlike the ratio of mean
/// prices paid (`savings_fraction`), whose weights are each system's own served work.
/// A cell is served when some of its work completed.
pub fn like_for_like(a: &[WorkCell], b: &[WorkCell]) -> LikeForLike {
    let (mut weighted_a, mut weighted_b) = (0.0, 0.0);
    let (mut only_a, mut only_b) = (0.0, 0.0);
    let (mut billed_a, mut billed_b) = (0.0, 0.0);
    for (cell_a, cell_b) in a.iter().zip(b) {
        billed_a += cell_a.spend_usd;
        billed_b += cell_b.spend_usd;
        let weight = cell_a.offered_gpu_hours;
        match (cell_a.served_gpu_hours > 0.0, cell_b.served_gpu_hours > 0.0) {
            (true, true) => {
                weighted_a += weight * cell_a.spend_usd / cell_a.served_gpu_hours;
                weighted_b += weight * cell_b.spend_usd / cell_b.served_gpu_hours;
            }
            (true, false) => only_a += weight,
            (false, true) => only_b += weight,
            (false, false) => {}
        }
    }
    let savings = if weighted_a > 0.0 && billed_a > 0.0 && billed_b > 0.0 {
        1.0 - weighted_b / weighted_a
    } else {
        f64::NAN
    };
    LikeForLike {
        savings,
        only_in_a_gpu_hours: only_a,
        only_in_b_gpu_hours: only_b,
    }
}

/// One row of `savings.parquet`: the distributed network against the centralized cloud
/// in one replication, on the same jobs (common random numbers).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Savings {
    /// Replication index.
    pub replication: u64,
    /// 1 − distributed spend per GPU-hour ÷ centralized spend per GPU-hour (NaN when
    /// either system bills nothing): the ratio of the mean prices paid, each over the
    /// work that system served.
    pub savings_fraction: f64,
    /// Distributed − centralized utilization.
    pub utilization_difference: f64,
    /// Distributed − centralized p95 wait, hours.
    pub p95_wait_hours_difference: f64,
    /// Distributed − centralized lost-demand share.
    pub lost_demand_fraction_difference: f64,
    /// The savings on the same basket of work ([`like_for_like`]).
    pub savings_like_for_like: f64,
    /// Offered work of the segment × tier cells only the centralized system serves.
    pub work_served_only_in_a: f64,
    /// Offered work of the cells only the distributed system serves.
    pub work_served_only_in_b: f64,
}

impl Savings {
    /// The paired comparison of one replication's two systems.
    pub fn pair(replication: u64, centralized: &PairSide, distributed: &PairSide) -> Savings {
        let [
            savings_fraction,
            utilization_difference,
            p95_wait_hours_difference,
            lost_demand_fraction_difference,
        ] = std::array::from_fn(|idx| {
            Paired::OF_RUNS[idx].of(centralized.compared[idx], distributed.compared[idx])
        });
        let index = like_for_like(&centralized.cells, &distributed.cells);
        Savings {
            replication,
            savings_fraction,
            utilization_difference,
            p95_wait_hours_difference,
            lost_demand_fraction_difference,
            savings_like_for_like: index.savings,
            work_served_only_in_a: index.only_in_a_gpu_hours,
            work_served_only_in_b: index.only_in_b_gpu_hours,
        }
    }

    /// The value of one paired metric.
    pub fn get(&self, metric: Paired) -> f64 {
        match metric {
            Paired::SavingsFraction => self.savings_fraction,
            Paired::UtilizationDifference => self.utilization_difference,
            Paired::P95WaitHoursDifference => self.p95_wait_hours_difference,
            Paired::LostDemandFractionDifference => self.lost_demand_fraction_difference,
            Paired::SavingsLikeForLike => self.savings_like_for_like,
            Paired::WorkServedOnlyInA => self.work_served_only_in_a,
            Paired::WorkServedOnlyInB => self.work_served_only_in_b,
        }
    }

    /// The columns after `replication`, in order ([`Paired::ALL`]).
    pub fn columns(&self) -> [(&'static str, f64); PAIRED_COUNT] {
        Paired::ALL.map(|metric| (metric.name(), self.get(metric)))
    }
}

/// How many paired metrics there are.
pub const PAIRED_COUNT: usize = Paired::ALL.len();

/// Mean, spread, confidence interval and quantiles of one metric over replications.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Sample mean.
    pub mean: f64,
    /// Sample standard deviation (n − 1); NaN when n < 2.
    pub std: f64,
    /// Lower end of the 95% Student-t interval for the mean; NaN when n < 2.
    pub ci95_low: f64,
    /// Upper end of that interval.
    pub ci95_high: f64,
    /// 5th percentile.
    pub p05: f64,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// Number of replications.
    pub n: u64,
}

/// Two-sided Student-t critical value: P(|T| ≤ t) = `confidence` with `df` degrees of freedom.
///
/// # Panics
/// If `df` is 0 or `confidence` is outside (0, 1): both are programmer errors.
pub fn t_critical(confidence: f64, df: u64) -> f64 {
    assert!(
        df > 0 && confidence > 0.0 && confidence < 1.0,
        "t_critical({confidence}, {df})"
    );
    // Invariant: df > 0 was asserted, and StudentsT accepts any positive finite freedom.
    let t = StudentsT::new(0.0, 1.0, df as f64).expect("df > 0");
    t.inverse_cdf(0.5 + confidence / 2.0)
}

/// Summarises `values` (one per replication, in replication order).
pub fn summarise(values: &[f64]) -> Summary {
    let n = values.len();
    let mean = values.iter().sum::<f64>() / n as f64;
    let (std, half_width) = if n >= 2 {
        let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let std = variance.sqrt();
        (
            std,
            t_critical(0.95, n as u64 - 1) * std / (n as f64).sqrt(),
        )
    } else {
        (f64::NAN, f64::NAN)
    };
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    Summary {
        mean,
        std,
        ci95_low: mean - half_width,
        ci95_high: mean + half_width,
        p05: quantile(&sorted, 0.05),
        p50: quantile(&sorted, 0.50),
        p95: quantile(&sorted, 0.95),
        n: n as u64,
    }
}

/// Summarises values of antithetic pairs: `values` are (replication, value) in
/// replication order, and only complete pairs (2k, 2k + 1) count. The two halves of a
/// pair are not independent, so the interval comes from the pair means (Student t with
/// pairs − 1 degrees of freedom); std and quantiles describe single replications; `n`
/// counts replications (twice the pairs).
pub fn summarise_antithetic(values: &[(u64, f64)]) -> Summary {
    let pairs = antithetic_pairs(values);
    let singles: Vec<f64> = pairs.iter().flat_map(|&(a, b)| [a, b]).collect();
    let means: Vec<f64> = pairs.iter().map(|&(a, b)| 0.5 * (a + b)).collect();
    let of_means = summarise(&means);
    let of_singles = summarise(&singles);
    Summary {
        mean: of_means.mean,
        ci95_low: of_means.ci95_low,
        ci95_high: of_means.ci95_high,
        n: singles.len() as u64,
        ..of_singles
    }
}

/// The complete antithetic pairs (2k, 2k + 1) of (replication, value) in replication order.
pub fn antithetic_pairs(values: &[(u64, f64)]) -> Vec<(f64, f64)> {
    values
        .windows(2)
        .filter(|w| w[0].0 % 2 == 0 && w[1].0 == w[0].0 + 1)
        .map(|w| (w[0].1, w[1].1))
        .collect()
}

/// How many times antithetic pairs shrink the variance of the mean against as many
/// independent replications: (single-replication variance ÷ 2) ÷ pair-mean variance.
/// NaN with fewer than 3 pairs or no spread.
pub fn antithetic_variance_reduction(values: &[(u64, f64)]) -> f64 {
    let pairs = antithetic_pairs(values);
    if pairs.len() < 3 {
        return f64::NAN;
    }
    let singles: Vec<f64> = pairs.iter().flat_map(|&(a, b)| [a, b]).collect();
    let means: Vec<f64> = pairs.iter().map(|&(a, b)| 0.5 * (a + b)).collect();
    let (single, mean) = (
        summarise(&singles).std.powi(2),
        summarise(&means).std.powi(2),
    );
    if mean > 0.0 {
        single / 2.0 / mean
    } else {
        f64::NAN
    }
}

/// Type-7 quantile of sorted data: linear interpolation between order statistics.
pub fn quantile(sorted: &[f64], probability: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        len => {
            let position = probability * (len - 1) as f64;
            let lower = position.floor() as usize;
            let upper = (lower + 1).min(len - 1);
            let fraction = position - lower as f64;
            sorted[lower] + fraction * (sorted[upper] - sorted[lower])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-made case whose baskets differ: A serves all of cell 1 at $4 and a tenth of
    /// cell 2 at $2; B serves both cells whole at $1.5 and $1. Like for like, both are
    /// weighed by the offered work (100 and 300): 1 − (150 + 300) ÷ (400 + 600) = 0.55. The
    /// ratio of mean prices paid, 1 − (450 ÷ 400) ÷ (460 ÷ 130) ≈ 0.682, credits A's
    /// cheaper basket less than B's — it is a different number.
    #[test]
    fn like_for_like_by_hand() {
        let cell = |offered, served, spend| WorkCell {
            offered_gpu_hours: offered,
            served_gpu_hours: served,
            spend_usd: spend,
        };
        let a = [cell(100.0, 100.0, 400.0), cell(300.0, 30.0, 60.0)];
        let b = [cell(100.0, 100.0, 150.0), cell(300.0, 300.0, 300.0)];
        let index = like_for_like(&a, &b);
        assert!((index.savings - 0.55).abs() < 1e-12, "{index:?}");
        let ratio = Paired::SavingsFraction.of(460.0 / 130.0, 450.0 / 400.0);
        assert!((ratio - 0.682_065).abs() < 1e-6, "{ratio}");
        assert_eq!(index.only_in_a_gpu_hours, 0.0);
        // A cell one system does not serve leaves the index and is reported beside it.
        let a = [cell(100.0, 100.0, 400.0), cell(300.0, 0.0, 0.0)];
        let index = like_for_like(&a, &b);
        assert!((index.savings - (1.0 - 150.0 / 400.0)).abs() < 1e-12);
        assert_eq!(index.only_in_b_gpu_hours, 300.0);
        assert_eq!(index.only_in_a_gpu_hours, 0.0);
        // Nothing billed on one side: no index.
        let free = [cell(100.0, 100.0, 0.0), cell(300.0, 300.0, 0.0)];
        assert!(like_for_like(&free, &b).savings.is_nan());
        assert!(like_for_like(&a, &free).savings.is_nan());
        assert!(like_for_like(&[], &[]).savings.is_nan());
    }

    #[test]
    fn t_critical_matches_tables() {
        // Student t tables: t_{0.975, 1} = 12.706, t_{0.975, 9} = 2.262, t_{0.975, 30} = 2.042.
        assert!((t_critical(0.95, 1) - 12.7062).abs() < 1e-3);
        assert!((t_critical(0.95, 9) - 2.2622).abs() < 1e-3);
        assert!((t_critical(0.95, 30) - 2.0423).abs() < 1e-3);
    }

    #[test]
    fn summary_of_a_known_sample() {
        // 1..=5: mean 3, sample variance 2.5, half-width t_{.975,4}·sqrt(2.5/5) = 2.7764·0.7071.
        let summary = summarise(&[5.0, 1.0, 4.0, 2.0, 3.0]);
        assert_eq!(summary.mean, 3.0);
        assert!((summary.std - 2.5f64.sqrt()).abs() < 1e-12);
        assert!((summary.ci95_high - 3.0 - 2.776_445 * 0.5f64.sqrt()).abs() < 1e-5);
        // Type 7: position 0.05·4 = 0.2 → 1.2; median 3; 0.95·4 = 3.8 → 4.8.
        assert!((summary.p05 - 1.2).abs() < 1e-12);
        assert_eq!(summary.p50, 3.0);
        assert!((summary.p95 - 4.8).abs() < 1e-12);
        assert_eq!(summary.n, 5);
    }

    /// Pairs whose halves cancel exactly have a zero-width interval around the true mean;
    /// std and quantiles still describe single replications, and incomplete pairs are
    /// left out.
    #[test]
    fn antithetic_intervals_come_from_pair_means() {
        let values = [
            (0, 1.0),
            (1, 3.0),
            (2, 0.0),
            (3, 4.0),
            (4, 2.5),
            (5, 1.5),
            (7, 100.0),
        ];
        let summary = summarise_antithetic(&values);
        assert_eq!(
            (summary.mean, summary.ci95_low, summary.ci95_high, summary.n),
            (2.0, 2.0, 2.0, 6)
        );
        assert_eq!(summary.std, summarise(&[1.0, 3.0, 0.0, 4.0, 2.5, 1.5]).std);
        assert!(
            antithetic_variance_reduction(&values).is_nan(),
            "no spread in the pair means"
        );
        // Pair means 2, 3, 4: variance 1; singles 1,3,2,4,3,5: variance 2 → (2/2)/1 = 1.
        let spread = [(0, 1.0), (1, 3.0), (2, 2.0), (3, 4.0), (4, 3.0), (5, 5.0)];
        assert!((antithetic_variance_reduction(&spread) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn single_value_has_no_spread() {
        let summary = summarise(&[2.0]);
        assert_eq!((summary.mean, summary.p05, summary.p95), (2.0, 2.0, 2.0));
        assert!(summary.std.is_nan() && summary.ci95_low.is_nan());
    }
}
