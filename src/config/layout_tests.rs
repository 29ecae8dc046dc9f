//! Configuration hashes survive the change of the experiment-file layout (tagged `data`, method
//! settings nested under their method): each experiment of `tests/fixtures/v1/`, written in
//! today's layout, hashes to the SHA-256 of the `resolved.yaml` that versions before the change
//! wrote for it, and that file still counts as its resolved form (so such runs resume and their
//! shards merge). The same experiments in the old layout are refused with where each setting
//! moved, or, with no moved setting, read as before.

use crate::config::{self, Experiment};
use sha2::{Digest, Sha256};

const CASES: [&str; 7] = ["c1", "c2", "c3", "c4", "c5", "c6", "c7"];

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/v1/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn parse(name: &str) -> crate::Result<Experiment> {
    config::parse(&fixture(name), name, &[])
}

#[test]
fn todays_layout_hashes_as_the_old_resolved_yaml() {
    for c in CASES {
        let e = parse(&format!("{c}.yaml")).unwrap();
        let old = fixture(&format!("{c}.resolved.yaml"));
        assert_eq!(
            e.hash(),
            config::hex(&Sha256::digest(old.as_bytes())),
            "{c}"
        );
        assert!(e.was_resolved_as(&old), "{c}");
        assert!(e.was_resolved_as(&e.to_yaml()), "{c}");
        // Today's resolved form reads back as the same experiment.
        let again = config::parse(&e.to_yaml(), "resolved.yaml", &[]).unwrap();
        assert_eq!(again, e, "{c}");
    }
}

#[test]
fn moved_settings_in_the_old_layout_say_where_they_went() {
    for (c, old, new) in [
        ("c2", "prune.taylor_batches", "{taylor: {batches: N}}"),
        ("c3", "prune.importance_norm", "{importance: {norm: l1}}"),
        ("c4", "prune.synflow_rounds", "{synflow: {rounds: N}}"),
        (
            "c5",
            "prune.sensitivity_rows",
            "scope: {sensitivity: {rows: N}}",
        ),
    ] {
        let file = format!("{c}.old.yaml");
        let err = parse(&file).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("{file}: field `{old}` has moved")) && err.contains(new),
            "{err}"
        );
    }
    // Files without a moved setting read as before.
    for c in ["c1", "c6", "c7"] {
        let old = parse(&format!("{c}.old.yaml")).unwrap();
        assert_eq!(old, parse(&format!("{c}.yaml")).unwrap(), "{c}");
    }
}

/// A CSV run no longer says `name: digits`; a field of another source is refused naming both.
#[test]
fn the_data_section_says_what_its_source_reads() {
    let csv = parse("c3.yaml").unwrap().to_yaml();
    assert!(csv.contains("source: csv") && !csv.contains("name:\n") && !csv.contains("digits"));
    let err = config::parse(
        "name: t\ndata: {source: builtin, path: a.csv}\n",
        "exp.yaml",
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("exp.yaml: ")
            && err.contains("field `data.path` belongs to `source: csv`, not to `source: builtin`"),
        "{err}"
    );
}

/// A layer graph built in Rust (`UserModel::graph`) is the model the same list in a file
/// describes: same resolved YAML, same hash, whether given to `parse_with_model` or
/// `with_model`; its shapes and `prune.ignore` are checked.
#[test]
fn a_graph_built_in_rust_is_the_file_s_model() {
    use crate::{LayerSpec as L, UserModel};
    let text = "name: g\ndata: {source: builtin, name: digits}\nprune: {ignore: [conv1]}\n";
    let file = format!(
        "{text}model:\n  input: [1, 8, 8]\n  layers:\n    - {{kind: conv2d, out: 4, kernel: 3, padding: 1}}\n    - {{kind: batch_norm}}\n    - {{kind: leaky_relu, slope: 0.1}}\n    - {{kind: max_pool, size: 2}}\n    - {{kind: flatten}}\n    - {{kind: dropout, p: 0.25}}\n    - {{kind: linear}}\n"
    );
    let from_file = super::parse(&file, "g.yaml", &[]).unwrap();
    let graph = UserModel::graph(
        &[1, 8, 8],
        vec![
            L::conv2d(4, 3, None, Some(1)),
            L::batch_norm(),
            L::leaky_relu(0.1),
            L::max_pool(2),
            L::flatten(),
            L::dropout(0.25),
            L::linear(None),
        ],
    );
    let parsed = super::parse_with_model(text, "g.yaml", &[], graph.clone()).unwrap();
    assert_eq!(parsed.to_yaml(), from_file.to_yaml());
    assert_eq!(parsed.hash(), from_file.hash());
    let swapped = super::parse(
        "name: g\ndata: {source: builtin, name: digits}\n",
        "g.yaml",
        &[],
    )
    .unwrap()
    .with_model(graph)
    .unwrap();
    assert_eq!(swapped.model, from_file.model);
    let bad = UserModel::graph(
        &[1, 8, 8],
        vec![L::conv2d(4, 3, None, None), L::linear(None)],
    );
    let e = super::parse_with_model("name: g\n", "g.yaml", &[], bad)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("model.layers[1]") && e.contains("needs a flat input but gets [4, 6, 6]"),
        "{e}"
    );
    let mlp = UserModel::graph(&[64], vec![L::linear(Some(8)), L::relu(), L::linear(None)]);
    let e = super::parse(
        "name: g\nmodel: {hidden: [8, 8]}\nprune: {ignore: [fc3]}\n",
        "g.yaml",
        &[],
    )
    .unwrap()
    .with_model(mlp)
    .unwrap_err()
    .to_string();
    assert_eq!(
        e,
        "prune.ignore[0]: \"fc3\" is not a prunable layer of the model (its prunable layers: fc1, fc2)"
    );
}
