use super::*;
use crate::config::{Activation, OptimizerKind};
use crate::data::standardize::Standardizer;
use crate::model::mlp::Mlp;

fn spec(opt: OptimizerKind, lr: f64, epochs: usize) -> TrainSpec {
    TrainSpec {
        optimizer: opt,
        lr,
        momentum: 0.9,
        weight_decay: 1e-4,
        betas: [0.9, 0.999],
        epochs,
        batch_size: 16,
    }
}

fn iris() -> (Table, Mlp) {
    let d = crate::data::builtin::load(crate::config::BuiltinName::Iris).unwrap();
    let t = Standardizer::fit(&d.pool).apply(&d.pool);
    (t, Mlp::new(4, &[16], 3, Activation::Relu))
}

#[test]
fn sgd_and_adamw_learn_iris() {
    let (t, m) = iris();
    let data = TensorData::new(&t).unwrap();
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
    let data = TensorData::new(&t).unwrap();
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
    use candle_core::Var;
    let w = Var::from_slice(&[1.0f32, 2.0, 3.0], 3, &Device::Cpu).unwrap();
    let g = Tensor::from_slice(&[0.5f32, 0.5, 0.5], 3, &Device::Cpu).unwrap();
    let s = spec(OptimizerKind::Sgd, 0.1, 1);
    let mut opt = optim::Optimizer::new(&s, 0.1, &[3]);
    let mask = vec![vec![true, false, true]];
    opt.step(
        std::slice::from_ref(&w),
        std::slice::from_ref(&g),
        Some(&mask),
    )
    .unwrap();
    let v = w.as_tensor().to_vec1::<f32>().unwrap();
    // w - lr * (g + wd*w): 1 - 0.1*(0.5 + 1e-4) = 0.94999
    assert!((v[0] - 0.94999).abs() < 1e-6, "{v:?}");
    assert_eq!(v[1], 0.0);
    assert_eq!(opt.first_moments()[0][1], 0.0);
    assert!((opt.first_moments()[0][2] - (0.5 + 3e-4)).abs() < 1e-7);
}

#[test]
fn training_is_bit_reproducible() {
    let (t, m) = iris();
    let data = TensorData::new(&t).unwrap();
    let run = || {
        let mut rng = Rng::new(11);
        let mut p = m.init(&mut rng);
        let s = spec(OptimizerKind::Adamw, 0.01, 3);
        fit(&m, &mut p, None, &data, &s, Budget::new(3, 0.01), &mut rng).unwrap();
        p
    };
    assert_eq!(run(), run());
}

#[test]
fn snapshot_holds_the_weights_after_epoch_k() {
    let (t, m) = iris();
    let data = TensorData::new(&t).unwrap();
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
