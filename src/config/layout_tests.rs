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
