use super::*;
use crate::model::{Architecture, Masks};
use crate::rng::Rng;
use crate::train::engine::{CandleEngine, Engine};
use candle_core::{Device, Tensor, Var};

fn graph(input: &[usize], layers: &[LayerSpec], classes: usize) -> Graph {
    Graph::new(input, layers, classes).unwrap()
}

fn rows(n: usize, d: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..n * d).map(|_| rng.uniform_f32(-1.0, 1.0)).collect()
}

fn tensor(x: &[f32], n: usize) -> Tensor {
    Tensor::from_slice(x, (n, x.len() / n), &Device::Cpu).unwrap()
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar()
        .unwrap()
}

#[test]
fn mlp_preset_is_the_mlp_it_replaces() {
    use crate::config::Activation;
    for act in [Activation::Relu, Activation::Tanh] {
        let g = graph(&[7], &presets::mlp(&[5, 4], act), 3);
        let m = crate::model::mlp::Mlp::new(7, &[5, 4], 3, act);
        assert_eq!(g.as_mlp(), Some(&m));
        assert_eq!(g.describe(), "mlp 7-5-4-3");
        let p = g.init(&mut Rng::new(3));
        assert_eq!(p, m.init(&mut Rng::new(3)));
        assert_eq!(g.layers(), m.layers());
        let x = tensor(&rows(4, 7, 1), 4);
        let ts = p.tensors().unwrap();
        // The same candle operations: bit-identical logits.
        let (a, b) = (g.forward(&ts, &x).unwrap(), m.forward(&ts, &x).unwrap());
        assert_eq!(a.to_vec2::<f32>().unwrap(), b.to_vec2::<f32>().unwrap());
        let (fa, fb) = (g.footprint(), m.footprint());
        assert_eq!(
            (fa.params, fa.activations_per_sample, fa.autograd),
            (fb.params, fb.activations_per_sample, fb.autograd)
        );
    }
    // GELU, or two activations in a row, is not the engine's MLP.
    let gelu = [
        LayerSpec::linear(Some(4)),
        LayerSpec::gelu(),
        LayerSpec::linear(None),
    ];
    assert!(graph(&[3], &gelu, 2).as_mlp().is_none());
    assert!(graph(&[3], &gelu, 2)
        .describe()
        .starts_with("graph 3 fc:4-gelu-fc:2"));
}

#[test]
fn lenet5_preset_is_lenet5() {
    let g = graph(&presets::LENET_INPUT, &presets::lenet5(), 10);
    let n = crate::model::lenet::LeNet5::new(10);
    assert_eq!(g.as_lenet5(), Some(&n));
    assert_eq!(g.describe(), n.describe());
    let p = g.init(&mut Rng::new(9));
    assert_eq!(p, n.init(&mut Rng::new(9)));
    assert_eq!(p.count(), 431_080);
    assert_eq!(g.layers(), n.layers());
    let x = tensor(&rows(3, 784, 2), 3);
    let ts = p.tensors().unwrap();
    let d = max_abs_diff(&g.forward(&ts, &x).unwrap(), &n.forward(&ts, &x).unwrap());
    assert!(d < 1e-5, "{d}");
    let (fa, fb) = (g.footprint(), n.footprint());
    assert_eq!(
        (fa.params, fa.activations_per_sample),
        (fb.params, fb.activations_per_sample)
    );
    // Trained on the conv engine, so not through autograd.
    assert!(!fa.autograd);
    // lenet300 is the 784-300-100-10 MLP.
    let l3 = graph(
        &[784],
        &presets::lenet300(crate::config::Activation::Relu),
        10,
    );
    assert_eq!(l3.describe(), "mlp 784-300-100-10");
    assert_eq!(l3.init(&mut Rng::new(0)).count(), 266_610);
}

/// The candle engine on the graph's forward pass and the graph's host engine agree on loss and
/// gradients (every preset that has one).
#[test]
fn host_engines_match_autograd_on_every_preset() {
    use crate::config::Activation;
    let cases: Vec<(Vec<usize>, Vec<LayerSpec>, usize)> = vec![
        (vec![7], presets::mlp(&[5, 4], Activation::Relu), 3),
        (vec![7], presets::mlp(&[6], Activation::Tanh), 4),
        (vec![784], presets::lenet300(Activation::Relu), 10),
        (presets::LENET_INPUT.to_vec(), presets::lenet5(), 10),
    ];
    for (k, (input, layers, classes)) in cases.into_iter().enumerate() {
        let g = graph(&input, &layers, classes);
        let p = g.init(&mut Rng::new(k as u64));
        let d = g.input_dim();
        let n = 5;
        let x = rows(n, d, 10 + k as u64);
        let y: Vec<u32> = (0..n as u32).map(|i| i % classes as u32).collect();
        let zeros = || {
            p.0.iter()
                .map(|q| vec![0f32; q.data.len()])
                .collect::<Vec<_>>()
        };
        let (mut gh, mut gc) = (zeros(), zeros());
        let mut host = g.host_engine(1).expect("presets with an engine");
        let lh = host.loss_and_grads(&p, &x, &y, &mut gh).unwrap();
        let lc = CandleEngine::new(&g)
            .loss_and_grads(&p, &x, &y, &mut gc)
            .unwrap();
        assert!(
            (lh - lc).abs() <= 1e-5 * lc.abs().max(1.0),
            "{k}: {lh} vs {lc}"
        );
        for ((a, b), q) in gh.iter().zip(&gc).zip(&p.0) {
            let scale = b.iter().fold(1e-3f32, |m, v| m.max(v.abs()));
            for (u, v) in a.iter().zip(b) {
                assert!(
                    (u - v).abs() <= 1e-5 * scale.max(1.0),
                    "{k} {}: {u} vs {v}",
                    q.name
                );
            }
        }
    }
}

/// A convolution with stride and padding, and average pooling, against candle's own `conv2d`
/// and `avg_pool2d`: values and gradients.
#[test]
fn conv_stride_padding_and_avg_pool_match_candle() {
    let layers = vec![
        LayerSpec::conv2d(4, 3, Some(2), Some(1)),
        LayerSpec::tanh(),
        LayerSpec::avg_pool(2),
        LayerSpec::conv2d(3, 2, None, Some(1)),
        LayerSpec::flatten(),
        LayerSpec::linear(None),
    ];
    let g = graph(&[2, 9, 9], &layers, 5);
    // 9 → conv s2 p1 k3 → 5 → avg 2 → 2 → conv k2 p1 → 3: 3·3·3 = 27 features.
    assert_eq!(g.nodes[4].output, vec![27]);
    let p = g.init(&mut Rng::new(4));
    let n = 3;
    let x = tensor(&rows(n, 2 * 81, 5), n);
    let vars: Vec<Var> = p
        .tensors()
        .unwrap()
        .into_iter()
        .map(|t| Var::from_tensor(&t).unwrap())
        .collect();
    let ts: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
    let ours = g.forward(&ts, &x).unwrap();
    let reference = {
        let h = x.reshape((n, 2, 9, 9)).unwrap();
        let h = h
            .conv2d(&ts[0], 1, 2, 1, 1)
            .unwrap()
            .broadcast_add(&ts[1].reshape((1, 4, 1, 1)).unwrap())
            .unwrap();
        let h = h.tanh().unwrap().avg_pool2d(2).unwrap();
        let h = h
            .conv2d(&ts[2], 1, 1, 1, 1)
            .unwrap()
            .broadcast_add(&ts[3].reshape((1, 3, 1, 1)).unwrap())
            .unwrap();
        let h = h.flatten_from(1).unwrap();
        h.matmul(&ts[4].t().unwrap())
            .unwrap()
            .broadcast_add(&ts[5])
            .unwrap()
    };
    assert!(max_abs_diff(&ours, &reference) < 1e-5);
    let w = Tensor::from_slice(&rows(n, 5, 6), (n, 5), &Device::Cpu).unwrap();
    let ga = (ours * &w).unwrap().sum_all().unwrap().backward().unwrap();
    let gb = (reference * &w)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    // Gradients: ours against central differences (in f64), and against candle's autograd of
    // its own conv2d after the pooling.
    let f = |ts: &[Tensor]| -> f64 {
        let ts64: Vec<Tensor> = ts
            .iter()
            .map(|t| t.to_dtype(candle_core::DType::F64).unwrap())
            .collect();
        let x = x.to_dtype(candle_core::DType::F64).unwrap();
        let w = w.to_dtype(candle_core::DType::F64).unwrap();
        (g.forward(&ts64, &x).unwrap() * &w)
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar()
            .unwrap()
    };
    for (i, v) in vars.iter().enumerate() {
        let (a, b) = (ga.get(v).unwrap(), gb.get(v).unwrap());
        let av = a.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        for j in [0, av.len() / 2, av.len() - 1] {
            let bump = |e: f64| -> f64 {
                let mut ts2 = ts.clone();
                let mut d = ts[i].flatten_all().unwrap().to_vec1::<f32>().unwrap();
                d[j] += e as f32;
                ts2[i] = Tensor::from_vec(d, ts[i].dims(), &Device::Cpu).unwrap();
                f(&ts2)
            };
            let numeric = (bump(1e-2) - bump(-1e-2)) / 2e-2;
            assert!(
                (numeric - av[j] as f64).abs() < 1e-3,
                "param {i}[{j}]: ours {} vs numeric {numeric}",
                av[j]
            );
        }
        // Before the pooling candle's autograd is not a reference: its avg_pool2d gradient is
        // wrong when the map side (5) is not a multiple of the window (checked here: ours
        // matches the central differences above, candle's differs by 0.2).
        if i >= 2 {
            assert!(max_abs_diff(a, b) < 1e-5, "param {i}");
        }
    }
}

/// Max pooling: the maximum of each window, and its gradient goes all to it (split among ties).
#[test]
fn max_pool_values_and_routed_gradient() {
    let layers = vec![
        LayerSpec::max_pool(2),
        LayerSpec::flatten(),
        LayerSpec::linear(Some(1)),
    ];
    let g = graph(&[1, 2, 4], &layers, 1);
    // One row: windows [1, 5; 2, 0] and [3, 3; 3, 3] (four tied).
    let x = Var::from_slice(&[1f32, 5., 3., 3., 2., 0., 3., 3.], (1, 8), &Device::Cpu).unwrap();
    let ts = vec![
        Tensor::new(&[[1f32, 10.]], &Device::Cpu).unwrap(),
        Tensor::new(&[0f32], &Device::Cpu).unwrap(),
    ];
    let y = g.forward(&ts, x.as_tensor()).unwrap();
    assert_eq!(y.to_vec2::<f32>().unwrap(), vec![vec![5.0 + 30.0]]);
    let grads = y.sum_all().unwrap().backward().unwrap();
    let gx = grads.get(&x).unwrap().to_vec2::<f32>().unwrap();
    assert_eq!(gx, vec![vec![0., 1., 2.5, 2.5, 0., 0., 2.5, 2.5]]);
}

#[test]
fn shape_errors_name_the_layer_and_both_shapes() {
    let lin = |out| LayerSpec::linear(out);
    let conv = |out, kernel| LayerSpec::conv2d(out, kernel, None, None);
    let err = |input: &[usize], layers: &[LayerSpec], classes| {
        Graph::new(input, layers, classes).unwrap_err()
    };
    let e = err(&[1, 8, 8], &[conv(4, 3), lin(None)], 10);
    assert_eq!(e.field(), "model.layers[1]");
    assert_eq!(
        e.message,
        "layer 1 (linear) needs a flat input but gets [4, 6, 6]; add a `flatten` layer before it"
    );
    let e = err(&[64], &[conv(4, 3), LayerSpec::flatten(), lin(None)], 10);
    assert_eq!(e.field(), "model.layers[0]");
    assert!(
        e.message
            .starts_with("layer 0 (conv2d) needs a [channels, height, width] input but gets [64]"),
        "{}",
        e.message
    );
    let e = err(
        &[1, 4, 4],
        &[conv(2, 5), LayerSpec::flatten(), lin(None)],
        10,
    );
    assert_eq!(e.message, "layer 0 (conv2d) with kernel 5 and padding 0 needs maps of at least 5×5 after padding, but gets [1, 4, 4]");
    let e = err(&[5], &[lin(Some(4)), LayerSpec::flatten(), lin(None)], 3);
    assert_eq!(e.message, "layer 1 (flatten) needs a [channels, height, width] input but gets [4] (it is already flat)");
    let e = err(&[5], &[lin(Some(4)), LayerSpec::relu(), lin(Some(7))], 3);
    assert_eq!(e.field(), "model.layers[2]");
    assert_eq!(e.message, "the model's output must be one logit per class, [3], but the last layer (layer 2, linear) gives [7]");
    let e = err(&[5], &[lin(None), LayerSpec::relu(), lin(None)], 3);
    assert!(e.message.starts_with("layer 0 (linear) needs `out`"));
    let named = |n: &str| {
        LayerSpec::Linear(layers::linear::Linear {
            out: None,
            name: Some(n.into()),
        })
    };
    let e = err(
        &[5],
        &[
            LayerSpec::Linear(layers::linear::Linear {
                out: Some(2),
                name: Some("a".into()),
            }),
            named("a"),
        ],
        3,
    );
    assert_eq!(
        (e.field(), e.message.as_str()),
        (
            "model".into(),
            "two layers are named `a`; names must be unique"
        )
    );
    let e = err(&[5], &[LayerSpec::relu()], 5);
    assert!(e.message.starts_with("the model has no layer with weights"));
    let e = err(&[1, 2, 3, 4], &[lin(None)], 5);
    assert_eq!(e.field(), "model");
}

/// A random small graph: convolutions (random stride, padding), pooling, flatten, linear layers.
fn random_graph(rng: &mut Rng) -> (Vec<usize>, Vec<LayerSpec>) {
    let acts = [
        LayerSpec::relu(),
        LayerSpec::tanh(),
        LayerSpec::gelu(),
        LayerSpec::LeakyRelu(layers::leaky_relu::LeakyRelu { slope: Some(0.2) }),
    ];
    let mut layers = Vec::new();
    let side = 6 + rng.below(4);
    for _ in 0..1 + rng.below(2) {
        layers.push(LayerSpec::conv2d(
            2 + rng.below(4),
            1 + rng.below(3),
            Some(1 + rng.below(2)),
            Some(rng.below(2)),
        ));
        layers.push(acts[rng.below(4)].clone());
    }
    if rng.below(2) == 0 {
        layers.push(LayerSpec::max_pool(2));
    } else {
        layers.push(LayerSpec::AvgPool(layers::pool::AvgPool {
            size: 2,
            stride: Some(1),
        }));
    }
    layers.push(LayerSpec::flatten());
    for _ in 0..rng.below(3) {
        layers.push(LayerSpec::linear(Some(2 + rng.below(5))));
        layers.push(acts[rng.below(4)].clone());
    }
    layers.push(LayerSpec::linear(None));
    (vec![1 + rng.below(2), side, side], layers)
}

/// Masks that remove a random third of the units of every layer but the output, as
/// `importance` would (a group's units once, through its leader), and a tenth of the weights.
pub(crate) fn random_unit_masks(g: &Graph, p: &Params, rng: &mut Rng) -> Masks {
    let infos = g.layers();
    let mut masks = Masks::dense(p);
    for l in infos
        .iter()
        .filter(|l| !l.is_output && l.unit_leader.is_none())
    {
        let pruned: Vec<bool> = (0..l.units).map(|_| rng.below(3) == 0).collect();
        crate::prune::expand(crate::prune::Granularity::Unit, l, &pruned, p, &mut masks);
    }
    for l in &infos {
        for k in masks.0[l.weight].iter_mut() {
            if rng.below(10) == 0 {
                *k = false;
            }
        }
    }
    masks
}

/// Shrinks `g` under `masks` and checks that the smaller graph computes what the masked one
/// does (to 1e-5, on 4 rows drawn from `case`), has the parameter count `shrunk_param_count`
/// reports, and its own init agrees; whether anything was cut.
pub(crate) fn shrinks_to_the_masked_function(
    g: &Graph,
    p: &Params,
    masks: &Masks,
    case: u64,
) -> bool {
    let (small, sp) = shrink::shrink(g, p, masks);
    assert_eq!(sp.count(), g.shrunk_param_count(p, masks), "case {case}");
    assert_eq!(
        small.init(&mut Rng::new(0)).count(),
        sp.count(),
        "case {case}"
    );
    let x = tensor(&rows(4, g.input_dim(), case), 4);
    let masked = g.forward(&masks.apply(p).tensors().unwrap(), &x).unwrap();
    let out = small.forward(&sp.tensors().unwrap(), &x).unwrap();
    let d = max_abs_diff(&masked, &out);
    assert!(d < 1e-5, "case {case}: {d} ({})", g.describe());
    sp.count() < p.count()
}

#[test]
fn shrunk_graphs_compute_the_masked_function() {
    let mut rng = Rng::new(77);
    let mut shrank = 0;
    for case in 0..40 {
        let (input, layers) = random_graph(&mut rng);
        let g = graph(&input, &layers, 3);
        let p = g.init(&mut rng);
        let masks = random_unit_masks(&g, &p, &mut rng);
        shrank += shrinks_to_the_masked_function(&g, &p, &masks, case) as usize;
    }
    assert!(shrank > 30, "{shrank}");
}

#[test]
fn vgg_preset_shapes() {
    let g = graph(&[1, 8, 8], &presets::vgg(4, 2), 10);
    // 8 → pool → 4 → pool → 2: flatten 8·2·2 = 32 → fc 16 → 10.
    let names: Vec<String> = g.layers().into_iter().map(|l| l.name).collect();
    assert_eq!(names, ["conv1", "conv2", "conv3", "conv4", "fc1", "fc2"]);
    let units: Vec<usize> = g.layers().iter().map(|l| l.units).collect();
    assert_eq!(units, [4, 4, 8, 8, 16, 10]);
    let macs: Vec<usize> = g.layers().iter().map(|l| l.macs_per_weight).collect();
    assert_eq!(macs, [64, 64, 16, 16, 1, 1]);
    let p = g.init(&mut Rng::new(0));
    let want = (4 * 9 + 4)
        + (4 * 4 * 9 + 4)
        + (8 * 4 * 9 + 8)
        + (8 * 8 * 9 + 8)
        + (32 * 16 + 16)
        + (16 * 10 + 10);
    assert_eq!(p.count(), want);
    assert!(g.as_mlp().is_none() && g.as_lenet5().is_none());
    assert!(g.footprint().autograd);
    assert_eq!(g.describe(), "graph 1x8x8 conv3x3:4/p1-relu-conv3x3:4/p1-relu-maxpool2-conv3x3:8/p1-relu-conv3x3:8/p1-relu-maxpool2-flatten-fc:16-relu-fc:10");
}

/// `leaky_relu`, the worked example of a layer kind with a setting: its values by hand, its
/// default slope, its YAML form and the refusal of a slope outside [0, 1).
#[test]
fn leaky_relu_by_hand() {
    let read = |y: &str| serde_yaml_ng::from_str::<Vec<LayerSpec>>(y).unwrap();
    let layers = read("[{kind: linear, out: 2}, {kind: leaky_relu, slope: 0.25}, {kind: linear}]");
    let g = graph(&[2], &layers, 2);
    assert_eq!(g.describe(), "graph 2 fc:2-leaky0.25-fc:2");
    assert!(g.as_mlp().is_none(), "no hand-written engine implements it");
    let mut p = g.init(&mut Rng::new(0));
    for (q, v) in p.0.iter_mut().zip([
        vec![1.0, 0.0, 0.0, 1.0],
        vec![0.0, 0.0],
        vec![1.0, 0.0, 0.0, 1.0],
        vec![0.0, 0.5],
    ]) {
        q.data = v;
    }
    let x = tensor(&[-2.0, 3.0, 4.0, -0.4], 2);
    let y = g.forward(&p.tensors().unwrap(), &x).unwrap();
    let y: Vec<f32> = y.flatten_all().unwrap().to_vec1().unwrap();
    assert_eq!(y, [-0.5, 3.5, 4.0, 0.4]);
    let default = graph(&[2], &read("[{kind: leaky_relu}, {kind: linear}]"), 2);
    assert_eq!(default.describe(), "graph 2 leaky0.01-fc:2");
    assert_eq!(
        serde_yaml_ng::to_string(&default.to_layers()).unwrap(),
        "- kind: leaky_relu\n  slope: 0.01\n- kind: linear\n  out: 2\n  name: fc1\n"
    );
    let e = Graph::new(
        &[2],
        &read("[{kind: leaky_relu, slope: 1.5}, {kind: linear}]"),
        2,
    )
    .unwrap_err();
    assert_eq!(e.field(), "model.layers[0]");
    assert_eq!(
        e.message,
        "layer 0 (leaky_relu) `slope` must be in [0, 1), not 1.5"
    );
}
