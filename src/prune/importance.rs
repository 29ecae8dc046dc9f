//! `importance`: structured pruning. One score per unit (neuron or channel): the L2 (or L1) norm
//! of its incoming weights, i.e. row i of a Linear weight or filter i of a conv weight. Removing
//! unit i zeroes that row, bias i and the next layer's inputs from unit i. Output units are never
//! removed.

use super::{Granularity, LayerScores, PruningMethod, ScoreContext};
use crate::config::Norm;
use crate::error::Result;
use crate::model::{LayerInfo, Masks, Params};

pub struct Importance {
    pub norm: Norm,
}

/// Per-unit norms of a layer's weight rows (entries that `keep` masks count as zero). A unit
/// written by several layers joined by a residual add is scored over all their rows together.
pub fn unit_norms(
    params: &Params,
    layer: &LayerInfo,
    keep: Option<&Masks>,
    norm: Norm,
) -> Vec<f32> {
    (0..layer.units)
        .map(|u| {
            let vals = layer.producers().flat_map(|(w, _)| {
                let data = &params.0[w].data;
                let row = data.len() / layer.units;
                (u * row..(u + 1) * row)
                    .filter(move |&i| keep.is_none_or(|k| k.0[w][i]))
                    .map(move |i| data[i] as f64)
            });
            match norm {
                Norm::L2 => vals.map(|v| v * v).sum::<f64>().sqrt() as f32,
                Norm::L1 => vals.map(f64::abs).sum::<f64>() as f32,
            }
        })
        .collect()
}

impl PruningMethod for Importance {
    fn name(&self) -> &'static str {
        "importance"
    }

    fn granularity(&self) -> Granularity {
        Granularity::Unit
    }

    fn scores(&self, ctx: &mut ScoreContext) -> Result<Vec<LayerScores>> {
        Ok(ctx
            .prunable(Granularity::Unit)
            .into_iter()
            .map(|i| LayerScores {
                layer: i,
                scores: unit_norms(ctx.params, &ctx.layers[i], None, self.norm),
            })
            .collect())
    }
}
