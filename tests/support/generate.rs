//! Valid scenarios built from a stream of choices, every mechanism switched on at
//! random (tiers, maximum prices and their drift, egress, regions and the out-of-region
//! slowdown, GPU classes built in and custom on a technology curve, least classes, growth,
//! seasonality, shocks, every pricing policy, data centers, running costs, procurement
//! with forecasts, service lives and class lists, failures with and without checkpoints,
//! availability, operator entry, exit and reinvestment), and the invariants every run of
//! one must keep. Two sources drive it: the property tests' seeded generator
//! (`tests/it/properties.rs`) and raw bytes read through `arbitrary::Unstructured`
//! (the structure-aware fuzzing of `tests/it/fuzz.rs` and `fuzz/fuzz_targets/model.rs`),
//! so a fuzzer's mutation of a byte changes the scenario's choices from that byte on
//! (later choices shift where a branch reads more or fewer bytes), never its syntax, and
//! every input reaches the model.
//!
//! Test support, not part of the library: included with `#[path]`.

use std::ops::Range;

use capsim::metrics::RunMetrics;
use capsim::montecarlo;

/// Where the generator's choices come from.
pub trait Choices {
    /// A number in `range`.
    fn f64_in(&mut self, range: Range<f64>) -> f64;
    /// A whole number in `range` (half-open).
    fn u32_in(&mut self, range: Range<u32>) -> u32;
    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool;
}

/// Bytes as choices: four bytes make a number, one byte a yes or no. When the bytes run
/// out every choice is the range's start and every chance "no", so a short input is a
/// small, plain scenario and any input is a valid one.
impl Choices for arbitrary::Unstructured<'_> {
    fn f64_in(&mut self, range: Range<f64>) -> f64 {
        // `Unstructured` reads zeros once its bytes run out; its start is the same.
        let bits: u32 = self.arbitrary().unwrap_or(0);
        range.start + (range.end - range.start) * (f64::from(bits) / 4_294_967_296.0)
    }

    fn u32_in(&mut self, range: Range<u32>) -> u32 {
        self.int_in_range(range.start..=range.end - 1)
            .unwrap_or(range.start)
    }

    fn chance(&mut self, p: f64) -> bool {
        if self.is_empty() {
            return false;
        }
        let byte: u8 = self.arbitrary().unwrap_or(u8::MAX);
        f64::from(byte) < p * 256.0
    }
}

/// A random distribution in YAML, every kind the schema has, with mean ≈ `scale`.
fn dist(rng: &mut impl Choices, scale: f64) -> String {
    match rng.u32_in(0..6) {
        0 => format!("{scale}"),
        1 => format!("{{exponential: {{mean: {scale}}}}}"),
        2 => format!(
            "{{lognormal: {{median: {scale}, sigma: {}}}}}",
            rng.f64_in(0.0..2.0)
        ),
        3 => format!(
            "{{lognormal: {{mean: {scale}, sigma: {}}}}}",
            rng.f64_in(0.0..2.0)
        ),
        4 => format!(
            "{{triangular: {{min: 0, mode: {scale}, max: {}}}}}",
            3.0 * scale
        ),
        _ => format!(
            "{{uniform: {{min: {}, max: {}}}}}",
            0.5 * scale,
            1.5 * scale
        ),
    }
}

pub fn random_scenario(rng: &mut impl Choices, case: u32) -> String {
    let (mut yaml, world, largest_job) = scenario_head(rng, case);
    let providers: &[&str] = match rng.u32_in(0..3) {
        0 => {
            yaml.push_str(&centralized(rng, &world, largest_job));
            &["centralized"]
        }
        1 => {
            yaml.push_str(&distributed(rng, &world, largest_job));
            &["distributed"]
        }
        _ => {
            yaml.push_str(&centralized(rng, &world, largest_job));
            yaml.push_str(&distributed(rng, &world, largest_job));
            &["centralized", "distributed"]
        }
    };
    let names: Vec<String> = providers.iter().map(|p| p.to_string()).collect();
    with_contracts(rng, yaml, &names)
}

/// The scenario with, in two cases of five, one to three take-or-pay contracts of random
/// size, price, start, term and renewal, each with one of `providers` for one segment.
fn with_contracts(rng: &mut impl Choices, yaml: String, providers: &[String]) -> String {
    if !rng.chance(0.4) {
        return yaml;
    }
    let segments = yaml.matches("    - name: s").count() as u32;
    let mut block = String::from("  contracts:\n");
    for _ in 0..rng.u32_in(1..4) {
        let provider = &providers[rng.u32_in(0..providers.len() as u32) as usize];
        block.push_str(&format!(
            "    - {{provider: {provider}, segment: s{}, gpus: {}, usd_per_gpu_hour: {}, term_weeks: {}, start_week: {}, renewal_probability: {}, count: {}}}\n",
            rng.u32_in(0..segments.max(1)),
            rng.u32_in(1..24),
            rng.f64_in(0.0..6.0),
            rng.f64_in(0.05..3.0),
            rng.f64_in(0.0..1.5),
            rng.f64_in(0.0..1.0),
            rng.u32_in(1..4)
        ));
    }
    // Inside `demand:`, after its segments: before the next top-level key.
    let demand = yaml.find("demand:\n").expect("demand");
    let end = yaml[demand..]
        .match_indices('\n')
        .map(|(at, _)| demand + at + 1)
        .find(|&at| yaml[at..].chars().next().is_some_and(|c| c != ' '))
        .unwrap_or(yaml.len());
    let mut yaml = yaml;
    yaml.insert_str(end, &block);
    yaml
}

/// A random valid market: the demand, classes and finance of [`random_scenario`], then
/// two or three named providers of either kind (each a section the shorthand's
/// generators write), architectures of all of them, of one, and of a pair, compared
/// one against all; a segment may be locked in to one of the providers.
pub fn random_market(rng: &mut impl Choices, case: u32) -> String {
    let (mut yaml, world, largest_job) = scenario_head(rng, case);
    let count = rng.u32_in(2..4);
    let names: Vec<String> = (0..count).map(|k| format!("p{k}")).collect();
    yaml.push_str("providers:\n");
    for name in &names {
        let section = if rng.chance(0.5) {
            centralized(rng, &world, largest_job)
        } else {
            distributed(rng, &world, largest_job)
        };
        let (head, body) = section.split_once(":\n").expect("a section");
        yaml.push_str(&format!("  - name: {name}\n    kind: {head}\n"));
        for line in body.lines() {
            yaml.push_str(&format!("  {line}\n"));
        }
    }
    let pick = |rng: &mut dyn FnMut(u32) -> u32| names[rng(count) as usize].clone();
    let mut draw = |n: u32| rng.u32_in(0..n);
    let (solo, other) = (pick(&mut draw), pick(&mut draw));
    let incumbent = pick(&mut draw);
    yaml.push_str(&format!(
        "architectures:\n  all: [{}]\n  solo: [{solo}]\n",
        names.join(", ")
    ));
    if other != solo {
        yaml.push_str(&format!("  pair: [{other}, {solo}]\n"));
    }
    yaml.push_str("compare: [solo, all]\n");
    if rng.chance(0.5) {
        let lock = format!(
            "    - name: s0\n      lock_in: {{share: {}, incumbent: {incumbent}, switch_threshold: {}}}\n",
            rng.f64_in(0.0..1.0),
            rng.f64_in(0.0..1.0)
        );
        yaml = yaml.replacen("    - name: s0\n", &lock, 1);
    }
    with_contracts(rng, yaml, &names)
}

/// A scenario's simulation, regions, classes, demand and finance: what the systems are
/// offered, with the names their sites may use and the largest job they must fit.
fn scenario_head(rng: &mut impl Choices, case: u32) -> (String, World, u32) {
    let horizon = rng.f64_in(20.0..300.0);
    let warmup = horizon * rng.f64_in(0.0..0.5);
    let mut yaml = format!(
        "name: case-{case}\nsimulation: {{horizon_hours: {horizon}, warmup_hours: {warmup}, replications: 2, seed: {case}, antithetic: {}}}\n",
        // A third of the cases run an antithetic pair (inverse-transform samplers, mirrored draws).
        case.is_multiple_of(3)
    );
    // Two regions (out-of-region slowdown, egress) in a quarter of the cases, and a
    // custom GPU class on a technology curve in a fifth.
    let regions: &[&str] = if rng.chance(0.25) {
        yaml.insert_str(0, "regions: [west, east]\n");
        &["west", "east"]
    } else {
        &[]
    };
    let mut classes = vec!["H100", "A100", "RTX4090", "B200"];
    if rng.chance(0.2) {
        yaml.push_str(&format!(
            "gpu_classes: [{{name: X1, speed: {}, power_kw: {}, capex_usd: {}, annual_cost_decline: {}, available_from_week: {}}}]\n",
            rng.f64_in(0.2..3.0),
            rng.f64_in(0.1..2.0),
            rng.f64_in(500.0..60000.0),
            rng.f64_in(0.0..0.5),
            rng.f64_in(0.0..2.0)
        ));
        classes.push("X1");
    }
    let world = World { regions, classes };
    yaml.push_str("demand:\n  segments:\n");
    let mut largest_job = 1;
    for segment in 0..rng.u32_in(1..4) {
        let gpus = if rng.chance(0.5) {
            let size = rng.u32_in(1..9);
            largest_job = largest_job.max(size);
            size.to_string()
        } else {
            largest_job = largest_job.max(8);
            "{1: 0.8, 2: 0.1, 4: 0.07, 8: 0.03}".to_string()
        };
        let rate = rng.f64_in(0.1..30.0);
        let mean_duration = rng.f64_in(0.05..3.0);
        let duration = dist(rng, mean_duration);
        yaml.push_str(&format!(
            "    - name: s{segment}\n      arrivals_per_hour: {rate}\n      gpus_per_job: {gpus}\n      duration_hours: {duration}\n"
        ));
        let reserved = if rng.chance(0.3) {
            let share = rng.f64_in(0.0..1.0);
            yaml.push_str(&format!("      reserved_share: {share}\n"));
            share
        } else {
            0.0
        };
        if rng.chance(0.25) {
            // Spot above the reserved share on the same draw: the two add up to at most 1.
            yaml.push_str(&format!(
                "      spot_share: {}\n",
                rng.f64_in(0.0..1.0) * (1.0 - reserved)
            ));
            if rng.chance(0.5) {
                yaml.push_str(&format!(
                    "      checkpoint_every_hours: {}\n",
                    rng.f64_in(0.05..5.0)
                ));
            }
        }
        let has_max_price = rng.chance(0.3);
        if has_max_price {
            let typical = rng.f64_in(0.5..8.0);
            yaml.push_str(&format!(
                "      max_price_usd_per_gpu_hour: {}\n",
                dist(rng, typical)
            ));
        }
        if rng.chance(0.2) {
            yaml.push_str(&format!("      data_gb: {}\n", dist(rng, 20.0)));
        }
        if rng.chance(0.15) {
            // Needs around the classes' 24–192 GB: some jobs fit no class and are unserved.
            yaml.push_str(&format!("      memory_gb_per_gpu: {}\n", dist(rng, 40.0)));
        }
        match rng.u32_in(0..3) {
            0 => {}
            1 => yaml.push_str("      patience_hours: 0\n"),
            _ => {
                let mean_patience = rng.f64_in(0.05..4.0);
                let patience = dist(rng, mean_patience);
                yaml.push_str(&format!("      patience_hours: {patience}\n"));
            }
        }
        segment_extras(rng, &world, (horizon, has_max_price), &mut yaml);
    }
    if rng.chance(0.5) {
        let method = if rng.chance(0.5) {
            "straight_line"
        } else {
            "declining_balance"
        };
        yaml.push_str(&format!(
            "finance: {{discount_rate: {}, tax_rate: {}, depreciation: {method}, terminal_value: {}}}\n",
            rng.f64_in(0.0..0.3),
            rng.f64_in(0.0..0.4),
            rng.f64_in(0.0..1.5)
        ));
    }
    (yaml, world, largest_job)
}

/// What the sites and segments of a scenario may name.
struct World {
    /// Empty: the one default region.
    regions: &'static [&'static str],
    /// GPU classes a site may have.
    classes: Vec<&'static str>,
}

impl World {
    /// A region key (`, region: R`) for a site or segment, or nothing.
    fn region(&self, rng: &mut impl Choices) -> String {
        if self.regions.is_empty() || !rng.chance(0.7) {
            return String::new();
        }
        format!(
            ", region: {}",
            self.regions[rng.u32_in(0..self.regions.len() as u32) as usize]
        )
    }

    fn class(&self, rng: &mut impl Choices) -> &'static str {
        self.classes[rng.u32_in(0..self.classes.len() as u32) as usize]
    }
}

/// Growth, seasonality, shocks, a region, a least GPU class and a moving maximum price
/// for the segment just written.
fn segment_extras(
    rng: &mut impl Choices,
    world: &World,
    (horizon, has_max_price): (f64, bool),
    yaml: &mut String,
) {
    if rng.chance(0.2) {
        yaml.push_str(&format!("      annual_growth: {}\n", rng.f64_in(-0.5..2.0)));
    }
    if rng.chance(0.15) {
        let daily: Vec<String> = (0..24)
            .map(|_| format!("{}", rng.f64_in(0.1..2.0)))
            .collect();
        yaml.push_str(&format!(
            "      seasonality: {{daily: [{}]}}\n",
            daily.join(", ")
        ));
    }
    if rng.chance(0.15) {
        yaml.push_str(&format!(
            "      shocks: [{{start_hours: {}, length_hours: {}, factor: {}}}]\n",
            rng.f64_in(0.0..horizon),
            rng.f64_in(1.0..100.0),
            rng.f64_in(0.0..3.0)
        ));
    }
    if let Some(region) = world.region(rng).strip_prefix(", ") {
        yaml.push_str(&format!("      {region}\n"));
    }
    if rng.chance(0.1) {
        yaml.push_str(&format!("      min_gpu_class: {}\n", world.class(rng)));
    }
    if has_max_price && rng.chance(0.3) {
        yaml.push_str(&format!(
            "      max_price_annual_change: {}\n",
            rng.f64_in(-0.5..0.5)
        ));
    }
}

/// Running costs and capital of a site, sometimes.
fn costs(rng: &mut impl Choices) -> String {
    if !rng.chance(0.3) {
        return String::new();
    }
    format!(
        "{{capex_usd_per_gpu: {}, electricity_usd_per_kwh: {}, facility_usd_per_kw_month: {}, fixed_usd_per_year: {}}}",
        rng.f64_in(0.0..40000.0),
        rng.f64_in(0.0..0.4),
        rng.f64_in(0.0..200.0),
        rng.f64_in(0.0..50000.0)
    )
}

/// Prices, sometimes moved by a policy; reviews often enough to happen in short runs.
fn pricing(rng: &mut impl Choices) -> String {
    let price = rng.f64_in(0.5..8.0);
    let list = format!("usd_per_gpu_hour: {price}, ");
    let (list, policy) = match rng.u32_in(0..5) {
        0 => (list, String::new()),
        1 => (
            list,
            format!(
                ", policy: scheduled, annual_decline: {}",
                rng.f64_in(0.0..0.9)
            ),
        ),
        2 => (
            list,
            format!(
                ", policy: utilization_target, target_utilization: {}, max_step: 0.2",
                rng.f64_in(0.3..0.95)
            ),
        ),
        3 => {
            let floor = rng.f64_in(0.0..price);
            (
                list,
                format!(
                    ", policy: market_clearing, target_utilization: {}, max_step: {}, floor_usd_per_gpu_hour: {floor}, ceiling_usd_per_gpu_hour: {}",
                    rng.f64_in(0.3..0.95),
                    rng.f64_in(0.01..0.5),
                    price + rng.f64_in(0.0..10.0)
                ),
            )
        }
        _ => (
            String::new(),
            format!(
                ", policy: cost_plus, planned_utilization: {}, margin: {}, cost_of_capital: {}",
                rng.f64_in(0.1..1.0),
                rng.f64_in(0.0..1.0),
                rng.f64_in(0.0..0.3)
            ),
        ),
    };
    format!(
        "  review_every_hours: {}\n  pricing: {{{list}reserved_discount: 0.2, spot_discount: {}, spot_on_idle_commitments: {}, egress_usd_per_gb: 0.05{policy}}}\n",
        rng.f64_in(5.0..60.0),
        rng.f64_in(0.0..0.9),
        rng.chance(0.5)
    )
}

fn centralized(rng: &mut impl Choices, world: &World, largest_job: u32) -> String {
    let mut yaml = if rng.chance(0.3) {
        let centers: Vec<String> = (0..rng.u32_in(1..3))
            .map(|_| {
                let region = match world.regions {
                    [] => "default",
                    names => names[rng.u32_in(0..names.len() as u32) as usize],
                };
                format!(
                    "{{region: {region}, gpu_class: {}, gpus: {}}}",
                    world.class(rng),
                    largest_job + rng.u32_in(0..40)
                )
            })
            .collect();
        format!("centralized:\n  data_centers: [{}]\n", centers.join(", "))
    } else {
        format!(
            "centralized:\n  gpus: {}\n",
            largest_job + rng.u32_in(0..40)
        )
    };
    if !world.regions.is_empty() && rng.chance(0.5) {
        yaml.push_str(&format!("  latency_slowdown: {}\n", rng.f64_in(1.0..2.0)));
    }
    if rng.chance(0.3) {
        let policy = ["first_fit", "least_utilized", "random"][rng.u32_in(0..3) as usize];
        yaml.push_str(&format!("  placement: {policy}\n"));
    }
    let costs = costs(rng);
    if !costs.is_empty() {
        yaml.push_str(&format!("  costs: {costs}\n"));
    }
    if rng.chance(0.6) {
        yaml.push_str(&pricing(rng));
    }
    if rng.chance(0.4) {
        let weeks = rng.f64_in(0.0..3.0);
        let mut extra = String::new();
        if rng.chance(0.3) {
            extra.push_str(&format!(
                ", forecast_annual_growth: {}",
                rng.f64_in(-0.5..2.0)
            ));
        }
        if rng.chance(0.3) {
            extra.push_str(&format!(", service_life_years: {}", rng.f64_in(0.005..6.0)));
        }
        if rng.chance(0.3) {
            extra.push_str(&format!(
                ", gpu_classes: [{}, {}]",
                world.class(rng),
                world.class(rng)
            ));
        }
        yaml.push_str(&format!(
            "  procurement: {{target_utilization: {}, lead_time_weeks: {}, order_multiple: {}{extra}}}\n",
            rng.f64_in(0.4..0.95),
            dist(rng, weeks),
            rng.u32_in(1..9)
        ));
    }
    yaml
}

/// Sometimes listed GPUs that do not all deliver.
fn verification(rng: &mut impl Choices) -> String {
    if !rng.chance(0.25) {
        return String::new();
    }
    let low = rng.f64_in(0.0..0.98);
    format!(
        ", verified_share: {{uniform: {{min: {low}, max: {}}}}}, verification_hours: {}",
        low + (1.0 - low) * rng.f64_in(0.01..1.0),
        rng.f64_in(0.01..2.0)
    )
}

fn distributed(rng: &mut impl Choices, world: &World, largest_job: u32) -> String {
    let policy = rng
        .chance(0.3)
        .then(|| ["first_fit", "least_utilized", "random", "cheapest"][rng.u32_in(0..4) as usize]);
    let priced = rng.chance(0.6);
    let mut operators = Vec::new();
    for _ in 0..rng.u32_in(1..3) {
        let mut operator = format!(
            "{{count: {}, gpus: {}",
            rng.u32_in(1..6),
            largest_job + rng.u32_in(0..12)
        );
        if rng.chance(0.5) {
            let (mtbf, mttr) = (rng.f64_in(5.0..300.0), rng.f64_in(0.1..10.0));
            operator.push_str(&format!(
                ", mtbf_hours: {mtbf}, mttr_hours: {}",
                dist(rng, mttr)
            ));
            if rng.chance(0.5) {
                operator.push_str(&format!(
                    ", checkpoint_every_hours: {}",
                    rng.f64_in(0.05..2.0)
                ));
            }
        }
        if rng.chance(0.4) {
            operator.push_str(&format!(
                ", availability: {}, availability_cycle_hours: {}",
                rng.f64_in(0.3..1.0),
                rng.f64_in(1.0..100.0)
            ));
            // Positive seasonal factors: any availability can be kept.
            if rng.chance(0.5) {
                operator.push_str(", availability_follows_demand: true");
            }
        }
        if rng.chance(0.3) {
            operator.push_str(&format!(", gpu_class: {}", world.class(rng)));
        }
        operator.push_str(&world.region(rng));
        operator.push_str(&verification(rng));
        if rng.chance(0.2) {
            // At least the largest job, so every job fits some site.
            let gang = largest_job + rng.u32_in(0..4);
            operator.push_str(&format!(", max_gang_gpus: {gang}"));
        }
        if policy == Some("cheapest") && priced && rng.chance(0.5) {
            operator.push_str(&format!(", ask_usd_per_gpu_hour: {}", rng.f64_in(0.1..5.0)));
        }
        let costs = costs(rng);
        if !costs.is_empty() {
            operator.push_str(&format!(", costs: {costs}"));
        }
        operator.push('}');
        operators.push(operator);
    }
    let mut yaml = format!(
        "distributed:\n  operators: [{}]\n  take_rate: {}\n",
        operators.join(", "),
        rng.f64_in(0.0..0.5)
    );
    if !world.regions.is_empty() && rng.chance(0.5) {
        yaml.push_str(&format!("  latency_slowdown: {}\n", rng.f64_in(1.0..2.0)));
    }
    if let Some(policy) = policy {
        yaml.push_str(&format!("  placement: {policy}\n"));
    }
    if priced {
        yaml.push_str(&pricing(rng));
    }
    if rng.chance(0.3) {
        yaml.push_str(&format!(
            "  entry: {{hurdle_yield: {}, onboarding_weeks: {}, template: {{gpus: {largest_job}}}}}\n",
            rng.f64_in(-1.0..1.0),
            dist(rng, 0.1)
        ));
    } else if rng.chance(0.3) {
        let low = rng.f64_in(0.0..0.5);
        let bought = if rng.chance(0.3) {
            format!(", owned: false, lead_time_weeks: {}", dist(rng, 0.2))
        } else {
            String::new()
        };
        yaml.push_str(&format!(
            "  entry: {{onboarding_weeks: {}, pool: [{{count: {}, gpus: {}, reservation_yield: {{uniform: {{min: {low}, max: {}}}}}{bought}{}{}}}]}}\n",
            dist(rng, 0.1),
            rng.u32_in(1..30),
            largest_job + rng.u32_in(0..4),
            low + rng.f64_in(0.01..1.0),
            world.region(rng),
            verification(rng),
        ));
    }
    if rng.chance(0.3) {
        yaml.push_str(&format!(
            "  exit: {{below_yield: {}, after_reviews: {}}}\n",
            rng.f64_in(-1.0..2.0),
            rng.u32_in(1..4)
        ));
    }
    if rng.chance(0.3) {
        yaml.push_str(&format!(
            "  reinvest: {{share: {}, lead_time_weeks: {}}}\n",
            rng.f64_in(0.0..1.0),
            dist(rng, 0.2)
        ));
    }
    yaml
}

/// The scenario a string of bytes chooses (its first choice is the case number, which
/// names it and seeds it).
pub fn scenario_from_bytes(bytes: &[u8]) -> String {
    let mut choices = arbitrary::Unstructured::new(bytes);
    let case = choices.u32_in(0..1 << 16);
    random_scenario(&mut choices, case)
}

/// Structure-aware fuzzing: the scenario `bytes` choose must be valid, run on one
/// thread and on two to the same rows, and keep every invariant of [`check_rows`];
/// `extra` adds checks of each row (the test suite's finance identities).
///
/// # Panics
/// When the scenario is refused or a property fails: a bug in capsim or the generator.
pub fn check_bytes(
    bytes: &[u8],
    extra: impl Fn(&capsim::scenario::Scenario, &RunMetrics) -> Result<(), String>,
) {
    let yaml = scenario_from_bytes(bytes);
    let scenario = capsim::scenario::parse("generated.yaml", &yaml).unwrap_or_else(|e| {
        panic!(
            "the generator made a scenario capsim refuses:\n{}\n{yaml}",
            e.render()
        )
    });
    let one = montecarlo::run(&scenario, Some(1)).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let two = montecarlo::run(&scenario, Some(2)).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    // Compared as text: f64's Debug form round-trips exactly, and NaN equals NaN there.
    assert!(
        format!("{one:?}") == format!("{two:?}"),
        "thread count changed the results\n{yaml}"
    );
    assert_eq!(one.len(), 2 * scenario.systems().len(), "{yaml}");
    check_rows("generated", &yaml, &one);
    for row in &one {
        extra(&scenario, row).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    }
}

/// What every replication's row keeps: fractions in [0, 1]; every job that arrived
/// ended one way; installed GPU-hours are busy, idle, down or withdrawn; customers' spend
/// is the provider's plus the protocol's revenue; each year's utilization in [0, 1] and
/// its yield finite.
///
/// # Panics
/// When one does not hold, naming `label` and the scenario.
pub fn check_rows(label: &str, yaml: &str, rows: &[RunMetrics]) {
    for row in rows {
        let fractions = [
            ("utilization", row.utilization),
            ("p_wait", row.p_wait),
            ("abandon_fraction", row.abandon_fraction),
            ("lost_demand_fraction", row.lost_demand_fraction),
        ];
        for (name, value) in fractions {
            assert!(
                (0.0..=1.0).contains(&value),
                "{label}: {name} = {value}\n{yaml}"
            );
        }
        assert!(
            row.mean_wait_hours >= 0.0 && row.mean_queue_length >= 0.0,
            "{label}: negative wait\n{yaml}"
        );
        let ended = row.jobs_completed
            + row.jobs_abandoned
            + row.jobs_priced_out
            + row.jobs_unserved
            + row.jobs_stranded
            + row.jobs_failed;
        assert_eq!(row.jobs_arrived, ended, "{label}: jobs\n{yaml}");
        let up_and_down =
            row.busy_gpu_hours + row.idle_gpu_hours + row.down_gpu_hours + row.withdrawn_gpu_hours;
        assert!(
            (up_and_down - row.installed_gpu_hours).abs()
                <= 1e-9 * row.installed_gpu_hours.max(1.0),
            "{label}: GPU-hours\n{yaml}"
        );
        let paid = row.provider_revenue_usd + row.protocol_revenue_usd;
        assert!(
            (row.customer_spend_usd - paid).abs() <= 1e-9 * paid.max(1.0),
            "{label}: money\n{yaml}"
        );
        for year in row.finance.years.iter().filter(|year| year.year > 0) {
            assert!(
                year.utilization.is_none_or(|u| (0.0..=1.0).contains(&u)),
                "{label}: {year:?}\n{yaml}"
            );
            assert!(
                year.yield_fraction.is_none_or(f64::is_finite) && year.book_value_usd >= 0.0,
                "{label}: {year:?}\n{yaml}"
            );
        }
    }
}
