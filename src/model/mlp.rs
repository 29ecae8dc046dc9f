//! A multi-layer perceptron: Linear layers `fc1..fcL` with an activation between them.

use super::{Architecture, LayerInfo, Param, ParamKind, Params};
use crate::config::Activation;
use crate::rng::Rng;
use candle_core::{Module, Tensor};

/// Layer widths from input to output.
#[derive(Debug, Clone, PartialEq)]
pub struct Mlp {
    pub widths: Vec<usize>,
    pub activation: Activation,
}

impl Mlp {
    #[cfg(test)]
    pub fn new(input: usize, hidden: &[usize], classes: usize, activation: Activation) -> Self {
        let mut widths = vec![input];
        widths.extend_from_slice(hidden);
        widths.push(classes);
        Mlp { widths, activation }
    }

    fn n_layers(&self) -> usize {
        self.widths.len() - 1
    }

    /// The forward pass, showing `seen` each layer's input `(batch, width)`.
    fn run(
        &self,
        params: &[Tensor],
        x: &Tensor,
        mut seen: impl FnMut(&Tensor) -> candle_core::Result<()>,
    ) -> candle_core::Result<Tensor> {
        let mut h = x.clone();
        let n = self.n_layers();
        for l in 0..n {
            seen(&h)?;
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
}

impl Architecture for Mlp {
    fn describe(&self) -> String {
        let w: Vec<String> = self.widths.iter().map(|w| w.to_string()).collect();
        format!("mlp {}", w.join("-"))
    }

    /// PyTorch's Linear default: weights and biases uniform in ±1/√fan_in.
    fn init(&self, rng: &mut Rng) -> Params {
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

    fn input_dim(&self) -> usize {
        self.widths[0]
    }

    fn forward(&self, params: &[Tensor], x: &Tensor) -> candle_core::Result<Tensor> {
        self.run(params, x, |_| Ok(()))
    }

    fn input_sq_sums(&self, params: &[Tensor], x: &Tensor) -> candle_core::Result<Vec<Tensor>> {
        let mut sums = Vec::with_capacity(self.n_layers());
        self.run(params, x, |h| {
            sums.push(h.sqr()?.sum(0)?);
            Ok(())
        })?;
        Ok(sums)
    }

    fn shrunk_param_count(&self, params: &Params, masks: &super::Masks) -> usize {
        super::shrink::shrink_mlp(self, params, masks).1.count()
    }

    fn footprint(&self) -> crate::sweep::memory::Footprint {
        let w = &self.widths;
        crate::sweep::memory::Footprint {
            params: w
                .windows(2)
                .map(|p| p[0].saturating_mul(p[1]).saturating_add(p[1]))
                .fold(0, usize::saturating_add),
            activations_per_sample: w[1..].iter().fold(0, |a, &b| a.saturating_add(b)),
            autograd: false,
        }
    }

    fn host_engine(&self, threads: usize) -> Option<Box<dyn crate::train::engine::Engine + '_>> {
        Some(Box::new(crate::train::mlp_engine::MlpEngine::new(
            self, threads,
        )))
    }

    fn as_mlp(&self) -> Option<&Mlp> {
        Some(self)
    }

    fn layers(&self) -> Vec<LayerInfo> {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_counts_and_forward() {
        let m = Mlp::new(4, &[3], 2, Activation::Relu);
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
        let m = Mlp::new(2, &[2], 1, Activation::Relu);
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
