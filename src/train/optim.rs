//! Fused, in-place optimizer updates (SGD with momentum and weight decay; AdamW) that also keep
//! pruned weights — and their optimizer state — at exactly zero.
//!
//! Each step runs one pass over a parameter's storage through candle's in-place custom-op hook,
//! instead of the dozen allocating tensor ops of `candle_nn::AdamW`.

use crate::config::{OptimizerKind, TrainSpec};
use candle_core::{CpuStorage, InplaceOp2, Layout, Tensor, Var};
use std::cell::RefCell;

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
    pub fn first_moments(&self) -> &[Vec<f32>] {
        &self.m
    }

    /// Apply one update to every variable from its gradient; `masks[i]` (if any) pins entries.
    pub fn step(
        &mut self,
        vars: &[Var],
        grads: &[Tensor],
        masks: Option<&[Vec<bool>]>,
    ) -> candle_core::Result<()> {
        self.step += 1;
        let (b1, b2) = self.betas;
        let bc1 = 1.0 - b1.powi(self.step);
        let bc2 = 1.0 - b2.powi(self.step);
        for i in 0..vars.len() {
            let (m, v) = if self.v.is_empty() {
                (&mut self.m[i], None)
            } else {
                let (m, v) = (&mut self.m[i], &mut self.v[i]);
                (m, Some(v))
            };
            let op = Update {
                kind: self.kind,
                lr: self.lr,
                momentum: self.momentum,
                wd: self.weight_decay,
                betas: (b1, b2),
                bias_corr: (bc1, bc2),
                m: RefCell::new(m.as_mut_slice()),
                v: RefCell::new(v.map(|v| v.as_mut_slice())),
                mask: masks.map(|ms| ms[i].as_slice()),
            };
            vars[i].as_tensor().inplace_op2(&grads[i], &op)?;
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
    m: RefCell<&'a mut [f32]>,
    v: RefCell<Option<&'a mut [f32]>>,
    mask: Option<&'a [bool]>,
}

fn f32_slice<'s>(s: &'s CpuStorage, l: &Layout) -> candle_core::Result<&'s [f32]> {
    let CpuStorage::F32(data) = s else {
        candle_core::bail!("prunecv optimizer: expected f32 storage")
    };
    let (a, b) = l
        .contiguous_offsets()
        .ok_or_else(|| candle_core::Error::Msg("prunecv optimizer: non-contiguous".into()))?;
    Ok(&data[a..b])
}

impl InplaceOp2 for Update<'_> {
    fn name(&self) -> &'static str {
        "prunecv-fused-update"
    }

    fn cpu_fwd(
        &self,
        dst: &mut CpuStorage,
        dst_l: &Layout,
        gs: &CpuStorage,
        gl: &Layout,
    ) -> candle_core::Result<()> {
        let g = f32_slice(gs, gl)?;
        let CpuStorage::F32(wdata) = dst else {
            candle_core::bail!("prunecv optimizer: expected f32 parameter")
        };
        let (a, b) = dst_l
            .contiguous_offsets()
            .ok_or_else(|| candle_core::Error::Msg("prunecv optimizer: non-contiguous".into()))?;
        let w = &mut wdata[a..b];
        let mut m = self.m.borrow_mut();
        let mut v = self.v.borrow_mut();
        if w.len() != g.len() || m.len() != w.len() {
            candle_core::bail!("prunecv optimizer: size mismatch");
        }
        // Iterator zips (no index bounds checks) so the element-wise updates vectorise; the
        // arithmetic per element is unchanged.
        let m: &mut [f32] = &mut m[..];
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
            if let Some(v) = v.as_deref_mut() {
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
