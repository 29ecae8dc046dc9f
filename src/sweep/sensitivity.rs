//! Layer sensitivity on the validation folds (`sensitivity.csv`): for each prunable layer alone,
//! each method of the experiment prunes that layer — and only it — at every τ of the method's
//! grid, one-shot, on every fold's dense model, and the pruned model is evaluated on that fold's
//! validation rows. Mean ± SE over folds per (method, layer, τ) show which layers tolerate
//! pruning (a per-layer τ or budget can be read off). Only fold models enter: the refit model,
//! whose held-out rows are the test split, is never used here.

use super::schedule::{mask_ctx, model_ids, score};
use super::{Prepared, Trained};
use crate::config::{Experiment, MethodKind, Scope};
use crate::error::Result;
use crate::prune::Granularity;
use crate::train;
use rayon::prelude::*;
use serde::Serialize;

/// One (method, layer, τ) over the folds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SensitivityRow {
    /// The pruning method.
    pub method: crate::config::MethodKind,
    /// The one layer pruned.
    pub layer: String,
    /// The threshold.
    pub tau: f64,
    /// How τ is measured.
    pub tau_unit: String,
    /// Folds that entered (fold models that diverged are left out).
    pub n: usize,
    /// Mean validation accuracy with only this layer pruned.
    pub mean_val_acc: f64,
    /// Sample standard deviation (ddof 1) over folds ÷ √n.
    pub se_val_acc: f64,
    /// Mean fraction of this layer's weights removed.
    pub mean_layer_sparsity: f64,
    /// Mean fraction of all prunable weights removed (pruning a layer's units also removes the
    /// next layer's columns that read them).
    pub mean_sparsity: f64,
}

/// `(key = layer · |grid| + τ index, val_acc, layer sparsity, sparsity, τ)` of one fold model.
type Point = (usize, f64, f64, f64, f64);
/// Every point of one fold model for one method.
type FoldResult = Vec<Point>;

/// The sensitivity table: every fold model × method × prunable layer × τ of `grids`.
pub fn table(
    exp: &Experiment,
    prep: &Prepared,
    trained: &[Trained],
    grids: &[(MethodKind, Vec<f64>)],
) -> Result<Vec<SensitivityRow>> {
    let layers = prep.arch.layers();
    let names: Vec<String> = layers.iter().map(|l| l.name.clone()).collect();
    let jobs: Vec<(usize, usize)> = (0..trained.len())
        .flat_map(|t| (0..grids.len()).map(move |m| (t, m)))
        .filter(|&(t, _)| !trained[t].diverged)
        .collect();
    let results: Vec<FoldResult> = jobs
        .par_iter()
        .map(|&(ti, mi)| {
            let t = &trained[ti];
            let (kind, taus) = &grids[mi];
            let mut out = Vec::new();
            for (li, l) in layers.iter().enumerate() {
                if exp.prune.ignore.contains(&l.name) {
                    continue;
                }
                // The experiment with every other layer ignored: the method prunes l alone.
                let mut one = exp.clone();
                one.prune.ignore = names.iter().filter(|n| **n != l.name).cloned().collect();
                if one.prune.tau.scope == Scope::Sensitivity {
                    // A budget over one layer gives it all of τ: the same as `layer`, without
                    // measuring curves.
                    one.prune.tau.scope = Scope::Layer;
                }
                let sc = score(
                    &one,
                    prep,
                    &t.params,
                    &t.train_data,
                    *kind,
                    &model_ids(t.which),
                )?;
                if (l.is_output || l.unit_leader.is_some())
                    && sc.method.granularity() == Granularity::Unit
                {
                    // Output units are never removed; a residual group's units are removed
                    // through its leader.
                    continue;
                }
                let ctx = mask_ctx(&one, prep.arch.as_ref(), &t.params, &layers, None, &sc);
                for (k, &tau) in taus.iter().enumerate() {
                    let masks = sc.method.masks(&ctx, &sc.scores, tau)?;
                    let eval =
                        train::evaluate(prep.arch.as_ref(), &masks.apply(&t.params), &t.heldout)?;
                    out.push((
                        li * taus.len() + k,
                        eval.acc,
                        masks.layer_sparsity(l),
                        masks.sparsity(&layers),
                        tau,
                    ));
                }
            }
            Ok(out)
        })
        .collect::<Result<_>>()?;
    let mut rows = Vec::new();
    for (mi, (kind, taus)) in grids.iter().enumerate() {
        for (li, l) in layers.iter().enumerate() {
            for k in 0..taus.len() {
                let key = li * taus.len() + k;
                let got: Vec<&Point> = jobs
                    .iter()
                    .zip(&results)
                    .filter(|((_, m), _)| *m == mi)
                    .filter_map(|(_, r)| r.iter().find(|x| x.0 == key))
                    .collect();
                if got.is_empty() {
                    continue;
                }
                let n = got.len();
                let mean =
                    |f: &dyn Fn(&Point) -> f64| got.iter().map(|x| f(x)).sum::<f64>() / n as f64;
                let m = mean(&|x| x.1);
                let sd = if n > 1 {
                    (got.iter().map(|x| (x.1 - m).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
                } else {
                    0.0
                };
                rows.push(SensitivityRow {
                    method: *kind,
                    layer: l.name.clone(),
                    tau: taus[k],
                    tau_unit: exp.prune.tau.unit.as_str().into(),
                    n,
                    mean_val_acc: m,
                    se_val_acc: sd / (n as f64).sqrt(),
                    mean_layer_sparsity: mean(&|x| x.2),
                    mean_sparsity: mean(&|x| x.3),
                });
            }
        }
    }
    Ok(rows)
}
