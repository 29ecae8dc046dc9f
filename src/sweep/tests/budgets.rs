//! Layer budgets from measured sensitivity (`tau.scope: sensitivity`) on one fold model: the
//! curves are measured on the model's own training rows and every layer prunes exactly the
//! fraction the allocation gives it. (Sweeps with it: `tests/suite/budgets.rs`.)

use super::{fold_model, score_with};
use crate::config::MethodKind;
use crate::model::Masks;
use crate::prune::budget;
use crate::sweep::schedule;
use crate::train;

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
