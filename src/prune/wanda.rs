//! `wanda`: pruning by weights and activations (Sun, Liu, Bair & Kolter, ICLR 2024). Weight
//! `W_ij` of a layer scores `|W_ij| · ‖X_j‖₂`, where `‖X_j‖₂` is the ℓ2 norm of input feature
//! `j` over the model's training rows ([`ScoreContext::input_norms`]; for a convolution,
//! feature `j` is one `[in, kh, kw]` entry of the im2col patch, over every output position).
//! The paper compares scores within each output row: use it with `tau.scope: row`.

use super::{Granularity, LayerScores, PruningMethod, ScoreContext};
use crate::error::{Error, Result};

pub struct Wanda;

/// Wanda scores of one layer's weights, rows of `norms.len()` columns.
pub fn wanda_scores(w: &[f32], norms: &[f32]) -> Vec<f32> {
    w.iter()
        .zip(norms.iter().cycle())
        .map(|(w, n)| w.abs() * n)
        .collect()
}

impl PruningMethod for Wanda {
    fn name(&self) -> &'static str {
        "wanda"
    }

    fn granularity(&self) -> Granularity {
        Granularity::Weight
    }

    fn needs_input_norms(&self) -> bool {
        true
    }

    fn scores(&self, ctx: &mut ScoreContext) -> Result<Vec<LayerScores>> {
        let norms = ctx
            .input_norms
            .ok_or_else(|| Error::Internal("wanda pruning needs input norms".into()))?;
        ctx.prunable(Granularity::Weight)
            .into_iter()
            .map(|i| {
                let w = &ctx.params.0[ctx.layers[i].weight].data;
                let n = &norms[i];
                if n.is_empty() || w.len() != n.len() * ctx.layers[i].units {
                    return Err(Error::Internal(format!(
                        "wanda: layer {} has {} weights in {} rows but {} input norms",
                        ctx.layers[i].name,
                        w.len(),
                        ctx.layers[i].units,
                        n.len()
                    )));
                }
                Ok(LayerScores {
                    layer: i,
                    scores: wanda_scores(w, n),
                })
            })
            .collect()
    }
}
