//! The catalog of metrics: every measure a run reports, defined once — its name (the
//! Parquet column or `metric` value), a label for people, a unit, how it is computed,
//! whether it is paired. The `runs.parquet` columns, the summaries, the terminal
//! summary, sweep measures, the report, `compare` and `--target-ci` all name metrics
//! through these enums, so renaming or removing one is a compile error everywhere it is
//! used, not a NaN column.

use super::{Cell, RunMetrics};
use crate::model::outcome::Week;

/// What a metric counts, for display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A share, 0–1 (shown as a percentage).
    Fraction,
    /// Hours.
    Hours,
    /// Jobs (a count or a time-average number).
    Jobs,
    /// Jobs per hour.
    JobsPerHour,
    /// GPU-hours.
    GpuHours,
    /// GPUs.
    Gpus,
    /// US dollars.
    Usd,
    /// US dollars per GPU-hour.
    UsdPerGpuHour,
    /// Operators.
    Operators,
    /// Simulation events.
    Events,
    /// A dimensionless ratio (1 = neutral).
    Ratio,
}

impl Unit {
    /// The multiplier and unit a value is shown in (`compare`, the report).
    pub fn display(self) -> (f64, &'static str) {
        match self {
            Unit::Fraction => (100.0, "%"),
            Unit::Hours => (1.0, "h"),
            Unit::Jobs => (1.0, "jobs"),
            Unit::JobsPerHour => (1.0, "jobs/h"),
            Unit::GpuHours => (1.0, "GPU-h"),
            Unit::Gpus => (1.0, "GPUs"),
            Unit::Usd => (1e-6, "$M"),
            Unit::UsdPerGpuHour => (1.0, "$/GPU-h"),
            Unit::Operators => (1.0, "operators"),
            Unit::Events => (1.0, "events"),
            Unit::Ratio => (1.0, "×"),
        }
    }
}

/// Defines [`Metric`] from one table: variant, `RunMetrics` field (= column name), cell
/// type, unit, label.
macro_rules! run_metrics {
    ($( $variant:ident: $field:ident, $cell:ident, $unit:ident, $label:literal; )*) => {
        /// A `runs.parquet` column after `replication` and `system`, in column order;
        /// each is also summarised in `summary.parquet`. What each measures is the doc of
        /// the [`RunMetrics`] field of the same name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Metric {
            $(
                #[doc = $label]
                $variant,
            )*
        }

        impl Metric {
            /// Every run metric, in column order.
            pub const ALL: &'static [Metric] = &[$(Metric::$variant),*];

            /// The column name.
            pub fn name(self) -> &'static str {
                match self {
                    $(Metric::$variant => stringify!($field),)*
                }
            }

            /// A label for people.
            pub fn label(self) -> &'static str {
                match self {
                    $(Metric::$variant => $label,)*
                }
            }

            /// What it counts.
            pub fn unit(self) -> Unit {
                match self {
                    $(Metric::$variant => Unit::$unit,)*
                }
            }

            /// Its value in one replication's row.
            pub fn of(self, row: &RunMetrics) -> Cell {
                match self {
                    $(Metric::$variant => Cell::$cell(row.$field),)*
                }
            }
        }
    };
}

run_metrics! {
    Utilization: utilization, F64, Fraction, "GPU utilization";
    PWait: p_wait, F64, Fraction, "Share of jobs that waited";
    MeanWaitHours: mean_wait_hours, F64, Hours, "Mean wait";
    P95WaitHours: p95_wait_hours, F64, Hours, "Wait, 95th percentile";
    MeanWaitHoursReserved: mean_wait_hours_reserved, F64, Hours, "Mean wait, reserved tier";
    MeanWaitHoursOnDemand: mean_wait_hours_on_demand, F64, Hours, "Mean wait, on demand";
    MeanWaitHoursSpot: mean_wait_hours_spot, F64, Hours, "Mean wait, spot";
    AbandonFraction: abandon_fraction, F64, Fraction, "Share of jobs that gave up waiting";
    PricedOutFraction: priced_out_fraction, F64, Fraction, "Share of jobs priced out";
    UnservedFraction: unserved_fraction, F64, Fraction, "Share of jobs no GPU class or site can run";
    LostDemandFraction: lost_demand_fraction, F64, Fraction, "Lost demand";
    LostDemandGpuHours: lost_demand_gpu_hours, F64, GpuHours, "Work of lost jobs";
    MeanQueueLength: mean_queue_length, F64, Jobs, "Jobs waiting, time average";
    ArrivalRatePerHour: arrival_rate_per_hour, F64, JobsPerHour, "Arrivals per hour";
    JobsArrived: jobs_arrived, U64, Jobs, "Jobs arrived";
    JobsCompleted: jobs_completed, U64, Jobs, "Jobs completed";
    JobsAbandoned: jobs_abandoned, U64, Jobs, "Jobs that gave up";
    JobsPricedOut: jobs_priced_out, U64, Jobs, "Jobs priced out";
    JobsUnserved: jobs_unserved, U64, Jobs, "Jobs unserved";
    JobsUnservedTooLarge: jobs_unserved_too_large, U64, Jobs, "Jobs unserved: larger than any site holds";
    JobsStranded: jobs_stranded, U64, Jobs, "Jobs stranded";
    JobsFailed: jobs_failed, U64, Jobs, "Jobs given up after failures";
    JobsInterrupted: jobs_interrupted, U64, Jobs, "Runs cut short by failures";
    JobsPreempted: jobs_preempted, U64, Jobs, "Spot runs preempted";
    PreemptionsPerSpotJob: preemptions_per_spot_job, F64, Jobs, "Preemptions per spot job";
    JobsInSystemAtHorizon: jobs_in_system_at_horizon, U64, Jobs, "Jobs in the system at the horizon";
    BusyGpuHours: busy_gpu_hours, F64, GpuHours, "Busy GPU-hours";
    IdleGpuHours: idle_gpu_hours, F64, GpuHours, "Idle GPU-hours";
    DownGpuHours: down_gpu_hours, F64, GpuHours, "Failed GPU-hours";
    WithdrawnGpuHours: withdrawn_gpu_hours, F64, GpuHours, "GPU-hours taken back by owners";
    InstalledGpuHours: installed_gpu_hours, F64, GpuHours, "Installed GPU-hours";
    WithdrawnDemandRatio: withdrawn_demand_ratio, F64, Ratio, "Owners' withdrawals at demand, × independent";
    UsefulWorkGpuHours: useful_work_gpu_hours, F64, GpuHours, "Useful work";
    LostWorkGpuHours: lost_work_gpu_hours, F64, GpuHours, "Work lost to failures";
    GpusInitial: gpus_initial, U64, Gpus, "GPUs at the start";
    GpusAtHorizon: gpus_at_horizon, U64, Gpus, "GPUs at the horizon";
    GpusOrdered: gpus_ordered, U64, Gpus, "GPUs ordered";
    GpusRetired: gpus_retired, U64, Gpus, "GPUs retired at the end of their life";
    CustomerSpendUsd: customer_spend_usd, F64, Usd, "Customer spend";
    EgressUsd: egress_usd, F64, Usd, "Egress charges";
    SpendUsdPerGpuHour: spend_usd_per_gpu_hour, F64, UsdPerGpuHour, "Spend per useful GPU-hour";
    ProviderRevenueUsd: provider_revenue_usd, F64, Usd, "Provider revenue";
    ProtocolRevenueUsd: protocol_revenue_usd, F64, Usd, "Protocol revenue";
    OpexPowerUsd: opex_power_usd, F64, Usd, "Electricity";
    OpexFacilityUsd: opex_facility_usd, F64, Usd, "Facility cost";
    OpexFixedUsd: opex_fixed_usd, F64, Usd, "Fixed costs";
    DepreciationUsd: depreciation_usd, F64, Usd, "Depreciation";
    CapexUsd: capex_usd, F64, Usd, "Capex of GPUs delivered";
    OperatorsJoined: operators_joined, U64, Operators, "Operators joined";
    OperatorsLeft: operators_left, U64, Operators, "Operators left";
    PriceAtHorizonUsd: price_at_horizon_usd, F64, UsdPerGpuHour, "Price at the horizon";
    Events: events, U64, Events, "Events processed";
}

impl Metric {
    /// Its position among the `runs.parquet` value columns.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The metric of a column name.
    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.iter().copied().find(|m| m.name() == name)
    }
}

/// A paired metric: the distributed network against the centralized cloud in one
/// replication, on the same jobs (`savings.parquet`, summarised under `PAIRED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Paired {
    /// 1 − distributed ÷ centralized spend per useful GPU-hour (NaN when either bills
    /// nothing).
    SavingsFraction,
    /// Distributed − centralized utilization.
    UtilizationDifference,
    /// Distributed − centralized p95 wait.
    P95WaitHoursDifference,
    /// Distributed − centralized lost-demand share.
    LostDemandFractionDifference,
    /// 1 − a Laspeyres price index: both systems' spend per GPU-hour in each segment ×
    /// tier cell, weighed by the cell's offered work (`metrics::like_for_like`).
    SavingsLikeForLike,
    /// Offered work of the cells only the centralized system serves.
    WorkServedOnlyInA,
    /// Offered work of the cells only the distributed system serves.
    WorkServedOnlyInB,
}

impl Paired {
    /// Every paired metric, in `savings.parquet` column order.
    pub const ALL: [Paired; 7] = [
        Paired::SavingsFraction,
        Paired::UtilizationDifference,
        Paired::P95WaitHoursDifference,
        Paired::LostDemandFractionDifference,
        Paired::SavingsLikeForLike,
        Paired::WorkServedOnlyInA,
        Paired::WorkServedOnlyInB,
    ];

    /// The paired metrics that compare one run metric of the two systems (the first of
    /// [`Paired::ALL`]); the others need the segments' cells.
    pub const OF_RUNS: [Paired; 4] = [
        Paired::SavingsFraction,
        Paired::UtilizationDifference,
        Paired::P95WaitHoursDifference,
        Paired::LostDemandFractionDifference,
    ];

    /// The column name.
    pub fn name(self) -> &'static str {
        match self {
            Paired::SavingsFraction => "savings_fraction",
            Paired::UtilizationDifference => "utilization_difference",
            Paired::P95WaitHoursDifference => "p95_wait_hours_difference",
            Paired::LostDemandFractionDifference => "lost_demand_fraction_difference",
            Paired::SavingsLikeForLike => "savings_like_for_like",
            Paired::WorkServedOnlyInA => "work_served_only_in_a",
            Paired::WorkServedOnlyInB => "work_served_only_in_b",
        }
    }

    /// A label for people.
    pub fn label(self) -> &'static str {
        match self {
            Paired::SavingsFraction => "Customer cost savings, ratio of mean prices paid (paired)",
            Paired::UtilizationDifference => "Utilization difference (paired)",
            Paired::P95WaitHoursDifference => "95th-percentile wait difference (paired)",
            Paired::LostDemandFractionDifference => "Lost-demand difference (paired)",
            Paired::SavingsLikeForLike => "Customer cost savings, like for like (paired)",
            Paired::WorkServedOnlyInA => "Work served only by the centralized system",
            Paired::WorkServedOnlyInB => "Work served only by the distributed system",
        }
    }

    /// What it counts.
    pub fn unit(self) -> Unit {
        match self {
            Paired::P95WaitHoursDifference => Unit::Hours,
            Paired::WorkServedOnlyInA | Paired::WorkServedOnlyInB => Unit::GpuHours,
            _ => Unit::Fraction,
        }
    }

    /// The run metric `savings_fraction` compares.
    pub const SAVINGS_COMPARED: Metric = Metric::SpendUsdPerGpuHour;

    /// The run metric both systems are compared on; `None` for the metrics computed
    /// from the segments' cells.
    pub fn compared(self) -> Option<Metric> {
        match self {
            Paired::SavingsFraction => Some(Paired::SAVINGS_COMPARED),
            Paired::UtilizationDifference => Some(Metric::Utilization),
            Paired::P95WaitHoursDifference => Some(Metric::P95WaitHours),
            Paired::LostDemandFractionDifference => Some(Metric::LostDemandFraction),
            Paired::SavingsLikeForLike | Paired::WorkServedOnlyInA | Paired::WorkServedOnlyInB => {
                None
            }
        }
    }

    /// Its value from the compared metric of the centralized and the distributed row (for
    /// the metrics of [`Paired::OF_RUNS`]).
    pub fn of(self, centralized: f64, distributed: f64) -> f64 {
        match self {
            Paired::SavingsFraction => {
                if centralized > 0.0 && distributed.is_finite() {
                    1.0 - distributed / centralized
                } else {
                    f64::NAN
                }
            }
            _ => distributed - centralized,
        }
    }

    /// The `summary.parquet` metric holding how many times common random numbers cut
    /// its variance.
    pub fn crn_variance_reduction_name(self) -> &'static str {
        match self {
            Paired::SavingsFraction => "savings_fraction_crn_variance_reduction",
            Paired::UtilizationDifference => "utilization_difference_crn_variance_reduction",
            Paired::P95WaitHoursDifference => "p95_wait_hours_difference_crn_variance_reduction",
            Paired::LostDemandFractionDifference => {
                "lost_demand_fraction_difference_crn_variance_reduction"
            }
            Paired::SavingsLikeForLike => "savings_like_for_like_crn_variance_reduction",
            Paired::WorkServedOnlyInA => "work_served_only_in_a_crn_variance_reduction",
            Paired::WorkServedOnlyInB => "work_served_only_in_b_crn_variance_reduction",
        }
    }

    /// The `summary.parquet` metric holding how many times antithetic pairs cut the
    /// variance of its mean.
    pub fn antithetic_variance_reduction_name(self) -> &'static str {
        match self {
            Paired::SavingsFraction => "savings_fraction_antithetic_variance_reduction",
            Paired::UtilizationDifference => "utilization_difference_antithetic_variance_reduction",
            Paired::P95WaitHoursDifference => {
                "p95_wait_hours_difference_antithetic_variance_reduction"
            }
            Paired::LostDemandFractionDifference => {
                "lost_demand_fraction_difference_antithetic_variance_reduction"
            }
            Paired::SavingsLikeForLike => "savings_like_for_like_antithetic_variance_reduction",
            Paired::WorkServedOnlyInA => "work_served_only_in_a_antithetic_variance_reduction",
            Paired::WorkServedOnlyInB => "work_served_only_in_b_antithetic_variance_reduction",
        }
    }

    /// The paired metric of a column name.
    pub fn from_name(name: &str) -> Option<Paired> {
        Paired::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// A finance measure of one replication and system, from its yearly statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Finance {
    /// The whole system's yield (operating cash ÷ capital employed), averaged over the
    /// simulated years after year 0.
    OperatorYield,
    /// The whole system's yield in year 1.
    YieldYear1,
    /// The whole system's IRR over the horizon.
    Irr,
}

impl Finance {
    /// The measure's name.
    pub fn name(self) -> &'static str {
        match self {
            Finance::OperatorYield => "operator_yield",
            Finance::YieldYear1 => "yield_year_1",
            Finance::Irr => "irr",
        }
    }

    /// A label for people.
    pub fn label(self) -> &'static str {
        match self {
            Finance::OperatorYield => "Yield, mean over the years",
            Finance::YieldYear1 => "Yield, year 1",
            Finance::Irr => "IRR",
        }
    }

    /// What it counts.
    pub fn unit(self) -> Unit {
        Unit::Fraction
    }
}

/// Any metric of the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Measure {
    /// A `runs.parquet` column.
    Run(Metric),
    /// A paired comparison.
    Paired(Paired),
    /// A finance measure.
    Finance(Finance),
}

impl Measure {
    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Measure::Run(m) => m.name(),
            Measure::Paired(m) => m.name(),
            Measure::Finance(m) => m.name(),
        }
    }

    /// A label for people.
    pub fn label(self) -> &'static str {
        match self {
            Measure::Run(m) => m.label(),
            Measure::Paired(m) => m.label(),
            Measure::Finance(m) => m.label(),
        }
    }

    /// What it counts.
    pub fn unit(self) -> Unit {
        match self {
            Measure::Run(m) => m.unit(),
            Measure::Paired(m) => m.unit(),
            Measure::Finance(m) => m.unit(),
        }
    }

    /// Whether it compares the two systems.
    pub fn is_paired(self) -> bool {
        matches!(self, Measure::Paired(_))
    }
}

/// A weekly series of one system (`weeks.parquet` columns after `week`, summarised
/// across replications in `timeseries.parquet`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Weekly {
    /// GPUs installed at the end of the week.
    InstalledGpus,
    /// Busy ÷ up GPU-hours in the week.
    Utilization,
    /// Time-average jobs waiting.
    QueueLength,
    /// Reference-class price at the end of the week.
    PriceUsdPerGpuHour,
    /// Jobs lost in the week: abandoned, priced out or unserved.
    LostJobs,
    /// GPUs listed at the end of the week (at sites not leaving).
    ListedGpus,
    /// Of those, GPUs that deliver (listed less the unverified not yet found).
    VerifiedGpus,
}

impl Weekly {
    /// Every weekly series, in column order.
    pub const ALL: [Weekly; 7] = [
        Weekly::InstalledGpus,
        Weekly::Utilization,
        Weekly::QueueLength,
        Weekly::PriceUsdPerGpuHour,
        Weekly::LostJobs,
        Weekly::ListedGpus,
        Weekly::VerifiedGpus,
    ];

    /// The column (and `timeseries.parquet` metric) name.
    pub fn name(self) -> &'static str {
        match self {
            Weekly::InstalledGpus => "installed_gpus",
            Weekly::Utilization => "utilization",
            Weekly::QueueLength => "queue_length",
            Weekly::PriceUsdPerGpuHour => "price_usd_per_gpu_hour",
            Weekly::LostJobs => "lost_jobs",
            Weekly::ListedGpus => "listed_gpus",
            Weekly::VerifiedGpus => "verified_gpus",
        }
    }

    /// What it counts.
    pub fn unit(self) -> Unit {
        match self {
            Weekly::InstalledGpus | Weekly::ListedGpus | Weekly::VerifiedGpus => Unit::Gpus,
            Weekly::Utilization => Unit::Fraction,
            Weekly::QueueLength | Weekly::LostJobs => Unit::Jobs,
            Weekly::PriceUsdPerGpuHour => Unit::UsdPerGpuHour,
        }
    }

    /// Its value in one week.
    pub fn of(self, week: &Week) -> f64 {
        match self {
            Weekly::InstalledGpus => f64::from(week.installed_gpus),
            Weekly::Utilization => week.utilization,
            Weekly::QueueLength => week.queue_length,
            Weekly::PriceUsdPerGpuHour => week.price_usd_per_gpu_hour,
            Weekly::LostJobs => week.lost_jobs as f64,
            Weekly::ListedGpus => f64::from(week.listed_gpus),
            Weekly::VerifiedGpus => f64::from(week.verified_gpus),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names are unique across the whole catalog, and each resolves back to its metric.
    #[test]
    fn names_are_unique_and_resolve() {
        let mut names: Vec<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
        names.extend(Paired::ALL.map(Paired::name));
        names
            .extend([Finance::OperatorYield, Finance::YieldYear1, Finance::Irr].map(Finance::name));
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count);
        for (idx, metric) in Metric::ALL.iter().enumerate() {
            assert_eq!(metric.index(), idx);
            assert_eq!(Metric::from_name(metric.name()), Some(*metric));
        }
        for paired in Paired::ALL {
            assert_eq!(Paired::from_name(paired.name()), Some(paired));
        }
    }

    /// Savings by hand: $1.5 against $6 saves 75%; nothing billed gives NaN.
    #[test]
    fn paired_values_by_hand() {
        assert_eq!(Paired::SavingsFraction.of(6.0, 1.5), 0.75);
        assert!(Paired::SavingsFraction.of(0.0, 1.5).is_nan());
        assert!(Paired::SavingsFraction.of(6.0, f64::NAN).is_nan());
        assert_eq!(Paired::UtilizationDifference.of(0.5, 0.75), 0.25);
    }
}
