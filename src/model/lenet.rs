//! The shape of LeNet-5 — its four widths — as the LeNet-5 training engine
//! ([`crate::train::conv_engine`]) and the inference kernels of [`crate::speed::conv`] read it, and
//! the constants of its fixed geometry.
//!
//! The model itself is a [`Graph`](super::graph::Graph): the `lenet5` preset
//! ([`presets::lenet5`](super::graph::presets::lenet5)), Caffe's LeNet of Han et al. (2015),
//! "Learning both Weights and Connections for Efficient Neural Networks", on 28×28
//! single-channel images (MNIST) given as flat 784-feature rows — conv1 20 filters 5×5 →
//! max-pool 2 → conv2 50 filters 5×5 → max-pool 2 → fc1 500 → ReLU → fc2 10 (no activation after
//! the convolutions): 20·25+20 + 50·20·25+50 + 800·500+500 + 500·10+10 = 431,080 parameters — or
//! any layer list of that shape with other widths (a shrunk LeNet-5). The graph recognises the
//! shape and keeps a [`LeNet5`] to describe itself and build its engine
//! ([`Graph::as_lenet5`](super::graph::Graph::as_lenet5)).
//!
//! Conv weights have shape `[out, in, kh, kw]`; a unit of a conv layer is an output channel.
//! conv2's `50 × 4 × 4` output is flattened channel-major into fc1's 800 inputs, so fc1's weight
//! `[500, 800]` reads as `[500, 50, 16]` and removing channel `c` of conv2 removes the 16 columns
//! `16c..16c+16` — the block [`crate::prune::expand`] zeroes.

use crate::train::engine::Engine;

/// Input side: images are `SIDE × SIDE`, one channel.
pub const SIDE: usize = 28;
/// Input features of both LeNets (28·28).
pub const INPUT_DIM: usize = SIDE * SIDE;
/// Convolution kernel side.
pub const K: usize = 5;
/// Max-pooling window and stride.
pub const POOL: usize = 2;
/// Spatial side after conv1 (24), pool1 (12), conv2 (8) and pool2 (4).
const CONV1_OUT: usize = SIDE - K + 1;
const POOL1_OUT: usize = CONV1_OUT / POOL;
const CONV2_OUT: usize = POOL1_OUT - K + 1;
const POOL2_OUT: usize = CONV2_OUT / POOL;
/// Positions of conv2's pooled map (4·4): fc1 inputs per conv2 channel.
pub const POOLED: usize = POOL2_OUT * POOL2_OUT;

/// LeNet-5 with the given widths (Han's are 20, 50, 500; a shrunk model has fewer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeNet5 {
    /// Output channels of conv1.
    pub conv1: usize,
    /// Output channels of conv2.
    pub conv2: usize,
    /// Units of fc1.
    pub fc1: usize,
    /// Output classes (units of fc2).
    pub classes: usize,
}

impl LeNet5 {
    /// Inputs of fc1: conv2's channels × the 4×4 pooled map, channel-major.
    pub fn flat(&self) -> usize {
        self.conv2 * POOLED
    }

    /// A short description, e.g. `lenet5 1x28x28 conv5x5:20-pool2-conv5x5:50-pool2-fc:500-10`.
    pub fn describe(&self) -> String {
        format!(
            "lenet5 1x{SIDE}x{SIDE} conv{K}x{K}:{}-pool{POOL}-conv{K}x{K}:{}-pool{POOL}-fc:{}-{}",
            self.conv1, self.conv2, self.fc1, self.classes
        )
    }

    /// The LeNet-5 engine ([`crate::train::conv_engine`]) for this shape, its products on
    /// `threads` threads: what a graph of this shape trains on
    /// ([`super::Architecture::host_engine`]).
    pub fn host_engine(&self, threads: usize) -> Option<Box<dyn Engine + '_>> {
        Some(Box::new(crate::train::conv_engine::ConvEngine::new(
            self, threads,
        )))
    }
}

/// For tests: Han's widths, and a plain candle LeNet-5 of this shape (PyTorch's initialisation,
/// the textbook forward pass through candle's `conv2d`, its prunable layers and memory figures)
/// that tests hold the `lenet5` preset graph against.
#[cfg(test)]
mod reference {
    use super::*;
    use crate::model::{LayerInfo, Param, ParamKind, Params};
    use crate::rng::Rng;
    use candle_core::{Module, Tensor};

    /// A parameter tensor drawn uniform in ±1/√fan_in (PyTorch's Linear and Conv2d default).
    fn uniform(
        rng: &mut Rng,
        name: String,
        shape: Vec<usize>,
        kind: ParamKind,
        fan_in: usize,
    ) -> Param {
        let bound = 1.0 / (fan_in as f32).sqrt();
        let n = shape.iter().product();
        Param {
            name,
            shape,
            kind,
            data: (0..n).map(|_| rng.uniform_f32(-bound, bound)).collect(),
        }
    }

    impl LeNet5 {
        /// Han et al.'s widths: 20 and 50 channels, 500 hidden units.
        pub fn new(classes: usize) -> Self {
            LeNet5 {
                conv1: 20,
                conv2: 50,
                fc1: 500,
                classes,
            }
        }

        /// Weights and biases uniform in ±1/√fan_in, fan_in = in_channels·5·5 for convolutions,
        /// layer by layer, weight before bias.
        pub fn init(&self, rng: &mut Rng) -> Params {
            let layers: [(&str, Vec<usize>, usize); 4] = [
                ("conv1", vec![self.conv1, 1, K, K], K * K),
                (
                    "conv2",
                    vec![self.conv2, self.conv1, K, K],
                    self.conv1 * K * K,
                ),
                ("fc1", vec![self.fc1, self.flat()], self.flat()),
                ("fc2", vec![self.classes, self.fc1], self.fc1),
            ];
            let mut ps = Vec::new();
            for (name, shape, fan_in) in layers {
                let out = shape[0];
                let w = format!("{name}.weight");
                ps.push(uniform(rng, w, shape, ParamKind::Weight, fan_in));
                let b = format!("{name}.bias");
                ps.push(uniform(rng, b, vec![out], ParamKind::Bias, fan_in));
            }
            Params(ps)
        }

        /// The flattened pooled conv2 maps `(batch, conv2·16)`, channel-major, of `x`
        /// `(batch, 784)`: candle's `conv2d` on NCHW maps and a 2×2 max as two reductions
        /// (candle's `max_pool2d` backward scales the gradient by a quarter, see `train::pool`;
        /// on random inputs nothing ties).
        pub fn features(&self, p: &[Tensor], x: &Tensor) -> candle_core::Result<Tensor> {
            if x.dim(1)? != INPUT_DIM {
                candle_core::bail!("lenet5 expects {INPUT_DIM} input features");
            }
            let b = x.dim(0)?;
            let conv = |h: &Tensor, w: &Tensor, bias: &Tensor, c: usize| {
                let y = h
                    .conv2d(w, 0, 1, 1, 1)?
                    .broadcast_add(&bias.reshape((1, c, 1, 1))?)?;
                let (b, c, o, _) = y.dims4()?;
                y.reshape((b, c, o / POOL, POOL, o / POOL, POOL))?
                    .max(5)?
                    .max(3)
            };
            let h = conv(&x.reshape((b, 1, SIDE, SIDE))?, &p[0], &p[1], self.conv1)?;
            conv(&h, &p[2], &p[3], self.conv2)?.flatten_from(1)
        }

        /// Logits of `x` `(batch, 784)`.
        pub fn forward(&self, p: &[Tensor], x: &Tensor) -> candle_core::Result<Tensor> {
            let h = self.features(p, x)?;
            let fc1 = candle_nn::Linear::new(p[4].clone(), Some(p[5].clone()));
            let fc2 = candle_nn::Linear::new(p[6].clone(), Some(p[7].clone()));
            fc2.forward(&fc1.forward(&h)?.relu()?)
        }

        /// The chain conv1, conv2, fc1, fc2, each read by the next.
        pub fn layers(&self) -> Vec<LayerInfo> {
            let spatial = [CONV1_OUT * CONV1_OUT, CONV2_OUT * CONV2_OUT, 1, 1];
            let units = [self.conv1, self.conv2, self.fc1, self.classes];
            ["conv1", "conv2", "fc1", "fc2"]
                .iter()
                .enumerate()
                .map(|(l, name)| {
                    LayerInfo::in_chain(
                        name.to_string(),
                        (2 * l, 2 * l + 1),
                        units[l],
                        spatial[l],
                        (l < 3).then_some(2 * (l + 1)),
                        (l, 4),
                    )
                })
                .collect()
        }

        /// Parameters, and activations per sample: both im2col patch matrices, conv and pooled
        /// maps, fc outputs; trained on its engine.
        pub fn footprint(&self) -> crate::sweep::memory::Footprint {
            let (c1, c2) = (CONV1_OUT * CONV1_OUT, CONV2_OUT * CONV2_OUT);
            crate::sweep::memory::Footprint {
                params: self.conv1 * K * K
                    + self.conv1
                    + self.conv2 * self.conv1 * K * K
                    + self.conv2
                    + self.fc1 * self.flat()
                    + self.fc1
                    + self.classes * self.fc1
                    + self.classes,
                activations_per_sample: c1 * K * K
                    + self.conv1 * (c1 + POOL1_OUT * POOL1_OUT)
                    + c2 * self.conv1 * K * K
                    + self.conv2 * (c2 + POOLED)
                    + self.fc1
                    + self.classes,
                autograd: false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Activation, MethodKind, Scope, TauUnit};
    use crate::model::graph::{presets, Graph};
    use crate::model::{testing, Architecture, Masks, Param, ParamKind, Params};
    use crate::prune::{Granularity, MaskContext, ScoreContext};
    use crate::rng::Rng;
    use candle_core::{Device, Tensor};

    /// The `lenet5` preset at Han's widths.
    fn lenet5() -> Graph {
        Graph::new(&presets::LENET_INPUT, &presets::lenet5(), 10).unwrap()
    }

    /// The flattened pooled conv2 maps that fc1 reads, squared and summed over the batch: fc1's
    /// entry of the graph's [`Architecture::input_sq_sums`] (its forward pass).
    fn fc1_input_sq(g: &Graph, ts: &[Tensor], x: &Tensor) -> Vec<f32> {
        g.input_sq_sums(ts, x).unwrap()[2].to_vec1().unwrap()
    }

    #[test]
    fn input_sq_sums_are_im2col_column_norms() {
        let m = lenet5();
        let p = m.init(&mut Rng::new(5));
        // Row 0: pixel (0, 0) = 2 lies only in the patch at output (0, 0), as kernel entry
        // (0, 0). Row 1: pixel (10, 10) = 1 lies under every kernel entry once.
        let mut x = vec![0.0f32; 2 * INPUT_DIM];
        x[0] = 2.0;
        x[INPUT_DIM + 10 * SIDE + 10] = 1.0;
        let xt = Tensor::from_slice(&x, (2, INPUT_DIM), &Device::Cpu).unwrap();
        let sums = m.input_sq_sums(&p.tensors().unwrap(), &xt).unwrap();
        let c1 = sums[0].to_vec1::<f32>().unwrap();
        let mut want = vec![1.0f32; K * K];
        want[0] = 5.0;
        assert_eq!(c1, want);
        let shapes: Vec<usize> = sums.iter().map(|t| t.dim(0).unwrap()).collect();
        assert_eq!(shapes, vec![K * K, 20 * K * K, 800, 500]);
        // fc1's inputs are the flattened pooled conv2 maps (candle's conv2d gives them): their
        // squares add up.
        let h = LeNet5::new(10)
            .features(&p.tensors().unwrap(), &xt)
            .unwrap();
        let want_fc1: f32 = h.sqr().unwrap().sum_all().unwrap().to_scalar().unwrap();
        let got: f32 = sums[2].sum_all().unwrap().to_scalar().unwrap();
        assert!((want_fc1 - got).abs() <= 1e-4 * want_fc1.max(1.0));
    }

    fn random_input(n: usize, seed: u64) -> Tensor {
        let mut rng = Rng::new(seed);
        let xs: Vec<f32> = (0..n * INPUT_DIM).map(|_| rng.next_f32()).collect();
        Tensor::from_slice(&xs, (n, INPUT_DIM), &Device::Cpu).unwrap()
    }

    fn spec(kind: &str) -> crate::config::ModelSpec {
        crate::config::parse(&format!("name: t\nmodel: {{kind: {kind}}}\n"), "t", &[])
            .unwrap()
            .model
    }

    #[test]
    fn lenet300_is_a_784_300_100_10_mlp() {
        let arch = crate::model::build(&spec("lenet300"), INPUT_DIM, 10).unwrap();
        let p = arch.init(&mut Rng::new(0));
        assert_eq!(p.count(), 266_610);
        let shapes: Vec<_> = p.0.iter().map(|q| q.shape.clone()).collect();
        assert_eq!(shapes[0], vec![300, 784]);
        assert_eq!(shapes[2], vec![100, 300]);
        assert_eq!(shapes[4], vec![10, 100]);
        let y = arch
            .forward(&p.tensors().unwrap(), &random_input(3, 1))
            .unwrap();
        assert_eq!(y.dims(), &[3, 10]);
        assert_eq!(
            crate::model::layer_names(&spec("lenet300")),
            vec!["fc1", "fc2", "fc3"]
        );
        let names: Vec<_> = arch.layers().into_iter().map(|l| l.name).collect();
        assert_eq!(names, crate::model::layer_names(&spec("lenet300")));
        // The same as an explicit MLP.
        let m = testing::mlp(INPUT_DIM, &[300, 100], 10, Activation::Relu);
        assert_eq!(m.init(&mut Rng::new(0)), p);
        assert_eq!(arch.describe(), m.describe());
        assert_eq!(arch.describe(), "mlp 784-300-100-10");
    }

    #[test]
    fn lenet5_shapes_counts_and_layers() {
        let arch = crate::model::build(&spec("lenet5"), INPUT_DIM, 10).unwrap();
        assert_eq!(
            arch.describe(),
            "lenet5 1x28x28 conv5x5:20-pool2-conv5x5:50-pool2-fc:500-10"
        );
        let p = arch.init(&mut Rng::new(0));
        assert_eq!(p.count(), 431_080);
        let shapes: Vec<_> = p.0.iter().map(|q| q.shape.clone()).collect();
        assert_eq!(
            shapes,
            vec![
                vec![20, 1, 5, 5],
                vec![20],
                vec![50, 20, 5, 5],
                vec![50],
                vec![500, 800],
                vec![500],
                vec![10, 500],
                vec![10],
            ]
        );
        // Uniform in ±1/√fan_in: conv2's fan-in is 20·25 = 500.
        let bound = 1.0 / 500f32.sqrt();
        assert!(p.0[2].data.iter().all(|v| v.abs() <= bound));
        assert!(p.0[2].data.iter().any(|v| v.abs() > 0.9 * bound));
        let y = arch
            .forward(&p.tensors().unwrap(), &random_input(2, 1))
            .unwrap();
        assert_eq!(y.dims(), &[2, 10]);
        let layers = arch.layers();
        let names: Vec<_> = layers.iter().map(|l| l.name.clone()).collect();
        assert_eq!(names, vec!["conv1", "conv2", "fc1", "fc2"]);
        assert_eq!(names, crate::model::layer_names(&spec("lenet5")));
        let units: Vec<_> = layers.iter().map(|l| l.units).collect();
        assert_eq!(units, vec![20, 50, 500, 10]);
        let macs: Vec<_> = layers.iter().map(|l| l.macs_per_weight).collect();
        assert_eq!(macs, vec![576, 64, 1, 1]);
        let next: Vec<_> = layers.iter().map(|l| l.next.clone()).collect();
        assert_eq!(next, vec![vec![2], vec![4], vec![6], vec![]]);
        assert!(layers[3].is_output && !layers[2].is_output);
        // Dense multiply-adds of one image: 20·25·576 + 50·500·64 + 800·500 + 500·10.
        let dense = Masks::dense(&p);
        assert_eq!(
            dense.flops_left(&layers),
            288_000 + 1_600_000 + 400_000 + 5_000
        );
        assert_eq!(arch.shrunk_param_count(&p, &dense), 431_080);
    }

    #[test]
    fn check_input_needs_784_features_for_lenets() {
        assert!(crate::model::build(&spec("lenet5"), 784, 10).is_ok());
        assert!(crate::model::build(&spec("mlp"), 64, 10).is_ok());
        for kind in ["lenet5", "lenet300"] {
            let e = crate::model::build(&spec(kind), 64, 10)
                .err()
                .unwrap()
                .to_string();
            assert!(
                e.contains(kind) && e.contains("784") && e.contains("64"),
                "{e}"
            );
        }
    }

    fn param(name: &str, shape: Vec<usize>, kind: ParamKind, data: Vec<f32>) -> Param {
        assert_eq!(shape.iter().product::<usize>(), data.len());
        Param {
            name: name.into(),
            shape,
            kind,
            data,
        }
    }

    /// The graph's forward pass (im2col and routed max-pooling) equals LeNet-5 written with
    /// candle's `conv2d` and a 2×2 max: logits and every parameter's gradient.
    #[test]
    fn graph_matches_candle_conv2d() {
        let g = lenet5();
        let p = g.init(&mut Rng::new(21));
        let vars: Vec<candle_core::Var> = p
            .tensors()
            .unwrap()
            .iter()
            .map(|t| candle_core::Var::from_tensor(t).unwrap())
            .collect();
        let ts: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
        let x = random_input(3, 22);
        let ours = g.forward(&ts, &x).unwrap();
        let theirs = LeNet5::new(10).forward(&ts, &x).unwrap();
        assert_eq!(ours.dims(), &[3, 10]);
        let diff = |a: &Tensor, b: &Tensor| {
            (a - b)
                .unwrap()
                .abs()
                .unwrap()
                .flatten_all()
                .unwrap()
                .max(0)
                .unwrap()
                .to_scalar::<f32>()
                .unwrap()
        };
        assert!(diff(&ours, &theirs) <= 1e-5);
        // Gradients of the same scalar through both paths (random inputs: no tied maxima).
        let mut rng = Rng::new(23);
        let ws: Vec<f32> = (0..3 * 10).map(|_| rng.uniform_f32(-1.0, 1.0)).collect();
        let w = Tensor::from_vec(ws, (3, 10), &Device::Cpu).unwrap();
        let ga = (ours * &w).unwrap().sum_all().unwrap().backward().unwrap();
        let gb = (theirs * &w)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        for (i, v) in vars.iter().enumerate() {
            let (a, b) = (ga.get(v).unwrap(), gb.get(v).unwrap());
            let scale = b.abs().unwrap().flatten_all().unwrap().max(0).unwrap();
            let tol = 1e-4 * scale.to_scalar::<f32>().unwrap().max(1.0);
            assert!(diff(a, b) <= tol, "gradient of parameter {i}");
        }
        // A row of the wrong width is an error, not a silent truncation.
        let bad = Tensor::zeros((2, 785), candle_core::DType::F32, &Device::Cpu).unwrap();
        assert!(g.forward(&ts, &bad).is_err());
    }

    #[test]
    fn forward_matches_hand_computation() {
        // One conv1 channel and two conv2 channels that copy their input's top-left-aligned
        // pixel (kernel entry [0][0]), so a single bright pixel travels through both pools.
        let m = testing::lenet5(1, 2, 1, 1);
        let mut k1 = vec![0.0; 25];
        k1[0] = 1.0;
        let mut k2 = vec![0.0; 50];
        k2[0] = 2.0; // channel 0
        k2[25] = 3.0; // channel 1
        let p = Params(vec![
            param("conv1.weight", vec![1, 1, 5, 5], ParamKind::Weight, k1),
            param("conv1.bias", vec![1], ParamKind::Bias, vec![0.0]),
            param("conv2.weight", vec![2, 1, 5, 5], ParamKind::Weight, k2),
            param("conv2.bias", vec![2], ParamKind::Bias, vec![0.0, 0.0]),
            // fc1 weight k for flattened input k.
            param(
                "fc1.weight",
                vec![1, 32],
                ParamKind::Weight,
                (0..32).map(|k| k as f32).collect(),
            ),
            param("fc1.bias", vec![1], ParamKind::Bias, vec![0.0]),
            param("fc2.weight", vec![1, 1], ParamKind::Weight, vec![0.5]),
            param("fc2.bias", vec![1], ParamKind::Bias, vec![-1.0]),
        ]);
        // Pixel (row 10, col 6) = 1: conv1 → (10, 6) → pool → (5, 3) → conv2 → (5, 3), values
        // 2 and 3 → pool → (2, 1), flattened index c·16 + 2·4 + 1 = 9 and 25.
        // fc1 = 9·2 + 25·3 = 93; relu; fc2 = 0.5·93 − 1 = 45.5.
        let mut x = vec![0f32; INPUT_DIM];
        x[10 * SIDE + 6] = 1.0;
        let x = Tensor::from_slice(&x, (1, INPUT_DIM), &Device::Cpu).unwrap();
        let ts = p.tensors().unwrap();
        // One image: fc1's squared inputs are the squared features.
        let nonzero: Vec<(usize, f32)> = fc1_input_sq(&m, &ts, &x)
            .into_iter()
            .enumerate()
            .filter(|(_, v)| *v != 0.0)
            .collect();
        assert_eq!(nonzero, vec![(9, 4.0), (25, 9.0)]);
        let y = m.forward(&ts, &x).unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(y, vec![vec![45.5]]);
    }

    /// Removing a conv channel through `prune::expand` masks exactly the next layer's inputs that
    /// read it: for conv2 → fc1 the fc1 columns whose flattened feature changes with that channel.
    #[test]
    fn expand_matches_channel_major_flatten() {
        let m = lenet5();
        let p = m.init(&mut Rng::new(4));
        let layers = m.layers();
        let x = random_input(2, 5);
        let base = fc1_input_sq(&m, &p.tensors().unwrap(), &x);
        for u in [0, 17, 49] {
            let mut pruned = vec![false; 50];
            pruned[u] = true;
            let mut masks = Masks::dense(&p);
            crate::prune::expand(Granularity::Unit, &layers[1], &pruned, &p, &mut masks);
            // Columns of fc1 masked for output 0 (the same for every output).
            let cols: Vec<usize> = (0..800).filter(|&i| !masks.0[4][i]).collect();
            for o in 0..500 {
                for i in 0..800 {
                    assert_eq!(masks.0[4][o * 800 + i], masks.0[4][i]);
                }
            }
            // Features that change when channel u's filter and bias change (seen through their
            // squares summed over the two images).
            let mut q = p.clone();
            q.0[2].data[u * 500..(u + 1) * 500]
                .iter_mut()
                .for_each(|v| *v += 1.0);
            q.0[3].data[u] += 1.0;
            let moved = fc1_input_sq(&m, &q.tensors().unwrap(), &x);
            let changed: Vec<usize> = (0..800).filter(|&i| moved[i] != base[i]).collect();
            assert_eq!(cols, changed, "channel {u}");
            assert_eq!(cols, (16 * u..16 * u + 16).collect::<Vec<_>>());
            // Its own filter and bias go too.
            assert!(masks.0[2][u * 500..(u + 1) * 500].iter().all(|k| !k));
            assert!(!masks.0[3][u]);
            assert_eq!(masks.0[2].iter().filter(|k| !**k).count(), 500);
        }
        // conv1 → conv2: channel u of conv1 is the 5×5 block [o, u] of conv2's weight.
        let mut pruned = vec![false; 20];
        pruned[3] = true;
        let mut masks = Masks::dense(&p);
        crate::prune::expand(Granularity::Unit, &layers[0], &pruned, &p, &mut masks);
        for o in 0..50 {
            for i in 0..20 {
                let block = &masks.0[2][(o * 20 + i) * 25..(o * 20 + i + 1) * 25];
                assert!(block.iter().all(|k| *k == (i != 3)), "o {o} i {i}");
            }
        }
    }

    #[test]
    fn shrunk_lenet5_equals_masked_model() {
        let m = lenet5();
        let p = m.init(&mut Rng::new(11));
        let layers = m.layers();
        let spec = crate::config::parse("name: t\n", "t", &[]).unwrap().prune;
        let method = crate::prune::build(MethodKind::Importance, &spec);
        let mut ctx = ScoreContext::plain(&m, &p, &layers, Rng::new(3));
        let scores = method.scores(&mut ctx).unwrap();
        let mctx = MaskContext::one_shot(&m, &p, &layers, TauUnit::Quantile, Scope::Layer);
        let masks = method.masks(&mctx, &scores, 0.3).unwrap();
        // round(0.3 × units) removed from conv1, conv2 and fc1; outputs kept.
        let (k1, k2, k3) = (20 - 6, 50 - 15, 500 - 150);
        assert_eq!(masks.neurons_removed(&layers), 6 + 15 + 150);
        let (small, sp) = crate::model::graph::shrink::shrink(&m, &p, &masks);
        assert_eq!(
            small.describe(),
            format!("lenet5 1x28x28 conv5x5:{k1}-pool2-conv5x5:{k2}-pool2-fc:{k3}-10")
        );
        let shapes: Vec<_> = sp.0.iter().map(|q| q.shape.clone()).collect();
        assert_eq!(shapes[2], vec![k2, k1, 5, 5]);
        assert_eq!(shapes[4], vec![k3, k2 * 16]);
        let expected = k1 * 25 + k1 + k2 * k1 * 25 + k2 + k3 * k2 * 16 + k3 + 10 * k3 + 10;
        assert_eq!(sp.count(), expected);
        assert_eq!(m.shrunk_param_count(&p, &masks), expected);
        // The shrunk model still names its layers and runs.
        assert_eq!(small.layers()[1].units, k2);
        let x = random_input(4, 12);
        let a = m
            .forward(&masks.apply(&p).tensors().unwrap(), &x)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        let b = small
            .forward(&sp.tensors().unwrap(), &x)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        let mut max = 0f32;
        for (ra, rb) in a.iter().zip(&b) {
            for (va, vb) in ra.iter().zip(rb) {
                max = max.max((va - vb).abs());
            }
        }
        assert!(max <= 1e-5, "max abs diff {max}");
    }

    #[test]
    fn lenet5_trains_with_masks_held() {
        let m = testing::lenet5(4, 6, 16, 2);
        let mut rng = Rng::new(9);
        // Two classes: bright top half vs bright bottom half, with noise.
        let n = 32;
        let mut x = Vec::with_capacity(n * INPUT_DIM);
        let mut y = Vec::with_capacity(n);
        for i in 0..n {
            let c = (i % 2) as u32;
            for r in 0..SIDE {
                for _ in 0..SIDE {
                    let on = (r < SIDE / 2) == (c == 0);
                    x.push(if on { 0.8 } else { 0.0 } + 0.2 * rng.next_f32());
                }
            }
            y.push(c);
        }
        let table = crate::data::Table {
            x,
            y,
            n,
            d: INPUT_DIM,
            classes: 2,
        };
        let data = crate::train::HostData::from(table.clone());
        let mut p = m.init(&mut Rng::new(1));
        let mut masks = Masks::dense(&p);
        masks.0[2][..50].fill(false);
        let train = crate::config::parse("name: t\ntrain: {batch_size: 8}\n", "t", &[])
            .unwrap()
            .train;
        let before = crate::train::evaluate(&m, &masks.apply(&p), &data).unwrap();
        crate::train::fit(
            &m,
            &mut p,
            Some(&masks),
            &data,
            &train,
            crate::train::Budget::new(3, 0.05),
            &mut Rng::new(2),
        )
        .unwrap();
        let after = crate::train::evaluate(&m, &p, &data).unwrap();
        assert!(after.loss < before.loss, "{before:?} → {after:?}");
        assert!(p.0[2].data[..50].iter().all(|v| *v == 0.0));
    }
}
