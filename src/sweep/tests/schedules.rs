//! The schedules of pruning-at-initialisation and gradual pruning on one fold model: masks come
//! from the initial weights (the very ones dense training starts from) or follow the cubic
//! sparsity ramp, and survive training. (Sweeps with them: `tests/suite/schedules.rs`.)

use super::{fold_model, score_with};
use crate::config::MethodKind;
use crate::sweep::{dense, schedule};

const AT_INIT: &str = "name: ai
seed: 5
data: {source: builtin, name: iris, holdout: 0.2}
model: {kind: mlp, hidden: [16]}
train: {optimizer: sgd, lr: 0.05, epochs: 8, batch_size: 16}
prune:
  methods: [magnitude, taylor, random]
  tau: {unit: quantile, scope: layer, values: [0.0, 0.5, 0.8]}
  schedule: {kind: at_init, epochs: 6}
cv: {folds: 3, select: [best]}
";

#[test]
fn at_init_masks_come_from_the_initial_weights_and_hold_through_training() {
    let (exp, prep, t) = fold_model(AT_INIT, 1);
    let (init, _) = dense::init(&exp, &prep, t.which);
    let layers = prep.arch.layers();
    // The scored weights are the initial ones, not the trained ones.
    let scored_on = schedule::scoring_params(&exp, &prep, &t);
    assert_eq!(*scored_on, init);
    assert_ne!(init, t.params);
    let sc = score_with(&exp, &prep, &t, &scored_on, MethodKind::Magnitude);
    let o = schedule::run(&exp, &prep, &t, MethodKind::Magnitude, &sc, 0.5).unwrap();
    // Half of each layer's weights, the smallest |w| at initialisation, are gone.
    for l in &layers {
        let w = &init.0[l.weight].data;
        let mask = &o.masks.0[l.weight];
        let kept_min = w
            .iter()
            .zip(mask)
            .filter(|(_, k)| **k)
            .map(|(x, _)| x.abs())
            .fold(f32::INFINITY, f32::min);
        let pruned_max = w
            .iter()
            .zip(mask)
            .filter(|(_, k)| !**k)
            .map(|(x, _)| x.abs())
            .fold(0.0, f32::max);
        assert!(
            pruned_max <= kept_min,
            "{}: {pruned_max} > {kept_min}",
            l.name
        );
        assert_eq!(mask.iter().filter(|k| !**k).count(), w.len() / 2);
    }
    // Trained from the initial weights with the masks held: pruned entries exactly zero, the
    // rest moved away from their initial values.
    assert_eq!(o.regrown, 0);
    let w0 = &o.params.0[layers[0].weight].data;
    assert!(w0
        .iter()
        .zip(&o.masks.0[layers[0].weight])
        .all(|(x, k)| *k || *x == 0.0));
    assert_ne!(w0, &init.0[layers[0].weight].data);
}

#[test]
fn gradual_follows_the_cubic_ramp_to_the_final_sparsity() {
    // s_r = 0.8 + (0.2 − 0.8)(1 − r/4)³: 0.546875, 0.725, 0.790625, 0.8.
    let want = [0.546875, 0.725, 0.790625, 0.8];
    for (r, w) in want.iter().enumerate() {
        let s = schedule::cubic_sparsity(0.2, 0.8, r + 1, 4);
        assert!((s - w).abs() < 1e-12, "step {}: {s}", r + 1);
    }
    let gradual = AT_INIT.replace(
        "{kind: at_init, epochs: 6}",
        "{kind: gradual, rounds: 4, epochs_per_round: 1, initial_sparsity: 0.2}",
    );
    let (exp, prep, t) = fold_model(&gradual, 0);
    let sc = score_with(&exp, &prep, &t, &t.params, MethodKind::Magnitude);
    let o = schedule::run(&exp, &prep, &t, MethodKind::Magnitude, &sc, 0.8).unwrap();
    // Round 0 is the dense model; each step lands on the ramp up to rounding (3 layers of
    // 64 + 48 weights: within one weight per layer of the target).
    let layers = prep.arch.layers();
    let total: usize = layers.iter().map(|l| o.masks.0[l.weight].len()).sum();
    assert_eq!(o.rounds.len(), 5);
    assert_eq!(o.rounds[0].sparsity, 0.0);
    for (r, w) in want.iter().enumerate() {
        let got = o.rounds[r + 1].sparsity;
        assert!(
            (got - w).abs() <= 2.0 / total as f64 + 1e-9,
            "step {}: {got} vs {w}",
            r + 1
        );
    }
    assert_eq!(o.regrown, 0);
    // τ must be a sparsity: other units are refused.
    let err = crate::config::parse(
        &AT_INIT
            .replace("{kind: at_init, epochs: 6}", "{kind: gradual}")
            .replace("unit: quantile", "unit: std"),
        "g.yaml",
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("use `tau.unit: quantile`"), "{err}");
}
