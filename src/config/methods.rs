//! `prune.methods`: each entry a method's name (`magnitude`), or a one-key map of the method and
//! its own settings (`{taylor: {batches: 4}}`), so a setting sits with the method it belongs to
//! and cannot be given to another. Each method's settings are validated by their own function
//! into [`MethodSettings`].

use super::resolve::Ctx;
use super::types::{MethodKind, Norm};
use crate::error::Result;
use serde::{Deserialize, Serialize};

/// One entry of `prune.methods` as written.
#[derive(Debug, Clone, PartialEq)]
pub enum RawMethod {
    /// A method by name, with its default settings.
    Plain(MethodKind),
    Taylor(RawTaylor),
    Importance(RawNorm),
    Combined(RawNorm),
    Synflow(RawSynflow),
}

/// `{taylor: {...}}`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTaylor {
    /// Training batches averaged for the Taylor gradient (default 8).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batches: Option<usize>,
}

/// `{importance: {...}}` and `{combined: {...}}`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawNorm {
    /// Norm of a unit's incoming weights: `l2` (default) or `l1`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub norm: Option<Norm>,
}

/// `{synflow: {...}}`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSynflow {
    /// Pruning rounds per mask (default 100), on an exponential sparsity schedule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rounds: Option<usize>,
}

impl RawMethod {
    pub fn kind(&self) -> MethodKind {
        match self {
            RawMethod::Plain(k) => *k,
            RawMethod::Taylor(_) => MethodKind::Taylor,
            RawMethod::Importance(_) => MethodKind::Importance,
            RawMethod::Combined(_) => MethodKind::Combined,
            RawMethod::Synflow(_) => MethodKind::Synflow,
        }
    }
}

impl Serialize for RawMethod {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = match self {
            RawMethod::Plain(k) => return s.serialize_str(k.as_str()),
            _ => s.serialize_map(Some(1))?,
        };
        let key = self.kind().as_str();
        match self {
            RawMethod::Plain(_) => unreachable!("written as a name above"),
            RawMethod::Taylor(t) => m.serialize_entry(key, t)?,
            RawMethod::Importance(n) | RawMethod::Combined(n) => m.serialize_entry(key, n)?,
            RawMethod::Synflow(r) => m.serialize_entry(key, r)?,
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for RawMethod {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::{Error, MapAccess, Visitor};
        struct Entry;
        impl<'de> Visitor<'de> for Entry {
            type Value = RawMethod;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "a method name, or a method with its settings (`{taylor: {batches: 4}}`)",
                )
            }
            fn visit_str<E: Error>(self, v: &str) -> std::result::Result<RawMethod, E> {
                MethodKind::from_name(v)
                    .map(RawMethod::Plain)
                    .ok_or_else(|| E::unknown_variant(v, &NAMES))
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<RawMethod, A::Error> {
                let Some(key) = map.next_key::<String>()? else {
                    return Err(A::Error::invalid_length(0, &self));
                };
                let method = match MethodKind::from_name(&key) {
                    Some(MethodKind::Taylor) => RawMethod::Taylor(map.next_value()?),
                    Some(MethodKind::Importance) => RawMethod::Importance(map.next_value()?),
                    Some(MethodKind::Combined) => RawMethod::Combined(map.next_value()?),
                    Some(MethodKind::Synflow) => RawMethod::Synflow(map.next_value()?),
                    Some(other) => {
                        return Err(A::Error::custom(format!(
                            "`{other}` has no settings: write it as a plain name (settings \
                             exist for `taylor`, `importance`, `combined`, `synflow`)"
                        )))
                    }
                    None => return Err(A::Error::unknown_variant(&key, &NAMES)),
                };
                if map.next_key::<String>()?.is_some() {
                    return Err(A::Error::custom(
                        "a method with settings is a map of one key (`{taylor: {batches: 4}}`)",
                    ));
                }
                Ok(method)
            }
        }
        d.deserialize_any(Entry)
    }
}

/// The method names, for "unknown variant" errors (and their did-you-mean hint).
const NAMES: [&str; 8] = [
    "magnitude",
    "taylor",
    "importance",
    "combined",
    "random",
    "lamp",
    "wanda",
    "synflow",
];

// The shapes of an entry, for the JSON Schema only (never built).

/// A pruning method's name, or the method with its own settings (`{taylor: {batches: 4}}`).
#[allow(dead_code)]
#[derive(schemars::JsonSchema)]
#[serde(untagged)]
enum EntrySchema {
    Name(MethodKind),
    WithSettings(MethodWithSettings),
}

/// A method with its own settings: a map of one key, the method's name.
#[allow(dead_code)]
#[derive(schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum MethodWithSettings {
    Taylor(RawTaylor),
    Importance(RawNorm),
    Combined(RawNorm),
    Synflow(RawSynflow),
}

impl schemars::JsonSchema for RawMethod {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RawMethod".into()
    }
    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        EntrySchema::json_schema(g)
    }
}

/// Every method's settings, resolved (defaults for a method the file gives none, or does not
/// list). Only the listed methods' settings are used and written.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MethodSettings {
    /// Training batches averaged for the Taylor gradient.
    pub taylor_batches: usize,
    /// The norm `importance` scores units with.
    pub importance_norm: Norm,
    /// The norm `combined` scores units with.
    pub combined_norm: Norm,
    /// SynFlow's pruning rounds per mask.
    pub synflow_rounds: usize,
}

impl Default for MethodSettings {
    fn default() -> Self {
        MethodSettings {
            taylor_batches: 8,
            importance_norm: Norm::L2,
            combined_norm: Norm::L2,
            synflow_rounds: 100,
        }
    }
}

/// Validate `prune.methods` (default `[magnitude, random]`): at least one, each once, each
/// method's settings by their own function.
pub(super) fn resolve(
    raw: Option<Vec<RawMethod>>,
    c: &Ctx,
) -> Result<(Vec<MethodKind>, MethodSettings)> {
    let raw = raw.unwrap_or_else(|| {
        vec![
            RawMethod::Plain(MethodKind::Magnitude),
            RawMethod::Plain(MethodKind::Random),
        ]
    });
    if raw.is_empty() {
        return Err(c.bad(
            "prune.methods",
            "at least one pruning method",
            "an empty list",
        ));
    }
    let mut methods: Vec<MethodKind> = Vec::new();
    let mut s = MethodSettings::default();
    for (i, entry) in raw.iter().enumerate() {
        let kind = entry.kind();
        if methods.contains(&kind) {
            return Err(c.bad(
                &format!("prune.methods[{i}]"),
                "each method listed once",
                format!("`{kind}` twice"),
            ));
        }
        methods.push(kind);
        let field = |name: &str| format!("prune.methods[{i}].{kind}.{name}");
        match entry {
            RawMethod::Plain(_) => {}
            RawMethod::Taylor(t) => s.taylor_batches = taylor(t, &field("batches"), c)?,
            RawMethod::Importance(n) => s.importance_norm = norm(n),
            RawMethod::Combined(n) => s.combined_norm = norm(n),
            RawMethod::Synflow(r) => s.synflow_rounds = synflow(r, &field("rounds"), c)?,
        }
    }
    Ok((methods, s))
}

fn taylor(t: &RawTaylor, field: &str, c: &Ctx) -> Result<usize> {
    match t.batches {
        Some(0) => Err(c.bad(field, "at least 1 batch", 0)),
        b => Ok(b.unwrap_or(MethodSettings::default().taylor_batches)),
    }
}

fn norm(n: &RawNorm) -> Norm {
    n.norm.unwrap_or(Norm::L2)
}

fn synflow(r: &RawSynflow, field: &str, c: &Ctx) -> Result<usize> {
    match r.rounds {
        Some(0) => Err(c.bad(field, "at least 1 round", 0)),
        n => Ok(n.unwrap_or(MethodSettings::default().synflow_rounds)),
    }
}

/// The listed methods as an experiment file writes them, each with its settings written out.
pub fn to_raw(methods: &[MethodKind], s: &MethodSettings) -> Vec<RawMethod> {
    methods
        .iter()
        .map(|&m| match m {
            MethodKind::Taylor => RawMethod::Taylor(RawTaylor {
                batches: Some(s.taylor_batches),
            }),
            MethodKind::Importance => RawMethod::Importance(RawNorm {
                norm: Some(s.importance_norm),
            }),
            MethodKind::Combined => RawMethod::Combined(RawNorm {
                norm: Some(s.combined_norm),
            }),
            MethodKind::Synflow => RawMethod::Synflow(RawSynflow {
                rounds: Some(s.synflow_rounds),
            }),
            other => RawMethod::Plain(other),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_read_and_write_as_names_or_one_key_maps() {
        let yaml =
            "[magnitude, gradient, {importance: {norm: l1}}, {synflow: {rounds: 5}}, {taylor: {}}]";
        let v: Vec<RawMethod> = serde_yaml_ng::from_str(yaml).unwrap();
        assert_eq!(
            v,
            vec![
                RawMethod::Plain(MethodKind::Magnitude),
                RawMethod::Plain(MethodKind::Taylor),
                RawMethod::Importance(RawNorm {
                    norm: Some(Norm::L1)
                }),
                RawMethod::Synflow(RawSynflow { rounds: Some(5) }),
                RawMethod::Taylor(RawTaylor { batches: None }),
            ]
        );
        let written = serde_yaml_ng::to_string(&v).unwrap();
        assert!(
            written.contains("- importance:\n    norm: l1\n"),
            "{written}"
        );
        assert_eq!(
            serde_yaml_ng::from_str::<Vec<RawMethod>>(&written).unwrap(),
            v
        );
        for (bad, says) in [
            ("[{magnitude: {x: 1}}]", "`magnitude` has no settings"),
            ("[{taylor: {batch: 4}}]", "unknown field `batch`"),
            ("[{taylor: {batches: 4}, random: {}}]", "a map of one key"),
            ("[magnitud]", "unknown variant `magnitud`"),
            ("[{synflw: {rounds: 1}}]", "unknown variant `synflw`"),
        ] {
            let e = serde_yaml_ng::from_str::<Vec<RawMethod>>(bad)
                .unwrap_err()
                .to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn names_are_every_method_and_errors_name_the_entry() {
        let all: Vec<&str> = MethodKind::ALL.iter().map(|m| m.as_str()).collect();
        assert_eq!(NAMES.to_vec(), all);
        let err = |y: &str| {
            crate::config::parse(
                &format!("name: t\nprune: {{methods: {y}}}\n"),
                "e.yaml",
                &[],
            )
            .unwrap_err()
            .to_string()
        };
        let e = err("[magnitude, magnitud]");
        assert!(
            e.starts_with("e.yaml: prune.methods[1]") && e.contains("did you mean `magnitude`"),
            "{e}"
        );
        let e = err("[{taylor: {batches: 0}}]");
        assert_eq!(
            e,
            "e.yaml: field `prune.methods[0].taylor.batches`: expected at least 1 batch, found 0"
        );
        let e = err("[random, {random: {}}]");
        assert!(e.contains("`random` has no settings"), "{e}");
    }
}
