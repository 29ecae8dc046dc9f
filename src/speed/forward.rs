//! Inference of a pruned MLP (`mlp`, `lenet300`) with one of three kernels, one thread,
//! activations held feature-major (`features × batch`) so every kernel streams contiguous rows:
//!
//! - `dense`: the masked model as it is stored, zeros multiplied (`gemm`, as training uses);
//! - `shrunk`: the physically smaller model with removed units cut out
//!   ([`crate::model::shrink`]), same dense kernel;
//! - `csr`: every layer's kept weights in CSR ([`super::csr`]), our own sparse kernel.

use super::csr::Csr;
use crate::config::Activation;
use crate::model::mlp::Mlp;
use crate::model::{Masks, Params};
use crate::train::matmul::{matmul, View};

/// Which kernel serves a forward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    Dense,
    Shrunk,
    Csr,
}

impl Kernel {
    pub fn as_str(self) -> &'static str {
        match self {
            Kernel::Dense => "dense",
            Kernel::Shrunk => "shrunk",
            Kernel::Csr => "csr",
        }
    }
}

enum Layer {
    Dense {
        w: Vec<f32>,
        b: Vec<f32>,
        out: usize,
        inp: usize,
    },
    Sparse {
        m: Csr,
        b: Vec<f32>,
    },
}

impl Layer {
    fn out(&self) -> usize {
        match self {
            Layer::Dense { out, .. } => *out,
            Layer::Sparse { m, .. } => m.rows,
        }
    }
}

/// A model ready to run with one kernel.
pub struct Forward {
    layers: Vec<Layer>,
    activation: Activation,
    inputs: usize,
}

impl Forward {
    /// `mlp` with `params` pruned by `masks`, laid out for `kernel`.
    pub fn build(mlp: &Mlp, params: &Params, masks: &Masks, kernel: Kernel) -> Forward {
        let (widths, ps, keep) = match kernel {
            Kernel::Shrunk => {
                let (m, p) = crate::model::shrink::shrink_mlp(mlp, params, masks);
                (m.widths, p, None)
            }
            _ => (mlp.widths.clone(), masks.apply(params), Some(masks)),
        };
        let layers = (0..widths.len() - 1)
            .map(|l| {
                let (inp, out) = (widths[l], widths[l + 1]);
                let (w, b) = (ps.0[2 * l].data.clone(), ps.0[2 * l + 1].data.clone());
                match (kernel, keep) {
                    (Kernel::Csr, Some(k)) => Layer::Sparse {
                        m: Csr::from_dense(&w, out, inp, Some(&k.0[2 * l])),
                        b,
                    },
                    _ => Layer::Dense { w, b, out, inp },
                }
            })
            .collect();
        Forward {
            layers,
            activation: mlp.activation,
            inputs: widths[0],
        }
    }

    /// Weights the kernel multiplies: stored entries for CSR, every entry otherwise.
    pub fn weights(&self) -> usize {
        self.layers
            .iter()
            .map(|l| match l {
                Layer::Dense { w, .. } => w.len(),
                Layer::Sparse { m, .. } => m.nnz(),
            })
            .sum()
    }

    /// Scratch buffers for `batch` columns.
    pub fn buffers(&self, batch: usize) -> [Vec<f32>; 2] {
        let widest = self.layers.iter().map(Layer::out).max().unwrap_or(0);
        [vec![0.0; widest * batch], vec![0.0; widest * batch]]
    }

    /// Logits `(classes × batch)` of `x` given feature-major `(inputs × batch)`, written into
    /// one of `bufs` and returned.
    pub fn run<'b>(&self, x: &[f32], batch: usize, bufs: &'b mut [Vec<f32>; 2]) -> &'b [f32] {
        assert_eq!(
            x.len(),
            self.inputs * batch,
            "forward: input is not inputs × batch"
        );
        let n = self.layers.len();
        let [a, b] = bufs;
        let (mut cur, mut nxt): (&mut Vec<f32>, &mut Vec<f32>) = (a, b);
        for (l, layer) in self.layers.iter().enumerate() {
            let h: &[f32] = if l == 0 { x } else { cur.as_slice() };
            let out = layer.out();
            let y = &mut nxt[..out * batch];
            match layer {
                Layer::Dense { w, b, out, inp } => {
                    matmul(
                        y,
                        View::row_major(w, *out, *inp),
                        View::row_major(&h[..inp * batch], *inp, batch),
                        false,
                        1,
                    );
                    for (r, bias) in b.iter().enumerate() {
                        y[r * batch..(r + 1) * batch]
                            .iter_mut()
                            .for_each(|v| *v += bias);
                    }
                }
                Layer::Sparse { m, b } => m.matmul_fm(h, batch, b, y),
            }
            if l + 1 < n {
                match self.activation {
                    Activation::Relu => y.iter_mut().for_each(|v| *v = v.max(0.0)),
                    Activation::Tanh => y.iter_mut().for_each(|v| *v = v.tanh()),
                }
            }
            std::mem::swap(&mut cur, &mut nxt);
        }
        let out = self.layers.last().map_or(0, Layer::out);
        &cur[..out * batch]
    }
}

/// Row-major `(batch × d)` rows to feature-major `(d × batch)`.
pub fn feature_major(rows: &[f32], batch: usize, d: usize) -> Vec<f32> {
    let mut t = vec![0.0; rows.len()];
    for i in 0..batch {
        for j in 0..d {
            t[j * batch + i] = rows[i * d + j];
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Architecture;
    use crate::prune::{self, MaskContext};
    use crate::rng::Rng;
    use candle_core::{Device, Tensor};

    /// Every kernel gives the masked dense model's logits (candle's forward) to 1e-5, for
    /// unstructured (magnitude) and structured (importance) masks, at batch 1 and 33.
    #[test]
    fn kernels_match_the_dense_model() {
        let mlp = Mlp::new(20, &[16, 12], 5, Activation::Relu);
        let params = mlp.init(&mut Rng::new(4));
        let layers = mlp.layers();
        for kind in [
            crate::config::MethodKind::Magnitude,
            crate::config::MethodKind::Importance,
        ] {
            for tau in [0.0, 0.5, 0.9] {
                let spec = crate::config::parse("name: t\n", "t", &[]).unwrap().prune;
                let method = prune::build(kind, &spec);
                let mut sctx = prune::ScoreContext::plain(&mlp, &params, &layers, Rng::new(1));
                let scores = method.scores(&mut sctx).unwrap();
                let ctx = MaskContext::one_shot(
                    &mlp,
                    &params,
                    &layers,
                    crate::config::TauUnit::Quantile,
                    crate::config::Scope::Layer,
                );
                let masks = method.masks(&ctx, &scores, tau).unwrap();
                let pruned = masks.apply(&params);
                for batch in [1, 33] {
                    let mut rng = Rng::new(batch as u64);
                    let x: Vec<f32> = (0..batch * 20)
                        .map(|_| rng.uniform_f32(-2.0, 2.0))
                        .collect();
                    let xt = Tensor::from_slice(&x, (batch, 20), &Device::Cpu).unwrap();
                    let want = mlp
                        .forward(&pruned.tensors().unwrap(), &xt)
                        .unwrap()
                        .to_vec2::<f32>()
                        .unwrap();
                    let xf = feature_major(&x, batch, 20);
                    for k in [Kernel::Dense, Kernel::Shrunk, Kernel::Csr] {
                        let f = Forward::build(&mlp, &params, &masks, k);
                        let mut bufs = f.buffers(batch);
                        let got = f.run(&xf, batch, &mut bufs);
                        for (i, row) in want.iter().enumerate() {
                            for (c, w) in row.iter().enumerate() {
                                let g = got[c * batch + i];
                                assert!(
                                    (g - w).abs() <= 1e-5 * (1.0 + w.abs()),
                                    "{kind:?} τ={tau} {k:?} batch {batch}: {g} vs {w}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}
