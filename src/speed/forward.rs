//! Inference of a pruned MLP (`mlp`, `lenet300`) with one of three kernels, one thread,
//! activations held feature-major (`features × batch`) so every kernel streams contiguous rows:
//!
//! - `dense`: the masked model as it is stored, zeros multiplied (`gemm`, as training uses);
//! - `shrunk`: the physically smaller model with removed units cut out
//!   ([`Architecture::shrink`]), same dense kernel;
//! - `csr`: every layer's kept weights in CSR ([`super::csr`]), our own sparse kernel.

use super::csr::Csr;
use crate::config::Activation;
use crate::model::{Architecture, Masks, Params};
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

/// One affine layer `y = W h + b`, `W` an `out × inp` matrix, laid out for one kernel: a Linear
/// layer on feature-major activations, or a convolution on its im2col column matrix.
pub(super) enum Layer {
    Dense(Dense),
    Sparse { m: Csr, b: Vec<f32> },
}

/// A layer's weights stored dense, multiplied by `gemm`.
pub(super) struct Dense {
    w: Vec<f32>,
    b: Vec<f32>,
    out: usize,
    inp: usize,
}

impl Dense {
    /// `y (out × n) = W · h (inp × n) + b`, `h`'s rows `ld ≥ n` apart: the product through
    /// `gemm`, then the bias added per row.
    fn apply(&self, h: &[f32], ld: usize, n: usize, y: &mut [f32]) {
        let y = &mut y[..self.out * n];
        matmul(
            y,
            View::row_major(&self.w, self.out, self.inp),
            View::padded(&h[..self.inp * ld], self.inp, n, ld),
            false,
            1,
        );
        for (r, bias) in self.b.iter().enumerate() {
            y[r * n..(r + 1) * n].iter_mut().for_each(|v| *v += bias);
        }
    }
}

impl Layer {
    /// Row-major `w` (`out × inp`) and `b`: dense, or in CSR keeping the entries `csr` flags.
    pub(super) fn new(
        w: Vec<f32>,
        b: Vec<f32>,
        out: usize,
        inp: usize,
        csr: Option<&[bool]>,
    ) -> Layer {
        match csr {
            Some(keep) => Layer::Sparse {
                m: Csr::from_dense(&w, out, inp, Some(keep)),
                b,
            },
            None => Layer::Dense(Dense { w, b, out, inp }),
        }
    }

    pub(super) fn out(&self) -> usize {
        match self {
            Layer::Dense(d) => d.out,
            Layer::Sparse { m, .. } => m.rows,
        }
    }

    /// Weights the kernel multiplies: stored entries for CSR, every entry otherwise.
    pub(super) fn weights(&self) -> usize {
        match self {
            Layer::Dense(d) => d.w.len(),
            Layer::Sparse { m, .. } => m.nnz(),
        }
    }

    /// `y (out × batch) = W · h (inp × batch) + b`, feature-major activations, row-major.
    pub(super) fn apply(&self, h: &[f32], batch: usize, y: &mut [f32]) {
        match self {
            Layer::Dense(d) => d.apply(h, batch, batch, y),
            Layer::Sparse { m, b } => m.matmul_fm(h, batch, b, y),
        }
    }

    /// `y (out × n) = W · h (inp × n) + b` for an im2col column matrix `h` whose rows start
    /// `ld ≥ n` apart; `y` row-major. CSR: [`Csr::matmul_cols`].
    pub(super) fn apply_cols(&self, h: &[f32], ld: usize, n: usize, y: &mut [f32]) {
        match self {
            Layer::Dense(d) => d.apply(h, ld, n, y),
            Layer::Sparse { m, b } => m.matmul_cols(h, ld, n, b, y),
        }
    }
}

/// A network laid out for one kernel, run by the timing code: [`Forward`] (MLPs) or
/// [`super::conv::ConvForward`] (LeNet-5).
pub trait Net {
    /// Scratch buffers for one batch size, reused across calls.
    type Buffers;
    /// Weights the kernel multiplies: stored entries for CSR, every entry otherwise.
    fn weights(&self) -> usize;
    /// Scratch buffers for `batch` inputs.
    fn buffers(&self, batch: usize) -> Self::Buffers;
    /// The input [`Net::run`] takes, from `batch` row-major input rows.
    fn input(&self, rows: &[f32], batch: usize) -> Vec<f32>;
    /// Logits `(classes × batch)`, feature-major, of the input laid out by [`Net::input`],
    /// written into `bufs` and returned.
    fn run<'b>(&self, x: &[f32], batch: usize, bufs: &'b mut Self::Buffers) -> &'b [f32];
}

/// Layer `l` of `params` (weight `2l`, bias `2l + 1`) for one kernel: its size read off the
/// weight's shape `[out, …]` (a shrunk model's are smaller), CSR keeping what `csr` keeps.
pub(super) fn layer(params: &Params, l: usize, csr: Option<&Masks>) -> Layer {
    let (w, b) = (&params.0[2 * l], &params.0[2 * l + 1]);
    let (out, inp) = (w.shape[0], w.shape[1..].iter().product());
    let keep = csr.map(|k| k.0[2 * l].as_slice());
    Layer::new(w.data.clone(), b.data.clone(), out, inp, keep)
}

/// A model ready to run with one kernel.
pub struct Forward {
    layers: Vec<Layer>,
    activation: Activation,
    inputs: usize,
}

impl Forward {
    /// The MLP `arch` with `params` pruned by `masks`, laid out for `kernel`; `None` when `arch`
    /// is not a plain MLP ([`Architecture::as_mlp`]) or, for the shrunk kernel, cannot shrink.
    pub fn build(
        arch: &dyn Architecture,
        params: &Params,
        masks: &Masks,
        kernel: Kernel,
    ) -> Option<Forward> {
        let mlp = arch.as_mlp()?;
        let (ps, keep) = match kernel {
            Kernel::Shrunk => (arch.shrink(params, masks)?.params, None),
            Kernel::Dense => (masks.apply(params), None),
            Kernel::Csr => (masks.apply(params), Some(masks)),
        };
        let layers: Vec<Layer> = (0..mlp.widths.len() - 1)
            .map(|l| layer(&ps, l, keep))
            .collect();
        let inputs = ps.0[0].shape[1];
        Some(Forward::from_layers(layers, mlp.activation, inputs))
    }

    /// Linear layers applied in turn to `inputs` features, `activation` between them.
    pub(super) fn from_layers(layers: Vec<Layer>, activation: Activation, inputs: usize) -> Self {
        Forward {
            layers,
            activation,
            inputs,
        }
    }
}

impl Net for Forward {
    type Buffers = [Vec<f32>; 2];

    fn weights(&self) -> usize {
        self.layers.iter().map(Layer::weights).sum()
    }

    fn buffers(&self, batch: usize) -> [Vec<f32>; 2] {
        let widest = self.layers.iter().map(Layer::out).max().unwrap_or(0);
        [vec![0.0; widest * batch], vec![0.0; widest * batch]]
    }

    /// Feature-major `(inputs × batch)`.
    fn input(&self, rows: &[f32], batch: usize) -> Vec<f32> {
        feature_major(rows, batch, self.inputs)
    }

    fn run<'b>(&self, x: &[f32], batch: usize, bufs: &'b mut [Vec<f32>; 2]) -> &'b [f32] {
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
            let y = &mut nxt[..layer.out() * batch];
            layer.apply(h, batch, y);
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

/// Feature-major logits `got` (`classes × batch`) equal candle's row-major `want` (one row per
/// input) to 1e-5, relative to the logit's size.
#[cfg(test)]
pub(super) fn assert_logits_match(got: &[f32], want: &[Vec<f32>], what: &str) {
    let batch = want.len();
    assert_eq!(
        got.len(),
        want.first().map_or(0, Vec::len) * batch,
        "{what}"
    );
    for (i, row) in want.iter().enumerate() {
        for (c, w) in row.iter().enumerate() {
            let g = got[c * batch + i];
            assert!(
                (g - w).abs() <= 1e-5 * (1.0 + w.abs()),
                "{what} batch {batch} input {i} class {c}: {g} vs {w}"
            );
        }
    }
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
        let mlp = crate::model::testing::mlp(20, &[16, 12], 5, Activation::Relu);
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
                        let f = Forward::build(&mlp, &params, &masks, k).unwrap();
                        let mut bufs = f.buffers(batch);
                        let got = f.run(&xf, batch, &mut bufs);
                        assert_logits_match(got, &want, &format!("{kind:?} τ={tau} {k:?}"));
                    }
                }
            }
        }
    }
}
