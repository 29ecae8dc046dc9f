//! `combined`: magnitude pruning at τ, then importance pruning at the same τ (same unit and
//! scope) on the unit norms of what magnitude left.

use super::importance::unit_norms;
use super::{
    expand, masks_for, Granularity, LayerScores, MaskContext, PruningMethod, ScoreContext,
};
use crate::config::Norm;
use crate::error::Result;
use crate::model::Masks;

pub struct Combined {
    pub norm: Norm,
}

impl PruningMethod for Combined {
    fn name(&self) -> &'static str {
        "combined"
    }

    fn granularity(&self) -> Granularity {
        Granularity::Weight
    }

    /// The magnitude stage's scores.
    fn scores(&self, ctx: &mut ScoreContext) -> Result<Vec<LayerScores>> {
        super::magnitude::Magnitude.scores(ctx)
    }

    fn masks(&self, m: &MaskContext, scores: &[LayerScores], tau: f64) -> Result<Masks> {
        let mut masks = masks_for(Granularity::Weight, scores, m, tau)?;
        let units: Vec<LayerScores> = scores
            .iter()
            .filter(|s| {
                let l = &m.layers[s.layer];
                !l.is_output && l.unit_leader.is_none()
            })
            .map(|s| LayerScores {
                layer: s.layer,
                scores: unit_norms(m.params, &m.layers[s.layer], Some(&masks), self.norm),
            })
            .collect();
        let pruned = m.prune_sets(Granularity::Unit, &units, tau)?;
        for (s, p) in units.iter().zip(&pruned) {
            expand(
                Granularity::Unit,
                &m.layers[s.layer],
                p,
                m.params,
                &mut masks,
            );
        }
        Ok(masks)
    }
}
