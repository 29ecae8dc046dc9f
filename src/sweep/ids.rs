//! Typed identities of what a row or a journalled job is about: [`RowMethod`] (the dense
//! baseline or one pruning method), [`RowRule`] (no rule for the dense baseline, or a selection
//! rule) and [`JobKey`] (one (fold model, method) job). Code compares these, never strings; each
//! reads and writes exactly the text the tables and journals always held (`dense`, `none`,
//! `magnitude`, `max_drop=0.01`, …).

use crate::config::{MethodKind, SelectRule};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What a row of the tables measures: the unpruned baseline or one pruning method.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RowMethod {
    /// The dense (unpruned) model; written `dense`.
    #[default]
    Dense,
    /// A pruning method; written by its name.
    Pruned(MethodKind),
}

impl RowMethod {
    /// The name in the tables: `dense` or the method's name.
    pub fn as_str(self) -> &'static str {
        match self {
            RowMethod::Dense => "dense",
            RowMethod::Pruned(m) => m.as_str(),
        }
    }

    /// Whether this is the dense (unpruned) baseline.
    pub fn is_dense(self) -> bool {
        self == RowMethod::Dense
    }

    /// The pruning method (`None` for the dense baseline).
    pub fn method(self) -> Option<MethodKind> {
        match self {
            RowMethod::Dense => None,
            RowMethod::Pruned(m) => Some(m),
        }
    }

    /// The row method a table calls `name` (`dense`, or a method's name or alias).
    pub fn parse(name: &str) -> Option<RowMethod> {
        match name {
            "dense" => Some(RowMethod::Dense),
            _ => MethodKind::from_name(name).map(RowMethod::Pruned),
        }
    }
}

impl From<MethodKind> for RowMethod {
    fn from(m: MethodKind) -> Self {
        RowMethod::Pruned(m)
    }
}

impl PartialEq<MethodKind> for RowMethod {
    fn eq(&self, m: &MethodKind) -> bool {
        *self == RowMethod::Pruned(*m)
    }
}

impl std::fmt::Display for RowMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

impl Serialize for RowMethod {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RowMethod {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<str>::deserialize(d)?;
        RowMethod::parse(&name).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown method {name:?} (expected `dense` or a pruning method)"
            ))
        })
    }
}

/// The rule a selection row (or model) records: none for the dense baseline, else the selection
/// rule that chose its τ.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub enum RowRule {
    /// The dense baseline: no τ was chosen; written `none`.
    #[default]
    None,
    /// Written as [`SelectRule::label`]: `best`, `one_se`, `max_drop=0.01`, …
    Rule(SelectRule),
}

impl RowRule {
    /// The text in the tables.
    pub fn label(&self) -> String {
        match self {
            RowRule::None => "none".into(),
            RowRule::Rule(r) => r.label(),
        }
    }

    /// The rule a table calls `label`.
    pub fn parse(label: &str) -> Option<RowRule> {
        let number = |v: &str| v.parse::<f64>().ok();
        Some(match label.split_once('=') {
            None => match label {
                "none" => RowRule::None,
                "best" => RowRule::Rule(SelectRule::Best),
                "one_se" => RowRule::Rule(SelectRule::OneSe),
                _ => return None,
            },
            Some(("max_drop", v)) => RowRule::Rule(SelectRule::MaxDrop(number(v)?)),
            Some(("target_sparsity", v)) => RowRule::Rule(SelectRule::TargetSparsity(number(v)?)),
            Some(_) => return None,
        })
    }
}

impl From<SelectRule> for RowRule {
    fn from(r: SelectRule) -> Self {
        RowRule::Rule(r)
    }
}

impl std::fmt::Display for RowRule {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.pad(&self.label())
    }
}

impl Serialize for RowRule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.label())
    }
}

impl<'de> Deserialize<'de> for RowRule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let label = std::borrow::Cow::<str>::deserialize(d)?;
        RowRule::parse(&label).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown selection rule {label:?} (expected `none`, `best`, `one_se`, \
                 `max_drop=x` or `target_sparsity=s`)"
            ))
        })
    }
}

/// One pruning job of a run: every τ of `method` on the model of (`repeat`, `fold`). The key of
/// its journal entry and of a shard's `done` list, written as `{"repeat": 0, "fold": 1,
/// "method": "random"}`; the text keys of older journals (`"repeat 0 fold 1 random"`) still read,
/// so a run journalled by an older version resumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct JobKey {
    pub repeat: usize,
    pub fold: usize,
    pub method: MethodKind,
}

impl JobKey {
    /// The key of an older journal: `repeat R fold F METHOD`.
    fn parse_text(s: &str) -> Option<JobKey> {
        let mut w = s.split(' ');
        let (Some("repeat"), Some(r), Some("fold"), Some(f), Some(m), None) =
            (w.next(), w.next(), w.next(), w.next(), w.next(), w.next())
        else {
            return None;
        };
        Some(JobKey {
            repeat: r.parse().ok()?,
            fold: f.parse().ok()?,
            method: MethodKind::from_name(m)?,
        })
    }
}

impl std::fmt::Display for JobKey {
    /// `repeat R fold F METHOD`, as progress messages and errors name a job.
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(
            f,
            "repeat {} fold {} {}",
            self.repeat,
            self.fold,
            self.method.as_str()
        )
    }
}

impl<'de> Deserialize<'de> for JobKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Text(String),
            Fields {
                repeat: usize,
                fold: usize,
                method: MethodKind,
            },
        }
        match Written::deserialize(d)? {
            Written::Fields {
                repeat,
                fold,
                method,
            } => Ok(JobKey {
                repeat,
                fold,
                method,
            }),
            Written::Text(s) => JobKey::parse_text(&s).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "job key {s:?} is neither {{repeat, fold, method}} nor `repeat R fold F METHOD`"
                ))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Widths pad (the terminal summary's columns line up); no width writes the name as is.
    #[test]
    fn display_honours_width() {
        use crate::config::{MethodKind, SelectRule};
        assert_eq!(format!("{:<11}|", RowMethod::Dense), "dense      |");
        let m = RowMethod::Pruned(MethodKind::Magnitude);
        assert_eq!(format!("{m:>10}|{m}"), " magnitude|magnitude");
        assert_eq!(
            format!("{:<8}|", RowRule::Rule(SelectRule::OneSe)),
            "one_se  |"
        );
        assert_eq!(format!("{:<7}|", MethodKind::Taylor), "taylor |");
    }

    #[test]
    fn row_methods_and_rules_read_and_write_the_table_text() {
        for (m, text) in [
            (RowMethod::Dense, "dense"),
            (RowMethod::Pruned(MethodKind::Taylor), "taylor"),
            (RowMethod::Pruned(MethodKind::Synflow), "synflow"),
        ] {
            assert_eq!(m.as_str(), text);
            assert_eq!(serde_json::to_string(&m).unwrap(), format!("\"{text}\""));
            assert_eq!(RowMethod::parse(text), Some(m));
        }
        assert_eq!(
            RowMethod::parse("gradient"),
            Some(RowMethod::Pruned(MethodKind::Taylor))
        );
        assert_eq!(RowMethod::parse("none"), None);
        for (r, text) in [
            (RowRule::None, "none"),
            (RowRule::Rule(SelectRule::OneSe), "one_se"),
            (RowRule::Rule(SelectRule::MaxDrop(0.01)), "max_drop=0.01"),
            (
                RowRule::Rule(SelectRule::TargetSparsity(0.9)),
                "target_sparsity=0.9",
            ),
        ] {
            assert_eq!(r.label(), text);
            assert_eq!(RowRule::parse(text), Some(r));
            let back: RowRule = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
            assert_eq!(back, r);
        }
        assert_eq!(RowRule::parse("max_drop=x"), None);
        assert_eq!(RowRule::parse("worst"), None);
    }

    #[test]
    fn job_keys_are_structured_and_older_text_keys_still_read() {
        let k = JobKey {
            repeat: 1,
            fold: 2,
            method: MethodKind::Random,
        };
        let json = serde_json::to_string(&k).unwrap();
        assert_eq!(json, r#"{"repeat":1,"fold":2,"method":"random"}"#);
        assert_eq!(serde_json::from_str::<JobKey>(&json).unwrap(), k);
        assert_eq!(
            serde_json::from_str::<JobKey>(r#""repeat 1 fold 2 random""#).unwrap(),
            k
        );
        assert_eq!(k.to_string(), "repeat 1 fold 2 random");
        for bad in [
            r#""repeat 1 fold 2""#,
            r#""repeat 1 fold x random""#,
            r#""repeat 1 fold 2 random extra""#,
            r#""repeat 1 fold 2 pruning""#,
        ] {
            assert!(serde_json::from_str::<JobKey>(bad).is_err(), "{bad}");
        }
    }
}
