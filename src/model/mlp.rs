//! The shape of a multi-layer perceptron — its widths and the activation between its layers — as
//! the MLP training engine ([`crate::train::mlp_engine`]) and the inference kernels of
//! [`crate::speed`] read it. The model itself is a [`Graph`](super::graph::Graph) (the `mlp` and
//! `lenet300` presets, or any layer list of linear layers with one ReLU or tanh between them),
//! which recognises this shape and keeps an `Mlp` to describe itself and build its engine
//! ([`Graph::as_mlp`](super::graph::Graph::as_mlp)).

use crate::config::Activation;
use crate::train::engine::Engine;

/// Layer widths from input to output (`fc1..fcL` map `widths[l]` to `widths[l + 1]`), and the
/// activation after every layer but the last.
#[derive(Debug, Clone, PartialEq)]
pub struct Mlp {
    pub widths: Vec<usize>,
    pub activation: Activation,
}

impl Mlp {
    /// A short description, e.g. `mlp 64-128-64-10`.
    pub fn describe(&self) -> String {
        let w: Vec<String> = self.widths.iter().map(|w| w.to_string()).collect();
        format!("mlp {}", w.join("-"))
    }

    /// The MLP engine for this shape, its products on `threads` threads: what a graph of this
    /// shape trains on ([`super::Architecture::host_engine`]).
    pub fn host_engine(&self, threads: usize) -> Option<Box<dyn Engine + '_>> {
        Some(Box::new(crate::train::mlp_engine::MlpEngine::new(
            self, threads,
        )))
    }
}

/// For tests: the shape from its parts, and a plain candle MLP of this shape (PyTorch's
/// initialisation, the forward pass, its prunable layers and memory figures) that tests hold the
/// `mlp` preset graph against.
#[cfg(test)]
mod reference {
    use super::*;
    use crate::model::{LayerInfo, Param, ParamKind, Params};
    use crate::rng::Rng;
    use candle_core::{Module, Tensor};

    impl Mlp {
        pub fn new(input: usize, hidden: &[usize], classes: usize, activation: Activation) -> Self {
            let mut widths = vec![input];
            widths.extend_from_slice(hidden);
            widths.push(classes);
            Mlp { widths, activation }
        }

        fn n_layers(&self) -> usize {
            self.widths.len() - 1
        }

        /// PyTorch's Linear default: weights and biases uniform in ±1/√fan_in, layer by layer,
        /// weight before bias.
        pub fn init(&self, rng: &mut Rng) -> Params {
            let mut ps = Vec::new();
            for l in 0..self.n_layers() {
                let (fan_in, out) = (self.widths[l], self.widths[l + 1]);
                let bound = 1.0 / (fan_in as f32).sqrt();
                let w = (0..fan_in * out)
                    .map(|_| rng.uniform_f32(-bound, bound))
                    .collect();
                let b = (0..out).map(|_| rng.uniform_f32(-bound, bound)).collect();
                ps.push(Param {
                    name: format!("fc{}.weight", l + 1),
                    shape: vec![out, fan_in],
                    kind: ParamKind::Weight,
                    data: w,
                });
                ps.push(Param {
                    name: format!("fc{}.bias", l + 1),
                    shape: vec![out],
                    kind: ParamKind::Bias,
                    data: b,
                });
            }
            Params(ps)
        }

        /// Logits of `x` `(batch, widths[0])`: `candle_nn::Linear` layers and the activation.
        pub fn forward(&self, params: &[Tensor], x: &Tensor) -> candle_core::Result<Tensor> {
            let mut h = x.clone();
            let n = self.n_layers();
            for l in 0..n {
                let lin =
                    candle_nn::Linear::new(params[2 * l].clone(), Some(params[2 * l + 1].clone()));
                h = lin.forward(&h)?;
                if l + 1 < n {
                    h = match self.activation {
                        Activation::Relu => h.relu()?,
                        Activation::Tanh => h.tanh()?,
                    };
                }
            }
            Ok(h)
        }

        /// The chain `fc1..fcL`, each read by the next.
        pub fn layers(&self) -> Vec<LayerInfo> {
            let n = self.n_layers();
            (0..n)
                .map(|l| {
                    LayerInfo::in_chain(
                        format!("fc{}", l + 1),
                        (2 * l, 2 * l + 1),
                        self.widths[l + 1],
                        1,
                        (l + 1 < n).then_some(2 * (l + 1)),
                        (l, n),
                    )
                })
                .collect()
        }

        /// Parameters, and one value per unit of every layer's output; trained on its engine.
        pub fn footprint(&self) -> crate::sweep::memory::Footprint {
            let w = &self.widths;
            crate::sweep::memory::Footprint {
                params: w.windows(2).map(|p| p[0] * p[1] + p[1]).sum(),
                activations_per_sample: w[1..].iter().sum(),
                autograd: false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Activation;
    use crate::model::testing;
    use crate::model::{Architecture, Param, ParamKind, Params};
    use crate::rng::Rng;
    use candle_core::Tensor;

    #[test]
    fn shapes_counts_and_forward() {
        let m = testing::mlp(4, &[3], 2, Activation::Relu);
        let p = m.init(&mut Rng::new(0));
        assert_eq!(p.count(), 4 * 3 + 3 + 3 * 2 + 2);
        assert_eq!(p.0[0].shape, vec![3, 4]);
        let x = Tensor::ones((5, 4), candle_core::DType::F32, &candle_core::Device::Cpu).unwrap();
        let y = m.forward(&p.tensors().unwrap(), &x).unwrap();
        assert_eq!(y.dims(), &[5, 2]);
        let layers = m.layers();
        assert_eq!(layers.len(), 2);
        assert_eq!(layers[0].next, vec![2]);
        assert!(layers[1].is_output);
    }

    #[test]
    fn forward_matches_hand_computation() {
        let m = testing::mlp(2, &[2], 1, Activation::Relu);
        let p = Params(vec![
            Param {
                name: "fc1.weight".into(),
                shape: vec![2, 2],
                kind: ParamKind::Weight,
                data: vec![1.0, -1.0, 2.0, 0.5],
            },
            Param {
                name: "fc1.bias".into(),
                shape: vec![2],
                kind: ParamKind::Bias,
                data: vec![0.0, -10.0],
            },
            Param {
                name: "fc2.weight".into(),
                shape: vec![1, 2],
                kind: ParamKind::Weight,
                data: vec![3.0, 1.0],
            },
            Param {
                name: "fc2.bias".into(),
                shape: vec![1],
                kind: ParamKind::Bias,
                data: vec![0.5],
            },
        ]);
        let x = Tensor::new(&[[3.0f32, 1.0]], &candle_core::Device::Cpu).unwrap();
        // h = relu([3-1, 6+0.5-10]) = [2, 0]; y = 3*2 + 0 + 0.5
        let y = m.forward(&p.tensors().unwrap(), &x).unwrap();
        assert_eq!(y.to_vec2::<f32>().unwrap(), vec![vec![6.5]]);
    }
}
