use super::*;
use crate::config::Activation;
use crate::model::mlp::Mlp;
use crate::model::{Architecture, Param, ParamKind};

/// A 2-3-2 MLP with hand-picked weights.
fn tiny() -> (Mlp, Params) {
    let m = Mlp::new(2, &[3], 2, Activation::Relu);
    let p = Params(vec![
        Param {
            name: "fc1.weight".into(),
            shape: vec![3, 2],
            kind: ParamKind::Weight,
            data: vec![0.5, -0.1, 0.05, 0.02, -2.0, 1.0],
        },
        Param {
            name: "fc1.bias".into(),
            shape: vec![3],
            kind: ParamKind::Bias,
            data: vec![0.01, 0.2, -0.3],
        },
        Param {
            name: "fc2.weight".into(),
            shape: vec![2, 3],
            kind: ParamKind::Weight,
            data: vec![0.3, -0.04, 1.5, -0.6, 0.07, 0.2],
        },
        Param {
            name: "fc2.bias".into(),
            shape: vec![2],
            kind: ParamKind::Bias,
            data: vec![0.0, 0.1],
        },
    ]);
    (m, p)
}

fn ctx<'a>(p: &'a Params, layers: &'a [LayerInfo], ignore: &'a [String]) -> ScoreContext<'a> {
    ScoreContext {
        params: p,
        layers,
        ignore,
        rng: Rng::new(3),
    }
}

#[test]
fn magnitude_abs_mask_by_hand() {
    let (m, p) = tiny();
    let layers = m.layers();
    let method = build(MethodKind::Magnitude);
    let s = method.scores(&mut ctx(&p, &layers, &[])).unwrap();
    let masks = masks_for(
        method.granularity(),
        &s,
        &p,
        &layers,
        TauUnit::Abs,
        Scope::Layer,
        0.1,
    );
    // |w| < 0.1 pruned; 0.1 itself is kept (strict).
    assert_eq!(masks.0[0], vec![true, true, false, false, true, true]);
    assert_eq!(masks.0[1], vec![true; 3], "biases untouched");
    assert_eq!(masks.0[2], vec![true, false, true, true, false, true]);
    assert_eq!(masks.sparsity(&p, &layers), 4.0 / 12.0);
    assert_eq!(masks.params_left(&p), 17 - 4);
    assert_eq!(masks.flops_left(&layers), 12 - 4);
    let pruned = masks.apply(&p);
    assert_eq!(pruned.0[0].data, vec![0.5, -0.1, 0.0, 0.0, -2.0, 1.0]);
}

#[test]
fn magnitude_std_mask_by_hand() {
    let (m, p) = tiny();
    let layers = m.layers();
    let method = build(MethodKind::Magnitude);
    let s = method.scores(&mut ctx(&p, &layers, &[])).unwrap();
    // fc1 |w| = [.5,.1,.05,.02,2,1]: mean 0.611667, population std 0.70895 -> τ=0.5 cuts at 0.35448
    // fc2 |w| = [.3,.04,1.5,.6,.07,.2]: mean 0.451667, population std 0.50604 -> cut 0.25302
    let masks = masks_for(
        method.granularity(),
        &s,
        &p,
        &layers,
        TauUnit::Std,
        Scope::Layer,
        0.5,
    );
    assert_eq!(masks.0[0], vec![true, false, false, false, true, true]);
    assert_eq!(masks.0[2], vec![true, false, true, true, false, false]);
}

#[test]
fn ignored_layers_stay_dense() {
    let (m, p) = tiny();
    let layers = m.layers();
    let ignore = vec!["fc2".to_string()];
    let method = build(MethodKind::Magnitude);
    let s = method.scores(&mut ctx(&p, &layers, &ignore)).unwrap();
    let masks = masks_for(
        method.granularity(),
        &s,
        &p,
        &layers,
        TauUnit::Abs,
        Scope::Layer,
        10.0,
    );
    assert!(masks.0[0].iter().all(|k| !k));
    assert!(masks.0[2].iter().all(|k| *k));
}

#[test]
fn random_scores_nest_as_tau_grows() {
    let (m, p) = tiny();
    let layers = m.layers();
    let method = build(MethodKind::Random);
    let s = method.scores(&mut ctx(&p, &layers, &[])).unwrap();
    let mut prev = masks_for(
        method.granularity(),
        &s,
        &p,
        &layers,
        TauUnit::Abs,
        Scope::Layer,
        0.0,
    );
    assert_eq!(prev, Masks::dense(&p));
    for t in [0.2, 0.5, 0.8, 1.0] {
        let cur = masks_for(
            method.granularity(),
            &s,
            &p,
            &layers,
            TauUnit::Abs,
            Scope::Layer,
            t,
        );
        // Everything pruned before is still pruned.
        assert_eq!(cur.and(&prev), cur);
        prev = cur;
    }
    assert_eq!(prev.sparsity(&p, &layers), 1.0);
}
