//! `synflow`: iterative synaptic flow pruning (Tanaka, Kunin, Yamins & Ganguli, NeurIPS 2020),
//! data-free. Every parameter is replaced by its absolute value (pruned ones by 0), an input of
//! all ones is run through the model (in f64), and R is the sum of the outputs; weight w scores
//! `|w · ∂R/∂w|`. Because R couples all layers, pruning proceeds in `{synflow: {rounds}}`
//! rounds (default 100) on an exponential schedule: after round k of n the survivors are the
//! fraction `(1 − τ)^(k/n)` of those alive at the start, each round rescoring the survivors —
//! which keeps a layer from being cut off entirely (the paper's layer-collapse argument).
//! τ is the overall fraction pruned (`tau.unit: quantile`), in the configured scope (the paper's
//! is `global`); its natural schedule is `at_init`.

use super::{masks_for, Granularity, LayerScores, MaskContext, PruningMethod, ScoreContext};
use crate::config::TauUnit;
use crate::error::Result;
use crate::model::{Architecture, LayerInfo, Masks, Params};
use candle_core::{DType, Device, Tensor, Var};

pub struct Synflow {
    pub rounds: usize,
}

/// SynFlow scores of the layers `which` (indices into `layers`) of `params` under `masks`.
pub fn synflow_scores(
    arch: &dyn Architecture,
    params: &Params,
    masks: &Masks,
    layers: &[LayerInfo],
    which: &[usize],
) -> Result<Vec<LayerScores>> {
    let dev = Device::Cpu;
    let vars: Vec<Var> = params
        .0
        .iter()
        .zip(&masks.0)
        .map(|(p, m)| {
            let abs: Vec<f64> = p
                .data
                .iter()
                .zip(m)
                .map(|(&v, &k)| if k { f64::from(v).abs() } else { 0.0 })
                .collect();
            Var::from_vec(abs, p.shape.as_slice(), &dev)
        })
        .collect::<candle_core::Result<_>>()?;
    let ts: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
    let ones = Tensor::ones((1, arch.input_dim()), DType::F64, &dev)?;
    let r = arch.forward(&ts, &ones)?.sum_all()?;
    let grads = r.backward()?;
    which
        .iter()
        .map(|&i| {
            let v = &vars[layers[i].weight];
            let w = v.as_tensor().flatten_all()?.to_vec1::<f64>()?;
            let g = match grads.get(v.as_tensor()) {
                Some(g) => g.flatten_all()?.to_vec1::<f64>()?,
                None => vec![0.0; w.len()],
            };
            Ok(LayerScores {
                layer: i,
                scores: w
                    .iter()
                    .zip(&g)
                    .map(|(w, g)| (w * g).abs() as f32)
                    .collect(),
            })
        })
        .collect()
}

/// Live weights of the layers in `scores` under `masks`.
fn alive(m: &MaskContext, scores: &[LayerScores], masks: &Masks) -> usize {
    scores
        .iter()
        .map(|s| {
            masks.0[m.layers[s.layer].weight]
                .iter()
                .filter(|&&k| k)
                .count()
        })
        .sum()
}

impl PruningMethod for Synflow {
    fn name(&self) -> &'static str {
        "synflow"
    }

    fn granularity(&self) -> Granularity {
        Granularity::Weight
    }

    /// One round's scores on the unpruned model (what score statistics report); masks rescore
    /// every round.
    fn scores(&self, ctx: &mut ScoreContext) -> Result<Vec<LayerScores>> {
        let which = ctx.prunable(Granularity::Weight);
        synflow_scores(
            ctx.arch,
            ctx.params,
            &Masks::dense(ctx.params),
            ctx.layers,
            &which,
        )
    }

    fn masks(&self, m: &MaskContext, scores: &[LayerScores], tau: f64) -> Result<Masks> {
        let which: Vec<usize> = scores.iter().map(|s| s.layer).collect();
        let mut masks = m.start();
        let start = alive(m, scores, &masks) as f64;
        let keep = (1.0 - tau).clamp(0.0, 1.0);
        let mut pruned_once = false;
        for k in 1..=self.rounds {
            let target = (start * keep.powf(k as f64 / self.rounds as f64)).round();
            let now = alive(m, scores, &masks) as f64;
            // Rounds with nothing to cut are skipped, except that an N:M pattern is laid once.
            if now <= target && (pruned_once || m.n_m.is_none() || k < self.rounds) {
                continue;
            }
            let s = synflow_scores(m.arch, m.params, &masks, m.layers, &which)?;
            let round = MaskContext {
                prior: Some(&masks),
                unit: TauUnit::Quantile,
                ..*m
            };
            let frac = if now > 0.0 {
                (1.0 - target / now).max(0.0)
            } else {
                0.0
            };
            masks = masks_for(Granularity::Weight, &s, &round, frac)?;
            pruned_once = true;
        }
        Ok(masks)
    }
}
