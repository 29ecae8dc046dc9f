use super::*;
use crate::config::{Activation, Norm};
use crate::model::graph::Graph;
use crate::model::testing;
use crate::model::{Architecture, Param, ParamKind};
use crate::rng::Rng;
use proptest::prelude::*;

/// A 2-3-2 MLP with hand-picked weights.
fn tiny() -> (Graph, Params) {
    let m = testing::mlp(2, &[3], 2, Activation::Relu);
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

/// The MLP whose parameters `p` are (widths read off the weight shapes), leaked for the test.
fn arch_of(p: &Params) -> &'static Graph {
    let w: Vec<&Param> = p.0.iter().filter(|q| q.kind == ParamKind::Weight).collect();
    let hidden: Vec<usize> = w[..w.len() - 1].iter().map(|q| q.shape[0]).collect();
    let out = w[w.len() - 1].shape[0];
    Box::leak(Box::new(testing::mlp(
        w[0].shape[1],
        &hidden,
        out,
        Activation::Relu,
    )))
}

/// Input norms of 1 for every input (Wanda then orders weights as magnitude does).
fn unit_norms_of(p: &Params, layers: &[LayerInfo]) -> Vec<Vec<f32>> {
    layers
        .iter()
        .map(|l| vec![1.0; p.0[l.weight].data.len() / l.units])
        .collect()
}

fn scores_of(
    kind: MethodKind,
    p: &Params,
    layers: &[LayerInfo],
    grads: Option<&Params>,
) -> (Box<dyn PruningMethod>, Vec<LayerScores>) {
    let spec = crate::config::parse("name: t\n", "t", &[]).unwrap().prune;
    let method = build(kind, &spec);
    let norms = unit_norms_of(p, layers);
    let mut ctx = ScoreContext {
        grads,
        input_norms: Some(&norms),
        ..ScoreContext::plain(arch_of(p), p, layers, Rng::new(3))
    };
    let s = method.scores(&mut ctx).unwrap();
    (method, s)
}

fn mctx<'a>(
    p: &'a Params,
    layers: &'a [LayerInfo],
    unit: TauUnit,
    scope: Scope,
) -> MaskContext<'a> {
    MaskContext::one_shot(arch_of(p), p, layers, unit, scope)
}

#[test]
fn magnitude_abs_mask_by_hand() {
    let (m, p) = tiny();
    let layers = m.layers();
    let (method, s) = scores_of(MethodKind::Magnitude, &p, &layers, None);
    let masks = method
        .masks(&mctx(&p, &layers, TauUnit::Abs, Scope::Layer), &s, 0.1)
        .unwrap();
    // |w| < 0.1 pruned; 0.1 itself is kept (strict).
    assert_eq!(masks.0[0], vec![true, true, false, false, true, true]);
    assert_eq!(masks.0[1], vec![true; 3], "biases untouched");
    assert_eq!(masks.0[2], vec![true, false, true, true, false, true]);
    assert_eq!(masks.sparsity(&layers), 4.0 / 12.0);
    assert_eq!(masks.params_left(&p), 17 - 4);
    assert_eq!(masks.flops_left(&layers), 12 - 4);
    let pruned = masks.apply(&p);
    assert_eq!(pruned.0[0].data, vec![0.5, -0.1, 0.0, 0.0, -2.0, 1.0]);
}

#[test]
fn magnitude_std_mean_quantile_masks_by_hand() {
    let (m, p) = tiny();
    let layers = m.layers();
    let (method, s) = scores_of(MethodKind::Magnitude, &p, &layers, None);
    // fc1 |w| = [.5,.1,.05,.02,2,1]: mean 0.611667, population std 0.70895 -> τ=0.5 cuts at 0.35448
    // fc2 |w| = [.3,.04,1.5,.6,.07,.2]: mean 0.451667, population std 0.50604 -> cut 0.25302
    let masks = method
        .masks(&mctx(&p, &layers, TauUnit::Std, Scope::Layer), &s, 0.5)
        .unwrap();
    assert_eq!(masks.0[0], vec![true, false, false, false, true, true]);
    assert_eq!(masks.0[2], vec![true, false, true, true, false, false]);
    // mean units, τ = 1: cut at each layer's mean.
    let masks = method
        .masks(&mctx(&p, &layers, TauUnit::Mean, Scope::Layer), &s, 1.0)
        .unwrap();
    assert_eq!(masks.0[0], vec![false, false, false, false, true, true]);
    assert_eq!(masks.0[2], vec![false, false, true, true, false, false]);
    // quantile 0.5: 3 lowest of each layer.
    let masks = method
        .masks(&mctx(&p, &layers, TauUnit::Quantile, Scope::Layer), &s, 0.5)
        .unwrap();
    assert_eq!(masks.0[0], vec![true, false, false, false, true, true]);
    assert_eq!(masks.0[2], vec![true, false, true, true, false, false]);
}

#[test]
fn taylor_scores_are_abs_w_times_g() {
    let (m, p) = tiny();
    let layers = m.layers();
    let mut g = p.clone();
    g.0[0].data = vec![1.0, 10.0, 2.0, -100.0, 0.01, -0.5];
    g.0[2].data = vec![0.0, 1.0, 0.1, 1.0, 1.0, -1.0];
    let (method, s) = scores_of(MethodKind::Taylor, &p, &layers, Some(&g));
    assert!(method.needs_gradients());
    let expect0 = [0.5, 1.0, 0.1, 2.0, 0.02, 0.5];
    for (a, b) in s[0].scores.iter().zip(expect0) {
        assert!((a - b).abs() < 1e-6, "{:?}", s[0].scores);
    }
    let masks = method
        .masks(&mctx(&p, &layers, TauUnit::Abs, Scope::Layer), &s, 0.3)
        .unwrap();
    assert_eq!(masks.0[0], vec![true, true, false, true, false, true]);
    // fc2: |w g| = [0, .04, .15, .6, .07, .2]
    assert_eq!(masks.0[2], vec![false, false, false, true, false, false]);
}

#[test]
fn importance_removes_rows_bias_and_next_columns() {
    // Non-square on purpose: fc1 is 3×2, so masking columns by row norms would fail loudly.
    let (m, p) = tiny();
    let layers = m.layers();
    let (method, s) = scores_of(MethodKind::Importance, &p, &layers, None);
    assert_eq!(s.len(), 1, "the output layer is never scored");
    // Row L2 norms of fc1: [0.5099, 0.0539, 2.2361].
    let masks = method
        .masks(&mctx(&p, &layers, TauUnit::Abs, Scope::Layer), &s, 0.1)
        .unwrap();
    assert_eq!(
        masks.0[0],
        vec![true, true, false, false, true, true],
        "row 1 removed"
    );
    assert_eq!(masks.0[1], vec![true, false, true], "bias 1 removed");
    assert_eq!(
        masks.0[2],
        vec![true, false, true, true, false, true],
        "column 1 of fc2 removed"
    );
    assert_eq!(masks.0[3], vec![true, true], "output biases kept");
    assert_eq!(masks.neurons_removed(&layers), 1);
    assert_eq!(masks.params_left(&p), 17 - 2 - 1 - 2);
    // L1 norms: [0.6, 0.07, 3.0]; τ = 0.65 removes units 0 and 1.
    let spec = crate::config::parse(
        "name: t\nprune: {methods: [{importance: {norm: l1}}]}\n",
        "t",
        &[],
    )
    .unwrap()
    .prune;
    let l1 = build(MethodKind::Importance, &spec);
    let mut ctx = ScoreContext::plain(arch_of(&p), &p, &layers, Rng::new(0));
    let s1 = l1.scores(&mut ctx).unwrap();
    let masks = l1
        .masks(&mctx(&p, &layers, TauUnit::Abs, Scope::Layer), &s1, 0.65)
        .unwrap();
    assert_eq!(masks.0[1], vec![false, false, true]);
    assert_eq!(masks.neurons_removed(&layers), 2);
    assert_eq!(
        importance::unit_norms(&p, &layers[0], None, Norm::L1)[2],
        3.0
    );
}

#[test]
fn combined_is_magnitude_then_importance_on_what_is_left() {
    let (m, p) = tiny();
    let layers = m.layers();
    let (method, s) = scores_of(MethodKind::Combined, &p, &layers, None);
    // Magnitude at 0.06 prunes fc1 entries .05 and .02 (unit 1 left with nothing: norm 0 < .06)
    // and fc2 entry .04; importance at 0.06 then removes unit 1 entirely.
    let masks = method
        .masks(&mctx(&p, &layers, TauUnit::Abs, Scope::Layer), &s, 0.06)
        .unwrap();
    assert_eq!(masks.0[0], vec![true, true, false, false, true, true]);
    assert_eq!(masks.0[1], vec![true, false, true]);
    assert_eq!(masks.0[2], vec![true, false, true, true, false, true]);
    assert_eq!(masks.neurons_removed(&layers), 1);
}

#[test]
fn ignored_layers_stay_dense() {
    let (m, p) = tiny();
    let layers = m.layers();
    let ignore = vec!["fc2".to_string()];
    let spec = crate::config::parse("name: t\n", "t", &[]).unwrap().prune;
    let method = build(MethodKind::Magnitude, &spec);
    let mut ctx = ScoreContext {
        ignore: &ignore,
        ..ScoreContext::plain(arch_of(&p), &p, &layers, Rng::new(0))
    };
    let s = method.scores(&mut ctx).unwrap();
    let masks = method
        .masks(&mctx(&p, &layers, TauUnit::Abs, Scope::Layer), &s, 10.0)
        .unwrap();
    assert!(masks.0[0].iter().all(|k| !k));
    assert!(masks.0[2].iter().all(|k| *k));
}

#[test]
fn random_scores_nest_as_tau_grows() {
    let (m, p) = tiny();
    let layers = m.layers();
    let (method, s) = scores_of(MethodKind::Random, &p, &layers, None);
    let c = mctx(&p, &layers, TauUnit::Abs, Scope::Layer);
    let mut prev = method.masks(&c, &s, 0.0).unwrap();
    assert_eq!(prev, Masks::dense(&p));
    for t in [0.2, 0.5, 0.8, 1.0] {
        let cur = method.masks(&c, &s, t).unwrap();
        assert_eq!(
            cur.and(&prev),
            cur,
            "everything pruned before is still pruned"
        );
        prev = cur;
    }
    assert_eq!(prev.sparsity(&layers), 1.0);
}

/// A random MLP and fake gradients for property tests.
fn random_model(seed: u64, hidden: usize) -> (Graph, Params, Params) {
    let m = testing::mlp(5, &[hidden, 4], 3, Activation::Relu);
    let mut rng = Rng::new(seed);
    let p = m.init(&mut rng);
    let mut g = p.clone();
    g.0.iter_mut().for_each(|t| {
        t.data
            .iter_mut()
            .for_each(|v| *v = rng.uniform_f32(-1.0, 1.0))
    });
    (m, p, g)
}

const KINDS: [MethodKind; 7] = [
    MethodKind::Magnitude,
    MethodKind::Taylor,
    MethodKind::Importance,
    MethodKind::Combined,
    MethodKind::Random,
    MethodKind::Lamp,
    MethodKind::Wanda,
];
const UNITS: [TauUnit; 4] = [TauUnit::Abs, TauUnit::Std, TauUnit::Mean, TauUnit::Quantile];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn sparsity_never_decreases_in_tau(seed in 0u64..1000, hidden in 2usize..9, mut taus in prop::collection::vec(0.0f64..3.0, 2..8)) {
        let (m, p, g) = random_model(seed, hidden);
        let layers = m.layers();
        taus.sort_by(f64::total_cmp);
        for kind in KINDS {
            let (method, s) = scores_of(kind, &p, &layers, Some(&g));
            for unit in UNITS {
                // combined re-derives unit statistics from what magnitude left, so only its
                // `abs` cut-off is provably monotone (see the README).
                if kind == MethodKind::Combined && unit != TauUnit::Abs {
                    continue;
                }
                // ERK splits a sparsity target: quantile units only.
                let scopes: &[Scope] = if unit == TauUnit::Quantile {
                    &[Scope::Layer, Scope::Global, Scope::Erk]
                } else {
                    &[Scope::Layer, Scope::Global]
                };
                for &scope in scopes {
                    let c = mctx(&p, &layers, unit, scope);
                    let mut last = 0.0;
                    for &t in &taus {
                        let t = if unit == TauUnit::Quantile { t / 3.0 } else { t };
                        let sp = method.masks(&c, &s, t).unwrap().sparsity(&layers);
                        prop_assert!(sp >= last, "{kind:?} {unit:?} {scope:?} τ={t}: {sp} < {last}");
                        last = sp;
                    }
                }
            }
        }
    }

    #[test]
    fn quantile_hits_the_requested_sparsity(seed in 0u64..1000, hidden in 2usize..9, q in 0.0f64..=1.0) {
        let (m, p, g) = random_model(seed, hidden);
        let layers = m.layers();
        for kind in [MethodKind::Magnitude, MethodKind::Taylor, MethodKind::Random] {
            let (method, s) = scores_of(kind, &p, &layers, Some(&g));
            let masks = method.masks(&mctx(&p, &layers, TauUnit::Quantile, Scope::Layer), &s, q).unwrap();
            for l in &layers {
                let n = masks.0[l.weight].len() as f64;
                let pruned = masks.layer_sparsity(l) * n;
                prop_assert!((pruned - q * n).abs() <= 1.0, "{kind:?} {}: {pruned} vs {}", l.name, q * n);
            }
            // ERK: the overall fraction is τ up to one weight of rounding per layer.
            let erk = method.masks(&mctx(&p, &layers, TauUnit::Quantile, Scope::Erk), &s, q).unwrap();
            let total: f64 = layers.iter().map(|l| erk.0[l.weight].len() as f64).sum();
            let pruned = erk.sparsity(&layers) * total;
            prop_assert!((pruned - q * total).abs() <= layers.len() as f64, "{kind:?}: {pruned} vs {}", q * total);
        }
    }

    #[test]
    fn global_equals_layer_on_a_one_layer_model(seed in 0u64..1000, t in 0.0f64..2.0) {
        let m = testing::mlp(6, &[], 4, Activation::Relu);
        let p = m.init(&mut Rng::new(seed));
        let layers = m.layers();
        for kind in [MethodKind::Magnitude, MethodKind::Random] {
            let (method, s) = scores_of(kind, &p, &layers, None);
            for unit in UNITS {
                let t = if unit == TauUnit::Quantile { t / 2.0 } else { t };
                let a = method.masks(&mctx(&p, &layers, unit, Scope::Layer), &s, t).unwrap();
                let b = method.masks(&mctx(&p, &layers, unit, Scope::Global), &s, t).unwrap();
                prop_assert_eq!(a, b);
            }
        }
    }

    #[test]
    fn structured_removal_zeroes_rows_bias_and_next_columns(seed in 0u64..1000, hidden in 2usize..9, q in 0.0f64..=1.0) {
        let (m, p, _) = random_model(seed, hidden);
        let layers = m.layers();
        let (method, s) = scores_of(MethodKind::Importance, &p, &layers, None);
        let masks = method.masks(&mctx(&p, &layers, TauUnit::Quantile, Scope::Layer), &s, q).unwrap();
        let mut removed = 0;
        for l in layers.iter().filter(|l| !l.is_output) {
            let fan_in = masks.0[l.weight].len() / l.units;
            let next = l.next[0];
            let next_out = p.0[next].shape[0];
            for u in 0..l.units {
                let row_gone = masks.0[l.weight][u * fan_in..(u + 1) * fan_in].iter().all(|k| !k);
                let bias_gone = !masks.0[l.bias][u];
                let col_gone = (0..next_out).all(|o| !masks.0[next][o * l.units + u]);
                // Removing u takes its row, its bias and its column in the next layer (a row or a
                // column can also empty because every unit on its other side was removed; a bias
                // only goes with u itself).
                if bias_gone {
                    prop_assert!(row_gone && col_gone);
                }
                removed += bias_gone as usize;
            }
            // Exactly round(q × units) removed per layer.
            let k = (q * l.units as f64).round() as usize;
            let here = (0..l.units).filter(|&u| !masks.0[l.bias][u]).count();
            prop_assert_eq!(here, k);
        }
        prop_assert_eq!(masks.neurons_removed(&layers), removed);
        prop_assert!(masks.0[layers.last().unwrap().bias].iter().all(|k| *k));
    }

    #[test]
    fn shrunk_model_equals_masked_model(seed in 0u64..1000, hidden in 2usize..9, q in 0.0f64..0.95) {
        let (m, p, _) = random_model(seed, hidden);
        let layers = m.layers();
        let (method, s) = scores_of(MethodKind::Combined, &p, &layers, None);
        let masks = method.masks(&mctx(&p, &layers, TauUnit::Quantile, Scope::Layer), &s, q).unwrap();
        let (small, sp) = crate::model::graph::shrink::shrink(&m, &p, &masks);
        prop_assert_eq!(sp.count(), p.count() - removed_params(&m, &masks));
        let mut rng = Rng::new(seed + 1);
        let xs: Vec<f32> = (0..7 * 5).map(|_| rng.uniform_f32(-2.0, 2.0)).collect();
        let x = candle_core::Tensor::from_slice(&xs, (7, 5), &candle_core::Device::Cpu).unwrap();
        let a = m.forward(&masks.apply(&p).tensors().unwrap(), &x).unwrap().to_vec2::<f32>().unwrap();
        let b = small.forward(&sp.tensors().unwrap(), &x).unwrap().to_vec2::<f32>().unwrap();
        for (ra, rb) in a.iter().zip(&b) {
            for (va, vb) in ra.iter().zip(rb) {
                prop_assert!((va - vb).abs() <= 1e-5, "{va} vs {vb}");
            }
        }
    }
}

/// Parameters that disappear when removed units are cut out: their rows, biases and next columns.
fn removed_params(m: &Graph, masks: &Masks) -> usize {
    let layers = m.layers();
    let mut n = 0;
    for l in layers.iter().filter(|l| !l.is_output) {
        let fan_in = masks.0[l.weight].len() / l.units;
        let next_out = masks.0[l.next[0]].len() / l.units;
        for u in 0..l.units {
            let gone = !masks.0[l.bias][u]
                && masks.0[l.weight][u * fan_in..(u + 1) * fan_in]
                    .iter()
                    .all(|k| !k);
            if gone {
                n += fan_in + 1 + next_out;
            }
        }
    }
    // A unit's row was counted for layer l and its column for l+1; when both ends of a weight are
    // removed units the weight is counted twice.
    let mut twice = 0;
    for w in layers.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        if b.is_output {
            continue;
        }
        let gone = |l: &LayerInfo, u: usize| {
            let fan_in = masks.0[l.weight].len() / l.units;
            !masks.0[l.bias][u]
                && masks.0[l.weight][u * fan_in..(u + 1) * fan_in]
                    .iter()
                    .all(|k| !k)
        };
        for o in 0..b.units {
            for i in 0..a.units {
                if gone(b, o) && gone(a, i) {
                    twice += 1;
                }
            }
        }
    }
    n - twice
}

#[test]
fn prior_masks_only_grow_and_thresholds_use_survivors() {
    let (m, p, g) = random_model(5, 6);
    let layers = m.layers();
    for kind in KINDS {
        let (method, s) = scores_of(kind, &p, &layers, Some(&g));
        let first = method
            .masks(&mctx(&p, &layers, TauUnit::Quantile, Scope::Layer), &s, 0.3)
            .unwrap();
        let c = MaskContext {
            prior: Some(&first),
            ..mctx(&p, &layers, TauUnit::Quantile, Scope::Layer)
        };
        let second = method.masks(&c, &s, 0.3).unwrap();
        assert_eq!(
            second.and(&first),
            second,
            "{kind:?}: pruned entries stay pruned"
        );
        if kind != MethodKind::Importance && kind != MethodKind::Combined {
            // 30 % of the survivors again: 1 - 0.7² = 51 % per layer, to within a weight.
            for l in &layers {
                let n = second.0[l.weight].len() as f64;
                assert!(
                    (second.layer_sparsity(l) * n - 0.51 * n).abs() <= 1.5,
                    "{kind:?} {}",
                    l.name
                );
            }
        }
    }
}

/// LAMP scores by hand: fc1's squares sorted are .0004 .0025 .01 .25 1 4 (sum 5.2629), so the
/// smallest scores .0004 / 5.2629 and the largest 4 / 4 = 1.
#[test]
fn lamp_scores_and_masks_by_hand() {
    let (m, p) = tiny();
    let layers = m.layers();
    let (method, s) = scores_of(MethodKind::Lamp, &p, &layers, None);
    let want_fc1 = [
        0.25 / 5.25,
        0.01 / 5.26,
        0.0025 / 5.2625,
        0.0004 / 5.2629,
        1.0,
        0.2,
    ];
    let want_fc2 = [
        0.09 / 2.7,
        0.0016 / 2.7465,
        1.0,
        0.36 / 2.61,
        0.0049 / 2.7449,
        0.04 / 2.74,
    ];
    for (got, want) in [(&s[0].scores, &want_fc1), (&s[1].scores, &want_fc2)] {
        for (g, w) in got.iter().zip(want.iter()) {
            assert!((f64::from(*g) - w).abs() < 1e-6, "{g} vs {w}");
        }
    }
    // abs τ = 0.04: fc2's 0.3 (score 0.0333) goes although magnitude would keep it over 0.2.
    let masks = method
        .masks(&mctx(&p, &layers, TauUnit::Abs, Scope::Global), &s, 0.04)
        .unwrap();
    assert_eq!(masks.0[0], vec![true, false, false, false, true, true]);
    assert_eq!(masks.0[2], vec![false, false, true, true, false, false]);
    // Scaling a layer changes global magnitude's cut but not LAMP's: fc2 × 100.
    let mut big = p.clone();
    big.0[2].data.iter_mut().for_each(|w| *w *= 100.0);
    let (_, sb) = scores_of(MethodKind::Lamp, &big, &layers, None);
    let ctx = mctx(&big, &layers, TauUnit::Quantile, Scope::Global);
    let (mag, sm) = scores_of(MethodKind::Magnitude, &big, &layers, None);
    assert_eq!(
        method.masks(&ctx, &sb, 0.5).unwrap().0,
        method
            .masks(
                &mctx(&p, &layers, TauUnit::Quantile, Scope::Global),
                &s,
                0.5
            )
            .unwrap()
            .0
    );
    // Global magnitude at 50 % empties fc1 (layer collapse: the network outputs a constant);
    // LAMP keeps each layer's largest weight at any τ < 1.
    assert_eq!(mag.masks(&ctx, &sm, 0.5).unwrap().0[0], vec![false; 6]);
    let most = method.masks(&ctx, &sb, 10.0 / 12.0).unwrap();
    assert_eq!(most.0[0], vec![false, false, false, false, true, false]);
    assert_eq!(most.0[2], vec![false, false, true, false, false, false]);
}

#[test]
fn wanda_scores_weights_by_input_norms_within_rows() {
    let (m, p) = tiny();
    let layers = m.layers();
    // Input norms: fc1 reads features with norms [1, 10]; fc2 reads units with [2, 0, 1].
    let norms = vec![vec![1.0, 10.0], vec![2.0, 0.0, 1.0]];
    let spec = crate::config::parse("name: t\n", "t", &[]).unwrap().prune;
    let method = build(MethodKind::Wanda, &spec);
    let mut ctx = ScoreContext {
        input_norms: Some(&norms),
        ..ScoreContext::plain(&m, &p, &layers, Rng::new(0))
    };
    let s = method.scores(&mut ctx).unwrap();
    // fc1 [[0.5, -0.1], [0.05, 0.02], [-2, 1]] → [[0.5, 1], [0.05, 0.2], [2, 10]];
    // fc2 [[0.3, -0.04, 1.5], [-0.6, 0.07, 0.2]] → [[0.6, 0, 1.5], [1.2, 0, 0.2]].
    let want = [
        vec![0.5, 1.0, 0.05, 0.2, 2.0, 10.0],
        vec![0.6, 0.0, 1.5, 1.2, 0.0, 0.2],
    ];
    for (got, want) in s.iter().zip(&want) {
        for (g, w) in got.scores.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{:?} vs {want:?}", got.scores);
        }
    }
    // Row scope, half of every row: fc1 drops the first entry of each 2-weight row; fc2
    // (3-weight rows) drops round(1.5) = 2 per row.
    let masks = method
        .masks(&mctx(&p, &layers, TauUnit::Quantile, Scope::Row), &s, 0.5)
        .unwrap();
    assert_eq!(masks.0[0], vec![false, true, false, true, false, true]);
    assert_eq!(masks.0[2], vec![false, false, true, true, false, false]);
    // Magnitude would cut row 0's -0.1; its input's norm of 10 keeps it and cuts the 0.5.
    let wrong_len = vec![vec![1.0], vec![1.0; 3]];
    ctx.input_norms = Some(&wrong_len);
    assert!(method.scores(&mut ctx).is_err());
}

#[test]
fn mlp_input_sq_sums_by_hand() {
    let (m, p) = tiny();
    let x = candle_core::Tensor::from_slice(
        &[1.0f32, 2.0, 3.0, -1.0],
        (2, 2),
        &candle_core::Device::Cpu,
    )
    .unwrap();
    let sums = m.input_sq_sums(&p.tensors().unwrap(), &x).unwrap();
    assert_eq!(sums[0].to_vec1::<f32>().unwrap(), vec![10.0, 5.0]);
    // fc1 pre-activations: row 1 [0.31, 0.29, -0.3] → relu [0.31, 0.29, 0];
    // row 2 [1.61, 0.33, -7.3] → [1.61, 0.33, 0].
    let h = sums[1].to_vec1::<f32>().unwrap();
    let want = [0.31f32 * 0.31 + 1.61 * 1.61, 0.29 * 0.29 + 0.33 * 0.33, 0.0];
    for (a, b) in h.iter().zip(want) {
        assert!((a - b).abs() < 1e-5, "{h:?} vs {want:?}");
    }
}

#[test]
fn synflow_scores_by_hand_on_a_two_layer_relu_net() {
    let (m, p) = tiny();
    let layers = m.layers();
    let s = synflow::synflow_scores(&m, &p, &Masks::dense(&p), &layers, &[0, 1]).unwrap();
    // With |W|, |b| and an all-ones input the ReLU passes everything:
    // R = Σ_k Σ_i |W2_ki| (Σ_j |W1_ij| + |b1_i|) + Σ_k |b2_k|.
    let w1 = [[0.5f64, 0.1], [0.05, 0.02], [2.0, 1.0]];
    let b1 = [0.01f64, 0.2, 0.3];
    let w2 = [[0.3f64, 0.04, 1.5], [0.6, 0.07, 0.2]];
    for i in 0..3 {
        let down: f64 = (0..2).map(|k| w2[k][i]).sum();
        for (j, w) in w1[i].iter().enumerate() {
            let want = w * down;
            assert!((f64::from(s[0].scores[i * 2 + j]) - want).abs() < 1e-6);
        }
        let h = w1[i][0] + w1[i][1] + b1[i];
        for (k, row) in w2.iter().enumerate() {
            let want = row[i] * h;
            assert!((f64::from(s[1].scores[k * 3 + i]) - want).abs() < 1e-6);
        }
    }
    // One round at 50 % (global): the 6 lowest of the 12 scores go.
    let one = synflow::Synflow { rounds: 1 };
    let masks = one
        .masks(
            &mctx(&p, &layers, TauUnit::Quantile, Scope::Global),
            &s,
            0.5,
        )
        .unwrap();
    let mut all: Vec<(f32, usize, usize)> = s
        .iter()
        .enumerate()
        .flat_map(|(l, ls)| ls.scores.iter().enumerate().map(move |(i, &v)| (v, l, i)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (r, &(_, l, i)) in all.iter().enumerate() {
        assert_eq!(masks.0[layers[l].weight][i], r >= 6, "rank {r}");
    }
}

#[test]
fn synflow_rounds_reach_the_target_exactly_and_never_empty_a_layer() {
    let (m, mut p, _) = random_model(4, 8);
    // Without biases the synaptic flow through every layer is the same, which is what keeps a
    // layer from being cut off (biases add flow that no weight carries).
    for q in p.0.iter_mut().filter(|q| q.kind == ParamKind::Bias) {
        q.data.fill(0.0);
    }
    let layers = m.layers();
    let (method, s) = scores_of(MethodKind::Synflow, &p, &layers, None);
    let total: usize = layers.iter().map(|l| p.0[l.weight].data.len()).sum();
    let c = mctx(&p, &layers, TauUnit::Quantile, Scope::Global);
    let mut last = 0;
    for q in [0.0, 0.3, 0.6, 0.9, 0.97] {
        let masks = method.masks(&c, &s, q).unwrap();
        let kept: usize = layers
            .iter()
            .map(|l| masks.0[l.weight].iter().filter(|&&k| k).count())
            .sum();
        assert_eq!(kept, ((1.0 - q) * total as f64).round() as usize, "q = {q}");
        for l in &layers {
            assert!(
                masks.0[l.weight].iter().any(|&k| k),
                "{} emptied at {q}",
                l.name
            );
        }
        assert!(total - kept >= last);
        last = total - kept;
    }
}

#[test]
fn synflow_runs_through_lenet5_in_f64() {
    let m = testing::lenet5(20, 50, 500, 10);
    let p = m.init(&mut Rng::new(2));
    let layers = m.layers();
    let s = synflow::synflow_scores(&m, &p, &Masks::dense(&p), &layers, &[0, 1, 2, 3]).unwrap();
    for (ls, l) in s.iter().zip(&layers) {
        assert_eq!(ls.scores.len(), p.0[l.weight].data.len());
        assert!(ls.scores.iter().all(|v| v.is_finite() && *v >= 0.0));
        assert!(ls.scores.iter().any(|v| *v > 0.0), "{}", l.name);
    }
}

#[test]
fn n_m_keeps_n_of_every_m_on_top_of_tau() {
    let (m, p, _) = random_model(9, 8);
    let layers = m.layers();
    for kind in [
        MethodKind::Magnitude,
        MethodKind::Random,
        MethodKind::Combined,
    ] {
        let (method, s) = scores_of(kind, &p, &layers, None);
        let c = MaskContext {
            n_m: Some(crate::config::NmSpec { n: 2, m: 4 }),
            ..mctx(&p, &layers, TauUnit::Quantile, Scope::Layer)
        };
        // τ = 0: the pattern alone. fc1 rows have 5 inputs: a run of 4 keeps 2, the last
        // (single) weight stays.
        let masks = method.masks(&c, &s, 0.0).unwrap();
        for l in &layers {
            let w = &masks.0[l.weight];
            let row = w.len() / l.units;
            for r in w.chunks(row) {
                for run in r.chunks(4) {
                    assert_eq!(
                        run.iter().filter(|&&k| k).count(),
                        run.len().min(2),
                        "{kind:?} {}",
                        l.name
                    );
                }
            }
        }
        // The kept pair of a run is its two highest scores (magnitude: largest |w|).
        if kind == MethodKind::Magnitude {
            let w = &p.0[0].data[..4];
            let mut order: Vec<usize> = (0..4).collect();
            order.sort_by(|&a, &b| w[b].abs().total_cmp(&w[a].abs()));
            let kept: Vec<usize> = (0..4).filter(|&i| masks.0[0][i]).collect();
            let mut top = order[..2].to_vec();
            top.sort();
            assert_eq!(kept, top);
        }
        // A τ beyond 50 % prunes more than the pattern; the pattern still holds.
        let more = method.masks(&c, &s, 0.8).unwrap();
        assert_eq!(more.and(&masks), more);
        assert!(more.sparsity(&layers) >= 0.75);
    }
}

#[test]
fn row_scope_prunes_every_row_alike() {
    let (m, p, _) = random_model(3, 6);
    let layers = m.layers();
    let (method, s) = scores_of(MethodKind::Magnitude, &p, &layers, None);
    let masks = method
        .masks(&mctx(&p, &layers, TauUnit::Quantile, Scope::Row), &s, 0.5)
        .unwrap();
    for l in &layers {
        let w = &masks.0[l.weight];
        let row = w.len() / l.units;
        let want = row - (0.5 * row as f64).round() as usize;
        for (r, keep) in w.chunks(row).enumerate() {
            assert_eq!(
                keep.iter().filter(|&&k| k).count(),
                want,
                "{} row {r}",
                l.name
            );
            let vals = &p.0[l.weight].data[r * row..(r + 1) * row];
            let min_kept = (0..row)
                .filter(|&i| keep[i])
                .map(|i| vals[i].abs())
                .fold(f32::MAX, f32::min);
            let max_cut = (0..row)
                .filter(|&i| !keep[i])
                .map(|i| vals[i].abs())
                .fold(0.0, f32::max);
            assert!(min_kept >= max_cut);
        }
    }
}

/// Every method on a ResNet (batch normalisation, an identity and a projection shortcut): the
/// output layer keeps its units, a structured method removes a group's channel from every layer
/// that writes it with its normalisations' entries, and the shrunk model computes the masked one.
#[test]
fn every_method_prunes_a_resnet_by_its_groups() {
    use crate::model::graph::{presets, tests::shrinks_to_the_masked_function};
    let g = Graph::new(&[1, 8, 8], &presets::resnet(4, 2, 1, &[1, 8, 8]), 3).unwrap();
    let mut rng = Rng::new(21);
    let mut p = g.init(&mut rng);
    for q in p.0.iter_mut().filter(|q| q.name.starts_with("bn")) {
        let var = q.name.ends_with("running_var");
        q.data
            .iter_mut()
            .for_each(|v| *v = rng.uniform_f32(0.5, 1.5) * if var { 1.0 } else { 0.8 });
    }
    let mut grads = p.clone();
    grads.0.iter_mut().for_each(|t| {
        t.data
            .iter_mut()
            .for_each(|v| *v = rng.uniform_f32(-1.0, 1.0))
    });
    let layers = g.layers();
    // conv1 (stem), conv2, conv3 (block 1), conv4, conv5, conv6 (block 2, conv6 its 1×1
    // projection), fc1: the stem and block 1's second conv are one group, block 2's second conv
    // and its projection another.
    let groups: Vec<Vec<&str>> = layers
        .iter()
        .filter(|l| l.unit_leader.is_none())
        .map(|l| {
            std::iter::once(l.name.as_str())
                .chain(l.coupled.iter().map(|c| c.name.as_str()))
                .collect()
        })
        .collect();
    assert_eq!(
        groups,
        [
            vec!["conv1", "conv3"],
            vec!["conv2"],
            vec!["conv4"],
            vec!["conv5", "conv6"],
            vec!["fc1"]
        ]
    );
    let spec = crate::config::parse("name: t\n", "t", &[]).unwrap().prune;
    let norms = unit_norms_of(&p, &layers);
    for (case, kind) in MethodKind::ALL.into_iter().enumerate() {
        let method = build(kind, &spec);
        let mut ctx = ScoreContext {
            grads: Some(&grads),
            input_norms: Some(&norms),
            ..ScoreContext::plain(&g, &p, &layers, Rng::new(3))
        };
        let s = method.scores(&mut ctx).unwrap();
        let c = MaskContext::one_shot(&g, &p, &layers, TauUnit::Quantile, Scope::Layer);
        let masks = method.masks(&c, &s, 0.5).unwrap();
        let sp = masks.sparsity(&layers);
        assert!(sp > 0.2 && sp < 0.9, "{kind:?}: sparsity {sp}");
        let out = layers.last().unwrap();
        assert!(masks.0[out.bias].iter().all(|k| *k), "{kind:?}");
        // `combined` removes units too (after magnitude), by the same groups.
        let structured = matches!(kind, MethodKind::Importance | MethodKind::Combined);
        if structured {
            let mut removed = 0;
            for l in layers
                .iter()
                .filter(|l| l.unit_leader.is_none() && !l.is_output)
            {
                for u in 0..l.units {
                    let gone = !masks.0[l.bias][u];
                    removed += gone as usize;
                    for c in &l.coupled {
                        assert_eq!(!masks.0[c.bias][u], gone, "{kind:?} {} {u}", c.name);
                        let w = &masks.0[c.weight];
                        let row = w.len() / l.units;
                        if gone {
                            assert!(w[u * row..(u + 1) * row].iter().all(|k| !k));
                        }
                    }
                    for &q in &l.unit_params {
                        assert_eq!(!masks.0[q][u], gone, "{kind:?} {} {u}", p.0[q].name);
                    }
                }
            }
            assert!(removed > 0, "{kind:?} removed no channel");
        }
        let shrank = shrinks_to_the_masked_function(&g, &p, &masks, case as u64);
        assert_eq!(shrank, structured, "{kind:?}");
    }
}
