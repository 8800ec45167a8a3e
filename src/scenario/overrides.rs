//! `--set KEY.PATH=VALUE`: changes to a scenario made on the command line.
//!
//! An override edits the YAML document, not the checked scenario: the file is read as a
//! plain tree, each value is put at its path, and the tree is written back as YAML and
//! checked exactly like a file. So an override is validated like the file itself (an
//! unknown key gets the same "did you mean", a bad value the same message), and nothing
//! about a key has to be known here.
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::dbg_macro)]

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::raw::PolicyName;

/// A YAML document as a plain tree, keys in file order.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// `null`, `~` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A whole number.
    Int(i128),
    /// Any other number.
    Float(f64),
    /// Text.
    Str(String),
    /// A list.
    Seq(Vec<Node>),
    /// A map, in file order (keys are values too: `gpus_per_job` maps numbers).
    Map(Vec<(Node, Node)>),
}

/// One step of a key path: a map key or a list index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A map key.
    Key(String),
    /// A list position, from 0.
    Index(usize),
}

/// One `--set PATH=VALUE`.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// The path, e.g. `distributed.pricing.target_utilization` or `demand.segments[0].arrivals_per_hour`.
    pub path: Vec<Step>,
    /// The value, parsed as YAML (`0.75`, `true`, `[1, 2]`, `{exponential: {mean: 2}}`).
    pub value: Node,
    /// As given, for messages.
    pub spec: String,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Key(key) => write!(f, "{key}"),
            Step::Index(idx) => write!(f, "[{idx}]"),
        }
    }
}

/// `a.b[2].c` from steps.
pub fn path_text(path: &[Step]) -> String {
    let mut text = String::new();
    for step in path {
        if matches!(step, Step::Key(_)) && !text.is_empty() {
            text.push('.');
        }
        text.push_str(&step.to_string());
    }
    text
}

/// Reads `PATH=VALUE`: a key path ([`parse_path`]) and a YAML value.
///
/// # Errors
/// What is wrong with the text, for a message about `--set`.
pub fn parse_override(spec: &str) -> Result<Override, String> {
    let (path, value) = spec
        .split_once('=')
        .ok_or("expected KEY.PATH=VALUE, e.g. distributed.pricing.target_utilization=0.75")?;
    let steps = parse_path(path)?;
    let value = parse_value(value).map_err(|e| format!("the value `{value}` is not YAML: {e}"))?;
    Ok(Override {
        path: steps,
        value,
        spec: spec.to_string(),
    })
}

/// Reads a key path, the one syntax for `--set`, sweep axes, sensitivity ranges and
/// `uncertainty:` keys. Keys are separated by dots; a list position is written `[N]`
/// after its key or as a numeric step (`segments.0`).
///
/// # Errors
/// What is wrong with the text.
pub fn parse_path(path: &str) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    for part in path.trim().split('.') {
        let (key, indices) = part
            .split_once('[')
            .map_or((part, ""), |(key, rest)| (key, rest));
        if key.is_empty() && indices.is_empty() {
            return Err(format!(
                "`{path}` has an empty key; keys are separated by single dots"
            ));
        }
        if !key.is_empty() {
            match key.parse::<usize>() {
                Ok(idx) => steps.push(Step::Index(idx)),
                Err(_) => steps.push(Step::Key(key.to_string())),
            }
        }
        for index in indices.split('[').filter(|i| !i.is_empty()) {
            let idx = index
                .strip_suffix(']')
                .and_then(|i| i.parse().ok())
                .ok_or_else(|| format!("`{part}`: a list position is `[N]`, N a whole number"))?;
            steps.push(Step::Index(idx));
        }
    }
    Ok(steps)
}

/// The override that puts `value` at `path` (already checked by [`parse_path`]).
pub fn setting(path: &str, value: Node) -> Result<Override, String> {
    Ok(Override {
        path: parse_path(path)?,
        spec: format!("{path}={}", node_text(&value)),
        value,
    })
}

/// A value as a person writes it.
pub fn node_text(node: &Node) -> String {
    match node {
        Node::Null => "null".to_string(),
        Node::Bool(b) => b.to_string(),
        Node::Int(n) => n.to_string(),
        Node::Float(x) => format!("{x}"),
        Node::Str(s) => s.clone(),
        other => serde_saphyr::to_string(other).map_or_else(
            |_| format!("{other:?}"),
            |text| text.trim().replace('\n', " "),
        ),
    }
}

/// Reads a YAML value as `--set` does (empty text is `null`).
///
/// # Errors
/// The parser's message.
pub fn parse_value(text: &str) -> Result<Node, String> {
    if text.trim().is_empty() {
        return Ok(Node::Null);
    }
    serde_saphyr::from_str::<Node>(text).map_err(|e| e.to_string())
}

/// Applies `overrides` to the scenario `text` and returns the new YAML.
///
/// # Errors
/// A message naming the override whose path cannot exist (a list position past the end,
/// a key below a number); a key that merely does not exist yet is added, so the
/// scenario check reports it, with its closest valid name, if it is not a key at all.
pub fn apply(text: &str, overrides: &[Override]) -> Result<String, String> {
    let mut root = serde_saphyr::from_str::<Node>(text)
        .map_err(|e| format!("cannot read the scenario to apply --set: {e}"))?;
    for change in overrides {
        set(&mut root, &change.path, 0, change.value.clone())
            .map_err(|e| format!("--set {}: {e}", change.spec))?;
    }
    for change in overrides {
        drop_keys_of_other_policies(&mut root, &change.path);
    }
    serde_saphyr::to_string(&root)
        .map_err(|e| format!("cannot write the scenario after --set: {e}"))
}

/// After an override that chooses a pricing policy (`….pricing.policy`), the keys only
/// other policies use are removed from that `pricing:` map: a file may not mix them
/// (the check refuses it), but a sweep or `--set` that switches a policy means "this
/// policy, with its own keys at their defaults or as set", and a sweep over `policy`
/// could not run otherwise. It runs after every override is in place, so a point
/// that sets such a key and a policy that does not read it drops the key too.
fn drop_keys_of_other_policies(root: &mut Node, path: &[Step]) {
    let [parent @ .., Step::Key(pricing), Step::Key(policy)] = path else {
        return;
    };
    if pricing != "pricing" || policy != "policy" {
        return;
    }
    let Some(Node::Map(entries)) = node_at(root, &path[..parent.len() + 1]) else {
        return;
    };
    let Some(chosen) = entries
        .iter()
        .find_map(|(key, value)| match (key_text(key), value) {
            (Some(key), Node::Str(name)) if key == "policy" => PolicyName::from_name(name),
            _ => None,
        })
    else {
        return;
    };
    entries.retain(|(key, _)| {
        let Some(key) = key_text(key) else {
            return true;
        };
        let foreign = PolicyName::ALL
            .iter()
            .any(|other| other.keys().contains(&key.as_str()))
            && !chosen.keys().contains(&key.as_str());
        !foreign
    });
}

/// The node at `path`, if it exists.
fn node_at<'a>(node: &'a mut Node, path: &[Step]) -> Option<&'a mut Node> {
    let Some((step, rest)) = path.split_first() else {
        return Some(node);
    };
    match (node, step) {
        (Node::Map(entries), Step::Key(key)) => {
            let (_, child) = entries
                .iter_mut()
                .find(|(k, _)| key_text(k).as_deref() == Some(key.as_str()))?;
            node_at(child, rest)
        }
        (Node::Seq(items), Step::Index(idx)) => node_at(items.get_mut(*idx)?, rest),
        _ => None,
    }
}

/// Puts `value` at `path[depth..]` below `node` (`path[..depth]` leads to it).
fn set(node: &mut Node, path: &[Step], depth: usize, value: Node) -> Result<(), String> {
    let Some(step) = path.get(depth) else {
        *node = value;
        return Ok(());
    };
    if *node == Node::Null {
        *node = match step {
            Step::Key(_) => Node::Map(Vec::new()),
            Step::Index(_) => Node::Seq(Vec::new()),
        };
    }
    let here = || {
        if depth == 0 {
            "the scenario".to_string()
        } else {
            format!("`{}`", path_text(&path[..depth]))
        }
    };
    // A number in a path names a position in a list, or a key in a map (`gpus_per_job.8`).
    let step = match (&*node, step) {
        (Node::Map(_), Step::Index(idx)) => &Step::Key(idx.to_string()),
        _ => step,
    };
    match (node, step) {
        (Node::Map(entries), Step::Key(key)) => {
            let at = match entries
                .iter()
                .position(|(k, _)| key_text(k).as_deref() == Some(key.as_str()))
            {
                Some(at) => at,
                None => {
                    // A number stays a number: `gpus_per_job` maps GPU counts.
                    let new_key = key
                        .parse::<i128>()
                        .map_or_else(|_| Node::Str(key.clone()), Node::Int);
                    entries.push((new_key, Node::Null));
                    entries.len() - 1
                }
            };
            set(&mut entries[at].1, path, depth + 1, value)
        }
        (Node::Seq(items), Step::Index(idx)) => {
            let len = items.len();
            match items.get_mut(*idx) {
                Some(item) => set(item, path, depth + 1, value),
                None => Err(format!(
                    "{} has {len} entries (positions 0 to {}), so [{idx}] does not exist",
                    here(),
                    len.saturating_sub(1)
                )),
            }
        }
        (Node::Seq(_), Step::Key(key)) => Err(format!(
            "{} is a list, so `{key}` needs a position before it, such as [0]",
            here()
        )),
        (_, step) => Err(format!(
            "{} is a single value, so it has no `{step}` inside",
            here()
        )),
    }
}

/// A map key as it is written in a path.
fn key_text(key: &Node) -> Option<String> {
    match key {
        Node::Str(text) => Some(text.clone()),
        Node::Int(n) => Some(n.to_string()),
        Node::Bool(b) => Some(b.to_string()),
        Node::Float(x) => Some(x.to_string()),
        _ => None,
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Node, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
        Node::deserialize(deserializer)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Int(i128::from(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Int(i128::from(v)))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Node, E> {
        Ok(Node::Int(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries: Vec<(Node, Node)> = Vec::new();
        while let Some(key) = map.next_key::<Node>()? {
            entries.push((key, map.next_value()?));
        }
        Ok(Node::Map(entries))
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Null => serializer.serialize_unit(),
            Node::Bool(b) => serializer.serialize_bool(*b),
            Node::Int(n) => match i64::try_from(*n) {
                Ok(small) => serializer.serialize_i64(small),
                Err(_) => {
                    serializer.serialize_u64(u64::try_from(*n).map_err(serde::ser::Error::custom)?)
                }
            },
            Node::Float(x) => serializer.serialize_f64(*x),
            Node::Str(text) => serializer.serialize_str(text),
            Node::Seq(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Node::Map(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_values_are_read() {
        let change = parse_override("demand.segments[1].arrivals_per_hour=57.6").expect("valid");
        assert_eq!(
            change.path,
            vec![
                Step::Key("demand".into()),
                Step::Key("segments".into()),
                Step::Index(1),
                Step::Key("arrivals_per_hour".into())
            ]
        );
        assert_eq!(change.value, Node::Float(57.6));
        assert_eq!(
            parse_override("demand.segments.0.name=x")
                .expect("valid")
                .path[2],
            Step::Index(0)
        );
        let key = |k: &str| Node::Str(k.to_string());
        assert_eq!(
            parse_override("a={exponential: {mean: 2}}")
                .expect("valid")
                .value,
            Node::Map(vec![(
                key("exponential"),
                Node::Map(vec![(key("mean"), Node::Int(2))])
            )])
        );
        assert_eq!(
            path_text(&change.path),
            "demand.segments[1].arrivals_per_hour"
        );
        assert!(
            parse_override("no-equals")
                .unwrap_err()
                .contains("KEY.PATH=VALUE")
        );
        assert!(parse_override("a..b=1").unwrap_err().contains("empty key"));
        assert!(parse_override("a[x]=1").unwrap_err().contains("[N]"));
    }

    /// The document round-trips: every value survives, file order is kept, and an
    /// override changes exactly its key (adding missing maps on the way).
    #[test]
    fn overrides_change_only_their_key() {
        let text = "name: t\nsimulation: {horizon_hours: 100.5, seed: 18446744073709551615}\nlist: [1, 'two', null, true]\nb: 0.1\nsizes: {1: 0.5, 8: 0.5}\n";
        let same = apply(text, &[]).expect("round trip");
        let (before, after): (Node, Node) = (
            serde_saphyr::from_str(text).expect("yaml"),
            serde_saphyr::from_str(&same).expect("yaml"),
        );
        assert_eq!(before, after);
        let changes = [
            "simulation.seed=3",
            "x.y.z=[1]",
            "sizes.8=0.25",
            "sizes.2=0.25",
        ]
        .map(|spec| parse_override(spec).expect("ok"));
        let changed = apply(text, &changes).expect("applies");
        let Node::Map(entries) = serde_saphyr::from_str::<Node>(&changed).expect("yaml") else {
            panic!("a map")
        };
        let keys: Vec<Option<String>> = entries.iter().map(|(k, _)| key_text(k)).collect();
        assert_eq!(
            keys,
            ["name", "simulation", "list", "b", "sizes", "x"].map(|k| Some(k.to_string()))
        );
        let key = |k: &str| Node::Str(k.to_string());
        assert_eq!(
            entries[1].1,
            Node::Map(vec![
                (key("horizon_hours"), Node::Float(100.5)),
                (key("seed"), Node::Int(3))
            ])
        );
        let sizes = Node::Map(vec![
            (Node::Int(1), Node::Float(0.5)),
            (Node::Int(8), Node::Float(0.25)),
            (Node::Int(2), Node::Float(0.25)),
        ]);
        assert_eq!(entries[4].1, sizes, "numeric keys stay numbers");
        let refused = |spec: &str| apply(text, &[parse_override(spec).expect("ok")]).unwrap_err();
        assert!(
            refused("list[9]=1").contains("`list` has 4 entries"),
            "{}",
            refused("list[9]=1")
        );
        assert!(refused("name.x=1").contains("`name` is a single value"));
        assert!(refused("list.x=1").contains("`list` is a list"));
    }
}
