//! `magnitude`: score |w| for every weight of every prunable layer (biases are never scored).

use super::{Granularity, LayerScores, PruningMethod, ScoreContext};
use crate::error::Result;

pub struct Magnitude;

impl PruningMethod for Magnitude {
    fn name(&self) -> &'static str {
        "magnitude"
    }

    fn granularity(&self) -> Granularity {
        Granularity::Weight
    }

    fn scores(&self, ctx: &mut ScoreContext) -> Result<Vec<LayerScores>> {
        Ok(ctx
            .prunable(Granularity::Weight)
            .into_iter()
            .map(|i| LayerScores {
                layer: i,
                scores: ctx.params.0[ctx.layers[i].weight]
                    .data
                    .iter()
                    .map(|w| w.abs())
                    .collect(),
            })
            .collect())
    }
}
