//! The MLP engine: forward and backward passes of a Linear + activation stack written out over
//! [`matmul`] on reusable host buffers. No autograd graph, no per-step allocation once the
//! buffers have grown, and no gradient for the input batch (which candle's autograd computes and
//! throws away: 235,200 of the ~800,000 multiply-adds of a LeNet-300-100 training sample).
//! Cross-entropy and its gradient are fused into one pass over the logits.
//!
//! Conventions match PyTorch: ReLU'(0) = 0; ReLU and tanh let NaN through, so a diverging model
//! shows up in the loss.

use super::engine::Engine;
use super::matmul::{matmul, View};
use crate::config::Activation;
use crate::error::{Error, Result};
use crate::model::mlp::Mlp;
use crate::model::Params;

/// Buffers and shape of one MLP; reused across batches.
pub struct MlpEngine {
    widths: Vec<usize>,
    act: Activation,
    threads: usize,
    /// Output of every layer (after its activation; the last holds the logits).
    outs: Vec<Vec<f32>>,
    /// d(loss)/d(pre-activation) of the layer being back-propagated, and of the one below it.
    delta: Vec<f32>,
    below: Vec<f32>,
}

impl MlpEngine {
    pub fn new(mlp: &Mlp, threads: usize) -> Self {
        MlpEngine {
            widths: mlp.widths.clone(),
            act: mlp.activation,
            threads: threads.max(1),
            outs: vec![Vec::new(); mlp.widths.len() - 1],
            delta: Vec::new(),
            below: Vec::new(),
        }
    }

    fn n_layers(&self) -> usize {
        self.widths.len() - 1
    }

    fn check(&self, params: &Params, x: &[f32], y: &[u32]) -> Result<()> {
        let n = self.n_layers();
        let shapes_ok = params.0.len() == 2 * n
            && (0..n).all(|l| {
                params.0[2 * l].data.len() == self.widths[l] * self.widths[l + 1]
                    && params.0[2 * l + 1].data.len() == self.widths[l + 1]
            });
        if !shapes_ok || x.len() != y.len() * self.widths[0] {
            return Err(Error::Internal(format!(
                "mlp engine: parameters or a batch of {} values for {} rows do not fit widths {:?}",
                x.len(),
                y.len(),
                self.widths
            )));
        }
        let classes = self.widths[n];
        match y.iter().find(|&&c| c as usize >= classes) {
            Some(c) => Err(Error::Internal(format!(
                "mlp engine: label {c} but the model has {classes} classes"
            ))),
            None => Ok(()),
        }
    }

    /// Fill `outs` for the `rows` rows of `x`.
    fn forward(&mut self, params: &Params, x: &[f32], rows: usize) {
        let n = self.n_layers();
        for l in 0..n {
            let (fan_in, out) = (self.widths[l], self.widths[l + 1]);
            let (below, rest) = self.outs.split_at_mut(l);
            let input = if l == 0 { x } else { &below[l - 1][..] };
            let z = &mut rest[0];
            z.resize(rows * out, 0.0);
            for row in z.chunks_exact_mut(out) {
                row.copy_from_slice(&params.0[2 * l + 1].data);
            }
            let w = View::row_major(&params.0[2 * l].data, out, fan_in).t();
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

    /// Back-propagate `delta` (d loss / d logits) through every layer into `grads`.
    fn backward(&mut self, params: &Params, x: &[f32], rows: usize, grads: &mut [Vec<f32>]) {
        for l in (0..self.n_layers()).rev() {
            let (fan_in, out) = (self.widths[l], self.widths[l + 1]);
            let input = if l == 0 { x } else { &self.outs[l - 1][..] };
            let delta = View::row_major(&self.delta, rows, out);
            matmul(
                &mut grads[2 * l],
                delta.t(),
                View::row_major(input, rows, fan_in),
                false,
                self.threads,
            );
            let gb = &mut grads[2 * l + 1];
            gb.fill(0.0);
            for row in self.delta.chunks_exact(out) {
                gb.iter_mut().zip(row).for_each(|(g, d)| *g += d);
            }
            if l == 0 {
                break;
            }
            self.below.resize(rows * fan_in, 0.0);
            let w = View::row_major(&params.0[2 * l].data, out, fan_in);
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
        let classes = self.widths[self.n_layers()];
        self.forward(params, x, rows);
        self.delta.resize(rows * classes, 0.0);
        let logits = self.outs.last().expect("at least one layer");
        let (sum, _) = cross_entropy(logits, y, classes, Some(&mut self.delta));
        let loss = (sum / rows.max(1) as f64) as f32;
        if loss.is_finite() {
            self.backward(params, x, rows, grads);
        } else {
            grads.iter_mut().for_each(|g| g.fill(f32::NAN));
        }
        Ok(loss)
    }

    fn eval(&mut self, params: &Params, x: &[f32], y: &[u32]) -> Result<(f64, usize)> {
        self.check(params, x, y)?;
        let classes = self.widths[self.n_layers()];
        self.forward(params, x, y.len());
        let logits = self.outs.last().expect("at least one layer");
        Ok(cross_entropy(logits, y, classes, None))
    }
}
