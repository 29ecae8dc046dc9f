//! `taylor` (alias `gradient`): first-order Taylor saliency |w · g| per weight, where g is the mean
//! gradient of the training loss over `{taylor: {batches}}` batches of the model's own training
//! rows (drawn by a seeded stream).

use super::{Granularity, LayerScores, PruningMethod, ScoreContext};
use crate::error::{Error, Result};

pub struct Taylor;

impl PruningMethod for Taylor {
    fn name(&self) -> &'static str {
        "taylor"
    }

    fn granularity(&self) -> Granularity {
        Granularity::Weight
    }

    fn needs_gradients(&self) -> bool {
        true
    }

    fn scores(&self, ctx: &mut ScoreContext) -> Result<Vec<LayerScores>> {
        let grads = ctx
            .grads
            .ok_or_else(|| Error::Internal("taylor pruning needs gradients".into()))?;
        Ok(ctx
            .prunable(Granularity::Weight)
            .into_iter()
            .map(|i| {
                let w = &ctx.params.0[ctx.layers[i].weight].data;
                let g = &grads.0[ctx.layers[i].weight].data;
                LayerScores {
                    layer: i,
                    scores: w.iter().zip(g).map(|(w, g)| (w * g).abs()).collect(),
                }
            })
            .collect())
    }
}
