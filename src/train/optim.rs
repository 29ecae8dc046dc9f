//! Fused, in-place optimizer updates (SGD with momentum and weight decay; AdamW) that also keep
//! pruned weights — and their optimizer state — at exactly zero.
//!
//! Each step is one pass over a parameter's host buffer, instead of the dozen allocating tensor
//! ops of `candle_nn::AdamW`.

use crate::config::{OptimizerKind, TrainSpec};
use crate::error::{Error, Result};
use crate::model::Params;

/// Optimizer state for every parameter.
pub struct Optimizer {
    kind: OptimizerKind,
    pub lr: f32,
    momentum: f32,
    weight_decay: f32,
    betas: (f32, f32),
    step: i32,
    /// Momentum (SGD) or first moment (AdamW), one buffer per parameter.
    m: Vec<Vec<f32>>,
    /// Second moment (AdamW only).
    v: Vec<Vec<f32>>,
}

impl Optimizer {
    pub fn new(spec: &TrainSpec, lr: f64, sizes: &[usize]) -> Self {
        let adam = spec.optimizer == OptimizerKind::Adamw;
        Optimizer {
            kind: spec.optimizer,
            lr: lr as f32,
            momentum: spec.momentum as f32,
            weight_decay: spec.weight_decay as f32,
            betas: (spec.betas[0] as f32, spec.betas[1] as f32),
            step: 0,
            m: sizes.iter().map(|&n| vec![0.0; n]).collect(),
            v: if adam {
                sizes.iter().map(|&n| vec![0.0; n]).collect()
            } else {
                Vec::new()
            },
        }
    }

    /// Read-only view of the first-moment buffers (for tests of mask integrity).
    #[cfg(test)]
    pub fn first_moments(&self) -> &[Vec<f32>] {
        &self.m
    }

    /// The update of parameter `i` at the current step count.
    fn update<'a>(&'a mut self, i: usize, mask: Option<&'a [bool]>) -> Update<'a> {
        let (b1, b2) = self.betas;
        let v = if self.v.is_empty() {
            None
        } else {
            Some(self.v[i].as_mut_slice())
        };
        Update {
            kind: self.kind,
            lr: self.lr,
            momentum: self.momentum,
            wd: self.weight_decay,
            betas: (b1, b2),
            bias_corr: (1.0 - b1.powi(self.step), 1.0 - b2.powi(self.step)),
            m: self.m[i].as_mut_slice(),
            v,
            mask,
        }
    }

    /// One step: update every parameter `params[i]` from its gradient `grads[i]`; `masks[i]`
    /// (if any) pins entries — and their optimizer state — at zero.
    pub fn step(
        &mut self,
        params: &mut Params,
        grads: &[Vec<f32>],
        masks: Option<&[Vec<bool>]>,
    ) -> Result<()> {
        self.step += 1;
        for (i, (p, g)) in params.0.iter_mut().zip(grads).enumerate() {
            if p.kind == crate::model::ParamKind::Buffer {
                continue; // running statistics: not trained
            }
            self.update(i, masks.map(|ms| ms[i].as_slice()))
                .apply(&mut p.data, g)?;
        }
        Ok(())
    }
}

struct Update<'a> {
    kind: OptimizerKind,
    lr: f32,
    momentum: f32,
    wd: f32,
    betas: (f32, f32),
    bias_corr: (f32, f32),
    m: &'a mut [f32],
    v: Option<&'a mut [f32]>,
    mask: Option<&'a [bool]>,
}

impl Update<'_> {
    /// One fused pass over a parameter `w` and its gradient `g`.
    fn apply(self, w: &mut [f32], g: &[f32]) -> Result<()> {
        let Update { m, mut v, .. } = self;
        if w.len() != g.len() || m.len() != w.len() {
            return Err(Error::Internal(format!(
                "optimizer: parameter of {} values, gradient of {}, state of {}",
                w.len(),
                g.len(),
                m.len()
            )));
        }
        // Iterator zips (no index bounds checks) so the element-wise updates vectorise; the
        // arithmetic per element is unchanged.
        let (lr, wd) = (self.lr, self.wd);
        match self.kind {
            OptimizerKind::Sgd => {
                let mu = self.momentum;
                for ((w, &g), m) in w.iter_mut().zip(g).zip(m.iter_mut()) {
                    let gi = g + wd * *w;
                    let mi = mu * *m + gi;
                    *m = mi;
                    *w -= lr * mi;
                }
            }
            OptimizerKind::Adamw => {
                let v: &mut [f32] = v.as_deref_mut().expect("adam second moment");
                let (b1, b2) = self.betas;
                let (bc1, bc2) = self.bias_corr;
                let decay = 1.0 - lr * wd;
                for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                    let mi = b1 * *m + (1.0 - b1) * g;
                    let vi = b2 * *v + (1.0 - b2) * g * g;
                    *m = mi;
                    *v = vi;
                    let upd = (mi / bc1) / ((vi / bc2).sqrt() + 1e-8);
                    *w = *w * decay - lr * upd;
                }
            }
        }
        if let Some(mask) = self.mask {
            for ((w, m), &k) in w.iter_mut().zip(m.iter_mut()).zip(mask) {
                if !k {
                    *w = 0.0;
                    *m = 0.0;
                }
            }
            if let Some(v) = v {
                for (v, &k) in v.iter_mut().zip(mask) {
                    if !k {
                        *v = 0.0;
                    }
                }
            }
        }
        Ok(())
    }
}
