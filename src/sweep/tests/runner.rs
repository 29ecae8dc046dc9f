//! The runner's checks that need crate-private parts: a collapsed refit model is flagged from
//! its own training rows, and a `candle_nn` module computes what the same network written as a
//! layer list computes, then sweeps deterministically. (The runner through the binary:
//! `tests/suite/runner.rs`.)

use super::{fold_model, TINY};

/// A model whose training failed without a NaN — here all weights zero, so it predicts one
/// class — is flagged from its own training rows; the trained model is not.
#[test]
fn a_collapsed_refit_is_flagged_without_the_test_split() {
    let (_, prep, t) = fold_model(TINY, 0);
    let arch = prep.arch.as_ref();
    let val = t.validation.unwrap().acc;
    assert!(val > 0.8, "{val}");
    let ok = crate::sweep::refit_check::warning(arch, &t.params, &t.train_data, val).unwrap();
    assert_eq!(ok, None);
    let mut dead = t.params.clone();
    for p in &mut dead.0 {
        p.data.fill(0.0);
    }
    let w = crate::sweep::refit_check::warning(arch, &dead, &t.train_data, val)
        .unwrap()
        .expect("a one-class model is flagged");
    assert!(w.contains("not trustworthy"), "{w}");
}

/// A `candle_nn` module swept through the library (`Experiment::with_model`): it computes what
/// the same network written as a layer list computes, the sweep is deterministic, `importance`
/// removes whole channels and neurons, and its exported card says how it was built.
#[test]
fn a_candle_nn_module_sweeps_through_the_library() {
    use crate::{Prunable, UserModel};
    use candle_core::{Device, Module, Tensor};
    use candle_nn::{Conv2dConfig, VarBuilder};

    struct Net(candle_nn::Conv2d, candle_nn::Linear, candle_nn::Linear);
    impl Module for Net {
        fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
            let h = x.reshape((x.dim(0)?, 1, 8, 8))?;
            let h = self.0.forward(&h)?.relu()?.avg_pool2d(2)?.flatten_from(1)?;
            self.2.forward(&self.1.forward(&h)?.relu()?)
        }
    }
    fn build(vb: VarBuilder) -> candle_core::Result<Box<dyn Module + Send + Sync>> {
        let c = Conv2dConfig {
            padding: 1,
            ..Default::default()
        };
        Ok(Box::new(Net(
            candle_nn::conv2d(1, 4, 3, c, vb.pp("conv1"))?,
            candle_nn::linear(64, 12, vb.pp("fc1"))?,
            candle_nn::linear(12, 10, vb.pp("fc2"))?,
        )))
    }
    let layer = |name: &str, next: Option<&str>, positions| Prunable {
        name: name.into(),
        weight: format!("{name}.weight"),
        bias: format!("{name}.bias"),
        next: next.map(|n| format!("{n}.weight")),
        positions,
    };
    let structure = vec![
        layer("conv1", Some("fc1"), 64),
        layer("fc1", Some("fc2"), 1),
        layer("fc2", None, 1),
    ];
    let user = UserModel::candle("net-v1", build, structure.clone());

    // The same network as a layer list: same parameters (names, shapes, seeded values), same
    // logits to 1e-5.
    let yaml = "name: cm
seed: 4
data: {source: builtin, name: digits}
model:
  input: [1, 8, 8]
  layers:
    - {kind: conv2d, out: 4, kernel: 3, padding: 1}
    - {kind: relu}
    - {kind: avg_pool, size: 2}
    - {kind: flatten}
    - {kind: linear, out: 12}
    - {kind: relu}
    - {kind: linear}
train: {optimizer: sgd, lr: 0.1, momentum: 0.9, epochs: 3, batch_size: 32}
prune:
  methods: [importance, magnitude]
  tau: {unit: quantile, values: [0.25, 0.5]}
cv: {folds: 2, select: [best]}
";
    let graph_exp = crate::config::parse(yaml, "cm.yaml", &[]).unwrap();
    let as_graph = crate::model::build(&graph_exp.model, 64, 10).unwrap();
    let as_candle = (user.module().build)(64, 10).unwrap();
    let mut rng = crate::rng::Rng::new(11);
    let p = as_graph.init(&mut rng);
    assert_eq!(p, as_candle.init(&mut crate::rng::Rng::new(11)));
    assert_eq!(as_graph.layers(), as_candle.layers());
    let xs: Vec<f32> = (0..3 * 64)
        .map(|i| ((i * 37 % 19) as f32) / 10.0 - 0.9)
        .collect();
    let x = Tensor::from_slice(&xs, (3, 64), &Device::Cpu).unwrap();
    let ts = p.tensors().unwrap();
    let d: f32 = (as_graph.forward(&ts, &x).unwrap() - as_candle.forward(&ts, &x).unwrap())
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar()
        .unwrap();
    assert!(d < 1e-5, "{d}");
    // Wrong structure: named in the error.
    let mut wrong = structure.clone();
    wrong[0].next = Some("fc9.weight".into());
    let e = (UserModel::candle("bad", build, wrong).module().build)(64, 10)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("layer conv1: next weight `fc9.weight` is not a listed weight"),
        "{e}"
    );
    let e = (UserModel::candle("bad", build, structure[..2].to_vec())
        .module()
        .build)(64, 10)
    .err()
    .unwrap()
    .to_string();
    assert!(
        e.contains("parameter `fc2.bias` belongs to no listed layer"),
        "{e}"
    );

    // prune.ignore must name the module's layers: a file for the module names them; a
    // file whose model has other layers is refused on `with_model`.
    let parse_for = |prune: &str, model: &str| {
        crate::config::parse_with_model(
            &format!("name: m\ndata: {{source: builtin, name: digits}}\n{model}prune: {prune}\n"),
            "m.yaml",
            &[],
            user.clone(),
        )
    };
    let ok = parse_for("{ignore: [conv1]}", "").unwrap();
    assert_eq!(ok.prune.ignore, ["conv1"]);
    assert!(ok.to_yaml().contains("module: net-v1"));
    let e = parse_for("{ignore: [fc3]}", "").unwrap_err().to_string();
    assert!(
        e.contains("prune.ignore[0]") && e.contains("conv1, fc1, fc2"),
        "{e}"
    );
    let e = parse_for("{}", "model: {kind: mlp}\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("m.yaml: field `model`: the model is built by Rust code"),
        "{e}"
    );
    let mlp = crate::config::parse(
        "name: m\nmodel: {hidden: [8, 8]}\nprune: {ignore: [fc3]}\n",
        "m.yaml",
        &[],
    )
    .unwrap();
    let e = mlp.with_model(user.clone()).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert_eq!(
        e.to_string(),
        "prune.ignore[0]: \"fc3\" is not a prunable layer of the model (its prunable \
         layers: conv1, fc1, fc2)"
    );

    let exp = graph_exp.with_model(user).unwrap();
    let a = crate::sweep::run(&exp, &crate::sweep::RunOptions::default()).unwrap();
    let b = crate::sweep::run(
        &exp,
        &crate::sweep::RunOptions {
            jobs: 2,
            ..Default::default()
        },
    )
    .unwrap();
    // Every table but the measured times, byte for byte, with one job or two.
    let computed = |r: &crate::sweep::SweepResult| {
        let mut t = r.tables().unwrap();
        t.retain(|(name, _)| !matches!(*name, "timings.csv" | "speed.csv"));
        t
    };
    assert_eq!(computed(&a), computed(&b));
    let dense = a.selection.iter().find(|s| s.method.is_dense()).unwrap();
    assert!(dense.test_acc > 0.8, "{}", dense.test_acc);
    let imp = a
        .selection
        .iter()
        .find(|s| s.method == crate::config::MethodKind::Importance)
        .unwrap();
    assert!(imp.neurons_removed > 0 && imp.shrunk_params < dense.shrunk_params);
    assert!(
        exp.to_yaml().contains("module: net-v1"),
        "{}",
        exp.to_yaml()
    );
}
