//! Experiment configuration: what to run. Public: [`parse`] and [`load`] turn an experiment
//! file (YAML, with `--set`-style overrides) into an [`Experiment`]; [`MethodKind`] and
//! [`SelectRule`] name the pruning methods and τ-selection rules that the rows of a
//! [`crate::sweep::SweepResult`] carry.
//!
//! Inside the crate: raw YAML (`raw`), closed vocabularies (`types`), resolution and validation
//! (`resolve`), the overrides, and error messages with did-you-mean hints.

pub(crate) mod compare;
pub(crate) mod data;
pub(crate) mod methods;
pub(crate) mod model;
pub(crate) mod plots;
pub(crate) mod raw;
pub(crate) mod resolve;
pub(crate) mod scope;
pub(crate) mod types;
mod v1;

#[cfg(test)]
mod layout_tests;

pub use resolve::Experiment;
pub(crate) use resolve::{DataSpec, Grid, ModelSpec, PruneSpec, Schedule, TrainSpec};
pub(crate) use types::*;
pub use types::{MethodKind, SelectRule};

use crate::error::{Error, Result};
use raw::RawExperiment;
use serde_yaml_ng::Value;
use sha2::{Digest, Sha256};
use std::path::Path;

/// Read, override, resolve and validate an experiment file.
pub fn load(path: &Path, overrides: &[String]) -> Result<Experiment> {
    // An experiment file that cannot be read is bad input, like one that cannot be parsed.
    let bytes = std::fs::read(path)
        .map_err(|e| Error::config(path.display().to_string(), format!("cannot read it: {e}")))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::config(path.display().to_string(), "not valid UTF-8 text"))?;
    let mut exp = parse(&text, &path.display().to_string(), overrides)?;
    // Data paths are relative to the experiment file.
    let base = path.parent().unwrap_or(Path::new(""));
    for p in exp.data.paths_mut() {
        if Path::new(p.as_str()).is_relative() {
            *p = base.join(&*p).display().to_string();
        }
    }
    Ok(exp)
}

/// Parse experiment text. `file` is used in error messages.
pub fn parse(text: &str, file: &str, overrides: &[String]) -> Result<Experiment> {
    parse_for(text, file, overrides, None)
}

/// Parse experiment text for a model built by Rust code (e.g. a `candle_nn` module:
/// [`crate::UserModel::candle`]): the file leaves `model` out, and its `prune.ignore` names the
/// module's prunable layers.
pub fn parse_with_model(
    text: &str,
    file: &str,
    overrides: &[String],
    user: crate::model::candle_module::UserModel,
) -> Result<Experiment> {
    parse_for(text, file, overrides, Some(user))
}

fn parse_for(
    text: &str,
    file: &str,
    overrides: &[String],
    user: Option<crate::model::candle_module::UserModel>,
) -> Result<Experiment> {
    // First pass straight from the text, so type errors carry line and column.
    let raw: RawExperiment = serde_yaml_ng::from_str(text)
        .map_err(|e| Error::config(file, with_hint(&e.to_string())))?;
    if overrides.is_empty() {
        return resolve::resolve(raw, file, user);
    }
    let mut value: Value = serde_yaml_ng::from_str(text)
        .map_err(|e| Error::config(file, with_hint(&e.to_string())))?;
    for o in overrides {
        apply_override(&mut value, o).map_err(|m| Error::config(file, m))?;
    }
    // Round-trip through text so errors carry the field path; the line numbers of that
    // synthetic text would mislead, so they are cut.
    let merged = serde_yaml_ng::to_string(&value).expect("YAML value serialises");
    let raw: RawExperiment = serde_yaml_ng::from_str(&merged).map_err(|e| {
        let msg = e.to_string();
        let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
        Error::config(
            file,
            format!(
                "after --set {}: {}",
                overrides.join(" --set "),
                with_hint(&msg)
            ),
        )
    })?;
    resolve::resolve(raw, file, user)
}

/// Apply one `key.path=value` override; the value is parsed as YAML (flow lists and maps allowed).
fn apply_override(root: &mut Value, spec: &str) -> std::result::Result<(), String> {
    let (key, val) = spec
        .split_once('=')
        .ok_or_else(|| format!("--set {spec:?}: expected KEY.PATH=VALUE"))?;
    let parsed: Value = serde_yaml_ng::from_str(val)
        .map_err(|e| format!("--set {key}: value {val:?} is not valid YAML: {e}"))?;
    let parts: Vec<&str> = key.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(format!("--set {spec:?}: empty segment in key path"));
    }
    let mut cur = root;
    for (i, part) in parts.iter().enumerate() {
        if cur.is_null() {
            *cur = Value::Mapping(Default::default());
        }
        let map = cur
            .as_mapping_mut()
            .ok_or_else(|| format!("--set {key}: `{}` is not a mapping", parts[..i].join(".")))?;
        let k = Value::String(part.to_string());
        if i + 1 == parts.len() {
            map.insert(k, parsed);
            return Ok(());
        }
        cur = map.entry(k).or_insert(Value::Null);
    }
    Ok(())
}

/// Append a did-you-mean suggestion to serde's "unknown field/variant" messages.
fn with_hint(msg: &str) -> String {
    let Some(start) = msg
        .find("unknown field `")
        .map(|i| i + "unknown field `".len())
        .or_else(|| {
            msg.find("unknown variant `")
                .map(|i| i + "unknown variant `".len())
        })
    else {
        return msg.to_string();
    };
    let Some(len) = msg[start..].find('`') else {
        return msg.to_string();
    };
    let bad = &msg[start..start + len];
    let Some(list_at) = msg[start + len..]
        .find("expected ")
        .map(|i| i + start + len)
    else {
        return msg.to_string();
    };
    let candidates: Vec<&str> = msg[list_at..].split('`').skip(1).step_by(2).collect();
    match suggest(bad, &candidates) {
        Some(best) => format!("{msg} (did you mean `{best}`?)"),
        None => msg.to_string(),
    }
}

/// The closest candidate by edit distance, if it is close enough to be a plausible typo.
pub(crate) fn suggest<'a>(bad: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (levenshtein(bad, c), *c))
        .filter(|(d, c)| *d <= (c.len().max(bad.len()) / 3).max(1) + 1)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// A JSON Schema (draft 2020-12) of the experiment file, generated from the raw config types.
pub(crate) fn json_schema() -> serde_json::Value {
    let mut schema =
        serde_json::to_value(schemars::schema_for!(RawExperiment)).expect("schema serialises");
    if let Some(obj) = schema.as_object_mut() {
        obj.insert("title".into(), "prunecv experiment".into());
        obj.insert(
            "description".into(),
            "A prunecv experiment file (YAML). Generated by `prunecv schema`.".into(),
        );
    }
    schema
}

impl Experiment {
    /// The experiment's name (the run directory's name under the output directory).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The experiment with its model replaced by one built by Rust code: a `candle_nn` module
    /// ([`crate::UserModel::candle`]; its name goes into `resolved.yaml` as `model.module` and
    /// into the configuration hash) or a layer graph ([`crate::UserModel::graph`]; the same
    /// model as in a file). Refused when the graph does not fit together or `prune.ignore`
    /// names a layer the new model does not have (parse with [`parse_with_model`] to name its
    /// layers in the file).
    pub fn with_model(
        mut self,
        user: crate::model::candle_module::UserModel,
    ) -> Result<Experiment> {
        let model = model::from_user(user, "Experiment::with_model")?;
        let names = crate::model::layer_names(&model);
        if let Some((i, l)) = resolve::unknown_layer(&self.prune.ignore, &names) {
            return Err(Error::Mismatch {
                field: format!("prune.ignore[{i}]"),
                message: format!(
                    "{l:?} is not a prunable layer of the model (its prunable layers: {})",
                    names.join(", ")
                ),
            });
        }
        self.model = model;
        Ok(self)
    }

    /// The resolved experiment as YAML: a valid experiment file with every default written out.
    pub fn to_yaml(&self) -> String {
        serde_yaml_ng::to_string(&self.to_raw()).expect("resolved config serialises")
    }

    /// SHA-256 of the canonical resolved experiment, figure settings (`plots:`) left out: they
    /// change no computed number, so a resume or merge may use other ones. The canonical form is
    /// the first layout of experiment files (`src/config/v1.rs`), so hashes of existing runs
    /// stay valid.
    pub fn hash(&self) -> String {
        let mut e = self.clone();
        e.plots = plots::PlotsSpec::default();
        hex(&Sha256::digest(v1::yaml(&e).as_bytes()))
    }

    /// Whether `resolved` (a run directory's `resolved.yaml`) is this experiment: as this
    /// version writes it, or as versions before the tagged `data` and nested method settings
    /// wrote it (so that their runs resume and their shards merge).
    pub(crate) fn was_resolved_as(&self, resolved: &str) -> bool {
        resolved == self.to_yaml() || resolved == v1::yaml(self)
    }
}

/// Lower-case hex of a byte string.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: &str = "name: t\n";

    #[test]
    fn defaults_fill_in_and_round_trip() {
        let e = parse(MIN, "t.yaml", &[]).unwrap();
        assert_eq!(e.cv.folds, 5);
        let Grid::Values(v) = &e.prune.tau.grid else {
            panic!("default grid is explicit")
        };
        assert_eq!(v.len(), 26);
        assert_eq!(v[3], 0.3);
        let again = parse(&e.to_yaml(), "resolved.yaml", &[]).unwrap();
        assert_eq!(e, again);
        assert_eq!(e.hash(), again.hash());
    }

    #[test]
    fn selection_rules_read_and_write_the_documented_map_form() {
        let yaml =
            "name: t\ncv: {select: [best, one_se, {max_drop: 0.01}, {target_sparsity: 0.9}]}\n";
        let e = parse(yaml, "t.yaml", &[]).unwrap();
        assert_eq!(
            e.cv.select,
            vec![
                SelectRule::Best,
                SelectRule::OneSe,
                SelectRule::MaxDrop(0.01),
                SelectRule::TargetSparsity(0.9)
            ]
        );
        let written = e.to_yaml();
        assert!(written.contains("max_drop: 0.01"), "{written}");
        assert_eq!(parse(&written, "resolved.yaml", &[]).unwrap(), e);
        let set = parse(MIN, "t.yaml", &["cv.select=[{max_drop: 0.02}]".into()]).unwrap();
        assert_eq!(set.cv.select, vec![SelectRule::MaxDrop(0.02)]);
        for (bad, says) in [
            ("[{max_dorp: 0.1}]", "did you mean `max_drop`"),
            ("[max_drop]", "needs a value"),
            ("[{max_drop: 0.1, best: 1}]", "one key"),
        ] {
            let err = parse(&format!("name: t\ncv: {{select: {bad}}}\n"), "e.yaml", &[])
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(says) && err.contains("cv.select"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn new_method_options_round_trip_and_bad_combinations_name_the_field() {
        let yaml =
            "name: t\nprune: {methods: [wanda, {synflow: {rounds: 20}}], n_m: {n: 2, m: 4}, \
                    tau: {unit: quantile, scope: row, values: [0.5, 0.9]}}\n";
        let e = parse(yaml, "t.yaml", &[]).unwrap();
        assert_eq!(e.prune.n_m, Some(NmSpec { n: 2, m: 4 }));
        assert_eq!(e.prune.settings.synflow_rounds, 20);
        assert_eq!(e.prune.tau.scope, Scope::Row);
        assert_eq!(parse(&e.to_yaml(), "resolved.yaml", &[]).unwrap(), e);
        // Unused options are not written.
        let plain = parse(MIN, "t.yaml", &[]).unwrap().to_yaml();
        assert!(
            !plain.contains("n_m") && !plain.contains("synflow"),
            "{plain}"
        );
        for (bad, field, says) in [
            (
                "{methods: [synflow], tau: {unit: std}}",
                "prune.tau.unit",
                "`quantile` with `synflow`",
            ),
            (
                "{methods: [importance], tau: {unit: quantile, scope: row, values: [0.5]}}",
                "prune.tau.scope",
                "with `importance`",
            ),
            ("{n_m: {n: 4, m: 4}}", "prune.n_m", "1 ≤ n < m"),
            (
                "{methods: [magnitude, importance], n_m: {n: 2, m: 4}}",
                "prune.methods[1]",
                "weight-level methods",
            ),
            (
                "{methods: [{synflow: {rounds: 0}}], tau: {unit: quantile, values: [0.5]}}",
                "prune.methods[0].synflow.rounds",
                "at least 1",
            ),
            (
                "{methods: [magnitude, {taylor: {batches: 0}}]}",
                "prune.methods[1].taylor.batches",
                "at least 1 batch",
            ),
            (
                "{methods: [magnitude], tau: {unit: quantile, scope: {sensitivity: {rows: 0}}}}",
                "prune.tau.scope.sensitivity.rows",
                "at least 1 row",
            ),
        ] {
            let err = parse(&format!("name: t\nprune: {bad}\n"), "e.yaml", &[])
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with("e.yaml: ") && err.contains(field) && err.contains(says),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn unknown_key_names_key_path_and_suggests() {
        let err = parse("name: t\ncv:\n  fodls: 3\n", "exp.yaml", &[])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("exp.yaml: "), "{err}");
        assert!(err.contains("cv"), "{err}");
        assert!(err.contains("fodls"), "{err}");
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("did you mean `folds`"), "{err}");
    }

    #[test]
    fn wrong_type_names_line_and_column() {
        let err = parse("name: t\ntrain:\n  epochs: many\n", "exp.yaml", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("train.epochs"), "{err}");
        assert!(err.contains("line 3 column"), "{err}");
    }

    #[test]
    fn bad_method_lists_choices() {
        let err = parse("name: t\nprune:\n  methods: [magnitud]\n", "exp.yaml", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("magnitude"), "{err}");
        assert!(err.contains("did you mean `magnitude`"), "{err}");
    }

    #[test]
    fn semantic_errors_name_field() {
        let err = parse("name: t\ncv: {folds: 1}\n", "exp.yaml", &[])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "exp.yaml: field `cv.folds`: expected an integer ≥ 2, found 1"
        );
    }

    #[test]
    fn overrides_apply_with_types() {
        let e = parse(
            MIN,
            "t.yaml",
            &[
                "cv.folds=3".into(),
                "prune.methods=[random]".into(),
                "prune.tau.values=[0.5, 0.1]".into(),
            ],
        )
        .unwrap();
        assert_eq!(e.cv.folds, 3);
        assert_eq!(e.prune.methods, vec![MethodKind::Random]);
        assert_eq!(e.prune.tau.grid, Grid::Values(vec![0.1, 0.5]));
        let err = parse(MIN, "t.yaml", &["cv.folds=lots".into()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("--set"), "{err}");
        assert!(err.contains("cv.folds"), "{err}");
    }

    #[test]
    fn grids() {
        assert_eq!(resolve::linear(0.0, 1.0, 3), vec![0.0, 0.5, 1.0]);
        let g = resolve::geometric(0.01, 1.0, 3);
        assert!((g[1] - 0.1).abs() < 1e-12);
    }

    #[test]
    fn lenet_kinds_forbid_hidden_and_round_trip() {
        let e = parse(
            "name: t\nmodel: {kind: lenet5}\nprune: {ignore: [conv1, fc1]}\n",
            "t.yaml",
            &[],
        )
        .unwrap();
        assert_eq!(e.model.kind, ModelKind::Lenet5);
        assert!(e.model.hidden.is_empty());
        let yaml = e.to_yaml();
        assert!(!yaml.contains("hidden"), "{yaml}");
        assert_eq!(parse(&yaml, "resolved.yaml", &[]).unwrap(), e);
        for kind in ["lenet5", "lenet300"] {
            let err = parse(
                &format!("name: t\nmodel: {{kind: {kind}, hidden: [10]}}\n"),
                "exp.yaml",
                &[],
            )
            .unwrap_err()
            .to_string();
            assert!(err.starts_with("exp.yaml: field `model.hidden`"), "{err}");
            assert!(err.contains(kind), "{err}");
        }
        let err = parse(
            "name: t\nmodel: {kind: lenet5, activation: tanh}\n",
            "exp.yaml",
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("model.activation"), "{err}");
        // lenet300 keeps its activation choice; layer names drive prune.ignore.
        let e = parse(
            "name: t\nmodel: {kind: lenet300, activation: tanh}\nprune: {ignore: [fc3]}\n",
            "t.yaml",
            &[],
        )
        .unwrap();
        assert_eq!(e.model.activation, Activation::Tanh);
        let err = parse(
            "name: t\nmodel: {kind: lenet5}\nprune: {ignore: [fc3]}\n",
            "exp.yaml",
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("prune.ignore[0]"), "{err}");
        assert!(err.contains("conv1, conv2, fc1, fc2"), "{err}");
    }

    #[test]
    fn idx_fields_are_validated() {
        let ok = "name: t\ndata:\n  source: idx\n  dir: mnist\n  limit: 500\n  sha256:\n    \
                  t10k-labels-idx1-ubyte: FF7BCFD416DE33731A308C3F266CC351222C34898ECBEAF847F06E48F7EC33F2\n";
        let e = parse(ok, "t.yaml", &[]).unwrap();
        let data::Source::Idx(idx) = &e.data.source else {
            panic!("{:?}", e.data)
        };
        assert_eq!(idx.files, data::IdxFiles::Dir("mnist".into()));
        assert_eq!(idx.limit, Some(500));
        assert_eq!(
            idx.sha256["t10k-labels-idx1-ubyte"],
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"
        );
        assert_eq!(parse(&e.to_yaml(), "resolved.yaml", &[]).unwrap(), e);
        let bad = |text: &str, field: &str| {
            let err = parse(text, "exp.yaml", &[]).unwrap_err().to_string();
            assert!(
                err.starts_with("exp.yaml: ") && err.contains(&format!("field `{field}`")),
                "{err}"
            );
        };
        bad("name: t\ndata: {source: idx}\n", "data.dir");
        bad(
            "name: t\ndata: {source: idx, dir: d, limit: 0}\n",
            "data.limit",
        );
        bad(
            "name: t\ndata: {source: idx, dir: d, path: a.csv}\n",
            "data.path",
        );
        bad("name: t\ndata: {source: builtin, dir: d}\n", "data.dir");
        bad(
            "name: t\ndata: {source: csv, path: a.csv, limit: 5}\n",
            "data.limit",
        );
        bad(
            "name: t\ndata: {source: idx, dir: d, sha256: {train-images-idx3-ubyte.gz: ab}}\n",
            "data.sha256.train-images-idx3-ubyte.gz",
        );
        bad(
            "name: t\ndata: {source: idx, dir: d, sha256: {train-images-idx3-ubyte: abc}}\n",
            "data.sha256.train-images-idx3-ubyte",
        );
    }

    #[test]
    fn fetched_names_and_cifar10_are_validated_and_round_trip() {
        let e = parse(
            "name: t\ndata: {source: idx, name: fashion_mnist, limit: 9}\n",
            "t.yaml",
            &[],
        )
        .unwrap();
        assert_eq!(
            e.data.source,
            data::Source::Idx(data::IdxSource {
                files: data::IdxFiles::Fetched(DataName::FashionMnist),
                sha256: Default::default(),
                limit: Some(9),
            })
        );
        let yaml = e.to_yaml();
        assert!(
            yaml.contains("name: fashion_mnist") && !yaml.contains("holdout"),
            "{yaml}"
        );
        assert_eq!(parse(&yaml, "resolved.yaml", &[]).unwrap(), e);
        let c = parse(
            "name: t\ndata: {source: cifar10, dir: c, limit: 5}\n",
            "t.yaml",
            &[],
        )
        .unwrap();
        assert_eq!(
            c.data.source,
            data::Source::Cifar10 {
                dir: Some("c".into()),
                limit: Some(5)
            }
        );
        assert_eq!(parse(&c.to_yaml(), "resolved.yaml", &[]).unwrap(), c);
        // A shipped MNIST experiment switched to the cache from the command line.
        let switched = parse(
            "name: t\ndata: {source: idx, dir: ../mnist}\n",
            "t.yaml",
            &["data.dir=null".into(), "data.name=mnist".into()],
        )
        .unwrap();
        assert!(matches!(
            &switched.data.source,
            data::Source::Idx(i) if i.files == data::IdxFiles::Fetched(DataName::Mnist)
        ));
        // Built-in data writes its name; a CSV source has none.
        let b = parse(MIN, "t.yaml", &[]).unwrap();
        assert_eq!(
            b.data.source,
            data::Source::Builtin {
                name: BuiltinName::Digits,
                holdout: 0.2
            }
        );
        assert!(b.to_yaml().contains("name: digits"));
        let csv = parse("name: t\ndata: {source: csv, path: a.csv}\n", "t.yaml", &[]).unwrap();
        assert!(!csv.to_yaml().contains("name: digits"), "{}", csv.to_yaml());
        for (data, field, says) in [
            (
                "{source: idx, name: mnist, dir: d}",
                "data.name",
                "not both",
            ),
            (
                "{source: idx, name: iris}",
                "data.name",
                "built-in data sets are `source: builtin`",
            ),
            (
                "{source: builtin, name: mnist}",
                "data.name",
                "`source: idx, name: mnist`",
            ),
            (
                "{source: csv, path: a.csv, name: mnist}",
                "data.name",
                "belongs to `source: builtin` and `source: idx`, not to `source: csv`",
            ),
            (
                "{source: cifar10, name: cifar10}",
                "data.name",
                "not to `source: cifar10` (which takes `dir`, `limit`, `standardize`)",
            ),
            (
                "{source: cifar10, path: a.csv}",
                "data.path",
                "belongs to `source: csv`, not to `source: cifar10`",
            ),
            ("{source: cifar10, limit: 0}", "data.limit", "at least 1"),
            (
                "{source: builtin, limit: 3}",
                "data.limit",
                "`source: idx` and `source: cifar10`",
            ),
            (
                "{source: builtin, path: a.csv}",
                "data.path",
                "belongs to `source: csv`, not to `source: builtin`",
            ),
            ("{source: idx}", "data.dir", "`name: mnist`"),
        ] {
            let err = parse(&format!("name: t\ndata: {data}\n"), "e.yaml", &[])
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with("e.yaml: ") && err.contains(field) && err.contains(says),
                "{data}: {err}"
            );
        }
        let err = parse("name: t\ndata: {source: idx, name: kmnst}\n", "e.yaml", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("did you mean `kmnist`"), "{err}");
    }

    #[test]
    fn standardize_defaults_to_per_feature_and_round_trips() {
        let plain = parse(MIN, "t.yaml", &[]).unwrap();
        assert_eq!(plain.data.standardize, Standardize::Feature);
        // Written out in resolved.yaml, but left out of the hash when default, so older
        // configuration hashes stay valid.
        assert!(plain.to_yaml().contains("standardize: feature"));
        let g = parse("name: t\ndata: {standardize: global}\n", "t.yaml", &[]).unwrap();
        assert_eq!(g.data.standardize, Standardize::Global);
        let again = parse(&g.to_yaml(), "t.yaml", &[]).unwrap();
        assert_eq!(again.data.standardize, Standardize::Global);
        assert_ne!(again.hash(), plain.hash());
        let err = parse("name: t\ndata: {standardize: pixel}\n", "t.yaml", &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("t.yaml: ")
                && err.contains("field `data.standardize`: unknown variant"),
            "{err}"
        );
    }

    #[test]
    fn lr_schedules_take_only_their_own_keys() {
        let err = |sched: &str| {
            parse(
                &format!("name: t\ntrain: {{lr_schedule: {sched}}}\n"),
                "e.yaml",
                &[],
            )
            .unwrap_err()
            .to_string()
        };
        assert_eq!(
            err("{kind: cosine, every: 3}"),
            "e.yaml: field `train.lr_schedule.every`: expected no `every` for `kind: cosine`, found it set"
        );
        assert!(err("{kind: step}").contains("`every: N` or `milestones: [..]`"));
        assert!(err("{kind: step, milestones: [5, 5]}").contains("increasing epochs"));
        assert!(err("{kind: step, every: 2, gamma: 1.5}").contains("a factor in (0, 1]"));
        let e = parse(
            "name: t\ntrain: {lr_schedule: {kind: step, milestones: [3, 6], gamma: 0.5}}\n",
            "e.yaml",
            &[],
        )
        .unwrap();
        // Round trip through resolved.yaml; a constant schedule is left out of it.
        let again = parse(&e.to_yaml(), "r.yaml", &[]).unwrap();
        assert_eq!(again.train.lr_schedule, e.train.lr_schedule);
        let plain = parse("name: t\n", "e.yaml", &[]).unwrap();
        assert!(!plain.to_yaml().contains("lr_schedule"));
    }

    #[test]
    fn idx_dir_is_relative_to_the_experiment_file() {
        let tmp = tempfile::tempdir().unwrap();
        let sub = tmp.path().join("experiments");
        std::fs::create_dir(&sub).unwrap();
        let file = sub.join("e.yaml");
        std::fs::write(&file, "name: t\ndata: {source: idx, dir: ../data/mnist}\n").unwrap();
        let dir = |e: Experiment| match e.data.source {
            data::Source::Idx(data::IdxSource {
                files: data::IdxFiles::Dir(d),
                ..
            }) => d,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            Path::new(&dir(load(&file, &[]).unwrap())),
            sub.join("../data/mnist")
        );
        std::fs::write(&file, "name: t\ndata: {source: idx, dir: /abs/mnist}\n").unwrap();
        assert_eq!(dir(load(&file, &[]).unwrap()), "/abs/mnist");
    }
}
