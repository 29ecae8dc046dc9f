//! `lamp`: layer-adaptive magnitude-based pruning (Lee et al., ICLR 2021). Within a layer, with
//! the squared weights sorted ascending, weight u scores
//! `w_u² / Σ_{v ≥ u} w_v²` — its square over the sum of its own and every larger square. The
//! largest weight of a layer scores 1, so one **global** threshold (`tau.scope: global`) below 1
//! never empties a layer, and layers are pruned to different sparsities by a single cut-off. With
//! `scope: layer` LAMP orders weights exactly as magnitude does.
//!
//! Ties are ordered by position (the earlier weight counts as the smaller). Masked weights are
//! zero, score 0 and add nothing to the sums, so iterative rounds score the survivors alone.

use super::{Granularity, LayerScores, PruningMethod, ScoreContext};
use crate::error::Result;

pub struct Lamp;

/// LAMP scores of one layer's weights.
pub fn lamp_scores(w: &[f32]) -> Vec<f32> {
    let sq: Vec<f64> = w.iter().map(|&x| f64::from(x) * f64::from(x)).collect();
    let mut order: Vec<usize> = (0..w.len()).collect();
    order.sort_by(|&a, &b| sq[a].total_cmp(&sq[b]).then(a.cmp(&b)));
    let mut scores = vec![0.0f32; w.len()];
    let mut suffix = 0.0f64;
    for &i in order.iter().rev() {
        suffix += sq[i];
        scores[i] = if suffix > 0.0 {
            (sq[i] / suffix) as f32
        } else {
            0.0
        };
    }
    scores
}

impl PruningMethod for Lamp {
    fn name(&self) -> &'static str {
        "lamp"
    }

    fn granularity(&self) -> Granularity {
        Granularity::Weight
    }

    fn scores(&self, ctx: &mut ScoreContext) -> Result<Vec<LayerScores>> {
        Ok(ctx.weight_scores(lamp_scores))
    }
}
