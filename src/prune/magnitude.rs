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
        Ok(ctx.weight_scores(|w| w.iter().map(|x| x.abs()).collect()))
    }
}
