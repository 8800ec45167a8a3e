//! Named providers and the architectures (markets) they form: `providers:`,
//! `architectures:` and `compare:`, checked against each other. The `centralized:` and
//! `distributed:` sections stay the shorthand for one provider per architecture, each
//! named after its section.

use serde_saphyr::{Location, Spanned};

use super::raw::{HINT_SEPARATOR, RawScenario, RawSupply, SystemLabel};
use super::supply::{Context, System};
use super::{Checker, SystemKind};

/// A named provider: its kind and its supply.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Provider {
    /// Its name (`[A-Za-z0-9_-]`).
    pub name: String,
    /// Centralized (data centers that buy GPUs) or distributed (operators).
    pub kind: SystemKind,
    /// Its sites, prices and dynamics.
    pub system: System,
}

/// An architecture: a market in which some providers are present, simulated on the
/// scenario's job stream.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Architecture {
    /// Its name, written in the tables' `system` column.
    pub name: String,
    /// The providers present, as indices into `Scenario::providers`, in the order written.
    pub providers: Vec<usize>,
}

/// What `providers:`, `architectures:` and `compare:` resolve to.
#[derive(Debug, Default)]
pub(super) struct Market {
    pub(super) providers: Vec<Provider>,
    pub(super) architectures: Vec<Architecture>,
    pub(super) compare: Option<(String, String)>,
}

fn hinted(message: &str, hint: &str) -> String {
    format!("{message}{HINT_SEPARATOR}{hint}")
}

impl Checker<'_> {
    /// The named providers and architectures, or an empty market for the shorthand.
    pub(super) fn market(&mut self, raw: &RawScenario, ctx: &Context) -> Market {
        let Some(listed) = &raw.providers else {
            if let Some(compare) = &raw.compare {
                self.shorthand_compare(raw, compare);
            }
            if let Some(architectures) = &raw.architectures {
                let message = hinted(
                    "`architectures:` names markets of the providers in `providers:`, and there is none",
                    "list the providers under `providers:` (each with a name and a kind), or leave `architectures:` out",
                );
                self.report(&architectures.referenced, "architectures", &message);
            }
            return Market::default();
        };
        if raw.centralized.is_some() || raw.distributed.is_some() {
            let message = hinted(
                "`providers:` replaces the `centralized:` and `distributed:` sections",
                "write the systems either as providers or as the two sections, not both",
            );
            self.report(&listed.referenced, "providers", &message);
        }
        let mut providers: Vec<Provider> = Vec::new();
        for (idx, entry) in listed.value.iter().enumerate() {
            let base = format!("providers[{idx}]");
            let provider = &entry.value;
            if providers.iter().any(|p| p.name == provider.name.0) {
                let message = hinted(
                    &format!("provider `{}` twice", provider.name.0),
                    "give each provider its own name",
                );
                self.report(&entry.referenced, &format!("{base}.name"), &message);
            }
            let at = &entry.referenced;
            let (kind, system) = match &provider.supply {
                RawSupply::Centralized(block) => (
                    SystemKind::Centralized,
                    self.centralized(block, at, ctx, &base),
                ),
                RawSupply::Distributed(block) => (
                    SystemKind::Distributed,
                    self.distributed(block, at, ctx, &base, Some(&provider.name.0)),
                ),
            };
            providers.push(Provider {
                name: provider.name.0.clone(),
                kind,
                system,
            });
        }
        if providers.is_empty() {
            let message = hinted(
                "no provider to simulate",
                "add `- {name: cloud, kind: centralized, gpus: 64}`",
            );
            self.report(&listed.referenced, "providers", &message);
        }
        let architectures = self.architectures(raw, &providers);
        let compare = self.compare(raw, &architectures, &listed.referenced);
        Market {
            providers,
            architectures,
            compare,
        }
    }

    /// Each architecture with its providers; one per provider, named after it, when
    /// `architectures:` is left out.
    fn architectures(&mut self, raw: &RawScenario, providers: &[Provider]) -> Vec<Architecture> {
        let Some(section) = &raw.architectures else {
            return providers
                .iter()
                .enumerate()
                .map(|(idx, p)| Architecture {
                    name: p.name.clone(),
                    providers: vec![idx],
                })
                .collect();
        };
        let mut architectures = Vec::new();
        for (name, members) in &section.value.0 {
            let key = format!("architectures.{}", name.0);
            let mut indices: Vec<usize> = Vec::new();
            for (position, member) in members.iter().enumerate() {
                let found = providers.iter().position(|p| p.name == member.value.0);
                match found {
                    Some(idx) if indices.contains(&idx) => {
                        let message = hinted(
                            &format!("provider `{}` twice in one architecture", member.value.0),
                            "list each provider of an architecture once",
                        );
                        self.report(&member.referenced, &format!("{key}[{position}]"), &message);
                    }
                    Some(idx) => indices.push(idx),
                    None => {
                        let names: Vec<&str> = providers.iter().map(|p| p.name.as_str()).collect();
                        let message = hinted(
                            &format!("no provider named `{}`", member.value.0),
                            &format!("the providers are {}", names.join(", ")),
                        );
                        self.report(&member.referenced, &format!("{key}[{position}]"), &message);
                    }
                }
            }
            if members.is_empty() {
                let message = hinted(
                    &format!("architecture `{}` has no provider", name.0),
                    "list the providers present in it, e.g. `[hyperscaler, network]`",
                );
                self.report(&section.referenced, &key, &message);
            }
            architectures.push(Architecture {
                name: name.0.clone(),
                providers: indices,
            });
        }
        if architectures.is_empty() {
            let message = hinted(
                "`architectures:` names no architecture",
                "map a name to the providers in it, e.g. `centralized: [hyperscaler]`, or leave the section out",
            );
            self.report(&section.referenced, "architectures", &message);
        }
        architectures
    }

    /// The pair compared: `compare:` if given, else the two architectures when there are
    /// exactly two (A the first written).
    fn compare(
        &mut self,
        raw: &RawScenario,
        architectures: &[Architecture],
        at: &Location,
    ) -> Option<(String, String)> {
        let names: Vec<&str> = architectures.iter().map(|a| a.name.as_str()).collect();
        let Some(compare) = &raw.compare else {
            return match architectures {
                [a, b] => Some((a.name.clone(), b.name.clone())),
                [] | [_] => None,
                _ => {
                    let message = hinted(
                        &format!(
                            "{} architectures and no `compare:` to say which pair the paired savings compare",
                            architectures.len()
                        ),
                        &format!("add `compare: [A, B]` with two of {}", names.join(", ")),
                    );
                    self.report(at, "compare", &message);
                    None
                }
            };
        };
        self.pair(compare, &names)
    }

    /// `compare:` beside the shorthand names its two systems.
    fn shorthand_compare(
        &mut self,
        raw: &RawScenario,
        compare: &Spanned<Vec<Spanned<SystemLabel>>>,
    ) {
        let mut names = Vec::new();
        if raw.centralized.is_some() {
            names.push("centralized");
        }
        if raw.distributed.is_some() {
            names.push("distributed");
        }
        if let Some((a, b)) = self.pair(compare, &names)
            && (a.as_str(), b.as_str()) != ("centralized", "distributed")
        {
            let message = hinted(
                "with the `centralized:` and `distributed:` sections the comparison is distributed against centralized",
                "write `compare: [centralized, distributed]` or leave it out; to compare other pairs, name providers and architectures",
            );
            self.report(&compare.referenced, "compare", &message);
        }
    }

    /// Two distinct architectures among `names`.
    fn pair(
        &mut self,
        compare: &Spanned<Vec<Spanned<SystemLabel>>>,
        names: &[&str],
    ) -> Option<(String, String)> {
        let listed = &compare.value;
        if listed.len() != 2 || listed[0].value == listed[1].value {
            let message = hinted(
                "`compare:` names two different architectures, A then B",
                "savings = 1 − spend(B) ÷ spend(A), e.g. `compare: [centralized, distributed]`",
            );
            self.report(&compare.referenced, "compare", &message);
            return None;
        }
        let mut known = true;
        for (idx, entry) in listed.iter().enumerate() {
            if !names.contains(&entry.value.0.as_str()) {
                let message = hinted(
                    &format!("no architecture named `{}`", entry.value.0),
                    &format!("the architectures are {}", names.join(", ")),
                );
                self.report(&entry.referenced, &format!("compare[{idx}]"), &message);
                known = false;
            }
        }
        known.then(|| (listed[0].value.0.clone(), listed[1].value.0.clone()))
    }
}
