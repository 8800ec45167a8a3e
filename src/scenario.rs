//! Scenarios: reading a YAML file into a checked [`Scenario`], or located diagnostics.
//!
//! Two steps, as in ripgrep's low/high arguments: [`raw`] mirrors the file and checks
//! each value as it is parsed; [`validate`](self) relates values to each other and
//! builds the resolved [`Scenario`] the model runs on. Defaults live here, in
//! [`defaults`], and nowhere else.

pub mod diagnostic;
pub mod overrides;
pub mod owner_use;
mod raw;
pub mod supply;
pub mod terms;
pub mod uncertainty;

use std::path::Path;

use serde_saphyr::Location;

use crate::arrivals::{RateProfile, Shock};
use crate::dist::{Dist, GpuCountDist};
use crate::units::HOURS_PER_WEEK;
pub use diagnostic::Diagnostic;
use raw::{DistSpec, GpuSpec, RawScenario, RawSegment};
pub use supply::{GpuClass, System};
use terms::{DepreciationMethod, Terms};

pub mod defaults;
mod market;
pub use market::{Architecture, Provider};

/// A checked scenario, ready to simulate.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Scenario {
    /// Scenario name; names the output directory.
    pub name: String,
    /// Run length, replications and seed.
    pub simulation: Simulation,
    /// How cash flows are valued.
    pub finance: Terms,
    /// GPU classes (built-in catalog plus the scenario's own); index 0 is the reference.
    pub classes: Vec<GpuClass>,
    /// Region names; index 0 is the default region.
    pub regions: Vec<String>,
    /// Demand segments, offered identically to every system.
    pub segments: Vec<Segment>,
    /// Take-or-pay commitments (`demand.contracts:`), in the order written.
    pub contracts: Vec<Contract>,
    /// The centralized cloud, if modelled.
    pub centralized: Option<System>,
    /// The distributed network, if modelled.
    pub distributed: Option<System>,
    /// Named providers (`providers:`); empty with the `centralized:` / `distributed:`
    /// shorthand.
    pub providers: Vec<Provider>,
    /// The architectures simulated when providers are named, in the order written.
    pub architectures: Vec<Architecture>,
    /// `compare: [A, B]` as architecture names, when providers are named and a pair is
    /// compared (the shorthand always compares distributed against centralized).
    pub compare: Option<(String, String)>,
    /// Beliefs about uncertain keys (`uncertainty:`), for sensitivity analyses: not a
    /// model input, so not part of the hash.
    #[serde(skip)]
    pub uncertainty: Vec<uncertainty::Range>,
    /// Where the keys that set a run's size are written, for a refusal to point at
    /// them: not a model input, so not part of the hash.
    #[serde(skip)]
    pub located: Located,
}

/// File locations (line, column) of the keys that set how large a run is.
#[derive(Debug, Clone, Default)]
pub struct Located {
    /// The file as named to the user (`FILE with --set` when overridden).
    pub file: String,
    /// `simulation.horizon_hours`.
    pub horizon_hours: Option<(usize, usize)>,
    /// Each segment's `arrivals_per_hour`, by segment index.
    pub arrivals_per_hour: Vec<Option<(usize, usize)>>,
}

/// Where keys are written is not what a scenario is: two scenarios that resolve alike
/// are equal wherever their keys stand (a `--set` rewrite moves them).
impl PartialEq for Located {
    fn eq(&self, _: &Located) -> bool {
        true
    }
}

/// Run length, replications and seed.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Simulation {
    /// End of the measurement window (no arrivals after it), hours.
    pub horizon_hours: f64,
    /// Start of the measurement window, hours.
    pub warmup_hours: f64,
    /// Number of replications.
    pub replications: u32,
    /// Master seed.
    pub seed: u64,
    /// Replications come in antithetic pairs (2k, 2k + 1): see [`crate::seeds`].
    pub antithetic: bool,
}

impl Simulation {
    /// How replications are seeded.
    pub fn seeding(&self) -> crate::seeds::Seeding {
        crate::seeds::Seeding {
            seed: self.seed,
            antithetic: self.antithetic,
        }
    }
}

/// One demand segment.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Segment {
    /// Segment name.
    pub name: String,
    /// Poisson arrival rate over time (base rate, growth, seasonality, shocks).
    pub arrivals: RateProfile,
    /// GPUs each job occupies for its whole run.
    pub gpus_per_job: GpuCountDist,
    /// Run time, hours.
    pub duration_hours: Dist,
    /// How long a job waits before giving up; `None` = forever.
    pub patience_hours: Option<Dist>,
    /// The region the job comes from (index into `Scenario::regions`).
    pub region: usize,
    /// Share of jobs in the reserved tier (served first, at a discount).
    pub reserved_share: f64,
    /// Share of jobs that buy spot: served last, at the spot discount, preempted by others.
    pub spot_share: f64,
    /// Hours between checkpoints of the segment's jobs, wherever they run (a site's own
    /// interval applies where the segment sets none); `None` = none.
    pub checkpoint_every_hours: Option<f64>,
    /// Most a job pays per reference-class GPU-hour, drawn at arrival; `None` = any price.
    pub max_price_usd_per_gpu_hour: Option<Dist>,
    /// Yearly relative change of the maximum prices: a draw at time t is scaled by
    /// (1 + this)^(t in years); 0 keeps them as written.
    pub max_price_annual_change: f64,
    /// Slowest GPU class speed the job accepts (0 = any).
    pub min_class_speed: f64,
    /// Data moved out per job, GB; `None` = none.
    pub data_gb: Option<Dist>,
    /// Memory each GPU of a job needs, GB, drawn per job; `None` = any class holds it.
    pub memory_gb_per_gpu: Option<Dist>,
    /// A share of the jobs locked in to one provider; `None` = every job shops.
    pub lock_in: Option<LockIn>,
}

/// `lock_in:` of a segment: each job is locked in with probability `share` (its own
/// stream, drawn at arrival), and a locked job buys only from the `incumbent` unless
/// another acceptable provider's offer is lower by more than `switch_threshold`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LockIn {
    /// Probability that a job is locked in.
    pub share: f64,
    /// The provider it is locked in to (a name of `providers:`, or `centralized` /
    /// `distributed` with the shorthand).
    pub incumbent: String,
    /// Relative gap another provider's offer must beat: it is taken when its offer is
    /// below the incumbent's × (1 − this).
    pub switch_threshold: f64,
}

/// One entry of `demand.contracts:`: `count` similar customers of one segment, each
/// committing to `gpus` GPUs of one provider at a fixed price for a term, renewed at its
/// end with a probability. While a contract runs its GPUs are held for the segment and
/// paid for every hour, used or not (see `docs/economics.md`, "Contracts").
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Contract {
    /// The provider signed with (a name of `providers:`, or `centralized` / `distributed`
    /// with the shorthand).
    pub provider: String,
    /// The segment whose jobs use the commitment first (index into `Scenario::segments`).
    pub segment: usize,
    /// GPUs committed per customer.
    pub gpus: u32,
    /// Price per committed GPU-hour, USD.
    pub usd_per_gpu_hour: f64,
    /// Term, hours.
    pub term_hours: f64,
    /// Week the contract starts (drawn per customer; weeks from time 0).
    pub start_week: Dist,
    /// Probability that a contract is renewed for another term when it ends.
    pub renewal_probability: f64,
    /// Customers with this contract.
    pub count: u32,
}

impl Segment {
    /// A segment with only the queueing attributes; every economic attribute off.
    pub fn queueing(
        name: &str,
        arrivals: RateProfile,
        gpus_per_job: GpuCountDist,
        duration_hours: Dist,
        patience_hours: Option<Dist>,
    ) -> Segment {
        Segment {
            name: name.to_string(),
            arrivals,
            gpus_per_job,
            duration_hours,
            patience_hours,
            region: 0,
            reserved_share: 0.0,
            spot_share: 0.0,
            checkpoint_every_hours: None,
            max_price_usd_per_gpu_hour: None,
            max_price_annual_change: 0.0,
            min_class_speed: 0.0,
            data_gb: None,
            memory_gb_per_gpu: None,
            lock_in: None,
        }
    }
}

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("cannot read scenario {path}: {reason}")]
    Read {
        /// The path as given.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// A `--set` override cannot be applied.
    #[error("{0}")]
    Override(String),
    /// The file was read but is not a valid scenario.
    #[error("invalid scenario {file} ({} problem{})", .diagnostics.len(), if .diagnostics.len() == 1 { "" } else { "s" })]
    Invalid {
        /// The file as given.
        file: String,
        /// Every problem found, sorted by position.
        diagnostics: Vec<Diagnostic>,
    },
}

impl ScenarioError {
    /// `capsim: error: …` followed by each located diagnostic: what the command line
    /// prints.
    pub fn render(&self) -> String {
        let mut text = format!("capsim: error: {self}\n");
        if let ScenarioError::Invalid { diagnostics, .. } = self {
            for diagnostic in diagnostics {
                text.push_str(&diagnostic.to_string());
            }
        }
        text
    }
}

/// The JSON Schema (draft 2020-12) of the scenario format, derived from the types that
/// read scenario files, for editors (yaml-language-server) and other tools. It states
/// each value's type, range and allowed keys; rules relating several values (warm-up
/// shorter than the horizon, probabilities summing to 1) are capsim's alone.
pub fn json_schema() -> String {
    let mut schema = schemars::schema_for!(raw::RawScenario);
    schema.insert("title".into(), "capsim scenario".into());
    schema.insert(
        "description".into(),
        "A capsim scenario: demand, a centralized cloud and/or a distributed GPU network, and finance. `capsim validate` checks what a schema cannot.".into(),
    );
    let mut value = schema.to_value();
    without_raw_prefix(&mut value);
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

/// Names definitions after the YAML's sections (`Centralized`), not after the Rust
/// types that mirror them (`RawCentralized`).
fn without_raw_prefix(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::String(target)) = map.get_mut("$ref") {
                *target = target.replace("#/$defs/Raw", "#/$defs/");
            }
            if let Some(serde_json::Value::Object(defs)) = map.get_mut("$defs") {
                let renamed: serde_json::Map<String, serde_json::Value> = std::mem::take(defs)
                    .into_iter()
                    .map(|(k, v)| (k.strip_prefix("Raw").unwrap_or(&k).to_string(), v))
                    .collect();
                *defs = renamed;
            }
            map.values_mut().for_each(without_raw_prefix);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(without_raw_prefix),
        _ => {}
    }
}

/// Reads and checks a scenario file.
///
/// # Errors
/// [`ScenarioError::Read`] if the file cannot be read (or is too large or not UTF-8);
/// [`ScenarioError::Invalid`] with located diagnostics otherwise.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    load_with(path, &[])
}

/// Reads a scenario file, applies `--set` overrides to its YAML, and checks the result
/// like a file; diagnostics then point into the file as rewritten with the overrides
/// (labelled `FILE with --set`).
///
/// # Errors
/// As [`load`], and [`ScenarioError::Override`] for a path that cannot exist.
pub fn load_with(
    path: &Path,
    overrides: &[overrides::Override],
) -> Result<Scenario, ScenarioError> {
    let label = path.display().to_string();
    let read_error = |reason: String| ScenarioError::Read {
        path: label.clone(),
        reason,
    };
    let metadata = std::fs::metadata(path).map_err(|e| read_error(e.to_string()))?;
    if !metadata.is_file() {
        return Err(read_error("not a regular file".to_string()));
    }
    if metadata.len() > defaults::MAX_FILE_BYTES {
        return Err(read_error(format!(
            "{} bytes is larger than the {} byte limit for scenario files",
            metadata.len(),
            defaults::MAX_FILE_BYTES
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| read_error(e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|e| read_error(format!("not UTF-8 text ({e})")))?;
    if overrides.is_empty() {
        return parse(&label, &text);
    }
    // A broken file is reported as it is, located in the user's own text.
    if let Err(error @ ScenarioError::Invalid { .. }) =
        parse_raw(&label, &text).map_err(|d| ScenarioError::Invalid {
            file: label.clone(),
            diagnostics: vec![*d],
        })
    {
        return Err(error);
    }
    let changed = overrides::apply(&text, overrides).map_err(ScenarioError::Override)?;
    parse(&format!("{label} with --set"), &changed)
}

/// Parses and checks scenario text; `file` labels the diagnostics.
///
/// # Errors
/// [`ScenarioError::Invalid`] with every problem found.
pub fn parse(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
    let invalid = |diagnostics: Vec<Diagnostic>| ScenarioError::Invalid {
        file: file.to_string(),
        diagnostics,
    };
    let raw = parse_raw(file, text).map_err(|diagnostic| invalid(vec![*diagnostic]))?;
    let mut checker = Checker {
        file,
        text,
        diagnostics: Vec::new(),
    };
    let scenario = checker.resolve(raw);
    if checker.diagnostics.is_empty() {
        Ok(scenario)
    } else {
        let mut diagnostics = checker.diagnostics;
        diagnostics.sort_by_key(|d| (d.line, d.column));
        Err(invalid(diagnostics))
    }
}

fn parse_raw(file: &str, text: &str) -> Result<RawScenario, Box<Diagnostic>> {
    let options = serde_saphyr::options! { with_snippet: false };
    let mut key_path = String::new();
    let parsed =
        serde_saphyr::with_deserializer_from_str_with_options(text, options, |deserializer| {
            serde_path_to_error::deserialize::<_, RawScenario>(deserializer).map_err(|error| {
                key_path = error.path().to_string();
                error.into_inner()
            })
        });
    parsed.map_err(|error| {
        let (line, column) = error.location().map_or((0, 0), |l| (l.line(), l.column()));
        let message = bare_message(&error.to_string(), line, column);
        let key_path = clean_key_path(&key_path);
        Box::new(Diagnostic::new(
            file, text, line, column, &key_path, &message,
        ))
    })
}

/// Drops the `value` steps that `Spanned` wrappers add (`segments.value[0]` →
/// `segments[0]`) and the `?`/`.` serde_path_to_error prints for the document root.
fn clean_key_path(path: &str) -> String {
    if path == "?" || path == "." {
        return String::new();
    }
    let mut cleaned = String::with_capacity(path.len());
    for step in path.split('.').filter(|step| *step != "?") {
        let rest = step
            .strip_prefix("value")
            .filter(|rest| rest.is_empty() || rest.starts_with('['));
        match rest {
            Some(index) => cleaned.push_str(index),
            None => {
                if !cleaned.is_empty() {
                    cleaned.push('.');
                }
                cleaned.push_str(step);
            }
        }
    }
    cleaned
}

/// serde-saphyr appends " at line L, column C" to its messages; the diagnostic shows the
/// location in its own header, so it is removed from the message.
fn bare_message(message: &str, line: u64, column: u64) -> String {
    let suffix = format!(" at line {line}, column {column}");
    let message = message.strip_suffix(&suffix).unwrap_or(message);
    let message = message.replace(", set DuplicateKeyPolicy in Options if acceptable", "");
    // The parser's wording, in the words of the scenario format.
    if let Some(value) = message
        .strip_prefix("non-finite float ")
        .and_then(|rest| rest.strip_suffix(" rejected by the configured policy"))
    {
        return format!("{value} is not a finite number");
    }
    match message.as_str() {
        "invalid u64" | "invalid u32" => "expected a whole number ≥ 0".to_string(),
        _ => message,
    }
}

/// Collects cross-value problems while building the checked scenario.
struct Checker<'a> {
    file: &'a str,
    text: &'a str,
    diagnostics: Vec<Diagnostic>,
}

impl Checker<'_> {
    fn report(&mut self, at: &Location, key_path: &str, message: &str) {
        self.diagnostics.push(Diagnostic::new(
            self.file,
            self.text,
            at.line(),
            at.column(),
            key_path,
            message,
        ));
    }

    fn resolve(&mut self, raw: RawScenario) -> Scenario {
        let simulation = self.simulation(&raw);
        let mut ctx = supply::Context {
            classes: self.classes(&raw),
            regions: self.regions(&raw),
            demand_shape: None,
        };
        let segments: Vec<Segment> = raw
            .demand
            .segments
            .value
            .iter()
            .enumerate()
            .map(|(idx, s)| self.segment(idx, s, &ctx))
            .collect();
        if segments.is_empty() {
            let message = format!(
                "at least one demand segment is needed{}add a segment with name, arrivals_per_hour and duration_hours",
                raw::HINT_SEPARATOR
            );
            self.report(&raw.demand.segments.referenced, "demand.segments", &message);
        }
        self.unique_segment_names(&raw.demand.segments.value);
        // Owners whose withdrawals follow demand are checked against its shape.
        ctx.demand_shape = owner_use::market_shape(&segments);
        let centralized = raw
            .centralized
            .as_ref()
            .map(|block| self.centralized(&block.value, &block.referenced, &ctx, "centralized"));
        let distributed = raw.distributed.as_ref().map(|block| {
            self.distributed(&block.value, &block.referenced, &ctx, "distributed", None)
        });
        let market = self.market(&raw, &ctx);
        self.incumbents_exist(&raw, &market.providers);
        let contracts = self.contracts(&raw, &market.providers);
        if centralized.is_none() && distributed.is_none() && raw.providers.is_none() {
            let message = format!(
                "no system to simulate{}add `centralized: {{gpus: 64}}`, `distributed: {{gpus: 64}}` or both",
                raw::HINT_SEPARATOR
            );
            self.report(&raw.name.referenced, "", &message);
        }
        let largest: Vec<u32> = segments.iter().map(|s| s.gpus_per_job.max()).collect();
        // Each system's sites, and whether they can grow (a cloud that procures).
        let mut systems: Vec<(Vec<&supply::Site>, bool)> = Vec::new();
        for (system, kind) in [
            (&centralized, SystemKind::Centralized),
            (&distributed, SystemKind::Distributed),
        ] {
            if let Some(system) = system {
                systems.push((supply_sites(system), grows(system, kind)));
            }
        }
        for provider in &market.providers {
            let system = &provider.system;
            systems.push((supply_sites(system), grows(system, provider.kind)));
        }
        if !systems.is_empty() && systems.iter().all(|(_, grows)| !grows) {
            let sites: Vec<&supply::Site> = systems
                .iter()
                .flat_map(|(sites, _)| sites.iter().copied())
                .collect();
            self.jobs_fit(&sites, &raw.demand.segments.value, &largest);
        }
        let supply::Context {
            classes, regions, ..
        } = ctx;
        let finance = self.finance(&raw, &simulation);
        let uncertainty = self.uncertainty(&raw);
        let at = |location: &Location| Some((location.line() as usize, location.column() as usize));
        let located = Located {
            file: self.file.to_string(),
            horizon_hours: at(&raw.simulation.horizon_hours.referenced),
            arrivals_per_hour: raw
                .demand
                .segments
                .value
                .iter()
                .map(|s| at(&s.arrivals_per_hour.referenced))
                .collect(),
        };
        Scenario {
            name: raw.name.value.0,
            simulation,
            classes,
            regions,
            segments,
            contracts,
            centralized,
            distributed,
            providers: market.providers,
            architectures: market.architectures,
            compare: market.compare,
            finance,
            uncertainty,
            located,
        }
    }

    fn uncertainty(&mut self, raw: &RawScenario) -> Vec<uncertainty::Range> {
        let entries = raw.uncertainty.iter().flat_map(|section| &section.0);
        let mut ranges = Vec::new();
        for (key, belief) in entries {
            match uncertainty::resolve_entry(key, belief) {
                Ok(range) => ranges.push(range),
                Err((at, message)) => {
                    self.report(&at, &format!("uncertainty.{key}"), &message);
                }
            }
        }
        ranges
    }

    fn finance(&mut self, raw: &RawScenario, simulation: &Simulation) -> Terms {
        let defaults = Terms::default();
        let Some(finance) = &raw.finance else {
            return defaults;
        };
        let discount_rate = finance
            .discount_rate
            .map_or(defaults.discount_rate, |r| r.0);
        let simulated_years = crate::units::finance_years(simulation.horizon_hours);
        if let Some(years) = &finance.horizon_years
            && years.value.0 > simulated_years
        {
            let message = format!(
                "horizon_years ({}) is longer than the simulation ({} hours, {simulated_years} finance year{}){}cash flows exist only for simulated years: lengthen simulation.horizon_hours or shorten horizon_years",
                years.value.0,
                simulation.horizon_hours,
                if simulated_years == 1 { "" } else { "s" },
                raw::HINT_SEPARATOR
            );
            self.report(&years.referenced, "finance.horizon_years", &message);
        }
        Terms {
            discount_rate,
            hurdle_rate: finance.hurdle_rate.map_or(discount_rate, |r| r.0),
            tax_rate: finance.tax_rate.map_or(defaults.tax_rate, |r| r.0),
            depreciation: match finance.depreciation {
                None | Some(raw::DepreciationName::StraightLine) => {
                    DepreciationMethod::StraightLine
                }
                Some(raw::DepreciationName::DecliningBalance) => {
                    DepreciationMethod::DecliningBalance
                }
            },
            terminal_value_fraction: finance
                .terminal_value
                .map_or(defaults.terminal_value_fraction, |v| v.0),
            horizon_years: finance.horizon_years.as_ref().map(|years| years.value.0),
        }
    }

    fn simulation(&mut self, raw: &RawScenario) -> Simulation {
        let sim = &raw.simulation;
        let horizon_hours = sim.horizon_hours.value.0;
        let warmup_hours = sim
            .warmup_hours
            .as_ref()
            .map_or(defaults::WARMUP_HOURS, |w| w.value.0);
        if let Some(warmup) = &sim.warmup_hours
            && warmup_hours >= horizon_hours
        {
            let message = format!(
                "warmup_hours ({warmup_hours}) must be less than horizon_hours ({horizon_hours}){}the measurement window is [warmup_hours, horizon_hours)",
                raw::HINT_SEPARATOR
            );
            self.report(&warmup.referenced, "simulation.warmup_hours", &message);
        }
        let replications = sim.replications.map_or(defaults::REPLICATIONS, |c| c.0);
        let antithetic = sim.antithetic.as_ref().is_some_and(|a| a.value);
        if let Some(flag) = &sim.antithetic
            && antithetic
            && replications % 2 == 1
        {
            let message = format!(
                "antithetic replications come in mirrored pairs, so simulation.replications ({replications}) must be even{}use {} or {} replications",
                raw::HINT_SEPARATOR,
                replications - 1,
                replications + 1
            );
            self.report(&flag.referenced, "simulation.antithetic", &message);
        }
        Simulation {
            horizon_hours,
            warmup_hours,
            replications,
            seed: sim.seed.unwrap_or(defaults::SEED),
            antithetic,
        }
    }

    /// A segment's `max_price_annual_change`, refused where there is no maximum to change.
    fn max_price_change(&mut self, idx: usize, raw: &RawSegment) -> f64 {
        let Some(change) = &raw.max_price_annual_change else {
            return 0.0;
        };
        if raw.max_price_usd_per_gpu_hour.is_none() {
            let message = supply::hinted(
                "max_price_annual_change changes the segment's maximum prices, but it has none",
                "add max_price_usd_per_gpu_hour to the segment, or remove max_price_annual_change",
            );
            let key = format!("demand.segments[{idx}].max_price_annual_change");
            self.report(&change.referenced, &key, &message);
        }
        change.value.0
    }

    /// A segment's `spot_share`, refused where it and `reserved_share` add up past 1 (one
    /// draw decides a job's tier).
    fn spot_share(&mut self, idx: usize, raw: &RawSegment) -> f64 {
        let Some(share) = &raw.spot_share else {
            return 0.0;
        };
        let reserved = raw.reserved_share.map_or(defaults::RESERVED_SHARE, |r| r.0);
        if reserved + share.value.0 > 1.0 {
            let message = supply::hinted(
                &format!(
                    "spot_share {} and reserved_share {reserved} add up to more than 1",
                    share.value.0
                ),
                "a job is reserved, spot or on-demand: lower one of the shares",
            );
            self.report(
                &share.referenced,
                &format!("demand.segments[{idx}].spot_share"),
                &message,
            );
        }
        share.value.0
    }

    fn segment(&mut self, idx: usize, raw: &RawSegment, ctx: &supply::Context) -> Segment {
        let gpus_per_job = match raw.gpus_per_job.as_ref().map(|g| &g.value) {
            None => GpuCountDist::constant(defaults::GPUS_PER_JOB),
            Some(GpuSpec::Constant(gpus)) => GpuCountDist::constant(*gpus),
            Some(GpuSpec::Weights(pairs)) => GpuCountDist::from_weights(pairs.clone()),
        };
        Segment {
            name: raw.name.value.clone(),
            arrivals: rate_profile(raw),
            gpus_per_job,
            duration_hours: dist(&raw.duration_hours),
            patience_hours: raw.patience_hours.as_ref().map(dist),
            region: raw.region.as_ref().map_or(0, |r| {
                self.lookup(
                    &ctx.regions,
                    r,
                    &format!("demand.segments[{idx}].region"),
                    "region",
                )
            }),
            reserved_share: raw.reserved_share.map_or(defaults::RESERVED_SHARE, |r| r.0),
            spot_share: self.spot_share(idx, raw),
            checkpoint_every_hours: raw.checkpoint_every_hours.map(|c| c.0),
            max_price_usd_per_gpu_hour: raw.max_price_usd_per_gpu_hour.as_ref().map(dist),
            max_price_annual_change: self.max_price_change(idx, raw),
            min_class_speed: raw.min_gpu_class.as_ref().map_or(0.0, |name| {
                let names: Vec<String> = ctx.classes.iter().map(|c| c.name.clone()).collect();
                let class = self.lookup(
                    &names,
                    name,
                    &format!("demand.segments[{idx}].min_gpu_class"),
                    "GPU class",
                );
                ctx.classes[class].speed
            }),
            data_gb: raw.data_gb.as_ref().map(dist),
            memory_gb_per_gpu: raw.memory_gb_per_gpu.as_ref().map(dist),
            lock_in: raw.lock_in.as_ref().map(|lock| LockIn {
                share: lock.share.0,
                incumbent: lock.incumbent.value.clone(),
                switch_threshold: lock.switch_threshold.0,
            }),
        }
    }

    /// The names a provider may be referred to by: those of `providers:`, and
    /// `centralized` / `distributed` where the shorthand sets them.
    fn provider_names(raw: &RawScenario, providers: &[Provider]) -> Vec<String> {
        let mut names: Vec<String> = providers.iter().map(|p| p.name.clone()).collect();
        if raw.centralized.is_some() {
            names.push("centralized".to_string());
        }
        if raw.distributed.is_some() {
            names.push("distributed".to_string());
        }
        names
    }

    /// `demand.contracts:`, each naming a provider and a segment of the scenario.
    fn contracts(&mut self, raw: &RawScenario, providers: &[Provider]) -> Vec<Contract> {
        let Some(entries) = &raw.demand.contracts else {
            return Vec::new();
        };
        let providers = Self::provider_names(raw, providers);
        let segments: Vec<String> = raw
            .demand
            .segments
            .value
            .iter()
            .map(|s| s.name.value.clone())
            .collect();
        entries
            .iter()
            .enumerate()
            .map(|(idx, entry)| {
                let key = |field: &str| format!("demand.contracts[{idx}].{field}");
                if !providers.is_empty() {
                    self.lookup(&providers, &entry.provider, &key("provider"), "provider");
                }
                let segment = self.lookup(&segments, &entry.segment, &key("segment"), "segment");
                Contract {
                    provider: entry.provider.value.clone(),
                    segment,
                    gpus: entry.gpus.0,
                    usd_per_gpu_hour: entry.usd_per_gpu_hour.0,
                    term_hours: entry.term_weeks.0 * HOURS_PER_WEEK,
                    start_week: entry.start_week.as_ref().map_or(Dist::Constant(0.0), dist),
                    renewal_probability: entry.renewal_probability.map_or(0.0, |p| p.0),
                    count: entry.count.map_or(1, |c| c.0),
                }
            })
            .collect()
    }

    /// Every `lock_in.incumbent` names a provider of the scenario.
    fn incumbents_exist(&mut self, raw: &RawScenario, providers: &[Provider]) {
        let names = Self::provider_names(raw, providers);
        if names.is_empty() {
            return;
        }
        for (idx, segment) in raw.demand.segments.value.iter().enumerate() {
            if let Some(lock) = &segment.lock_in {
                let key = format!("demand.segments[{idx}].lock_in.incumbent");
                self.lookup(&names, &lock.incumbent, &key, "provider");
            }
        }
    }

    fn unique_segment_names(&mut self, segments: &[RawSegment]) {
        for (idx, segment) in segments.iter().enumerate() {
            if segments[..idx]
                .iter()
                .any(|earlier| earlier.name.value == segment.name.value)
            {
                let message = format!(
                    "segment name `{}` is used twice{}give each segment its own name",
                    segment.name.value,
                    raw::HINT_SEPARATOR
                );
                self.report(
                    &segment.name.referenced,
                    &format!("demand.segments[{idx}].name"),
                    &message,
                );
            }
        }
    }
}

/// Removes, recursively, every object member whose value is off (see
/// [`Scenario::canonical`]); array elements stay, since their position means something.
fn drop_off_values(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(members) => {
            members.retain(|_, member| match member {
                Value::Null => false,
                Value::Bool(flag) => *flag,
                Value::Number(number) => number.as_f64() != Some(0.0),
                Value::String(text) => !text.is_empty(),
                Value::Array(items) => !items.is_empty(),
                Value::Object(_) => true,
            });
            members.values_mut().for_each(drop_off_values);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_off_values),
        _ => {}
    }
}

/// A system's sites at the start and those its entry may add.
fn supply_sites(system: &supply::System) -> Vec<&supply::Site> {
    let mut sites: Vec<&supply::Site> = system.sites.iter().collect();
    sites.extend(system.entry.iter().flat_map(supply::Entry::sites));
    sites
}

/// Whether a system's sites can grow beyond what the file lists (a cloud that procures).
fn grows(system: &supply::System, kind: SystemKind) -> bool {
    kind == SystemKind::Centralized && system.procurement.is_some()
}

/// JSON with every object's keys in sorted order, whatever order the map keeps (that
/// depends on serde_json's features, which other crates may switch on).
fn write_sorted(value: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match value {
        Value::Object(members) => {
            let mut keys: Vec<&String> = members.keys().collect();
            keys.sort();
            out.push('{');
            for (idx, key) in keys.into_iter().enumerate() {
                if idx > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_sorted(&members[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (idx, item) in items.iter().enumerate() {
                if idx > 0 {
                    out.push(',');
                }
                write_sorted(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// The rate profile of a segment; seasonal factors are rescaled to average 1.
fn rate_profile(raw: &RawSegment) -> RateProfile {
    let normalised = |factors: &Option<Vec<raw::NonNegative>>| -> Vec<f64> {
        let Some(factors) = factors else {
            return Vec::new();
        };
        let mean = factors.iter().map(|f| f.0).sum::<f64>() / factors.len() as f64;
        factors.iter().map(|f| f.0 / mean).collect()
    };
    let seasonality = raw.seasonality.as_ref();
    RateProfile {
        base_per_hour: raw.arrivals_per_hour.value.0,
        annual_growth: raw.annual_growth.map_or(defaults::ANNUAL_GROWTH, |g| g.0),
        daily: seasonality.map_or_else(Vec::new, |s| normalised(&s.daily)),
        weekly: seasonality.map_or_else(Vec::new, |s| normalised(&s.weekly)),
        shocks: raw
            .shocks
            .iter()
            .flatten()
            .map(|shock| Shock {
                start_hours: shock.start_hours.0,
                length_hours: shock.length_hours.0,
                factor: shock.factor.0,
            })
            .collect(),
    }
}

fn dist(spec: &DistSpec) -> Dist {
    match *spec {
        DistSpec::Constant(value) => Dist::Constant(value),
        DistSpec::Exponential { mean } => Dist::Exponential { mean },
        DistSpec::LogNormal { mu, sigma } => Dist::LogNormal { mu, sigma },
        DistSpec::Triangular { min, mode, max } => Dist::Triangular { min, mode, max },
        DistSpec::Uniform { min, max } => Dist::Uniform { min, max },
    }
}

impl Scenario {
    /// A fingerprint of the model's inputs: FNV-1a 64 of [`Scenario::canonical`]. It
    /// is the same for every text that resolves to the same scenario (key order,
    /// comments, a default written out or left out) and changes with any model input.
    pub fn hash_hex(&self) -> String {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in self.canonical().bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        format!("{hash:016x}")
    }

    /// The resolved scenario as canonical JSON (object keys sorted, floats in their
    /// shortest round-trip form), without the seed and replication count — they have
    /// their own columns, and a run extended with more replications or split into
    /// shards is the same scenario — and without every member whose value is off:
    /// absent (`null`), `false`, `0`, `""` or `[]`. So a mechanism added later whose
    /// default is off leaves every earlier hash as it was; one whose default is
    /// anything else must be left out at that default with `skip_serializing_if`, and
    /// a renamed field keeps its old name with `#[serde(rename)]` (a test pins the
    /// hashes of the bundled scenarios).
    pub fn canonical(&self) -> String {
        let mut inputs = self.clone();
        inputs.simulation.seed = 0;
        inputs.simulation.replications = 0;
        // Classes' memory changes nothing until a job needs memory: scenarios without
        // memory needs keep the hashes they had before classes had memory.
        if inputs
            .segments
            .iter()
            .all(|s| s.memory_gb_per_gpu.is_none())
        {
            inputs.classes.iter_mut().for_each(|c| c.memory_gb = None);
        }
        let mut value = serde_json::to_value(&inputs).expect("a resolved scenario serializes");
        drop_off_values(&mut value);
        let mut text = String::new();
        write_sorted(&value, &mut text);
        text
    }

    /// The systems a run simulates, in order: the shorthand's centralized then
    /// distributed system, or each architecture as written, with its providers.
    pub fn systems(&self) -> Vec<Simulated<'_>> {
        let mut systems = Vec::new();
        if let Some(spec) = &self.centralized {
            systems.push(Simulated::shorthand(SystemKind::Centralized, spec));
        }
        if let Some(spec) = &self.distributed {
            systems.push(Simulated::shorthand(SystemKind::Distributed, spec));
        }
        for architecture in &self.architectures {
            let providers = architecture
                .providers
                .iter()
                .map(|&idx| {
                    let provider = &self.providers[idx];
                    Member {
                        name: provider.name.clone(),
                        kind: provider.kind,
                        // Providers are far fewer than 2^32 (the file is at most 4 MiB).
                        streams: crate::seeds::SystemIndex::Provider(idx as u32),
                        spec: &provider.system,
                    }
                })
                .collect();
            systems.push(Simulated {
                name: SystemName::new(&architecture.name),
                providers,
            });
        }
        systems
    }

    /// The pair compared when it is not the default one (the first two systems, when
    /// there are exactly two), as the tables' metadata records it.
    pub fn compare_written(&self) -> Option<(String, String)> {
        let names: Vec<SystemName> = self.systems().into_iter().map(|s| s.name).collect();
        let default = match &names[..] {
            [a, b] => Some((a.clone(), b.clone())),
            _ => None,
        };
        let pair = self.pair();
        (pair != default)
            .then(|| pair.map(|(a, b)| (a.to_string(), b.to_string())))
            .flatten()
    }

    /// The pair of systems the paired comparison compares, (A, B): B against A.
    pub fn pair(&self) -> Option<(SystemName, SystemName)> {
        match &self.compare {
            Some((a, b)) => Some((SystemName::new(a), SystemName::new(b))),
            None if self.centralized.is_some() && self.distributed.is_some() => Some((
                SystemKind::Centralized.into(),
                SystemKind::Distributed.into(),
            )),
            None => None,
        }
    }

    /// Expected GPU-hours offered per hour, averaged over the horizon
    /// (mean λ · E[gpus] · E[duration] summed over segments).
    pub fn offered_load_gpus(&self) -> f64 {
        let horizon = self.simulation.horizon_hours;
        self.segments
            .iter()
            .map(|s| {
                s.arrivals.expected_arrivals(horizon) / horizon
                    * s.gpus_per_job.mean()
                    * s.duration_hours.mean()
            })
            .sum()
    }

    /// Expected number of arrivals per replication over the horizon.
    pub fn expected_arrivals(&self) -> f64 {
        self.segments
            .iter()
            .map(|s| s.arrivals.expected_arrivals(self.simulation.horizon_hours))
            .sum()
    }
}

/// One system a run simulates — an architecture: its name in the tables and the
/// providers present in it, in the order written (the order that breaks ties in
/// customers' choice).
#[derive(Debug, Clone)]
pub struct Simulated<'a> {
    /// The name tables write.
    pub name: SystemName,
    /// The providers customers choose among (at least one).
    pub providers: Vec<Member<'a>>,
}

/// A provider as present in an architecture.
#[derive(Debug, Clone)]
pub struct Member<'a> {
    /// The provider's name (`centralized` / `distributed` in the shorthand).
    pub name: String,
    /// Centralized or distributed.
    pub kind: SystemKind,
    /// Its part in the numbers of its supply streams: the same in every architecture.
    pub streams: crate::seeds::SystemIndex,
    /// Its supply.
    pub spec: &'a System,
}

impl<'a> Simulated<'a> {
    /// A system of the `centralized:` / `distributed:` shorthand: one provider named
    /// after its kind, with the stream numbers it always had.
    pub fn shorthand(kind: SystemKind, spec: &'a System) -> Simulated<'a> {
        Simulated {
            name: kind.into(),
            providers: vec![Member {
                name: kind.to_string(),
                kind,
                streams: kind.stream_index(),
                spec,
            }],
        }
    }

    /// GPUs installed at time 0, all providers.
    pub fn initial_gpus(&self) -> u64 {
        self.providers.iter().map(|p| p.spec.initial_gpus()).sum()
    }

    /// Whether every provider sells at a price (an unpriced one has no spend to compare).
    pub fn priced(&self) -> bool {
        self.providers.iter().all(|p| p.spec.pricing.is_some())
    }

    /// Whether some provider is a network, whose finance reports cohorts of operators.
    pub fn has_cohorts(&self) -> bool {
        self.providers
            .iter()
            .any(|p| p.kind == SystemKind::Distributed)
    }

    /// Every site written, all providers.
    pub fn sites(&self) -> impl Iterator<Item = &'a supply::Site> + '_ {
        self.providers.iter().flat_map(|p| p.spec.sites.iter())
    }
}

/// Which system a result belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum SystemKind {
    /// Hyperscale data centers buying GPUs on long lead times.
    Centralized,
    /// Many operators contributing GPUs they already own.
    Distributed,
}

impl SystemKind {
    /// The system's part in the numbers of its random streams.
    pub fn stream_index(self) -> crate::seeds::SystemIndex {
        match self {
            SystemKind::Centralized => crate::seeds::SystemIndex::Centralized,
            SystemKind::Distributed => crate::seeds::SystemIndex::Distributed,
        }
    }

    /// The name used in output tables.
    pub fn as_str(self) -> &'static str {
        match self {
            SystemKind::Centralized => "centralized",
            SystemKind::Distributed => "distributed",
        }
    }
}

/// A system's name as tables write it (today `centralized` or `distributed`; an
/// architecture's name once scenarios name them). Cheap to clone, compared by its text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SystemName(std::sync::Arc<str>);

impl SystemName {
    /// The name `name`.
    pub fn new(name: &str) -> SystemName {
        SystemName(name.into())
    }

    /// The name as tables write it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<SystemKind> for SystemName {
    fn from(kind: SystemKind) -> SystemName {
        SystemName::new(kind.as_str())
    }
}

impl PartialEq<SystemKind> for SystemName {
    fn eq(&self, kind: &SystemKind) -> bool {
        self.as_str() == kind.as_str()
    }
}

impl std::fmt::Display for SystemName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for SystemKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
