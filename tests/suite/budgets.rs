//! Layer budgets from measured sensitivity (`tau.scope: sensitivity`): the curves are measured on
//! the model's own training rows, every layer prunes exactly the fraction the allocation gives
//! it, the overall fraction is τ, and sweeps with it are reproducible.

use crate::common;
use common::*;
use prunecv::config::MethodKind;
use prunecv::model::Masks;
use prunecv::prune::budget;
use prunecv::sweep::schedule;
use prunecv::train;

const BUDGET: &str = "name: sb
seed: 5
data: {source: builtin, name: digits}
model: {kind: mlp, hidden: [32, 16]}
train: {optimizer: sgd, lr: 0.05, epochs: 6, batch_size: 32}
prune:
  methods: [magnitude, importance]
  tau: {unit: quantile, scope: {sensitivity: {rows: 300}}, values: [0.5, 0.8]}
cv: {folds: 2, select: [best]}
";

#[test]
fn sensitivity_budget_prunes_each_layer_by_its_allocation() {
    let (exp, prep, t) = fold_model(BUDGET, 0);
    let sc = score_with(&exp, &prep, &t, &t.params, MethodKind::Magnitude);
    let curves = sc
        .curves
        .as_ref()
        .expect("scope: sensitivity measures curves");
    let layers = prep.arch.layers();
    assert_eq!(curves.len(), layers.len());
    for c in curves {
        let fr: Vec<f64> = c.points.iter().map(|p| p.0).collect();
        assert_eq!(fr, budget::LEVELS.to_vec());
    }
    // One point by hand: the first layer's lowest half of |w| removed, the loss rise on the
    // 300 training rows the curve is measured on (every ⌈n/300⌉-th training row).
    let rows = t.train_data.spread(300);
    let step = t.train_data.n.div_ceil(300);
    assert_eq!(rows.n, t.train_data.n.div_ceil(step));
    assert!(rows.n <= 300);
    let arch = prep.arch.as_ref();
    let base = train::evaluate(arch, &t.params, &rows).unwrap().loss;
    let l0 = &layers[0];
    let w = &t.params.0[l0.weight].data;
    let mut order: Vec<usize> = (0..w.len()).collect();
    order.sort_by(|&a, &b| w[a].abs().total_cmp(&w[b].abs()).then(a.cmp(&b)));
    let mut m = Masks::dense(&t.params);
    for &i in &order[..w.len() / 2] {
        m.0[l0.weight][i] = false;
    }
    let half = train::evaluate(arch, &m.apply(&t.params), &rows)
        .unwrap()
        .loss
        - base;
    let got = curves[0].points[4];
    assert_eq!(got.0, 0.5);
    assert!((got.1 - half).abs() < 1e-9, "{got:?} vs {half}");

    // At τ = 0.8 every layer prunes round(f_l · n_l) of its weights, f from the allocation.
    let o = schedule::run(&exp, &prep, &t, MethodKind::Magnitude, &sc, 0.8).unwrap();
    let sizes: Vec<usize> = layers.iter().map(|l| o.masks.0[l.weight].len()).collect();
    let refs: Vec<&budget::Curve> = curves.iter().collect();
    let f = budget::allocate(&refs, &sizes, 0.8);
    let mut pruned_total = 0;
    for ((l, &n), f) in layers.iter().zip(&sizes).zip(&f) {
        let pruned = o.masks.0[l.weight].iter().filter(|k| !**k).count();
        assert_eq!(pruned, (f * n as f64).round() as usize, "{}", l.name);
        pruned_total += pruned;
    }
    let total: usize = sizes.iter().sum();
    assert!((pruned_total as f64 - 0.8 * total as f64).abs() <= layers.len() as f64);
    // Not the uniform split: the layers' fractions differ.
    assert!(f.iter().any(|x| (x - 0.8).abs() > 0.01), "{f:?}");
}

#[test]
fn sensitivity_budget_sweeps_reproducibly_with_iterative_rounds() {
    let sb = Sandbox::new();
    let exp = BUDGET.replace(
        "cv: {",
        "  schedule: {kind: iterative, rounds: 2, epochs_per_round: 1}\ncv: {",
    );
    sb.write("sb.yaml", &exp);
    sweep_twice_identically(&sb, "sb.yaml", "sb");
    let resolved = sb.read("a/sb/resolved.yaml");
    assert!(
        resolved.contains("scope:\n      sensitivity:\n        rows: 300"),
        "{resolved}"
    );
    // Magnitude rows: two rounds of τ of the survivors, 1 − (1 − τ)² overall (within rounding).
    let (h, rows) = table(&sb.read("a/sb/runs.csv"));
    let col = |n: &str| h.iter().position(|c| c == n).unwrap();
    for r in rows.iter().filter(|r| r[col("method")] == "magnitude") {
        let tau: f64 = r[col("tau")].parse().unwrap();
        let s: f64 = r[col("sparsity")].parse().unwrap();
        let want = 1.0 - (1.0 - tau).powi(2);
        assert!((s - want).abs() < 0.005, "{r:?}");
    }
}

#[test]
fn sensitivity_budget_is_refused_where_it_means_nothing() {
    let cases = [
        (
            "unit: quantile",
            "unit: std",
            "prune.tau.scope",
            "use `unit: quantile`",
        ),
        (
            "cv: {",
            "  schedule: {kind: at_init, epochs: 2}\ncv: {",
            "prune.tau.scope",
            "an untrained model",
        ),
        (
            "[magnitude, importance]",
            "[magnitude, synflow]",
            "prune.methods[1]",
            "SynFlow",
        ),
        (
            "rows: 300",
            "rows: 0",
            "prune.tau.scope.sensitivity.rows",
            "at least 1",
        ),
    ];
    for (from, to, field, want) in cases {
        let err = prunecv::config::parse(&BUDGET.replace(from, to), "sb.yaml", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("sb.yaml") && err.contains(field), "{err}");
        assert!(err.contains(want), "{want}: {err}");
    }
}
