//! Effective sparsity, mask stability and the columns they add, through the real binary.

use crate::common;
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

/// Deterministic synthetic rows: 4 features, 3 classes, separable with some noise.
fn rows(n: usize, salt: u64, flip: bool) -> String {
    let mut out = String::from("a,b,c,d,label\n");
    let mut s = 0x9e37_79b9_7f4a_7c15u64 ^ salt;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s % 1000) as f64 / 1000.0
    };
    for i in 0..n {
        let y = i % 3;
        let f: Vec<String> = (0..4)
            .map(|j| format!("{:.3}", y as f64 * (j as f64 + 1.0) * 0.5 + next()))
            .collect();
        let label = if flip { (y + 1) % 3 } else { y };
        out.push_str(&format!("{},{label}\n", f.join(",")));
    }
    out
}

#[test]
fn sensitivity_never_reads_the_test_split() {
    let exp = "name: sens
seed: 2
data: {source: csv, path: train.csv, test_path: test.csv}
model: {kind: mlp, hidden: [6]}
train: {optimizer: sgd, lr: 0.1, epochs: 5, batch_size: 16}
prune:
  methods: [magnitude, importance]
  tau: {unit: quantile, scope: layer, values: [0.0, 0.5, 0.9]}
cv: {folds: 3, select: [best]}
";
    let sb = Sandbox::new();
    sb.write("sens.yaml", exp);
    sb.write("train.csv", &rows(60, 1, false));
    sb.write("test.csv", &rows(30, 2, false));
    sb.ok(&["run", "sens.yaml", "-q", "--no-cache", "--out", "a"]);
    // A different test split (other rows, every label wrong): the tables that depend on it
    // change, sensitivity.csv does not.
    sb.write("test.csv", &rows(45, 3, true));
    sb.ok(&["run", "sens.yaml", "-q", "--no-cache", "--out", "b"]);
    let (sa, sb_) = (
        sb.read("a/sens/sensitivity.csv"),
        sb.read("b/sens/sensitivity.csv"),
    );
    common::assert_same(&sa, &sb_, "sensitivity.csv");
    assert_ne!(
        sb.read("a/sens/selection.csv"),
        sb.read("b/sens/selection.csv"),
        "the perturbed test split must show in selection.csv"
    );
    let (h, r) = table(&sa);
    assert_eq!(
        h,
        [
            "method",
            "layer",
            "tau",
            "tau_unit",
            "n",
            "mean_val_acc",
            "se_val_acc",
            "mean_layer_sparsity",
            "mean_sparsity"
        ]
    );
    // magnitude: fc1 and fc2 × 3 τ; importance: fc1 only (output units are never removed).
    assert_eq!(r.len(), 2 * 3 + 3);
    let layers: Vec<(String, String)> = r.iter().map(|x| (x[0].clone(), x[1].clone())).collect();
    assert!(!layers.contains(&("importance".into(), "fc2".into())));
    // τ = 0 prunes nothing: every layer's row equals the dense models' validation accuracy.
    let dense = table(&sb.read("a/sens/summary.csv")).1[0][5].clone();
    for row in r.iter().filter(|x| x[2] == "0.0") {
        assert_eq!(row[5], dense, "{row:?}");
        assert_eq!(row[4], "3");
    }
    // magnitude on fc1 alone at τ = 0.5: half of fc1's 4·6 weights, 12 of 24 + 6·3 = 42 overall.
    let m = r
        .iter()
        .find(|x| x[0] == "magnitude" && x[1] == "fc1" && x[2] == "0.5")
        .unwrap();
    assert_eq!(
        (m[7].as_str(), m[8].as_str()),
        ("0.5", "0.2857142857142857")
    );
}
