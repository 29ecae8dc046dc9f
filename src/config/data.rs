//! The `data` section, tagged by `source` (`builtin` when omitted). Each source has its own
//! fields ([`RawBuiltin`], [`RawCsv`], [`RawIdx`], [`RawCifar10`]), so a field of another source
//! is refused with the field and its owner named, `resolved.yaml` writes only what the source
//! reads, and the JSON Schema offers one object per source (`oneOf`). Each source is validated
//! by its own function into a [`Source`] of the resolved [`DataSpec`].

use super::resolve::Ctx;
use super::types::{BuiltinName, ColumnRef, DataName, DataSource, HeaderMode, Standardize};
use crate::data::csv::CsvOptions;
use crate::error::Result;
use serde::{Deserialize, Deserializer, Serialize};
use serde_yaml_ng::{Mapping, Value};
use std::collections::BTreeMap;

/// `data:` as written: one variant per `source`, each with only its own fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum RawData {
    Builtin(RawBuiltin),
    Csv(RawCsv),
    Idx(RawIdx),
    Cifar10(RawCifar10),
}

impl Default for RawData {
    fn default() -> Self {
        RawData::Builtin(RawBuiltin::default())
    }
}

/// `source: builtin` (the default): a data set shipped with prunecv.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBuiltin {
    /// `digits` (default: 1,797 8×8 images of handwritten digits) or `iris`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<DataName>,
    /// Fraction of the data carved off (stratified) as the test split (default 0.2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holdout: Option<f64>,
    /// Feature scaling fitted on each model's training rows: `feature` (default: a z-score per
    /// feature), `global` (one mean and standard deviation over all features) or `none`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standardize: Option<Standardize>,
}

/// `source: csv`: numeric feature columns and a class-label column.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCsv {
    /// Fraction of the data carved off (stratified) as the test split (default 0.2); not used
    /// with `test_path`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holdout: Option<f64>,
    /// The CSV file, relative to the experiment file's directory or absolute.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// A CSV file holding a fixed test split; when given, `holdout` is not used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_path: Option<String>,
    /// The label column: `last` (default), `first`, a 0-based index, or a header name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Whether the first row (after `skip_rows`) is a header: `auto` (default), `yes`, `no`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<HeaderMode>,
    /// Lines skipped at the top of the file (e.g. a description line), default 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_rows: Option<usize>,
    /// The separator: `auto` (default: the first of tab, `;`, `,`, `|` found in the first row),
    /// `tab`, or one character such as `;`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    /// Feature columns (0-based indices or header names), in this order; default: every column
    /// but the label and `drop`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<ColumnRef>>,
    /// Columns to leave out (indices or header names).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drop: Option<Vec<ColumnRef>>,
    /// Class names in class-index order; labels are matched against them as text. Default:
    /// labels that are all class indices are used as such, names are sorted (byte order).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classes: Option<Vec<String>>,
    /// Feature scaling: `feature` (default), `global` or `none`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standardize: Option<Standardize>,
}

/// `source: idx`: MNIST-format IDX files (the `t10k` files are the test split), from `dir` or
/// fetched by `prunecv data fetch` (`name`): exactly one of the two.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawIdx {
    /// A data set downloaded by `prunecv data fetch`: `mnist`, `fashion_mnist` or `kmnist`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<DataName>,
    /// The directory of the four IDX files (raw or `.gz`), relative to the experiment file's
    /// directory or absolute.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<String>,
    /// Expected SHA-256 (hex) of the uncompressed content of IDX files, keyed by file name
    /// without `.gz`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<BTreeMap<String, String>>,
    /// Use only the first N training images.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// Feature scaling: `feature` (default), `global` or `none`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standardize: Option<Standardize>,
}

/// `source: cifar10`: CIFAR-10's binary batches (`test_batch.bin` is the test split).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCifar10 {
    /// The directory of the batches (default: the one `prunecv data fetch cifar10` fills).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<String>,
    /// Use only the first N training images.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// Feature scaling: `feature` (default), `global` or `none`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standardize: Option<Standardize>,
}

/// Every source, in the order the schema lists them.
const SOURCES: [DataSource; 4] = [
    DataSource::Builtin,
    DataSource::Csv,
    DataSource::Idx,
    DataSource::Cifar10,
];

/// The fields a source takes besides `source` (what its raw struct has; pinned by a test).
fn fields(s: DataSource) -> &'static [&'static str] {
    match s {
        DataSource::Builtin => &["name", "holdout", "standardize"],
        DataSource::Csv => &[
            "holdout",
            "path",
            "test_path",
            "label",
            "header",
            "skip_rows",
            "delimiter",
            "features",
            "drop",
            "classes",
            "standardize",
        ],
        DataSource::Idx => &["name", "dir", "sha256", "limit", "standardize"],
        DataSource::Cifar10 => &["dir", "limit", "standardize"],
    }
}

/// The message for a field `source` does not take: which sources it belongs to, or, for a
/// field of none, serde's "unknown field" wording (so that a did-you-mean hint follows).
fn misplaced(source: DataSource, key: &str) -> String {
    let quote = |v: &[&str]| {
        v.iter()
            .map(|f| format!("`{f}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let owners: Vec<String> = SOURCES
        .iter()
        .filter(|s| fields(**s).contains(&key))
        .map(|s| format!("`source: {}`", s.as_str()))
        .collect();
    if owners.is_empty() {
        return format!(
            "unknown field `{key}`, expected one of {}",
            quote(fields(source))
        );
    }
    format!(
        "field `data.{key}` belongs to {}, not to `source: {}` (which takes {})",
        owners.join(" and "),
        source.as_str(),
        quote(fields(source))
    )
}

impl<'de> Deserialize<'de> for RawData {
    /// Reads `source` (default `builtin`), refuses a field that source does not take, then reads
    /// the rest as that source's struct.
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error;
        let mut map = Mapping::deserialize(d)?;
        let source = match map.remove("source") {
            None | Some(Value::Null) => DataSource::Builtin,
            Some(v) => DataSource::deserialize(v).map_err(D::Error::custom)?,
        };
        for key in map.keys() {
            let name = key.as_str().unwrap_or_default();
            if !fields(source).contains(&name) {
                return Err(D::Error::custom(misplaced(source, name)));
            }
        }
        // `--set data.dir=null` leaves a null: the same as no field.
        map.retain(|_, v| !v.is_null());
        let read = |m: Mapping| -> std::result::Result<RawData, serde_yaml_ng::Error> {
            let rest = Value::Mapping(m);
            Ok(match source {
                DataSource::Builtin => RawData::Builtin(RawBuiltin::deserialize(rest)?),
                DataSource::Csv => RawData::Csv(RawCsv::deserialize(rest)?),
                DataSource::Idx => RawData::Idx(RawIdx::deserialize(rest)?),
                DataSource::Cifar10 => RawData::Cifar10(RawCifar10::deserialize(rest)?),
            })
        };
        read(map.clone()).map_err(|e| {
            // The buffered fields carry no path: find the field that failed and name it.
            let field = map.iter().find_map(|(k, v)| {
                let one: Mapping = std::iter::once((k.clone(), v.clone())).collect();
                read(one)
                    .err()
                    .map(|e| (k.as_str().unwrap_or_default().to_string(), e))
            });
            match field {
                Some((k, e)) => D::Error::custom(format!("field `data.{k}`: {e}")),
                None => D::Error::custom(e),
            }
        })
    }
}

impl schemars::JsonSchema for RawData {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RawData".into()
    }

    /// `oneOf` the four sources' objects, each with its `source` (optional for `builtin` only)
    /// and no other source's fields.
    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let variant = |mut s: schemars::Schema, source: DataSource| {
            let obj = s.as_object_mut().expect("a struct's schema is an object");
            let tag = serde_json::json!({
                "description": "Where the data comes from (default `builtin`).",
                "const": source.as_str(),
            });
            if let Some(p) = obj
                .entry("properties")
                .or_insert_with(|| serde_json::json!({}))
                .as_object_mut()
            {
                p.insert("source".into(), tag);
            }
            if source != DataSource::Builtin {
                let req = obj
                    .entry("required")
                    .or_insert_with(|| serde_json::json!([]));
                if let Some(r) = req.as_array_mut() {
                    r.push("source".into());
                }
            }
            s.into()
        };
        let one_of: Vec<serde_json::Value> = vec![
            variant(RawBuiltin::json_schema(g), DataSource::Builtin),
            variant(RawCsv::json_schema(g), DataSource::Csv),
            variant(RawIdx::json_schema(g), DataSource::Idx),
            variant(RawCifar10::json_schema(g), DataSource::Cifar10),
        ];
        schemars::json_schema!({
            "description": "The data set, by `source` (default `builtin`): each source takes \
                            only its own fields.",
            "oneOf": one_of,
        })
    }
}

/// The resolved data section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataSpec {
    pub source: Source,
    /// How features are scaled (statistics from each model's training rows).
    pub standardize: Standardize,
}

/// Where the data comes from, with what that source needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Source {
    /// A data set shipped with prunecv; `holdout` of it is the test split.
    Builtin {
        name: BuiltinName,
        holdout: f64,
    },
    Csv(CsvSource),
    Idx(IdxSource),
    /// CIFAR-10's batches in `dir` (`None`: the `prunecv data fetch` cache).
    Cifar10 {
        dir: Option<String>,
        limit: Option<usize>,
    },
}

/// `source: csv`, resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CsvSource {
    /// The file as written (made absolute against the experiment file by `config::load`).
    pub path: String,
    /// A file with a fixed test split (then `holdout` is not used).
    pub test_path: Option<String>,
    pub holdout: f64,
    /// How to read the files: label column, header, separator, columns, class names.
    pub options: CsvOptions,
}

/// `source: idx`, resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IdxSource {
    pub files: IdxFiles,
    /// Expected SHA-256 (lower-case hex) of the uncompressed files, by file name without `.gz`;
    /// files not named are not checked.
    pub sha256: BTreeMap<String, String>,
    /// Use only the first N training images.
    pub limit: Option<usize>,
}

/// Where the IDX files are.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum IdxFiles {
    /// A directory the user gave.
    Dir(String),
    /// The cache directory of a set `prunecv data fetch` downloaded (`mnist`, …).
    Fetched(DataName),
}

impl DataSpec {
    /// Which source this is.
    pub fn kind(&self) -> DataSource {
        match self.source {
            Source::Builtin { .. } => DataSource::Builtin,
            Source::Csv(_) => DataSource::Csv,
            Source::Idx(_) => DataSource::Idx,
            Source::Cifar10 { .. } => DataSource::Cifar10,
        }
    }

    /// The fraction carved off as the test split, for sources that can need one (`None` for
    /// IDX and CIFAR-10, which bring their own).
    pub fn holdout(&self) -> Option<f64> {
        match &self.source {
            Source::Builtin { holdout, .. } => Some(*holdout),
            Source::Csv(c) => Some(c.holdout),
            Source::Idx(_) | Source::Cifar10 { .. } => None,
        }
    }

    /// The file and directory paths the section names (to resolve them against the experiment
    /// file's directory).
    pub fn paths_mut(&mut self) -> Vec<&mut String> {
        match &mut self.source {
            Source::Builtin { .. } => Vec::new(),
            Source::Csv(c) => std::iter::once(&mut c.path)
                .chain(c.test_path.as_mut())
                .collect(),
            Source::Idx(i) => match &mut i.files {
                IdxFiles::Dir(d) => vec![d],
                IdxFiles::Fetched(_) => Vec::new(),
            },
            Source::Cifar10 { dir, .. } => dir.iter_mut().collect(),
        }
    }

    /// The section as an experiment file writes it, every default written out.
    pub fn to_raw(&self) -> RawData {
        let standardize = Some(self.standardize);
        match &self.source {
            Source::Builtin { name, holdout } => RawData::Builtin(RawBuiltin {
                name: Some(name.into()),
                holdout: Some(*holdout),
                standardize,
            }),
            Source::Csv(c) => {
                let o = &c.options;
                RawData::Csv(RawCsv {
                    holdout: Some(c.holdout),
                    path: Some(c.path.clone()),
                    test_path: c.test_path.clone(),
                    label: Some(o.label.clone()),
                    header: Some(o.header),
                    skip_rows: Some(o.skip_rows),
                    delimiter: Some(delimiter_text(o.delimiter)),
                    features: o.features.clone(),
                    drop: (!o.drop.is_empty()).then(|| o.drop.clone()),
                    classes: o.classes.clone(),
                    standardize,
                })
            }
            Source::Idx(i) => RawData::Idx(RawIdx {
                name: match i.files {
                    IdxFiles::Fetched(n) => Some(n),
                    IdxFiles::Dir(_) => None,
                },
                dir: match &i.files {
                    IdxFiles::Dir(d) => Some(d.clone()),
                    IdxFiles::Fetched(_) => None,
                },
                sha256: (!i.sha256.is_empty()).then(|| i.sha256.clone()),
                limit: i.limit,
                standardize,
            }),
            Source::Cifar10 { dir, limit } => RawData::Cifar10(RawCifar10 {
                dir: dir.clone(),
                limit: *limit,
                standardize,
            }),
        }
    }
}

/// `data.delimiter` as written: `auto`, `tab` or the character.
pub(super) fn delimiter_text(d: Option<u8>) -> String {
    match d {
        None => "auto".into(),
        Some(b'\t') => "tab".into(),
        Some(b) => (b as char).to_string(),
    }
}

impl From<&BuiltinName> for DataName {
    fn from(n: &BuiltinName) -> DataName {
        match n {
            BuiltinName::Digits => DataName::Digits,
            BuiltinName::Iris => DataName::Iris,
        }
    }
}

/// Validate the section: each source by its own function.
pub(super) fn resolve(raw: RawData, c: &Ctx) -> Result<DataSpec> {
    let (source, standardize) = match raw {
        RawData::Builtin(b) => (builtin(&b, c)?, b.standardize),
        RawData::Csv(r) => (csv(&r, c)?, r.standardize),
        RawData::Idx(r) => (idx(&r, c)?, r.standardize),
        RawData::Cifar10(r) => (cifar10(&r, c)?, r.standardize),
    };
    Ok(DataSpec {
        source,
        standardize: standardize.unwrap_or_default(),
    })
}

fn holdout(h: Option<f64>, c: &Ctx) -> Result<f64> {
    let h = h.unwrap_or(0.2);
    if !(h > 0.0 && h < 1.0) {
        return Err(c.bad("data.holdout", "a fraction in (0, 1)", h));
    }
    Ok(h)
}

/// A `data.name` that is not a built-in set, with a hint where it belongs.
fn not_builtin(n: DataName, c: &Ctx) -> crate::error::Error {
    let hint = if n == DataName::Cifar10 {
        " (CIFAR-10 is `source: cifar10`, after `prunecv data fetch cifar10`)".to_string()
    } else {
        format!(
            " (`{0}` is `source: idx, name: {0}`, after `prunecv data fetch {0}`)",
            n.as_str()
        )
    };
    c.bad(
        "data.name",
        &format!("a built-in data set, `digits` or `iris`{hint}"),
        format!("`{}`", n.as_str()),
    )
}

fn builtin(b: &RawBuiltin, c: &Ctx) -> Result<Source> {
    let name = match b.name {
        None => BuiltinName::Digits,
        Some(n) => n.builtin().ok_or_else(|| not_builtin(n, c))?,
    };
    Ok(Source::Builtin {
        name,
        holdout: holdout(b.holdout, c)?,
    })
}

fn csv(r: &RawCsv, c: &Ctx) -> Result<Source> {
    let Some(path) = r.path.clone() else {
        return Err(c.bad("data.path", "the CSV file to read (source: csv)", "nothing"));
    };
    Ok(Source::Csv(CsvSource {
        path,
        test_path: r.test_path.clone(),
        holdout: holdout(r.holdout, c)?,
        options: csv_options(r, c)?,
    }))
}

/// The CSV reading options, validated.
fn csv_options(d: &RawCsv, c: &Ctx) -> Result<CsvOptions> {
    let delimiter = match d.delimiter.as_deref() {
        None | Some("auto") => None,
        Some("tab") | Some("\t") => Some(b'\t'),
        Some(s)
            if s.len() == 1
                && !s.as_bytes()[0].is_ascii_alphanumeric()
                && !matches!(s, "\"" | "." | "-" | "+" | "\n" | "\r") =>
        {
            Some(s.as_bytes()[0])
        }
        Some(s) => {
            return Err(c.bad(
                "data.delimiter",
                "`auto`, `tab` or one separator character such as `,` `;` `|`",
                format!("{s:?}"),
            ))
        }
    };
    if let Some(classes) = &d.classes {
        let mut seen = classes.clone();
        seen.sort_unstable();
        if let Some(w) = seen.windows(2).find(|w| w[0] == w[1]) {
            return Err(c.bad(
                "data.classes",
                "distinct class names",
                format!("{:?} twice", w[0]),
            ));
        }
        if classes.len() < 2 {
            return Err(c.bad("data.classes", "at least 2 class names", classes.len()));
        }
    }
    if d.features.is_some() && d.drop.is_some() {
        return Err(c.bad(
            "data.drop",
            "either `features` or `drop`, not both (`features` already leaves out the rest)",
            "both set",
        ));
    }
    Ok(CsvOptions {
        label: d.label.clone().unwrap_or_else(|| "last".into()),
        header: d.header.unwrap_or_default(),
        skip_rows: d.skip_rows.unwrap_or(0),
        delimiter,
        features: d.features.clone(),
        drop: d.drop.clone().unwrap_or_default(),
        classes: d.classes.clone(),
    })
}

/// `idx` needs exactly one of `dir` and `name` (a fetched MNIST-format set); hashes must name
/// one of the four files and be 64 hex digits.
fn idx(r: &RawIdx, c: &Ctx) -> Result<Source> {
    let files = match (&r.dir, r.name) {
        (None, None) => {
            return Err(c.bad(
                "data.dir",
                "the directory holding the IDX files, or `name: mnist` (or `fashion_mnist`, \
                 `kmnist`) for a data set downloaded by `prunecv data fetch` (source: idx)",
                "nothing",
            ))
        }
        (Some(_), Some(n)) => {
            return Err(c.bad(
                "data.name",
                "one of `dir` (files you have) and `name` (a data set downloaded by \
                 `prunecv data fetch`), not both",
                format!("`name: {}` and `dir`", n.as_str()),
            ))
        }
        (Some(d), None) => IdxFiles::Dir(d.clone()),
        (None, Some(n)) if n.is_idx() => IdxFiles::Fetched(n),
        (None, Some(n)) => {
            let hint = match n {
                DataName::Cifar10 => {
                    " (CIFAR-10 is `source: cifar10`, after `prunecv data fetch cifar10`)"
                }
                _ => " (built-in data sets are `source: builtin`)",
            };
            return Err(c.bad(
                "data.name",
                &format!(
                    "a data set fetched by `prunecv data fetch`: `mnist`, `fashion_mnist` or \
                     `kmnist`{hint}"
                ),
                format!("`{}`", n.as_str()),
            ));
        }
    };
    let mut sha256 = BTreeMap::new();
    for (k, v) in r.sha256.iter().flatten() {
        if !crate::data::idx::FILES.contains(&k.as_str()) {
            return Err(c.bad(
                &format!("data.sha256.{k}"),
                &format!(
                    "a file name, one of {} (hashes are of the uncompressed content, so no `.gz`)",
                    crate::data::idx::FILES.join(", ")
                ),
                format!("{k:?}"),
            ));
        }
        if v.len() != 64 || !v.chars().all(|ch| ch.is_ascii_hexdigit()) {
            return Err(c.bad(
                &format!("data.sha256.{k}"),
                "a SHA-256 digest of 64 hex digits",
                format!("{v:?}"),
            ));
        }
        sha256.insert(k.clone(), v.to_ascii_lowercase());
    }
    Ok(Source::Idx(IdxSource {
        files,
        sha256,
        limit: limit(r.limit, c)?,
    }))
}

fn cifar10(r: &RawCifar10, c: &Ctx) -> Result<Source> {
    Ok(Source::Cifar10 {
        dir: r.dir.clone(),
        limit: limit(r.limit, c)?,
    })
}

fn limit(l: Option<usize>, c: &Ctx) -> Result<Option<usize>> {
    if l == Some(0) {
        return Err(c.bad("data.limit", "at least 1 training image", 0));
    }
    Ok(l)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each source's field list is exactly what its struct reads and writes.
    #[test]
    fn field_lists_match_the_structs() {
        let keys = |v: Value| -> Vec<String> {
            v.as_mapping()
                .unwrap()
                .keys()
                .map(|k| k.as_str().unwrap().to_string())
                .filter(|k| k != "source")
                .collect()
        };
        let full = [
            RawData::Builtin(RawBuiltin {
                name: Some(DataName::Iris),
                holdout: Some(0.3),
                standardize: Some(Standardize::None),
            }),
            RawData::Csv(RawCsv {
                holdout: Some(0.3),
                path: Some("a".into()),
                test_path: Some("b".into()),
                label: Some("last".into()),
                header: Some(HeaderMode::No),
                skip_rows: Some(1),
                delimiter: Some(";".into()),
                features: Some(vec![]),
                drop: Some(vec![]),
                classes: Some(vec![]),
                standardize: Some(Standardize::None),
            }),
            RawData::Idx(RawIdx {
                name: Some(DataName::Mnist),
                dir: Some("d".into()),
                sha256: Some(BTreeMap::new()),
                limit: Some(3),
                standardize: Some(Standardize::None),
            }),
            RawData::Cifar10(RawCifar10 {
                dir: Some("d".into()),
                limit: Some(3),
                standardize: Some(Standardize::None),
            }),
        ];
        for (raw, source) in full.iter().zip(SOURCES) {
            let v = serde_yaml_ng::to_value(raw).unwrap();
            assert_eq!(v["source"].as_str(), Some(source.as_str()));
            assert_eq!(keys(v.clone()), fields(source), "{source:?}");
            let back: RawData = serde_yaml_ng::from_value(v).unwrap();
            assert_eq!(&back, raw);
        }
    }

    #[test]
    fn a_field_of_another_source_is_refused_with_its_owner() {
        let read = |y: &str| serde_yaml_ng::from_str::<RawData>(y).map_err(|e| e.to_string());
        assert_eq!(
            read("{name: iris}").unwrap(),
            RawData::Builtin(RawBuiltin {
                name: Some(DataName::Iris),
                ..RawBuiltin::default()
            })
        );
        let e = read("{source: builtin, path: a.csv}").unwrap_err();
        assert!(
            e.contains("field `data.path` belongs to `source: csv`, not to `source: builtin`"),
            "{e}"
        );
        let e = read("{source: csv, path: a.csv, limit: 3}").unwrap_err();
        assert!(
            e.contains("`source: idx` and `source: cifar10`, not to `source: csv`"),
            "{e}"
        );
        let e = read("{source: csv, pth: a.csv}").unwrap_err();
        assert!(e.contains("unknown field `pth`, expected one of"), "{e}");
        let e = read("{source: csvv}").unwrap_err();
        assert!(e.contains("unknown variant `csvv`"), "{e}");
        let e = read("{source: csv, path: a.csv, holdout: half}").unwrap_err();
        assert!(
            e.contains("field `data.holdout`: invalid type: string \"half\""),
            "{e}"
        );
        // A null is no field (`--set data.dir=null`).
        assert_eq!(
            read("{source: idx, name: mnist, dir: null}").unwrap(),
            RawData::Idx(RawIdx {
                name: Some(DataName::Mnist),
                ..RawIdx::default()
            })
        );
    }
}
