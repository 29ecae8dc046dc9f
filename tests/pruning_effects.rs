//! Effective sparsity, mask stability and the columns they add, through the real binary.

mod common;
use common::{table, Sandbox};

/// Iris with a learning rate so small that training leaves the initial weights unchanged (in
/// f32, w − 1e-30·g == w): every fold model is its initialisation.
const FROZEN: &str = "name: frozen
seed: 5
data: {source: builtin, name: iris, holdout: 0.2}
model: {kind: mlp, hidden: [8]}
train: {optimizer: sgd, lr: 1e-30, momentum: 0.0, weight_decay: 0.0, epochs: 1, batch_size: 16}
prune:
  methods: [magnitude, random]
  tau: {unit: quantile, scope: layer, values: [0.0, 0.5, 0.8]}
cv: {folds: 3, select: [{target_sparsity: 0.5}]}
";

fn column(header: &[String], rows: &[Vec<String>], name: &str) -> Vec<String> {
    let i = header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no {name}"));
    rows.iter().map(|r| r[i].clone()).collect()
}

#[test]
fn shared_init_makes_whole_masks_comparable() {
    let sb = Sandbox::new();
    sb.write("frozen.yaml", FROZEN);
    sb.ok(&["run", "frozen.yaml", "-q", "--set", "cv.shared_init=true"]);
    let (h, rows) = table(&sb.read("results/frozen/selection.csv"));
    let methods = column(&h, &rows, "method");
    let mask = column(&h, &rows, "mask_jaccard");
    let chance = column(&h, &rows, "mask_jaccard_chance");
    assert_eq!(methods, ["dense", "magnitude", "random"]);
    // Identical weights in every fold → identical magnitude masks: Jaccard exactly 1.
    assert_eq!(mask[1], "1.0");
    // Random scores come from each fold's own stream: below 1, and chance is below 1 too.
    let (jr, cr): (f64, f64) = (mask[2].parse().unwrap(), chance[2].parse().unwrap());
    assert!(jr < 1.0 && cr < 1.0 && cr > 0.0, "{jr} {cr}");
    assert_eq!(mask[0], "", "no stability for the dense row");
    assert!(sb
        .read("results/frozen/resolved.yaml")
        .contains("shared_init: true"));
    let report = sb.read("results/frozen/report.md");
    assert!(report.contains("## Effective sparsity and mask stability"));
    assert!(report.contains("mask Jaccard"));
}

#[test]
fn independent_init_reports_features_only() {
    let sb = Sandbox::new();
    sb.write("frozen.yaml", FROZEN);
    sb.ok(&["run", "frozen.yaml", "-q"]);
    let (h, rows) = table(&sb.read("results/frozen/selection.csv"));
    assert!(column(&h, &rows, "mask_jaccard")
        .iter()
        .all(|v| v.is_empty()));
    // Four iris features, 8 hidden units at 50 % per layer: every feature keeps a weight in
    // every fold (with 16 of 32 weights each column most likely survives); the value is a
    // mean Jaccard in [0, 1] next to its chance level.
    for v in column(&h, &rows, "feature_jaccard").iter().skip(1) {
        let j: f64 = v.parse().unwrap();
        assert!((0.0..=1.0).contains(&j));
    }
    assert!(!sb
        .read("results/frozen/resolved.yaml")
        .contains("shared_init"));
    // Effective sparsity is never below nominal, in runs.csv and selection.csv alike.
    let (h, rows) = table(&sb.read("results/frozen/runs.csv"));
    assert_eq!(h.last().map(String::as_str), Some("effective_sparsity"));
    for (s, e) in column(&h, &rows, "sparsity")
        .iter()
        .zip(column(&h, &rows, "effective_sparsity"))
    {
        assert!(e.parse::<f64>().unwrap() >= s.parse::<f64>().unwrap());
    }
    let (h, _) = table(&sb.read("results/frozen/summary.csv"));
    assert_eq!(
        h.last().map(String::as_str),
        Some("mean_effective_sparsity")
    );
}
