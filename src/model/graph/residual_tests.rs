//! Batch normalisation, dropout and residual adds: values by hand, running statistics, shape
//! errors, the channel groups a residual add makes, autograd against finite differences, and
//! shrinking random residual graphs to the masked function.

use super::tests::{random_unit_masks, shrinks_to_the_masked_function};
use super::*;
use crate::model::{Architecture, Masks};
use crate::prune::{expand, Granularity};
use crate::rng::Rng;
use candle_core::{Device, Tensor, Var};

fn graph(input: &[usize], layers: &[LayerSpec], classes: usize) -> Graph {
    Graph::new(input, layers, classes).unwrap()
}

fn t2(rows: &[&[f32]]) -> Tensor {
    let flat: Vec<f32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
    Tensor::from_vec(flat, (rows.len(), rows[0].len()), &Device::Cpu).unwrap()
}

fn values(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1().unwrap()
}

fn close(a: &[f32], b: &[f32], tol: f32) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol)
}

/// `batch_norm → linear` on 2 features, the linear layer the identity: the logits are the
/// normalised features.
fn bn_then_identity() -> (Graph, Params) {
    let layers = [LayerSpec::batch_norm(), LayerSpec::linear(None)];
    let g = graph(&[2], &layers, 2);
    let mut p = g.init(&mut Rng::new(1));
    let names: Vec<&str> = p.0.iter().map(|q| q.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "bn1.weight",
            "bn1.bias",
            "bn1.running_mean",
            "bn1.running_var",
            "fc1.weight",
            "fc1.bias"
        ]
    );
    assert_eq!(p.0[2].kind, crate::model::ParamKind::Buffer);
    // Initial state: scale 1, shift 0, mean 0, variance 1.
    assert_eq!(
        [&p.0[0].data, &p.0[1].data, &p.0[2].data, &p.0[3].data],
        [
            &vec![1.0, 1.0],
            &vec![0.0; 2],
            &vec![0.0; 2],
            &vec![1.0, 1.0]
        ]
    );
    p.0[0].data = vec![2.0, 1.0];
    p.0[1].data = vec![0.5, 0.0];
    p.0[2].data = vec![1.0, 0.0];
    p.0[3].data = vec![3.0, 0.25];
    p.0[4].data = vec![1.0, 0.0, 0.0, 1.0];
    p.0[5].data = vec![0.0, 0.0];
    // Buffers are not parameters: 2 + 2 + 4 + 2.
    assert_eq!(p.count(), 10);
    (g, p)
}

#[test]
fn batch_norm_by_hand_in_both_modes() {
    let (g, p) = bn_then_identity();
    let ts = p.tensors().unwrap();
    // Evaluation: running statistics. (4 − 1)/√(3 + 1e-5)·2 + 0.5 and (1 − 0)/√(0.25 + 1e-5).
    let y = g.forward(&ts, &t2(&[&[4.0, 1.0]])).unwrap();
    let want = [
        3.0 / (3.0f32 + 1e-5).sqrt() * 2.0 + 0.5,
        1.0 / (0.25f32 + 1e-5).sqrt(),
    ];
    assert!(close(&values(&y), &want, 1e-5), "{:?}", values(&y));
    // Training: batch statistics of [[1, 0], [3, 2]]: means [2, 1], biased variances [1, 1].
    let (y, updates) = g
        .forward_train(&ts, &t2(&[&[1.0, 0.0], &[3.0, 2.0]]), None)
        .unwrap();
    let s = 1.0 / (1.0f32 + 1e-5).sqrt();
    let want = [-2.0 * s + 0.5, -s, 2.0 * s + 0.5, s];
    assert!(close(&values(&y), &want, 1e-5), "{:?}", values(&y));
    // Running statistics, momentum 0.1, the variance unbiased (×2/1): mean 0.9·[1, 0] +
    // 0.1·[2, 1], variance 0.9·[3, 0.25] + 0.1·[2, 2].
    assert_eq!(updates.len(), 2);
    assert_eq!(updates[0].0, 2);
    assert!(close(&values(&updates[0].1), &[1.1, 0.1], 1e-6));
    assert_eq!(updates[1].0, 3);
    assert!(close(&values(&updates[1].1), &[2.9, 0.425], 1e-6));
}

/// Training writes the running statistics of each batch, whatever the optimizer does with its
/// weight decay, while the trained parameters move by their gradients.
#[test]
fn fit_updates_running_statistics() {
    let (g, mut p) = bn_then_identity();
    let spec = crate::config::TrainSpec {
        optimizer: crate::config::OptimizerKind::Sgd,
        lr: 0.1,
        momentum: 0.9,
        weight_decay: 0.5,
        betas: [0.9, 0.999],
        epochs: 1,
        batch_size: 2,
        lr_schedule: crate::train::lr::LrSchedule::Constant,
    };
    let data = crate::train::HostData::from(crate::data::Table {
        x: vec![1.0, 0.0, 3.0, 2.0],
        y: vec![0, 1],
        n: 2,
        d: 2,
        classes: 2,
    });
    let before = p.clone();
    crate::train::fit(
        &g,
        &mut p,
        None,
        &data,
        &spec,
        crate::train::Budget::new(1, 0.1),
        &mut Rng::new(3),
    )
    .unwrap();
    // The scale was trained; the running statistics moved by the one batch (its rows in
    // either order give the same statistics).
    assert_ne!(p.0[0], before.0[0]);
    assert!(close(&p.0[2].data, &[1.1, 0.1], 1e-6), "{:?}", p.0[2].data);
    assert!(
        close(&p.0[3].data, &[2.9, 0.425], 1e-6),
        "{:?}",
        p.0[3].data
    );
}

#[test]
fn dropout_is_off_at_evaluation_and_scales_survivors_in_training() {
    let layers = [LayerSpec::dropout(0.25), LayerSpec::linear(None)];
    let g = graph(&[400], &layers, 400);
    let mut p = g.init(&mut Rng::new(1));
    // fc1 the identity, so the logits are what the dropout lets through.
    p.0[0].data = (0..400 * 400)
        .map(|i| if i % 401 == 0 { 1.0 } else { 0.0 })
        .collect();
    p.0[1].data = vec![0.0; 400];
    let ts = p.tensors().unwrap();
    let x = Tensor::ones((1, 400), candle_core::DType::F32, &Device::Cpu).unwrap();
    assert_eq!(values(&g.forward(&ts, &x).unwrap()), vec![1.0; 400]);
    // Without a noise stream (gradients for scoring), dropout is off too.
    assert_eq!(
        values(&g.forward_train(&ts, &x, None).unwrap().0),
        vec![1.0; 400]
    );
    let mut noise = Rng::new(9);
    let y = values(&g.forward_train(&ts, &x, Some(&mut noise)).unwrap().0);
    let zeros = y.iter().filter(|v| **v == 0.0).count();
    assert!(y
        .iter()
        .all(|v| *v == 0.0 || (*v - 1.0 / 0.75).abs() < 1e-6));
    // 100 expected, binomial sd ≈ 8.7.
    assert!((60..140).contains(&zeros), "{zeros}");
}

#[test]
fn residual_shape_errors_name_the_layer_and_both_shapes() {
    let conv = |out, stride| LayerSpec::conv2d(out, 3, Some(stride), Some(1));
    let head = [LayerSpec::flatten(), LayerSpec::linear(None)];
    // The body doubles the channels, the identity shortcut does not.
    let mut layers = vec![conv(2, 1), LayerSpec::residual(vec![conv(4, 1)], vec![])];
    layers.extend(head.clone());
    let e = Graph::new(&[1, 8, 8], &layers, 3).unwrap_err();
    assert_eq!(e.field(), "model.layers[1]");
    assert!(
        e.message.contains("[4, 8, 8]") && e.message.contains("[2, 8, 8]"),
        "{}",
        e.message
    );
    assert!(e.message.contains("residual"), "{}", e.message);
    // A shortcut that halves the maps while the body does not.
    layers[1] = LayerSpec::residual(vec![conv(2, 1)], vec![conv(2, 2)]);
    let e = Graph::new(&[1, 8, 8], &layers, 3).unwrap_err();
    assert!(
        e.message.contains("[2, 8, 8]") && e.message.contains("[2, 4, 4]"),
        "{}",
        e.message
    );
    // An error inside a branch names its place.
    layers[1] = LayerSpec::residual(vec![LayerSpec::flatten(), LayerSpec::flatten()], vec![]);
    let e = Graph::new(&[1, 8, 8], &layers, 3).unwrap_err();
    assert_eq!(e.field(), "model.layers[1].body[1]");
    assert!(
        e.message.starts_with("layer 1.body[1] (flatten)"),
        "{}",
        e.message
    );
}

/// ResNet with 2 stages of 2 blocks at width 2 on 1×8×8: the stem and every identity block's
/// second convolution write one channel group; the projection shortcut joins the second stage's
/// group; every block's first convolution is a group of its own.
#[test]
fn resnet_groups_follow_the_residual_adds() {
    let g = graph(&[1, 8, 8], &presets::resnet(2, 2, 2, &[1, 8, 8]), 3);
    let layers = g.layers();
    let names: Vec<&str> = layers.iter().map(|l| l.name.as_str()).collect();
    // Stem conv1; stage 1: conv2-conv3, conv4-conv5; stage 2: conv6-conv7 (+ shortcut conv8),
    // conv9-conv10; fc1.
    assert_eq!(
        names,
        [
            "conv1", "conv2", "conv3", "conv4", "conv5", "conv6", "conv7", "conv8", "conv9",
            "conv10", "fc1"
        ]
    );
    let by = |n: &str| layers.iter().position(|l| l.name == n).unwrap();
    let p = g.init(&mut Rng::new(0));
    let param = |n: &str| p.0.iter().position(|q| q.name == n).unwrap();
    let stem = &layers[by("conv1")];
    let coupled: Vec<&str> = stem.coupled.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(coupled, ["conv3", "conv5"]);
    let bn = |i: usize| {
        [
            param(&format!("bn{i}.weight")),
            param(&format!("bn{i}.bias")),
        ]
    };
    assert_eq!(stem.unit_params, [bn(1), bn(3), bn(5)].concat());
    let readers = [
        "conv2.weight",
        "conv4.weight",
        "conv6.weight",
        "conv8.weight",
    ]
    .map(param);
    assert_eq!(stem.next, readers);
    assert_eq!(layers[by("conv3")].unit_leader, Some(0));
    assert_eq!(layers[by("conv5")].unit_leader, Some(0));
    let second = &layers[by("conv7")];
    let coupled: Vec<&str> = second.coupled.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(coupled, ["conv8", "conv10"]);
    assert_eq!(second.next, [param("conv9.weight"), param("fc1.weight")]);
    let inner = &layers[by("conv2")];
    assert!(inner.coupled.is_empty() && inner.unit_leader.is_none());
    assert_eq!(inner.next, [param("conv3.weight")]);
    assert_eq!(inner.unit_params, bn(2));
    assert!(layers[by("fc1")].is_output);
    assert!(layers.iter().filter(|l| l.is_output).count() == 1);
    assert_eq!(
        g.describe(),
        "graph 1x8x8 conv3x3:2/p1-bn-relu-res(conv3x3:2/p1-bn-relu-conv3x3:2/p1-bn|id)-relu-\
         res(conv3x3:2/p1-bn-relu-conv3x3:2/p1-bn|id)-relu-\
         res(conv3x3:4/s2/p1-bn-relu-conv3x3:4/p1-bn|conv1x1:4/s2-bn)-relu-\
         res(conv3x3:4/p1-bn-relu-conv3x3:4/p1-bn|id)-relu-avgpool4-flatten-fc:3"
    );
    // Parameters: convolutions and biases, batch-norm scales and shifts, fc; buffers left out.
    let convs = [
        (1, 2),
        (2, 2),
        (2, 2),
        (2, 2),
        (2, 2),
        (2, 4),
        (4, 4),
        (2, 4),
        (4, 4),
        (4, 4),
    ];
    let conv_params: usize = convs
        .iter()
        .enumerate()
        .map(|(i, &(cin, cout))| cin * cout * if i == 7 { 1 } else { 9 } + cout)
        .sum();
    let bn_params: usize = [2, 2, 2, 2, 2, 4, 4, 4, 4, 4].iter().map(|c| 2 * c).sum();
    assert_eq!(p.count(), conv_params + bn_params + 4 * 3 + 3);
}

/// Removing a channel of the stem's group removes it from the stem, from both identity blocks'
/// second convolutions, from their batch normalisations, and from every reader's inputs.
#[test]
fn a_group_channel_goes_everywhere_at_once() {
    let g = graph(&[1, 8, 8], &presets::resnet(2, 2, 2, &[1, 8, 8]), 3);
    let p = g.init(&mut Rng::new(0));
    let layers = g.layers();
    let mut masks = Masks::dense(&p);
    expand(
        Granularity::Unit,
        &layers[0],
        &[false, true],
        &p,
        &mut masks,
    );
    let param = |n: &str| p.0.iter().position(|q| q.name == n).unwrap();
    for w in ["conv1", "conv3", "conv5"] {
        let m = &masks.0[param(&format!("{w}.weight"))];
        let row = m.len() / 2;
        assert!(
            m[..row].iter().all(|k| *k) && m[row..].iter().all(|k| !k),
            "{w}"
        );
        assert_eq!(masks.0[param(&format!("{w}.bias"))], [true, false]);
    }
    for b in ["bn1", "bn3", "bn5"] {
        assert_eq!(masks.0[param(&format!("{b}.weight"))], [true, false], "{b}");
        assert_eq!(masks.0[param(&format!("{b}.bias"))], [true, false], "{b}");
        assert_eq!(
            masks.0[param(&format!("{b}.running_mean"))],
            [true, true],
            "{b}"
        );
    }
    // conv6 [4, 2, 3, 3] and the 1×1 shortcut conv8 [4, 2, 1, 1] lose input channel 1.
    for (w, inner) in [("conv2", 9), ("conv4", 9), ("conv6", 9), ("conv8", 1)] {
        let m = &masks.0[param(&format!("{w}.weight"))];
        for (i, k) in m.iter().enumerate() {
            assert_eq!(*k, (i / inner) % 2 == 0, "{w}[{i}]");
        }
    }
    assert_eq!(masks.neurons_removed(&layers), 1);
    // Cut out: every tensor of the group loses a row.
    let (small, sp) = shrink::shrink(&g, &p, &masks);
    assert_eq!(sp.0[param("conv1.weight")].shape, [1, 1, 3, 3]);
    assert_eq!(sp.0[param("conv5.weight")].shape, [1, 2, 3, 3]);
    assert_eq!(sp.0[param("bn5.running_var")].shape, [1]);
    assert_eq!(sp.0[param("conv8.weight")].shape, [4, 1, 1, 1]);
    assert_eq!(small.init(&mut Rng::new(0)).count(), sp.count());
    assert_eq!(
        p.count() - sp.count(),
        9 + 1 + 2 * (2 * 9 + 1) + 3 * 2 + 2 * 2 * 9 + 4 * 9 + 4
    );
}

/// `layers` with every ReLU a tanh (smooth, so that finite differences see no kink).
fn smooth(layers: Vec<LayerSpec>) -> Vec<LayerSpec> {
    layers
        .into_iter()
        .map(|l| match l {
            LayerSpec::Relu(_) => LayerSpec::tanh(),
            LayerSpec::Residual(r) => LayerSpec::residual(smooth(r.body), smooth(r.shortcut)),
            other => other,
        })
        .collect()
}

/// Autograd through batch normalisation (training mode) and residual adds agrees with central
/// finite differences of the loss, on the ResNet preset's layers (identity and projection
/// shortcuts, a stride-2 block, the global pool) with tanh for its ReLUs.
#[test]
fn autograd_through_batch_norm_and_residuals_matches_finite_differences() {
    let g = graph(&[1, 4, 4], &smooth(presets::resnet(2, 2, 1, &[1, 4, 4])), 3);
    let mut rng = Rng::new(5);
    let mut p = g.init(&mut rng);
    for q in
        p.0.iter_mut()
            .filter(|q| q.kind == crate::model::ParamKind::Bias)
    {
        q.data
            .iter_mut()
            .for_each(|v| *v += rng.uniform_f32(-0.3, 0.3));
    }
    let n = 5;
    let x: Vec<f32> = (0..n * 16).map(|_| rng.uniform_f32(-1.0, 1.0)).collect();
    let y: Vec<u32> = (0..n as u32).map(|i| i % 3).collect();
    let xt = Tensor::from_slice(&x, (n, 16), &Device::Cpu).unwrap();
    let yt = Tensor::from_slice(&y, n, &Device::Cpu).unwrap();
    let loss_of = |p: &Params| -> f64 {
        let (logits, _) = g.forward_train(&p.tensors().unwrap(), &xt, None).unwrap();
        candle_nn::loss::cross_entropy(&logits, &yt)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap() as f64
    };
    let vars: Vec<Var> =
        p.0.iter()
            .map(|q| Var::from_slice(&q.data, q.shape.as_slice(), &Device::Cpu).unwrap())
            .collect();
    let ts: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
    let (logits, _) = g.forward_train(&ts, &xt, None).unwrap();
    let grads = candle_nn::loss::cross_entropy(&logits, &yt)
        .unwrap()
        .backward()
        .unwrap();
    let mut checked = 0;
    for (i, q) in p.0.clone().iter().enumerate() {
        if q.kind == crate::model::ParamKind::Buffer {
            assert!(
                grads.get(vars[i].as_tensor()).is_none(),
                "{} has a gradient",
                q.name
            );
            continue;
        }
        let gv = values(grads.get(vars[i].as_tensor()).unwrap());
        for (j, &grad) in gv.iter().enumerate() {
            let h = 3e-3f32;
            let orig = p.0[i].data[j];
            p.0[i].data[j] = orig + h;
            let up = loss_of(&p);
            p.0[i].data[j] = orig - h;
            let down = loss_of(&p);
            p.0[i].data[j] = orig;
            let fd = (up - down) / (2.0 * h as f64);
            let tol = 2e-3 + 2e-2 * fd.abs();
            assert!(
                (fd - grad as f64).abs() < tol,
                "{}[{j}]: autograd {grad} vs {fd}",
                q.name,
            );
            checked += 1;
        }
    }
    assert_eq!(checked, p.count(), "every parameter checked");
}

/// A random residual graph: a stem convolution with or without batch normalisation, one or
/// two residual blocks (identity, or a projection with a random stride), dropout, a pooling,
/// and a head.
fn random_residual_graph(rng: &mut Rng) -> (Vec<usize>, Vec<LayerSpec>) {
    let conv =
        |out, kernel: usize, stride| LayerSpec::conv2d(out, kernel, Some(stride), Some(kernel / 2));
    let bn = || LayerSpec::batch_norm();
    let mut c = 2 + rng.below(3);
    let mut layers = vec![conv(c, 3, 1)];
    if rng.below(2) == 0 {
        layers.push(bn());
    }
    layers.push(LayerSpec::relu());
    for _ in 0..1 + rng.below(2) {
        let project = rng.below(2) == 0;
        let (out, stride) = if project {
            (2 + rng.below(4), 1 + rng.below(2))
        } else {
            (c, 1)
        };
        let mut body = vec![
            conv(2 + rng.below(3), 3, stride),
            bn(),
            LayerSpec::relu(),
            conv(out, 3, 1),
        ];
        if rng.below(2) == 0 {
            body.push(bn());
        }
        let shortcut = if project {
            vec![conv(out, 1, stride), bn()]
        } else {
            Vec::new()
        };
        layers.push(LayerSpec::residual(body, shortcut));
        layers.push(LayerSpec::relu());
        if rng.below(2) == 0 {
            layers.push(LayerSpec::dropout(0.5));
        }
        c = out;
    }
    layers.push(LayerSpec::avg_pool(2));
    layers.push(LayerSpec::flatten());
    if rng.below(2) == 0 {
        layers.push(LayerSpec::linear(Some(2 + rng.below(4))));
        layers.push(bn());
        layers.push(LayerSpec::relu());
    }
    layers.push(LayerSpec::linear(None));
    (
        vec![1 + rng.below(2), 6 + rng.below(3), 6 + rng.below(3)],
        layers,
    )
}

/// Shrinking residual graphs with batch normalisation (random running statistics, evaluation
/// mode): the smaller graph computes what the masked one does (to 1e-5) and its parameter count
/// is `shrunk_param_count`'s.
#[test]
fn shrunk_residual_graphs_compute_the_masked_function() {
    let mut rng = Rng::new(78);
    let mut shrank = 0;
    for case in 0..30 {
        let (input, layers) = random_residual_graph(&mut rng);
        let g = graph(&input, &layers, 3);
        let mut p = g.init(&mut rng);
        for q in p.0.iter_mut().filter(|q| q.name.starts_with("bn")) {
            let var = q.name.ends_with("running_var");
            q.data.iter_mut().for_each(|v| {
                *v = if var {
                    rng.uniform_f32(0.5, 2.0)
                } else {
                    rng.uniform_f32(-1.0, 1.0)
                }
            });
        }
        let masks = random_unit_masks(&g, &p, &mut rng);
        shrank += shrinks_to_the_masked_function(&g, &p, &masks, case) as usize;
    }
    assert!(shrank > 20, "{shrank}");
}
