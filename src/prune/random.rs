//! `random`: uniform scores in [0, 1) from a seeded stream, drawn once per (repeat, fold), so the
//! set pruned at a larger τ contains the set pruned at a smaller one. The baseline every pruning
//! comparison should show.

use super::{Granularity, LayerScores, PruningMethod, ScoreContext};
use crate::error::Result;

pub struct Random;

impl PruningMethod for Random {
    fn name(&self) -> &'static str {
        "random"
    }

    fn granularity(&self) -> Granularity {
        Granularity::Weight
    }

    fn scores(&self, ctx: &mut ScoreContext) -> Result<Vec<LayerScores>> {
        let mut out = Vec::new();
        for i in ctx.prunable(Granularity::Weight) {
            let n = ctx.params.0[ctx.layers[i].weight].data.len();
            let scores = (0..n).map(|_| ctx.rng.next_f32()).collect();
            out.push(LayerScores { layer: i, scores });
        }
        Ok(out)
    }
}
