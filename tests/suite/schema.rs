//! The JSON Schema printed by `prunecv schema` accepts every shipped experiment file and the
//! `init` starter, and rejects what the loader rejects for its shape (unknown keys, wrong types).

use crate::common;

use common::Sandbox;

fn schema() -> serde_json::Value {
    let sb = Sandbox::new();
    serde_json::from_str(&sb.ok(&["schema"])).expect("schema is JSON")
}

fn yaml_to_json(text: &str) -> serde_json::Value {
    let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).unwrap();
    serde_json::to_value(v).unwrap()
}

#[test]
fn every_experiment_file_validates() {
    let validator = jsonschema::validator_for(&schema()).expect("valid schema");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "yaml") {
            let doc = yaml_to_json(&std::fs::read_to_string(&p).unwrap());
            let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{}: {errors:?}", p.display());
            n += 1;
        }
    }
    assert!(n >= 5, "only {n} experiment files found");
    let sb = Sandbox::new();
    sb.ok(&["init", "x"]);
    let starter = sb.read("x.yaml");
    assert!(validator.is_valid(&yaml_to_json(&starter)));
}

#[test]
fn schema_rejects_unknown_keys_and_wrong_types() {
    let validator = jsonschema::validator_for(&schema()).unwrap();
    assert!(!validator.is_valid(&yaml_to_json("name: x\ncv: {fodls: 3}\n")));
    assert!(!validator.is_valid(&yaml_to_json("name: x\ntrain: {epochs: many}\n")));
    assert!(!validator.is_valid(&yaml_to_json("name: x\nprune: {methods: [magnitud]}\n")));
    assert!(validator.is_valid(&yaml_to_json(
        "name: x\ncv: {select: [best, {max_drop: 0.01}]}\n"
    )));
}

/// The data section is `oneOf` its sources, each with only its own fields; method and scope
/// settings sit with their method or scope. An editor flags what the loader refuses.
#[test]
fn schema_offers_one_object_per_source_and_settings_with_their_owner() {
    let s = schema();
    let data = &s["$defs"]["RawData"]["oneOf"];
    let sources: Vec<&str> = data
        .as_array()
        .expect("data is oneOf its sources")
        .iter()
        .map(|v| v["properties"]["source"]["const"].as_str().unwrap())
        .collect();
    assert_eq!(sources, ["builtin", "csv", "idx", "cifar10"]);
    let validator = jsonschema::validator_for(&s).unwrap();
    let ok = |y: &str| validator.is_valid(&yaml_to_json(&format!("name: x\n{y}\n")));
    for good in [
        "data: {name: iris, holdout: 0.3}",
        "data: {source: csv, path: a.csv, label: species}",
        "data: {source: idx, name: mnist, limit: 9}",
        "data: {source: cifar10, dir: c}",
        "prune: {methods: [magnitude, {taylor: {batches: 4}}, {importance: {norm: l1}}]}",
        "prune: {methods: [{synflow: {rounds: 5}}], tau: {unit: quantile, scope: {sensitivity: {rows: 9}}}}",
    ] {
        assert!(ok(good), "{good}");
    }
    for bad in [
        "data: {source: builtin, path: a.csv}",
        "data: {path: a.csv}",
        "data: {source: csv, path: a.csv, name: digits}",
        "data: {source: cifar10, sha256: {a: b}}",
        "data: {source: csvv, path: a.csv}",
        "prune: {methods: [{magnitude: {batches: 4}}]}",
        "prune: {methods: [{taylor: {batch: 4}}]}",
        "prune: {tau: {scope: {layer: {rows: 3}}}}",
        "prune: {taylor_batches: 8}",
    ] {
        assert!(!ok(bad), "{bad}");
    }
}
