//! Non-homogeneous arrivals: growth, seasonality and shocks, sampled by thinning,
//! produce a Poisson process with the specified rate.
//!
//! Method: over 20 replications of a two-year horizon, count arrivals in 48 bins (24
//! months × day/night) and compare each count with the integral of λ over the bin. The
//! count is Poisson, so z = (observed − expected)/√expected; with 48 bins a Bonferroni
//! bound for a 1% family-wise false alarm is |z| ≤ 3.73. A sampler that ignored growth
//! would miss the last months by ~40%, i.e. by hundreds of standard deviations.

use capsim::arrivals::{RateProfile, Shock};
use capsim::model::demand::JobSource;

use crate::scenario;

const HORIZON: f64 = 2.0 * 8760.0;

fn profile() -> RateProfile {
    // Night (hours 0–5) has no demand; working hours are busier. Factors are relative.
    let daily: Vec<f64> = (0..24)
        .map(|hour| {
            if hour < 6 {
                0.0
            } else if (9..18).contains(&hour) {
                2.0
            } else {
                1.0
            }
        })
        .collect();
    let mean = daily.iter().sum::<f64>() / 24.0;
    RateProfile {
        base_per_hour: 5.0,
        annual_growth: 1.0,
        daily: daily.iter().map(|f| f / mean).collect(),
        weekly: [1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5]
            .iter()
            .map(|f| f / (6.0 / 7.0))
            .collect(),
        shocks: vec![Shock {
            start_hours: 9000.0,
            length_hours: 700.0,
            factor: 3.0,
        }],
    }
}

#[test]
fn thinning_reproduces_the_rate_profile() {
    let yaml = "name: seasonal\nsimulation: {horizon_hours: 17520, replications: 20, seed: 3}\n\
                demand:\n  segments:\n    - name: jobs\n      arrivals_per_hour: 5\n      duration_hours: 1\n\
                centralized: {gpus: 10}\n";
    let mut scenario = scenario(yaml);
    scenario.segments[0].arrivals = profile();
    let rate = &scenario.segments[0].arrivals;
    let bin_of = |time: f64| -> usize {
        let month = ((time / 730.0) as usize).min(23);
        let daytime = usize::from(time.rem_euclid(24.0) >= 12.0);
        month * 2 + daytime
    };
    let mut observed = [0u64; 48];
    for replication in 0..20 {
        let mut source = JobSource::new(
            &scenario.segments[0],
            0,
            capsim::seeds::Seeding {
                seed: 3,
                antithetic: false,
            },
            replication,
        );
        let mut now = 0.0;
        while let Some(time) = source.next_arrival(now, HORIZON) {
            assert!(time > now && time < HORIZON);
            assert!(
                time.rem_euclid(24.0) >= 6.0,
                "an arrival at {time} falls in a zero-rate hour"
            );
            observed[bin_of(time)] += 1;
            now = time;
        }
    }
    // Expected count per bin: 20 × ∫ λ over the bin, integrated hour by hour (each hour
    // lies in one bin; growth is integrated in closed form inside `expected_arrivals`).
    let mut expected = [0.0f64; 48];
    for hour in 0..(HORIZON as usize) {
        let start = hour as f64;
        expected[bin_of(start + 0.5)] += 20.0 * rate.expected_arrivals_between(start, start + 1.0);
    }
    let total_expected: f64 = expected.iter().sum();
    assert!(
        (total_expected - 20.0 * rate.expected_arrivals(HORIZON)).abs() < 1e-6 * total_expected
    );
    for (bin, (&count, &mean)) in observed.iter().zip(&expected).enumerate() {
        let z = (count as f64 - mean) / mean.sqrt();
        assert!(
            z.abs() <= 3.73,
            "bin {bin}: {count} arrivals, expected {mean:.1} (z = {z:.2})"
        );
    }
    // Growth is visible: the last month has ~2× the arrivals of the first.
    let first = (observed[0] + observed[1]) as f64;
    let last = (observed[46] + observed[47]) as f64;
    assert!(
        last / first > 3.0,
        "two years of 100% growth: {first} → {last}"
    );
}

/// A constant rate draws no acceptance numbers, so the arrival stream is exactly the
/// homogeneous one, and a profile whose only feature is growth 0 is constant.
#[test]
fn constant_profiles_are_not_thinned() {
    assert!(RateProfile::constant(3.0).is_constant());
    assert!(!profile().is_constant());
    let yaml = "name: flat\nsimulation: {horizon_hours: 100, seed: 3}\ndemand:\n  segments:\n    - name: jobs\n      arrivals_per_hour: 5\n      annual_growth: 0\n      duration_hours: 1\ncentralized: {gpus: 10}\n";
    assert!(scenario(yaml).segments[0].arrivals.is_constant());
}

/// The YAML keys reach the profile; seasonal factors are rescaled to average 1.
#[test]
fn seasonality_keys_are_read_and_normalised() {
    let daily: Vec<String> = (0..24)
        .map(|hour| {
            if hour < 12 {
                "1".to_string()
            } else {
                "3".to_string()
            }
        })
        .collect();
    let yaml = format!(
        "name: keys\nsimulation: {{horizon_hours: 1000, seed: 3}}\ndemand:\n  segments:\n    - name: jobs\n      arrivals_per_hour: 5\n\
         \x20     annual_growth: 0.25\n      seasonality: {{daily: [{}], weekly: [2, 2, 2, 2, 2, 1, 1]}}\n\
         \x20     shocks: [{{start_hours: 10, length_hours: 5, factor: 0}}]\n      duration_hours: 1\ncentralized: {{gpus: 10}}\n",
        daily.join(", ")
    );
    let profile = &scenario(&yaml).segments[0].arrivals;
    assert_eq!(profile.annual_growth, 0.25);
    assert_eq!(profile.daily[0], 0.5);
    assert_eq!(profile.daily[23], 1.5);
    assert!((profile.weekly.iter().sum::<f64>() - 7.0).abs() < 1e-12);
    assert_eq!(profile.rate_at(12.0), 0.0, "the shock stops demand");
}
