//! Problems found in a scenario, located and explained, and their rustc-style rendering.

use std::fmt;

use super::raw::HINT_SEPARATOR;

/// One problem in a scenario file.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// The file as the user named it.
    pub file: String,
    /// 1-based line, 0 when unknown.
    pub line: u64,
    /// 1-based column, 0 when unknown.
    pub column: u64,
    /// Dotted key path, e.g. `demand.segments[0].duration_hours`; empty for the whole file.
    pub key_path: String,
    /// What is wrong, lower case, no final full stop.
    pub message: String,
    /// How to fix it, when there is something useful to say.
    pub hint: Option<String>,
    /// The offending source line, for the snippet.
    pub source_line: Option<String>,
}

impl Diagnostic {
    /// Builds a diagnostic, taking the source line from `text` and splitting any hint
    /// embedded in `message` by the raw deserializers.
    pub fn new(
        file: &str,
        text: &str,
        line: u64,
        column: u64,
        key_path: &str,
        message: &str,
    ) -> Self {
        let (message, embedded_hint) = match message.split_once(HINT_SEPARATOR) {
            Some((message, hint)) => (message.to_string(), Some(hint.to_string())),
            None => (message.to_string(), None),
        };
        let source_line = usize::try_from(line)
            .ok()
            .and_then(|line| line.checked_sub(1))
            .and_then(|idx| source_lines(text).nth(idx))
            .map(printable);
        let hint = embedded_hint.or_else(|| suggest(&message, key_path));
        Diagnostic {
            file: file.to_string(),
            line,
            column,
            key_path: key_path.to_string(),
            message,
            hint,
            source_line,
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, " --> {}:{}:{}", self.file, self.line, self.column)?;
        if let Some(source) = &self.source_line {
            let gutter = self.line.to_string();
            let pad = " ".repeat(gutter.len());
            let (source, caret_at) = window(source, self.column.saturating_sub(1) as usize);
            writeln!(f, "{pad} |")?;
            writeln!(f, "{gutter} | {source}")?;
            writeln!(f, "{pad} | {}^ {}", " ".repeat(caret_at), self.message)?;
        } else {
            writeln!(f, "   = error: {}", self.message)?;
        }
        if !self.key_path.is_empty() {
            writeln!(f, "   = key: {}", self.key_path)?;
        }
        if let Some(hint) = &self.hint {
            writeln!(f, "   = hint: {hint}")?;
        }
        Ok(())
    }
}

/// At most ~100 characters of a long source line around the caret, so a minified or
/// hostile file does not flood the terminal; returns the text and the caret's offset.
fn window(line: &str, caret: usize) -> (String, usize) {
    const WIDTH: usize = 100;
    let chars: Vec<char> = line.chars().collect();
    let caret = caret.min(chars.len());
    if chars.len() <= WIDTH {
        return (line.to_string(), caret);
    }
    let start = caret.saturating_sub(WIDTH / 2);
    let end = (start + WIDTH).min(chars.len());
    let mut text = String::new();
    let mut offset = caret - start;
    if start > 0 {
        text.push('…');
        offset += 1;
    }
    text.extend(&chars[start..end]);
    if end < chars.len() {
        text.push('…');
    }
    (text, offset)
}

/// Hints for serde's own messages: the closest valid key or kind, or what a field holds.
fn suggest(message: &str, key_path: &str) -> Option<String> {
    if let Some(rest) = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("unknown variant `"))
    {
        let (unknown, expected) = rest.split_once('`')?;
        let candidates = expected_names(expected);
        return Some(match closest(unknown, &candidates) {
            Some(best) => format!("did you mean `{best}`?"),
            None if candidates.is_empty() => "remove this key".to_string(),
            None => format!(
                "valid here: {}",
                candidates
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    if key_path == "uncertainty" || key_path.starts_with("uncertainty.") {
        return Some("each entry is KEY.PATH: [LOW, HIGH], {uniform: {min, max}} or {triangular: {min, mode, max}}, e.g. distributed.pricing.usd_per_gpu_hour: [1.5, 2.5]".to_string());
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let field = rest.split('`').next()?;
        return field_help(field).map(|help| format!("add `{field}:` ({help})"));
    }
    let shape = "a scenario is a YAML map with `name`, `simulation`, `demand` and `centralized` and/or `distributed`; start from scenarios/mmc-example.yaml";
    if message.contains("unexpected end of input")
        || (key_path.is_empty() && message.starts_with("expected mapping"))
    {
        return Some(shape.to_string());
    }
    if is_syntax_error(message) {
        return Some("this is a YAML syntax error: check indentation (spaces, not tabs), quotes, brackets and `key: value` pairs here or on the line above".to_string());
    }
    if message.starts_with("unexpected character") {
        return Some(
            "YAML allows no control characters (shown as `�`): the file may be binary or damaged; save it as plain UTF-8 text".to_string(),
        );
    }
    if message.starts_with("duplicate mapping key") {
        return Some(
            "each key may appear once in a mapping; delete or rename one of them".to_string(),
        );
    }
    let field = key_path.rsplit('.').next().unwrap_or("");
    let field = field.split('[').next().unwrap_or(field);
    let help = field_help(field).map(|help| format!("`{field}` is {help}"));
    if message.starts_with("invalid type: string") && message.ends_with("expected a number") {
        let units =
            "write a plain number, without quotes or units (hours are implied by `_hours` keys)";
        return Some(help.map_or_else(|| units.to_string(), |help| format!("{units}; {help}")));
    }
    help
}

/// Messages of the YAML parser itself, as opposed to schema errors.
fn is_syntax_error(message: &str) -> bool {
    [
        "not allowed in this context",
        "did not find expected",
        "unclosed",
        "tabs disallowed",
        "while parsing",
        "while scanning",
        "invalid indentation",
    ]
    .iter()
    .any(|phrase| message.contains(phrase))
}

/// Parses serde's "expected one of `a`, `b`" / "expected `a` or `b`" tails; serde-saphyr
/// may print the names without backticks, so both forms are accepted.
fn expected_names(expected: &str) -> Vec<String> {
    let list = expected.split_once("expected").map_or("", |(_, list)| list);
    let list = list.trim_start().strip_prefix("one of").unwrap_or(list);
    list.split([',', ' '])
        .map(|word| word.trim_matches(|c: char| c == '`' || c.is_whitespace()))
        .filter(|word| {
            !word.is_empty()
                && *word != "or"
                && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
        .map(str::to_string)
        .collect()
}

/// The candidate a mistyped word most likely meant: the nearest by edit distance, or the
/// one it is a whole `_`-separated part of; `None` if none is close.
pub fn closest(word: &str, candidates: &[String]) -> Option<String> {
    let limit = (word.chars().count() / 3).max(2);
    let near = candidates
        .iter()
        .map(|candidate| (edit_distance(word, candidate), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate.clone());
    // A key written without its unit or suffix (`discount` for `discount_rate`): the
    // one candidate it is a whole part of.
    near.or_else(|| {
        let mut whole_part = candidates
            .iter()
            .filter(|c| word.len() >= 4 && c.split('_').any(|part| part == word));
        match (whole_part.next(), whole_part.next()) {
            (Some(only), None) => Some(only.clone()),
            _ => None,
        }
    })
}

/// Levenshtein distance over characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b_chars: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b_chars.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b_chars.len() + 1];
        for (j, cb) in b_chars.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b_chars.len()]
}

/// What each scenario key holds, for hints. One place, so messages and docs agree.
fn field_help(field: &str) -> Option<&'static str> {
    Some(match field {
        "name" => "a name such as `seed-baseline` (letters, digits, `-`, `_`, `.`)",
        "simulation" => {
            "a map: {horizon_hours: 20000, warmup_hours: 500, replications: 8, seed: 7}"
        }
        "horizon_hours" => "the simulated length in hours, a number > 0 (one year = 8760)",
        "warmup_hours" => "hours discarded before measuring, ≥ 0 and less than horizon_hours",
        "replications" => "the number of independent replications, a whole number ≥ 1",
        "seed" => "the master random seed, a whole number ≥ 0",
        "antithetic" => {
            "`true` or `false` (default): run replications in mirrored pairs to cut variance; needs an even count"
        }
        "demand" => "a map with `segments:`, a list of job streams",
        "segments" => {
            "a list of demand segments, each with name, arrivals_per_hour, duration_hours"
        }
        "arrivals_per_hour" => {
            "the Poisson arrival rate in jobs per hour, a number > 0 such as 57.6"
        }
        "annual_growth" => {
            "the yearly growth of the arrival rate, e.g. 0.25 for +25% a year (compounded hour by hour)"
        }
        "seasonality" => {
            "a map {daily: [24 factors], weekly: [7 factors]}, either optional; factors are relative"
        }
        "daily" => "24 relative factors, one per hour of day, rescaled to average 1",
        "weekly" => {
            "7 relative factors, one per day (day 0 starts at t = 0), rescaled to average 1"
        }
        "shocks" => {
            "a list of {start_hours, length_hours, factor}: the rate is multiplied by factor while it lasts"
        }
        "start_hours" => "when the shock starts, hours since the start of the run",
        "length_hours" => "how long the shock lasts, hours > 0",
        "factor" => "the rate multiplier during the shock, ≥ 0",
        "gpus_per_job" => {
            "a whole number, or a map of GPU count to probability such as {1: 0.8, 2: 0.2}"
        }
        "duration_hours" => "a distribution of run time in hours, e.g. {exponential: {mean: 1.0}}",
        "patience_hours" => {
            "how long a job waits before giving up: a distribution, 0 = never waits, omit = waits forever"
        }
        "centralized" => {
            "a map: {gpus: 64} or {data_centers: [...], costs, pricing, procurement, latency_slowdown}"
        }
        "distributed" => {
            "a map: {gpus: 64} or {operators: [...], take_rate, pricing, entry, exit, reinvest}"
        }
        "gpus" => "a number of GPUs, a whole number ≥ 1",
        "gpu_classes" => {
            "a list of {name, speed, power_kw, capex_usd} added to the built-in H100, H200, B200, A100, L40S, RTX4090"
        }
        "regions" => "a list of region names, e.g. [us-east, eu-west]; the first is the default",
        "region" => "a region name from `regions:`",
        "gpu_class" | "min_gpu_class" => {
            "a GPU class name: H100, H200, B200, A100, L40S, RTX4090 or one from `gpu_classes:`"
        }
        "reserved_share" => {
            "the share of the segment's jobs in the reserved tier (served first, at the reserved discount), 0–1"
        }
        "spot_share" => {
            "the share of the segment's jobs that buy spot (preemptible, at the spot discount), 0–1; with reserved_share at most 1"
        }
        "spot_discount" => {
            "the spot price's discount off the list price, 0–1 (e.g. 0.7 for 70% off)"
        }
        "spot_on_idle_commitments" => {
            "true or false: whether spot jobs may use GPUs held for contracts while no committed job does"
        }
        "checkpoint_every_hours" => {
            "hours between a job's checkpoints: a preempted or interrupted job resumes from its last"
        }
        "max_price_usd_per_gpu_hour" => {
            "a distribution of the most a job pays per H100-equivalent GPU-hour; omit = any price"
        }
        "data_gb" => "a distribution of data moved out per job, GB (billed at egress_usd_per_gb)",
        "lock_in" => {
            "a map: {share: 0–1 of the segment's jobs, incumbent: a provider's name, switch_threshold: 0–1}"
        }
        "share" => "a share, 0–1",
        "incumbent" => {
            "the name of the provider locked-in jobs buy from (one of `providers:`, or centralized / distributed)"
        }
        "switch_threshold" => {
            "how much cheaper another provider's offer must be for a locked-in job to switch, 0–1 (0.2 = 20% cheaper; 1 = never)"
        }
        "data_centers" => "a list of {region, gpu_class, gpus, power_mw}",
        "power_mw" => "power available for GPUs (IT load × PUE), MW; omit = unlimited",
        "costs" => {
            "a map of capex_usd_per_gpu, depreciation_years, residual_fraction, electricity_usd_per_kwh, pue, idle_power_fraction, facility_usd_per_kw_month, fixed_usd_per_year"
        }
        "pricing" => {
            "a map: {policy: fixed | scheduled | utilization_target | market_clearing | cost_plus, usd_per_gpu_hour, ...}"
        }
        "policy" => {
            "fixed, scheduled (with annual_decline), utilization_target or market_clearing (with target_utilization), or cost_plus (with planned_utilization)"
        }
        "usd_per_gpu_hour" => {
            "the price of one H100-equivalent GPU-hour, USD > 0 (other classes pay it × their speed)"
        }
        "procurement" => {
            "a map: {target_utilization, lead_time_weeks, order_multiple, forecast_annual_growth, power_lead_time_weeks}"
        }
        "lead_time_weeks" | "power_lead_time_weeks" | "onboarding_weeks" => {
            "a distribution in weeks, e.g. {triangular: {min: 40, mode: 45, max: 50}}"
        }
        "operators" => {
            "a list of operator groups: {count, gpus, gpu_class, region, availability, mtbf_hours, mttr_hours, checkpoint_every_hours, costs}"
        }
        "availability" => {
            "the share of an operator's GPUs (or of their time, with availability_cycle_hours) offered to the network, 0–1"
        }
        "availability_cycle_hours" => {
            "mean length of one offered + taken-back cycle of each GPU, hours; omit for a fixed share of GPUs"
        }
        "availability_follows_demand" => {
            "true or false: owners take their GPUs back at the market's demand peaks (needs availability below 1 and availability_cycle_hours)"
        }
        "take_rate" => "the protocol's share of customer spend, 0–1 (default 0.2)",
        "memory_gb" => "on-board memory per GPU of the class, GB > 0 (omit for no memory limit)",
        "memory_gb_per_gpu" => {
            "a distribution of the memory each of a job's GPUs needs, GB, e.g. {uniform: {min: 16, max: 80}}; a job runs only on classes with at least that much"
        }
        "max_gang_gpus" => {
            "the largest job one site's interconnect holds, GPUs ≥ 1 (one node for a home operator, an NVLink/InfiniBand domain for a data center); omit for no limit"
        }
        "ask_usd_per_gpu_hour" => {
            "what the operator asks per GPU-hour before the take rate, USD ≥ 0 (used by placement: cheapest)"
        }
        "placement" => {
            "which site with room a job goes to: least_utilized (default for providers:), first_fit (default for the shorthand), random or cheapest"
        }
        "entry" => {
            "a map: {hurdle_yield, onboarding_weeks, operators_per_review, max_operators, template: {operator}}"
        }
        "exit" => "a map: {below_yield, after_reviews}",
        "reinvest" => "a map: {share, lead_time_weeks}",
        "mean" => "the distribution's mean, a number > 0",
        "median" => "the log-normal's median, a number > 0",
        "sigma" => "the log-normal's shape (standard deviation of its logarithm), a number ≥ 0",
        "min" | "mode" | "max" => "a bound of the distribution, a number ≥ 0 with min ≤ mode ≤ max",
        "exponential" => "a map {mean: …}",
        "lognormal" => "a map {median: …, sigma: …} or {mean: …, sigma: …}",
        "triangular" => "a map {min: …, mode: …, max: …}",
        "uniform" => "a map {min: …, max: …}",
        _ => return None,
    })
}

/// A quoted source line with control characters (a stray NUL, an escape sequence) shown
/// as `�`, one for one, so the caret below still points at the right column and the
/// terminal is not driven by the file's bytes.
fn printable(line: &str) -> String {
    line.chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

/// The lines of a YAML text as the parser numbers them: a line ends at `\r\n`, `\n`
/// or a lone `\r` (old Mac files), where `str::lines` knows only the first two. Found
/// by fuzzing: with lone `\r`s the quoted line was not the one the position named.
pub fn source_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        match current.find(['\r', '\n']) {
            None => {
                rest = None;
                (!current.is_empty()).then_some(current)
            }
            Some(end) => {
                let skip = if current[end..].starts_with("\r\n") {
                    2
                } else {
                    1
                };
                rest = Some(&current[end + skip..]);
                Some(&current[..end])
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_end_where_yaml_ends_them() {
        let lines: Vec<&str> = source_lines("a\r\nb\rc\n\nd").collect();
        assert_eq!(lines, ["a", "b", "c", "", "d"]);
        assert_eq!(source_lines("x\n").collect::<Vec<_>>(), ["x"]);
        assert_eq!(source_lines("").count(), 0);
    }

    #[test]
    fn suggests_the_closest_key() {
        let hint = suggest(
            "unknown field `arrival_per_hour`, expected one of name, arrivals_per_hour, gpus_per_job",
            "x",
        );
        assert_eq!(hint.as_deref(), Some("did you mean `arrivals_per_hour`?"));
        let hint = suggest(
            "unknown variant `expnential`, expected one of `constant`, `exponential`",
            "x",
        );
        assert_eq!(hint.as_deref(), Some("did you mean `exponential`?"));
        let hint = suggest("unknown field `zzz`, expected `gpus`", "x");
        assert_eq!(hint.as_deref(), Some("valid here: `gpus`"));
    }

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("gpus", "gpus"), 0);
    }
}
