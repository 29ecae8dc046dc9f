use super::*;
use crate::config::{Activation, OptimizerKind};
use crate::data::standardize::Standardizer;
use crate::model::graph::Graph;
use crate::model::testing;

fn spec(opt: OptimizerKind, lr: f64, epochs: usize) -> TrainSpec {
    TrainSpec {
        optimizer: opt,
        lr,
        momentum: 0.9,
        weight_decay: 1e-4,
        betas: [0.9, 0.999],
        epochs,
        batch_size: 16,
        lr_schedule: crate::train::lr::LrSchedule::Constant,
    }
}

fn iris() -> (Table, Graph) {
    let d = crate::data::builtin::load(crate::config::BuiltinName::Iris).unwrap();
    let t = Standardizer::fit(&d.pool).apply(&d.pool);
    (t, testing::mlp(4, &[16], 3, Activation::Relu))
}

#[test]
fn sgd_and_adamw_learn_iris() {
    let (t, m) = iris();
    let data = HostData::from(t.clone());
    for (opt, lr) in [(OptimizerKind::Sgd, 0.05), (OptimizerKind::Adamw, 0.01)] {
        let mut rng = Rng::new(1);
        let mut p = m.init(&mut rng);
        let before = evaluate(&m, &p, &data).unwrap();
        let log = fit(
            &m,
            &mut p,
            None,
            &data,
            &spec(opt, lr, 30),
            Budget::new(30, lr),
            &mut rng,
        )
        .unwrap();
        let after = evaluate(&m, &p, &data).unwrap();
        assert!(!log.diverged);
        assert_eq!(log.steps, 30 * 10); // 150 rows / 16 per batch = 10 batches
        assert!(after.acc >= 0.95, "{opt:?}: {after:?}");
        assert!(after.loss < before.loss);
    }
}

#[test]
fn masked_weights_stay_exactly_zero_and_unmasked_move() {
    let (t, m) = iris();
    let data = HostData::from(t.clone());
    for opt in [OptimizerKind::Sgd, OptimizerKind::Adamw] {
        let mut rng = Rng::new(4);
        let p0 = m.init(&mut rng);
        // Mask every third weight of each weight tensor; keep biases.
        let mut masks = Masks::dense(&p0);
        for (i, p) in p0.0.iter().enumerate() {
            if p.kind == crate::model::ParamKind::Weight {
                for (j, k) in masks.0[i].iter_mut().enumerate() {
                    *k = j % 3 != 0;
                }
            }
        }
        let mut p = p0.clone();
        // 5 epochs x 10 batches = 50 steps.
        let s = spec(opt, 0.05, 5);
        let log = fit(
            &m,
            &mut p,
            Some(&masks),
            &data,
            &s,
            Budget::new(5, 0.05),
            &mut rng,
        )
        .unwrap();
        assert_eq!(log.steps, 50);
        for ((after, before), mk) in p.0.iter().zip(&p0.0).zip(&masks.0) {
            for ((a, b), k) in after.data.iter().zip(&before.data).zip(mk) {
                if *k {
                    assert_ne!(a, b, "{opt:?}: unmasked {} did not move", after.name);
                } else {
                    assert_eq!(
                        a.to_bits(),
                        0f32.to_bits(),
                        "{opt:?}: {} regrew",
                        after.name
                    );
                }
            }
        }
    }
}

#[test]
fn optimizer_state_is_zeroed_under_the_mask() {
    let mut w = Params(vec![crate::model::Param {
        name: "w".into(),
        shape: vec![3],
        kind: crate::model::ParamKind::Weight,
        data: vec![1.0, 2.0, 3.0],
    }]);
    let g = vec![vec![0.5f32, 0.5, 0.5]];
    let s = spec(OptimizerKind::Sgd, 0.1, 1);
    let mut opt = optim::Optimizer::new(&s, 0.1, &[3]);
    let mask = vec![vec![true, false, true]];
    opt.step(&mut w, &g, Some(&mask)).unwrap();
    let v = &w.0[0].data;
    // w - lr * (g + wd*w): 1 - 0.1*(0.5 + 1e-4) = 0.94999
    assert!((v[0] - 0.94999).abs() < 1e-6, "{v:?}");
    assert_eq!(v[1], 0.0);
    assert_eq!(opt.first_moments()[0][1], 0.0);
    assert!((opt.first_moments()[0][2] - (0.5 + 3e-4)).abs() < 1e-7);
}

#[test]
fn training_is_bit_reproducible() {
    let (t, m) = iris();
    let data = HostData::from(t.clone());
    let run = || {
        let mut rng = Rng::new(11);
        let mut p = m.init(&mut rng);
        let s = spec(OptimizerKind::Adamw, 0.01, 3);
        fit(&m, &mut p, None, &data, &s, Budget::new(3, 0.01), &mut rng).unwrap();
        p
    };
    assert_eq!(run(), run());
}

/// The schedule sets each epoch's rate: epoch 0 always runs at the base rate, so one epoch of a
/// step schedule equals one constant epoch bit for bit; the second (at γ·lr) does not; a cosine
/// schedule whose floor is the base rate is constant.
#[test]
fn lr_schedule_sets_each_epochs_rate() {
    use crate::train::lr::LrSchedule;
    let (t, m) = iris();
    let data = HostData::from(t.clone());
    let train = |schedule: LrSchedule, epochs: usize| {
        let mut rng = Rng::new(5);
        let mut p = m.init(&mut rng);
        let s = TrainSpec {
            lr_schedule: schedule,
            ..spec(OptimizerKind::Sgd, 0.05, epochs)
        };
        fit(
            &m,
            &mut p,
            None,
            &data,
            &s,
            Budget::new(epochs, 0.05),
            &mut rng,
        )
        .unwrap();
        p
    };
    let step = LrSchedule::Step {
        every: 1,
        gamma: 0.1,
    };
    assert_eq!(train(step.clone(), 1), train(LrSchedule::Constant, 1));
    assert_ne!(train(step, 2), train(LrSchedule::Constant, 2));
    assert_eq!(
        train(LrSchedule::Cosine { min_scale: 1.0 }, 3),
        train(LrSchedule::Constant, 3)
    );
}

#[test]
fn snapshot_holds_the_weights_after_epoch_k() {
    let (t, m) = iris();
    let data = HostData::from(t.clone());
    let s = spec(OptimizerKind::Sgd, 0.05, 5);
    let run = |epochs: usize, snap: Option<usize>| {
        let mut rng = Rng::new(21);
        let mut p = m.init(&mut rng);
        let init = p.clone();
        let mut b = Budget::new(epochs, 0.05);
        b.snapshot_epoch = snap;
        let log = fit(&m, &mut p, None, &data, &s, b, &mut rng).unwrap();
        (init, p, log.snapshot)
    };
    let (init, _, snap0) = run(5, Some(0));
    assert_eq!(snap0.unwrap(), init, "epoch 0 is the initialisation");
    let (_, after2, _) = run(2, None);
    let (_, after5, snap2) = run(5, Some(2));
    assert_eq!(
        snap2.unwrap(),
        after2,
        "snapshot equals a 2-epoch run, bit for bit"
    );
    assert_ne!(after5, after2);
    let (_, _, none) = run(5, None);
    assert!(none.is_none());
}

/// Random parameters and a batch for an MLP of `widths`.
fn mlp_case(act: Activation, seed: u64) -> (Graph, Params, Vec<f32>, Vec<u32>) {
    let m = testing::mlp(7, &[5, 4], 3, act);
    let mut rng = Rng::new(seed);
    let p = m.init(&mut rng);
    let rows = 9;
    let x = (0..rows * 7).map(|_| rng.uniform_f32(-2.0, 2.0)).collect();
    let y = (0..rows).map(|_| rng.below(3) as u32).collect();
    (m, p, x, y)
}

#[test]
fn mlp_engine_matches_candle_autograd() {
    use engine::{CandleEngine, Engine};
    for act in [Activation::Relu, Activation::Tanh] {
        for seed in 0..4 {
            let (m, p, x, y) = mlp_case(act, seed);
            let (mut g_host, mut g_candle) = (zeros_like(&p), zeros_like(&p));
            // The MLP graph's host engine; odd seeds split its matmuls over 3 threads.
            let mut fast = m.host_engine(1 + 2 * (seed as usize % 2)).unwrap();
            let mut slow = CandleEngine::new(&m);
            let l_host = fast.loss_and_grads(&p, &x, &y, &mut g_host).unwrap();
            let l_candle = slow.loss_and_grads(&p, &x, &y, &mut g_candle).unwrap();
            assert!(
                (l_host - l_candle).abs() < 1e-5,
                "{act:?}: {l_host} vs {l_candle}"
            );
            for (a, b) in g_host.iter().flatten().zip(g_candle.iter().flatten()) {
                assert!((a - b).abs() < 1e-5, "{act:?} seed {seed}: grad {a} vs {b}");
            }
            assert!(g_host.iter().flatten().any(|g| g.abs() > 1e-3));
            let (e_host, e_candle) = (
                fast.eval(&p, &x, &y).unwrap(),
                slow.eval(&p, &x, &y).unwrap(),
            );
            assert!((e_host.0 - e_candle.0).abs() < 1e-4);
            assert_eq!(e_host.1, e_candle.1);
        }
    }
}

#[test]
fn mlp_engine_loss_is_hand_computed_and_nan_propagates() {
    // One layer, 2 inputs → 2 classes, zero weights and bias [0, ln 3]: softmax = [1/4, 3/4].
    let m = testing::mlp(2, &[], 2, Activation::Relu);
    let mut ws = m.init(&mut Rng::new(0));
    ws.0[0].data = vec![0.0; 4];
    ws.0[1].data = vec![0.0, 3f32.ln()];
    let mut g = zeros_like(&ws);
    let mut e = m.host_engine(1).unwrap();
    let loss = e.loss_and_grads(&ws, &[1.0, 2.0], &[0], &mut g).unwrap();
    assert!((loss - 4f32.ln()).abs() < 1e-6, "−ln(1/4) = {loss}");
    // d/db = softmax − one-hot = [−3/4, 3/4]; d/dW = that ⊗ x.
    let want_b = [-0.75, 0.75];
    let want_w = [-0.75, -1.5, 0.75, 1.5];
    for (a, b) in g[1].iter().zip(want_b).chain(g[0].iter().zip(want_w)) {
        assert!((a - b).abs() < 1e-6, "{g:?}");
    }
    assert_eq!(e.eval(&ws, &[1.0, 2.0], &[1]).unwrap().1, 1);
    let mut nan = ws.clone();
    nan.0[0].data[0] = f32::NAN;
    let loss = e.loss_and_grads(&nan, &[1.0, 2.0], &[0], &mut g).unwrap();
    assert!(loss.is_nan() && g[0][1].is_nan());
    assert!(e.loss_and_grads(&ws, &[1.0, 2.0], &[2], &mut g).is_err());
}

#[test]
fn mlp_engine_and_candle_train_to_the_same_weights() {
    // 20 SGD-momentum steps with a mask: the two engines' sums differ only in rounding order.
    let (t, m) = iris();
    let data = HostData::from(t.clone());
    let mut rng = Rng::new(5);
    let p0 = m.init(&mut rng);
    let mut masks = Masks::dense(&p0);
    masks.0[0][..20].fill(false);
    let s = spec(OptimizerKind::Sgd, 0.05, 2);
    let mut fast = p0.clone();
    fit(
        &m,
        &mut fast,
        Some(&masks),
        &data,
        &s,
        Budget::new(2, 0.05),
        &mut Rng::new(9),
    )
    .unwrap();
    // The same loop and optimizer, with candle's autograd computing the gradients.
    let mut slow = p0.clone();
    fit_with(
        Box::new(engine::CandleEngine::new(&m)),
        &mut slow,
        Some(&masks),
        &data,
        &s,
        Budget::new(2, 0.05),
        &mut Rng::new(9),
    )
    .unwrap();
    for (a, b) in fast.0.iter().zip(&slow.0) {
        for (x, y) in a.data.iter().zip(&b.data) {
            assert!((x - y).abs() < 1e-4, "{}: {x} vs {y}", a.name);
        }
    }
    assert!(fast.0[0].data[..20].iter().all(|v| *v == 0.0));
    assert_ne!(fast, p0);
}
