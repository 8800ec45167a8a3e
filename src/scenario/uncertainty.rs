//! `uncertainty:` — what an analyst believes about uncertain keys: `KEY.PATH: [LOW,
//! HIGH]`, `{uniform: {min, max}}` or `{triangular: {min, mode, max}}`. Read by the same
//! typed reader as the rest of the file (so a bad entry is refused at its line and
//! column, with its key path, by every command that reads the file), used by `capsim
//! sensitivity`; a run does not use it, and it is not part of the scenario's hash.

use std::fmt;

use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Spanned};

use super::overrides::{Node, parse_path};

/// A declared range of one uncertain key.
#[derive(Debug, Clone, PartialEq)]
pub struct Range {
    /// The key path.
    pub path: String,
    /// Low value.
    pub low: f64,
    /// High value.
    pub high: f64,
    /// Both ends written as whole numbers: the key counts something (GPUs, operators),
    /// so values drawn inside the range are rounded.
    pub integer: bool,
    /// A triangular belief `(min, mode, max)`; `None`: uniform between `low` and `high`.
    /// With one, `low` and `high` are its 5th and 95th percentiles.
    pub triangular: Option<(f64, f64, f64)>,
}

impl Range {
    /// The value at probability `p` of the key's belief (uniform or triangular).
    pub fn quantile(&self, p: f64) -> f64 {
        match self.triangular {
            Some((min, mode, max)) => crate::dist::triangular_inverse_cdf(min, mode, max, p),
            None => self.low + (self.high - self.low) * p,
        }
    }

    /// The YAML value for `value` (a whole number for an integer range).
    pub fn node(&self, value: f64) -> Node {
        if self.integer {
            Node::Int(value.round() as i128)
        } else {
            Node::Float(value)
        }
    }
}

/// The section as written: entries in file order, each value with its place (a plain
/// `String` key lets the reader name it in the key path of an error inside the value).
#[derive(Debug, Default)]
pub struct RawUncertainty(pub Vec<(String, Spanned<RawBelief>)>);

/// One entry's belief as written.
#[derive(Debug)]
pub enum RawBelief {
    /// `[LOW, HIGH]`: uniform; whole numbers on both ends make an integer range.
    Pair(Vec<RawNumber>),
    /// `{uniform: {min, max}}`.
    Uniform(RawUniform),
    /// `{triangular: {min, mode, max}}`.
    Triangular(RawTriangular),
}

/// A number and whether it was written as a whole number.
#[derive(Debug, Clone, Copy)]
pub struct RawNumber {
    /// Its value.
    pub value: f64,
    /// Written without a fraction or exponent.
    pub integer: bool,
}

/// `{min, max}` of a uniform belief.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUniform {
    min: f64,
    max: f64,
}

/// `{min, mode, max}` of a triangular belief.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTriangular {
    min: f64,
    mode: f64,
    max: f64,
}

/// What the three forms look like, for messages.
const EXPECTED: &str =
    "[LOW, HIGH] (two numbers), {uniform: {min, max}} or {triangular: {min, mode, max}}";

impl<'de> Deserialize<'de> for RawNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Number;
        impl Visitor<'_> for Number {
            type Value = RawNumber;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawNumber, E> {
                Ok(RawNumber {
                    value: v as f64,
                    integer: true,
                })
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawNumber, E> {
                Ok(RawNumber {
                    value: v as f64,
                    integer: true,
                })
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawNumber, E> {
                Ok(RawNumber {
                    value: v,
                    integer: false,
                })
            }
        }
        deserializer.deserialize_any(Number)
    }
}

impl<'de> Deserialize<'de> for RawBelief {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Belief;
        impl<'de> Visitor<'de> for Belief {
            type Value = RawBelief;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(EXPECTED)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawBelief, A::Error> {
                let mut numbers = Vec::new();
                while let Some(number) = seq.next_element::<RawNumber>()? {
                    numbers.push(number);
                }
                if numbers.len() != 2 {
                    return Err(de::Error::invalid_length(numbers.len(), &"two numbers"));
                }
                Ok(RawBelief::Pair(numbers))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawBelief, A::Error> {
                let Some(kind) = map.next_key::<String>()? else {
                    return Err(de::Error::invalid_length(
                        0,
                        &"one of uniform or triangular",
                    ));
                };
                let belief = match kind.as_str() {
                    "uniform" => RawBelief::Uniform(map.next_value()?),
                    "triangular" => RawBelief::Triangular(map.next_value()?),
                    other => {
                        return Err(de::Error::unknown_variant(
                            other,
                            &["uniform", "triangular"],
                        ));
                    }
                };
                if map.next_key::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom(
                        "a belief has one form: uniform or triangular, not both",
                    ));
                }
                Ok(belief)
            }
        }
        deserializer.deserialize_any(Belief)
    }
}

impl<'de> Deserialize<'de> for RawUncertainty {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = RawUncertainty;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a map of KEY.PATH: {EXPECTED}")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawUncertainty, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    let value = map.next_value::<Spanned<RawBelief>>()?;
                    entries.push((key, value));
                }
                Ok(RawUncertainty(entries))
            }
        }
        deserializer.deserialize_map(Entries)
    }
}

/// The shape of the section, for the JSON Schema.
impl JsonSchema for RawUncertainty {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Uncertainty".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let number = schemars::json_schema!({"type": "number"});
        let uniform = schemars::json_schema!({
            "type": "object",
            "properties": {"min": number, "max": number},
            "required": ["min", "max"],
            "additionalProperties": false
        });
        let triangular = schemars::json_schema!({
            "type": "object",
            "properties": {"min": number, "mode": number, "max": number},
            "required": ["min", "mode", "max"],
            "additionalProperties": false
        });
        schemars::json_schema!({
            "description": "uncertain keys for `capsim sensitivity`: KEY.PATH: [LOW, HIGH], {uniform: {min, max}} or {triangular: {min, mode, max}}",
            "type": "object",
            "additionalProperties": {"oneOf": [
                {"type": "array", "items": number, "minItems": 2, "maxItems": 2},
                {"type": "object", "properties": {"uniform": uniform}, "required": ["uniform"], "additionalProperties": false},
                {"type": "object", "properties": {"triangular": triangular}, "required": ["triangular"], "additionalProperties": false}
            ]}
        })
    }
}

/// One entry checked: its range, or the message and the place to report.
pub(super) fn resolve_entry(
    key: &str,
    belief: &Spanned<RawBelief>,
) -> Result<Range, (Location, String)> {
    let path = key.to_string();
    parse_path(&path).map_err(|e| {
        let hint = "a key path such as distributed.pricing.usd_per_gpu_hour or demand.segments[0].arrivals_per_hour";
        (belief.referenced, format!("{e}{}{hint}", super::raw::HINT_SEPARATOR))
    })?;
    let bad = |what: &str| {
        let message = format!("{what}{}expected {EXPECTED}", super::raw::HINT_SEPARATOR);
        Err((belief.referenced, message))
    };
    let finite = |values: &[f64]| values.iter().all(|v| v.is_finite());
    match &belief.value {
        RawBelief::Pair(pair) => {
            let (low, high) = (pair[0], pair[1]);
            if !finite(&[low.value, high.value]) || low.value >= high.value {
                return bad(&format!("[{}, {}] needs LOW < HIGH", low.value, high.value));
            }
            Ok(Range {
                path,
                low: low.value,
                high: high.value,
                integer: low.integer && high.integer,
                triangular: None,
            })
        }
        RawBelief::Uniform(RawUniform { min, max }) => {
            if !finite(&[*min, *max]) || min >= max {
                return bad(&format!("uniform min {min} must be below max {max}"));
            }
            Ok(Range {
                path,
                low: *min,
                high: *max,
                integer: false,
                triangular: None,
            })
        }
        RawBelief::Triangular(RawTriangular { min, mode, max }) => {
            if !(finite(&[*min, *mode, *max]) && min <= mode && mode <= max && min < max) {
                return bad(&format!(
                    "triangular needs min ≤ mode ≤ max with min < max (got {min}, {mode}, {max})"
                ));
            }
            let shape = Some((*min, *mode, *max));
            let mut range = Range {
                path,
                low: *min,
                high: *max,
                integer: false,
                triangular: shape,
            };
            (range.low, range.high) = (range.quantile(0.05), range.quantile(0.95));
            Ok(range)
        }
    }
}
