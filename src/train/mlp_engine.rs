//! The MLP engine: forward and backward passes of a Linear + activation stack written out over
//! `matmul` (crate-private) on reusable host buffers. No autograd graph, no per-step allocation once the
//! buffers have grown, and no gradient for the input batch (which candle's autograd computes and
//! throws away: 235,200 of the ~800,000 multiply-adds of a LeNet-300-100 training sample).
//! Cross-entropy and its gradient are fused into one pass over the logits. The layers are a
//! [`DenseStack`], which the LeNet-5 engine ([`super::conv_engine`]) reuses as its fully
//! connected head (there with the gradient of its input).
//!
//! Conventions match PyTorch: ReLU'(0) = 0; ReLU and tanh let NaN through, so a diverging model
//! shows up in the loss.

use super::engine::Engine;
use super::matmul::{matmul, View};
use crate::config::Activation;
use crate::error::{Error, Result};
use crate::model::mlp::Mlp;
use crate::model::Params;

/// A Linear + activation stack on row-major activations (`rows × width`): the whole MLP, or the
/// fully connected head of a convolutional network ([`super::conv_engine`]). Its weights and
/// biases are the parameters `first, first + 1, …` (weight, bias per layer); buffers are reused
/// across batches.
pub(super) struct DenseStack {
    widths: Vec<usize>,
    act: Activation,
    first: usize,
    threads: usize,
    /// Output of every layer (after its activation; the last holds the logits).
    outs: Vec<Vec<f32>>,
    /// d(loss)/d(pre-activation) of the layer being back-propagated, and of the one below it.
    delta: Vec<f32>,
    below: Vec<f32>,
}

impl DenseStack {
    /// Layers `widths[l] → widths[l + 1]`, `act` between them (not after the last).
    pub(super) fn new(widths: Vec<usize>, act: Activation, first: usize, threads: usize) -> Self {
        let n = widths.len() - 1;
        DenseStack {
            widths,
            act,
            first,
            threads: threads.max(1),
            outs: vec![Vec::new(); n],
            delta: Vec::new(),
            below: Vec::new(),
        }
    }

    fn n_layers(&self) -> usize {
        self.widths.len() - 1
    }

    pub(super) fn inputs(&self) -> usize {
        self.widths[0]
    }

    pub(super) fn classes(&self) -> usize {
        self.widths[self.n_layers()]
    }

    /// Whether `params` holds this stack's weights and biases at their places.
    pub(super) fn fits(&self, params: &Params) -> bool {
        let (n, f) = (self.n_layers(), self.first);
        params.0.len() >= f + 2 * n
            && (0..n).all(|l| {
                params.0[f + 2 * l].data.len() == self.widths[l] * self.widths[l + 1]
                    && params.0[f + 2 * l + 1].data.len() == self.widths[l + 1]
            })
    }

    /// Fill `outs` for the `rows` rows of `x`.
    pub(super) fn forward(&mut self, params: &Params, x: &[f32], rows: usize) {
        let n = self.n_layers();
        for l in 0..n {
            let (fan_in, out) = (self.widths[l], self.widths[l + 1]);
            let (w, b) = (
                &params.0[self.first + 2 * l],
                &params.0[self.first + 2 * l + 1],
            );
            let (below, rest) = self.outs.split_at_mut(l);
            let input = if l == 0 { x } else { &below[l - 1][..] };
            let z = &mut rest[0];
            z.resize(rows * out, 0.0);
            for row in z.chunks_exact_mut(out) {
                row.copy_from_slice(&b.data);
            }
            let w = View::row_major(&w.data, out, fan_in).t();
            matmul(
                z,
                View::row_major(input, rows, fan_in),
                w,
                true,
                self.threads,
            );
            if l + 1 < n {
                match self.act {
                    // An unconditional store, so the loop vectorises (a select, not a branch).
                    Activation::Relu => z
                        .iter_mut()
                        .for_each(|v| *v = if *v < 0.0 { 0.0 } else { *v }),
                    Activation::Tanh => z.iter_mut().for_each(|v| *v = v.tanh()),
                }
            }
        }
    }

    /// Summed cross-entropy and correct count of the logits of the last [`DenseStack::forward`];
    /// with `grad`, d(mean loss)/d(logits) goes into the back-propagation buffer.
    pub(super) fn cross_entropy(&mut self, y: &[u32], grad: bool) -> (f64, usize) {
        let classes = self.classes();
        let logits = self.outs.last().expect("at least one layer");
        if grad {
            self.delta.resize(y.len() * classes, 0.0);
            cross_entropy(logits, y, classes, Some(&mut self.delta))
        } else {
            cross_entropy(logits, y, classes, None)
        }
    }

    /// Back-propagate the gradient [`DenseStack::cross_entropy`] left through every layer into
    /// `grads`; with `dx`, also d(loss)/d(input) (`rows × inputs`).
    pub(super) fn backward(
        &mut self,
        params: &Params,
        x: &[f32],
        rows: usize,
        grads: &mut [Vec<f32>],
        dx: Option<&mut Vec<f32>>,
    ) {
        for l in (0..self.n_layers()).rev() {
            let (fan_in, out) = (self.widths[l], self.widths[l + 1]);
            let input = if l == 0 { x } else { &self.outs[l - 1][..] };
            let delta = View::row_major(&self.delta, rows, out);
            matmul(
                &mut grads[self.first + 2 * l],
                delta.t(),
                View::row_major(input, rows, fan_in),
                false,
                self.threads,
            );
            let gb = &mut grads[self.first + 2 * l + 1];
            gb.fill(0.0);
            for row in self.delta.chunks_exact(out) {
                gb.iter_mut().zip(row).for_each(|(g, d)| *g += d);
            }
            let w = View::row_major(&params.0[self.first + 2 * l].data, out, fan_in);
            if l == 0 {
                if let Some(dx) = dx {
                    dx.resize(rows * fan_in, 0.0);
                    matmul(dx, delta, w, false, self.threads);
                }
                break;
            }
            self.below.resize(rows * fan_in, 0.0);
            matmul(&mut self.below, delta, w, false, self.threads);
            let h = &self.outs[l - 1];
            match self.act {
                Activation::Relu => self
                    .below
                    .iter_mut()
                    .zip(h)
                    .for_each(|(d, &h)| *d = if h <= 0.0 { 0.0 } else { *d }),
                Activation::Tanh => {
                    self.below
                        .iter_mut()
                        .zip(h)
                        .for_each(|(d, &h)| *d *= 1.0 - h * h);
                }
            }
            std::mem::swap(&mut self.delta, &mut self.below);
        }
    }
}

/// An error unless every label is below `classes`.
pub(super) fn check_labels(y: &[u32], classes: usize, what: &str) -> Result<()> {
    match y.iter().find(|&&c| c as usize >= classes) {
        Some(c) => Err(Error::Internal(format!(
            "{what}: label {c} but the model has {classes} classes"
        ))),
        None => Ok(()),
    }
}

/// The MLP: one [`DenseStack`] over all parameters.
pub struct MlpEngine {
    stack: DenseStack,
}

impl MlpEngine {
    pub fn new(mlp: &Mlp, threads: usize) -> Self {
        MlpEngine {
            stack: DenseStack::new(mlp.widths.clone(), mlp.activation, 0, threads),
        }
    }

    fn check(&self, params: &Params, x: &[f32], y: &[u32]) -> Result<()> {
        let s = &self.stack;
        if params.0.len() != 2 * s.n_layers() || !s.fits(params) || x.len() != y.len() * s.inputs()
        {
            return Err(Error::Internal(format!(
                "mlp engine: parameters or a batch of {} values for {} rows do not fit widths {:?}",
                x.len(),
                y.len(),
                s.widths
            )));
        }
        check_labels(y, s.classes(), "mlp engine")
    }
}

/// Summed cross-entropy and correct arg-max count of `logits` (`y.len()` rows of `classes`); with
/// `grad`, also d(mean loss)/d(logits) = (softmax − one-hot) / rows.
fn cross_entropy(
    logits: &[f32],
    y: &[u32],
    classes: usize,
    mut grad: Option<&mut [f32]>,
) -> (f64, usize) {
    let inv = 1.0 / y.len().max(1) as f32;
    let (mut loss, mut correct) = (0f64, 0usize);
    for (r, (z, &c)) in logits.chunks_exact(classes).zip(y).enumerate() {
        let (mut best, mut arg) = (f32::NEG_INFINITY, 0);
        for (j, &v) in z.iter().enumerate() {
            if v > best {
                (best, arg) = (v, j);
            }
        }
        let sum: f32 = z.iter().map(|&v| (v - best).exp()).sum();
        loss += (best + sum.ln() - z[c as usize]) as f64;
        correct += usize::from(arg == c as usize);
        if let Some(g) = grad.as_deref_mut() {
            let g = &mut g[r * classes..(r + 1) * classes];
            for (g, &v) in g.iter_mut().zip(z) {
                *g = (v - best).exp() / sum * inv;
            }
            g[c as usize] -= inv;
        }
    }
    (loss, correct)
}

impl Engine for MlpEngine {
    fn loss_and_grads(
        &mut self,
        params: &Params,
        x: &[f32],
        y: &[u32],
        grads: &mut [Vec<f32>],
    ) -> Result<f32> {
        self.check(params, x, y)?;
        let rows = y.len();
        self.stack.forward(params, x, rows);
        let (sum, _) = self.stack.cross_entropy(y, true);
        let loss = (sum / rows.max(1) as f64) as f32;
        if loss.is_finite() {
            self.stack.backward(params, x, rows, grads, None);
        } else {
            grads.iter_mut().for_each(|g| g.fill(f32::NAN));
        }
        Ok(loss)
    }

    fn eval(&mut self, params: &Params, x: &[f32], y: &[u32]) -> Result<(f64, usize)> {
        self.check(params, x, y)?;
        self.stack.forward(params, x, y.len());
        Ok(self.stack.cross_entropy(y, false))
    }
}
