//! The schedules of pruning-at-initialisation and gradual pruning through the library: masks
//! come from the initial weights (the very ones dense training starts from) or follow the cubic
//! sparsity ramp, survive training, and runs are deterministic.

use crate::common;
use common::*;
use prunecv::config::MethodKind;
use prunecv::sweep::{dense, schedule};

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
fn at_init_sweeps_through_the_binary_reproducibly() {
    let sb = Sandbox::new();
    sb.write("ai.yaml", AT_INIT);
    sweep_twice_identically(&sb, "ai.yaml", "ai");
    let resolved = sb.read("a/ai/resolved.yaml");
    assert!(resolved.contains("kind: at_init"), "{resolved}");
    // Every pruned job trained from its masked initialisation: nothing regrew.
    let (h, rows) = table(&sb.read("a/ai/runs.csv"));
    let regrown = h.iter().position(|c| c == "regrown").unwrap();
    assert!(rows.iter().all(|r| r[regrown] == "0"));
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
    let err = prunecv::config::parse(
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

/// Wanda, SynFlow and LAMP with a 2:4 pattern, compared within rows, pruned at initialisation.
const NEW_METHODS: &str = "name: nm
seed: 5
data: {source: builtin, name: digits}
model: {kind: mlp, hidden: [16]}
train: {optimizer: sgd, lr: 0.05, epochs: 3, batch_size: 32}
prune:
  methods: [wanda, {synflow: {rounds: 10}}, lamp, random]
  n_m: {n: 2, m: 4}
  tau: {unit: quantile, scope: row, values: [0.0, 0.75]}
  schedule: {kind: at_init, epochs: 3}
cv: {folds: 2, select: [best]}
";

#[test]
fn wanda_synflow_and_n_m_sweep_from_yaml_reproducibly() {
    let sb = Sandbox::new();
    sb.write("nm.yaml", NEW_METHODS);
    sweep_twice_identically(&sb, "nm.yaml", "nm");
    let (h, rows) = table(&sb.read("a/nm/runs.csv"));
    let col = |n: &str| h.iter().position(|c| c == n).unwrap();
    let (method, tau, sparsity) = (col("method"), col("tau"), col("sparsity"));
    for m in ["wanda", "synflow", "lamp", "random"] {
        let mine: Vec<&Vec<String>> = rows.iter().filter(|r| r[method] == m).collect();
        assert_eq!(mine.len(), 4, "{m}: 2 folds × 2 τ");
        for r in mine {
            let s: f64 = r[sparsity].parse().unwrap();
            // Every row (64 and 16 inputs) splits into runs of 4 that keep 2: τ = 0 is the
            // pattern alone, exactly half; τ = 0.75 cuts 3/4 of each row, plus whatever of the
            // pattern lies above that cut.
            if r[tau] == "0.0" || r[tau] == "0" {
                assert_eq!(s, 0.5, "{m}: {r:?}");
            } else {
                assert!((0.75..=0.875).contains(&s), "{m}: {r:?}");
            }
        }
    }
    let sel = sb.read("a/nm/selection.csv");
    for m in ["wanda", "synflow", "lamp"] {
        assert!(sel.contains(m), "{sel}");
    }
    // Row scope in the resolved file, and the options that were used.
    let resolved = sb.read("a/nm/resolved.yaml");
    for want in ["scope: row", "n: 2", "m: 4", "synflow:\n      rounds: 10"] {
        assert!(resolved.contains(want), "{want}: {resolved}");
    }
}
