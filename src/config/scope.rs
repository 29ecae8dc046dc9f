//! `prune.tau.scope`: a scope's name (`layer`, `global`, `erk`, `row`, `sensitivity`), or
//! `{sensitivity: {rows: N}}` with the one setting a scope has, so that setting cannot be given
//! to another scope.

use super::types::Scope;
use serde::{Deserialize, Serialize};

/// `prune.tau.scope` as written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RawScope {
    Plain(Scope),
    Sensitivity(RawSensitivity),
}

/// `{sensitivity: {...}}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSensitivity {
    /// Training rows (at most) on which each layer's sensitivity is measured (default 1024,
    /// spread evenly over the model's training rows).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<usize>,
}

/// Default of `{sensitivity: {rows}}`.
pub const SENSITIVITY_ROWS: usize = 1024;

impl RawScope {
    pub fn scope(self) -> Scope {
        match self {
            RawScope::Plain(s) => s,
            RawScope::Sensitivity(_) => Scope::Sensitivity,
        }
    }
}

impl Serialize for RawScope {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            RawScope::Plain(scope) => scope.serialize(s),
            RawScope::Sensitivity(r) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("sensitivity", r)?;
                m.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for RawScope {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{Error, IntoDeserializer, MapAccess, Visitor};
        struct Entry;
        impl<'de> Visitor<'de> for Entry {
            type Value = RawScope;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a scope name, or `{sensitivity: {rows: N}}`")
            }
            fn visit_str<E: Error>(self, v: &str) -> Result<RawScope, E> {
                Scope::deserialize(v.into_deserializer()).map(RawScope::Plain)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawScope, A::Error> {
                let Some(key) = map.next_key::<String>()? else {
                    return Err(A::Error::invalid_length(0, &self));
                };
                if key != "sensitivity" {
                    let scope = Scope::deserialize(
                        serde::de::value::StrDeserializer::<A::Error>::new(&key),
                    )?;
                    return Err(A::Error::custom(format!(
                        "`{}` has no settings: write it as a plain name (only `sensitivity` \
                         has one: `{{sensitivity: {{rows: N}}}}`)",
                        scope.as_str()
                    )));
                }
                let r: RawSensitivity = map.next_value()?;
                if map.next_key::<String>()?.is_some() {
                    return Err(A::Error::custom(
                        "a scope with settings is a map of one key",
                    ));
                }
                Ok(RawScope::Sensitivity(r))
            }
        }
        d.deserialize_any(Entry)
    }
}

// The shapes of a scope, for the JSON Schema only (never built).

/// A scope's name, or `{sensitivity: {rows: N}}`.
#[allow(dead_code)]
#[derive(schemars::JsonSchema)]
#[serde(untagged)]
enum ScopeSchema {
    Name(Scope),
    WithSettings(ScopeWithSettings),
}

/// A scope with its settings: only `sensitivity` has one.
#[allow(dead_code)]
#[derive(schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum ScopeWithSettings {
    Sensitivity(RawSensitivity),
}

impl schemars::JsonSchema for RawScope {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RawScope".into()
    }
    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        ScopeSchema::json_schema(g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_read_as_names_or_sensitivity_with_rows() {
        let read = |y: &str| serde_yaml_ng::from_str::<RawScope>(y).map_err(|e| e.to_string());
        assert_eq!(read("row").unwrap(), RawScope::Plain(Scope::Row));
        let s = read("{sensitivity: {rows: 300}}").unwrap();
        assert_eq!(s, RawScope::Sensitivity(RawSensitivity { rows: Some(300) }));
        assert_eq!(s.scope(), Scope::Sensitivity);
        let written = serde_yaml_ng::to_string(&s).unwrap();
        assert_eq!(written, "sensitivity:\n  rows: 300\n");
        assert!(read("{layer: {rows: 3}}")
            .unwrap_err()
            .contains("`layer` has no settings"));
        assert!(read("{sensitivity: {row: 3}}")
            .unwrap_err()
            .contains("unknown field `row`"));
        assert!(read("lyer").unwrap_err().contains("unknown variant `lyer`"));
    }
}
