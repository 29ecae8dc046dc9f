//! Fuzzing the experiment-file reader with arbitrary input (proptest): no input may panic.
//! Errors are fine. The normal suite runs a few thousand cases; `PROPTEST_CASES=200000 cargo test
//! --release --test suite fuzz` runs a long campaign. (The data readers' fuzzing:
//! `src/data/fuzz_tests.rs`.)

use proptest::prelude::*;

/// Strings that look a little like an experiment file, to get past the YAML parser often.
fn yamlish() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "name",
        "seed",
        "data",
        "source",
        "holdout",
        "model",
        "hidden",
        "train",
        "lr",
        "epochs",
        "batch_size",
        "prune",
        "methods",
        "tau",
        "unit",
        "scope",
        "values",
        "linspace",
        "auto",
        "cv",
        "folds",
        "repeats",
        "select",
        "schedule",
        "kind",
        "rounds",
        "output",
        "dir",
        "max_drop",
        "path",
        "label",
        "ignore",
    ]);
    let val = prop::sample::select(vec![
        "0",
        "-1",
        "1e309",
        "nan",
        ".inf",
        "[]",
        "[1, 2]",
        "{}",
        "x",
        "\"\"",
        "magnitude",
        "quantile",
        "iterative",
        "0.5",
        "18446744073709551616",
        "[0, 1, 0]",
        "~",
        "csv",
        "idx",
        "{kind: finetune}",
        "[best, {max_drop: 2}]",
        "builtin",
        "iris",
    ]);
    prop::collection::vec((0usize..3, key, val), 0..12).prop_map(|items| {
        items
            .into_iter()
            .map(|(indent, k, v)| format!("{}{k}: {v}\n", "  ".repeat(indent)))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn config_parsing_never_panics_on_bytes(s in ".*") {
        let _ = prunecv::config::parse(&s, "fuzz.yaml", &[]);
    }

    #[test]
    fn config_parsing_never_panics_on_yamlish(s in yamlish(), set in prop::option::of("[a-z.]{1,20}=[a-z0-9\\[\\], ]{0,10}")) {
        let sets: Vec<String> = set.into_iter().collect();
        let _ = prunecv::config::parse(&format!("name: f\n{s}"), "fuzz.yaml", &sets);
    }
}
