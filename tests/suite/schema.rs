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
    let starter = prunecv::starter::starter("x", "x.yaml");
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
