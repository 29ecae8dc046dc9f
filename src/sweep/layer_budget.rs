//! The measurements behind `tau.scope: sensitivity` ([`crate::prune::budget`]): for one model
//! and one method, each scored layer alone is pruned at every fraction of
//! [`budget::LEVELS`] of its live entries (on top of earlier rounds' masks), and the rise of the
//! mean cross-entropy over a spread of the model's own training rows is recorded. Validation and
//! test rows are never read here, so the budget cannot leak what τ is later judged on.

use crate::config::{Experiment, Scope, TauUnit};
use crate::error::Result;
use crate::model::{Architecture, Masks, Params};
use crate::prune::budget::{self, Curve};
use crate::prune::{LayerScores, MaskContext, PruningMethod};
use crate::train::{self, HostData};

/// One [`Curve`] per entry of `scores`, measured on up to `{sensitivity: {rows}}` of
/// `train_data`.
pub fn curves(
    exp: &Experiment,
    arch: &dyn Architecture,
    params: &Params,
    train_data: &HostData,
    method: &dyn PruningMethod,
    scores: &[LayerScores],
    prior: Option<&Masks>,
) -> Result<Vec<Curve>> {
    let layers = arch.layers();
    let rows = train_data.spread(
        exp.prune
            .tau
            .sensitivity_rows
            .expect("scope: sensitivity has its rows"),
    );
    let start = prior.cloned().unwrap_or_else(|| Masks::dense(params));
    let base = train::evaluate(arch, &start.apply(params), &rows)?.loss;
    // One layer's scores at a time, thresholded within that layer; no N:M pattern (it is laid
    // on top of the budget's masks, not part of what the budget splits).
    let ctx = MaskContext {
        prior,
        ..MaskContext::one_shot(arch, params, &layers, TauUnit::Quantile, Scope::Layer)
    };
    scores
        .iter()
        .map(|s| {
            let points = budget::LEVELS
                .iter()
                .map(|&f| {
                    let m = method.masks(&ctx, std::slice::from_ref(s), f)?;
                    let loss = train::evaluate(arch, &m.apply(params), &rows)?.loss;
                    Ok((f, loss - base))
                })
                .collect::<Result<_>>()?;
            Ok(Curve {
                layer: s.layer,
                points,
            })
        })
        .collect()
}
