//! Yearly statements: the yield of a hand-checkable operator, depreciation to the
//! residual, cohorts adding up to the network, and returns that agree with their flows.

use capsim::finance::statements::YearRow;
use capsim::finance::{self, DepreciationMethod};
use capsim::metrics::RunMetrics;
use capsim::model::SystemKind;
use capsim::montecarlo;

use crate::scenario;

fn run(yaml: &str) -> Vec<RunMetrics> {
    montecarlo::run(&scenario(yaml), None).unwrap_or_else(|e| panic!("{e}\n{yaml}"))
}

fn close(a: f64, b: f64, relative: f64) -> bool {
    (a - b).abs() <= relative * a.abs().max(b.abs()).max(1.0)
}

/// The whole system's rows of one run, years 0…n.
fn whole(run: &RunMetrics) -> Vec<&YearRow> {
    run.finance
        .years
        .iter()
        .filter(|row| row.provider.is_none() && row.cohort.is_none())
        .collect()
}

/// One operator of 8 H100s it already owns (capital = resale value, 30% of $30,000),
/// overloaded so that a waiting job takes every GPU the moment it frees up: from the
/// first few minutes on, utilization is 1. No failures, a fixed price.
///
/// Each year: yield = (price × GPU-hours × u × (1 − take) − opex) ÷ capital employed, with
/// opex = power (busy + idle share) × kW × PUE × $/kWh + facility kW × $/kW-month + staff.
/// The hardware ages on the default resale curve, V(t) = 72,000 × e^(−k·t) with
/// k = −ln 0.3 ÷ 3 (30% of its value again after 3 more years): capital employed in year
/// n is its mean over the year, 72,000 × e^(−k(n−1)) × (1 − e^(−k)) ÷ k; the value lost
/// is the year's depreciation; what is left sells at the horizon.
#[test]
fn one_operator_earns_the_closed_form_yield_year_by_year() {
    let yaml = "name: one-operator\nsimulation: {horizon_hours: 17520, replications: 3, seed: 5}\n\
        demand:\n  segments:\n    - name: jobs\n      arrivals_per_hour: 100\n      duration_hours: {exponential: {mean: 10}}\n      patience_hours: 1\n\
        distributed:\n  take_rate: 0.2\n  pricing: {usd_per_gpu_hour: 2.0}\n  operators:\n    - gpus: 8\n      costs: {electricity_usd_per_kwh: 0.1, pue: 1.5, idle_power_fraction: 0.3, facility_usd_per_kw_month: 100, fixed_usd_per_year: 5000, residual_fraction: 0.3}\n";
    // 1.275 kW: the built-in H100 draws a 10.2 kW 8-GPU server's share.
    let (gpus, kw, price, take, capital) = (8.0, 1.275, 2.0, 0.2, 8.0 * 30_000.0 * 0.3);
    let k = -(0.3f64.ln()) / 3.0;
    let value = |years: f64| capital * (-k * years).exp();
    for run in run(yaml) {
        let rows = whole(&run);
        assert_eq!(rows.len(), 3, "years 0, 1, 2");
        assert!(
            close(rows[0].owned_hardware_usd, capital, 1e-12) && rows[0].capex_usd == 0.0,
            "{:?}",
            rows[0]
        );
        for row in &rows[1..] {
            let hours = row.hours;
            assert_eq!(hours, 8760.0);
            let start = f64::from(row.year - 1);
            let employed = value(start) * (1.0 - (-k).exp()) / k;
            let u = row.utilization.expect("GPUs were up");
            assert!(
                u > 1.0 - 1e-4,
                "year {}: utilization {u} should be 1 but for the first minutes",
                row.year
            );
            let kept = price * gpus * hours * u * (1.0 - take);
            let power = gpus * kw * (u + (1.0 - u) * 0.3) * 1.5 * 0.1 * hours;
            let facility = gpus * kw * 100.0 * 12.0 * hours / 8760.0;
            let staff = 5000.0 * hours / 8760.0;
            let expected = (kept - power - facility - staff) / employed;
            let found = row.yield_fraction.expect("capital employed");
            assert!(
                close(found, expected, 1e-9),
                "year {}: yield {found} vs closed form {expected}",
                row.year
            );
            // At u = 1 exactly, year 1: (2 × 8 × 8760 × 0.8 − 13,402.8 − 12,240 − 5000)
            // ÷ (72,000 × 0.330 ÷ 0.401 = 59,306) = 1.3740; year 2 the same cash on e^(−k)
            // of that capital, 2.0525.
            let by_hand = [1.374_0, 2.052_5][row.year as usize - 1];
            assert!(close(found, by_hand, 1e-4), "year {}: {found}", row.year);
            assert!(
                close(
                    row.depreciation_usd,
                    value(start) - value(start + 1.0),
                    1e-9
                ),
                "year {}: owned GPUs lose their market value: {}",
                row.year,
                row.depreciation_usd
            );
            assert!(close(row.capital_employed_usd, employed, 1e-12));
            assert!(close(row.book_value_usd, value(start + 1.0), 1e-12));
        }
        // Sold at the horizon for what they fetch then: 72,000 × 0.3^(2/3) = 32,266.
        assert!(close(rows[2].terminal_value_usd, value(2.0), 1e-12));
        assert!(close(value(2.0), 32_266.0, 1e-4));
    }
}

/// A data center buys 8 GPUs at $30,000 with a 2-year life and 25% residual over a
/// 3-year run: capex once at time 0; book value 240,000 → 150,000 → 60,000 → 60,000.
#[test]
fn book_value_falls_to_the_residual_and_capex_appears_once() {
    let yaml = |method: &str| {
        format!(
            "name: depreciation\nsimulation: {{horizon_hours: 26280, replications: 2, seed: 3}}\n\
             demand:\n  segments:\n    - name: jobs\n      arrivals_per_hour: 2\n      duration_hours: {{exponential: {{mean: 1}}}}\n\
             centralized:\n  gpus: 8\n  pricing: {{usd_per_gpu_hour: 3.0}}\n  costs: {{capex_usd_per_gpu: 30000, depreciation_years: 2, residual_fraction: 0.25}}\n\
             finance: {{depreciation: {method}, terminal_value: 0.5}}\n"
        )
    };
    for run in run(&yaml("straight_line")) {
        let rows = whole(&run);
        let book: Vec<f64> = rows.iter().map(|r| r.book_value_usd).collect();
        let depreciation: Vec<f64> = rows.iter().map(|r| r.depreciation_usd).collect();
        let capex: Vec<f64> = rows.iter().map(|r| r.capex_usd).collect();
        let employed: Vec<f64> = rows.iter().map(|r| r.capital_employed_usd).collect();
        let expect = |found: &[f64], wanted: [f64; 4], what: &str| {
            for (f, w) in found.iter().zip(wanted) {
                assert!(close(*f, w, 1e-9), "{what}: {found:?} vs {wanted:?}");
            }
        };
        expect(
            &book,
            [240_000.0, 150_000.0, 60_000.0, 60_000.0],
            "book value",
        );
        expect(
            &depreciation,
            [0.0, 90_000.0, 90_000.0, 0.0],
            "depreciation",
        );
        expect(&capex, [240_000.0, 0.0, 0.0, 0.0], "capex");
        expect(
            &employed,
            [0.0, 195_000.0, 105_000.0, 60_000.0],
            "capital employed",
        );
        // The book says 60,000, but a 3-year-old GPU fetches 30% of its price new on the
        // default resale curve: 0.5 × 240,000 × 0.3.
        assert!(
            close(rows[3].terminal_value_usd, 0.5 * 72_000.0, 1e-12),
            "terminal value: half the market value, {}",
            rows[3].terminal_value_usd
        );
        let sold: f64 = rows
            .iter()
            .map(|r| r.disposals_usd + r.terminal_value_usd)
            .sum();
        assert_eq!(
            sold, rows[3].terminal_value_usd,
            "nothing sold before the horizon"
        );
    }
    for run in run(&yaml("declining_balance")) {
        let book: Vec<f64> = whole(&run).iter().map(|r| r.book_value_usd).collect();
        // Life 2 at double-declining writes everything down to the residual at once.
        assert!(
            close(book[1], 60_000.0, 1e-9) && close(book[3], 60_000.0, 1e-9),
            "{book:?}"
        );
    }
}

/// Additive columns of a year: money, GPUs and capital.
fn additive(row: &YearRow) -> Vec<(&'static str, f64)> {
    row.columns()
        .into_iter()
        .filter(|(name, _)| !matches!(*name, "hours" | "yield" | "utilization"))
        .map(|(n, v)| (n, v.unwrap_or(0.0)))
        .collect()
}

/// The identities every set of statements obeys: per year, the parts add up to their
/// total in every additive column — the providers' rows to the architecture's (with
/// several), each provider's cohorts to its own, the cohorts to the architecture's (with
/// one); each net cash flow is its parts; book value rolls forward (held + bought −
/// depreciation − sold); NPV is that of the rows' flows and zero at the IRR. Also used by
/// the property tests.
pub fn check_statements(run: &RunMetrics, discount_rate: f64) -> Result<(), String> {
    let years = whole(run);
    let rows = &run.finance.years;
    let several = rows.iter().any(|r| r.provider.is_some());
    for total in rows.iter().filter(|r| r.cohort.is_none()) {
        let parts: Vec<&YearRow> = rows
            .iter()
            .filter(|r| {
                r.year == total.year
                    && if several && total.provider.is_none() {
                        r.provider.is_some() && r.cohort.is_none()
                    } else {
                        r.provider == total.provider && r.cohort.is_some()
                    }
            })
            .collect();
        if !parts.is_empty() {
            for (idx, (name, value)) in additive(total).into_iter().enumerate() {
                let sum: f64 = parts.iter().map(|part| additive(part)[idx].1).sum();
                if !close(sum, value, 1e-9) {
                    return Err(format!(
                        "year {}: {name}: parts {sum} vs {:?} {value}",
                        total.year, total.provider
                    ));
                }
            }
        }
    }
    for total in &years {
        let parts_sum = total.operating_cash_flow_usd - total.capex_usd - total.owned_hardware_usd
            + total.disposals_usd
            + total.terminal_value_usd;
        if !close(total.net_cash_flow_usd, parts_sum, 1e-12)
            || !close(
                total.ebitda_usd - total.tax_usd,
                total.operating_cash_flow_usd,
                1e-12,
            )
        {
            return Err(format!(
                "year {}: a cash flow is not its parts: {total:?}",
                total.year
            ));
        }
    }
    for pair in run
        .finance
        .years
        .windows(2)
        .filter(|pair| pair[0].cohort == pair[1].cohort && pair[0].provider == pair[1].provider)
    {
        let (before, row) = (pair[0], pair[1]);
        let terms = [
            before.book_value_usd,
            row.capex_usd,
            row.owned_hardware_usd,
            row.depreciation_usd,
            row.disposals_usd,
        ];
        let rolled = terms[0] + terms[1] + terms[2] - terms[3] - terms[4];
        // Rounding in a sum is relative to its terms, not to its result: a cohort written
        // down and sold to nothing ends at 0 ± ulps of its millions.
        let scale = terms.iter().fold(1.0_f64, |m, t| m.max(t.abs()));
        if (rolled - row.book_value_usd).abs() > 1e-9 * scale {
            return Err(format!(
                "cohort {:?} year {}: book value rolls to {rolled}, not {}",
                row.cohort, row.year, row.book_value_usd
            ));
        }
    }
    let hours: Vec<f64> = years
        .iter()
        .scan(0.0, |end, row| {
            *end += row.hours;
            Some(*end / 8760.0)
        })
        .collect();
    let flows: Vec<(f64, f64)> = years
        .iter()
        .zip(&hours)
        .map(|(row, &at)| (at, row.net_cash_flow_usd))
        .collect();
    let returns = &run.finance.returns[0];
    if !close(
        returns.npv_usd,
        finance::npv_at(discount_rate, &flows),
        1e-12,
    ) {
        return Err(format!(
            "NPV {} is not that of the flows {flows:?}",
            returns.npv_usd
        ));
    }
    if let Ok(irr) = returns.irr
        && finance::npv_at(irr, &flows).abs() > 1e-6 * flows[0].1.abs().max(1.0)
    {
        return Err(format!("NPV at the IRR {irr} is not 0: {flows:?}"));
    }
    Ok(())
}

/// A network that operators join, leave and reinvest in, with tax: per replication
/// and year, the cohorts' rows add up to the network's in every additive column, and
/// each row's cash flow is its parts.
#[test]
fn cohorts_sum_to_the_network_every_year() {
    let operator = "{gpus: 4, costs: {capex_usd_per_gpu: 20000, electricity_usd_per_kwh: 0.12, facility_usd_per_kw_month: 150, fixed_usd_per_year: 2000}}";
    let yaml = format!(
        "name: cohorts\nsimulation: {{horizon_hours: 26280, warmup_hours: 100, replications: 4, seed: 9}}\n\
         demand:\n  segments:\n    - name: jobs\n      arrivals_per_hour: 20\n      annual_growth: 0.8\n      duration_hours: {{exponential: {{mean: 2}}}}\n      patience_hours: 2\n\
         distributed:\n  take_rate: 0.2\n  pricing: {{usd_per_gpu_hour: 2.0}}\n  operators:\n    - count: 10\n      gpus: 4\n      costs: {{capex_usd_per_gpu: 20000, electricity_usd_per_kwh: 0.12, facility_usd_per_kw_month: 150, fixed_usd_per_year: 2000}}\n\
         \x20 entry: {{hurdle_yield: 0.05, onboarding_weeks: 2, template: {operator}}}\n\
         \x20 exit: {{below_yield: 0.02, after_reviews: 2}}\n\
         \x20 reinvest: {{share: 0.5, lead_time_weeks: 8}}\n\
         finance: {{tax_rate: 0.25}}\n"
    );
    let rows = run(&yaml);
    let (mut cohorts_seen, mut disposed) = (0, 0.0);
    for run in rows.iter().filter(|r| r.system == SystemKind::Distributed) {
        check_statements(run, 0.10)
            .unwrap_or_else(|e| panic!("replication {}: {e}", run.replication));
        let cohorts = run.finance.returns.len() - 1;
        cohorts_seen = cohorts_seen.max(cohorts);
        disposed += run
            .finance
            .years
            .iter()
            .filter(|r| r.cohort.is_none())
            .map(|r| r.disposals_usd)
            .sum::<f64>();
    }
    assert!(
        cohorts_seen >= 2,
        "operators joined in some replication ({cohorts_seen} cohorts at most)"
    );
    assert!(
        disposed > 0.0,
        "operators left in some replication, so retirements were rolled forward"
    );
    assert_eq!(
        DepreciationMethod::default(),
        DepreciationMethod::StraightLine
    );
}
