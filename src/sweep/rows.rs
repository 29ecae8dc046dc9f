//! Turning a trained model and its masks into the rows of the tables: a run record per
//! (model, method, τ) evaluation and a selection row per chosen model.

use super::dense::Trained;
use super::ids::{RowMethod, RowRule};
use super::prepare::Prepared;
use super::records::{RunRecord, SelectionRow, SummaryRow};
use super::schedule::Outcome;
use crate::model::Masks;
use crate::train::Eval;

#[allow(clippy::too_many_arguments)]
pub fn record(
    prep: &Prepared,
    t: &Trained,
    method: RowMethod,
    tau: Option<f64>,
    unit: &str,
    masks: &Masks,
    eval: &Eval,
    regrown: usize,
    diverged: bool,
) -> RunRecord {
    let layers = prep.arch.layers();
    let (repeat, fold) = t.which.repeat_fold().unwrap_or((usize::MAX, usize::MAX));
    RunRecord {
        repeat,
        fold,
        method,
        tau,
        tau_unit: unit.to_string(),
        sparsity: masks.sparsity(&layers),
        neurons_removed: masks.neurons_removed(&layers),
        params_left: masks.params_left(&t.params),
        flops_left: masks.flops_left(&layers),
        val_loss: eval.loss,
        val_acc: eval.acc,
        regrown,
        diverged,
        effective_sparsity: crate::model::effective::effective_sparsity(&t.params, masks, &layers),
    }
}

/// The run record of a schedule's outcome.
pub fn outcome_record(
    prep: &Prepared,
    t: &Trained,
    method: RowMethod,
    tau: f64,
    unit: &str,
    o: &Outcome,
) -> RunRecord {
    record(
        prep,
        t,
        method,
        Some(tau),
        unit,
        &o.masks,
        &o.eval,
        o.regrown,
        // A job pruned from a diverged dense model inherits its divergence.
        o.diverged || t.diverged,
    )
}

#[allow(clippy::too_many_arguments)]
pub fn selection_row(
    prep: &Prepared,
    refit: &Trained,
    method: RowMethod,
    rule: RowRule,
    tau: Option<f64>,
    unit: &str,
    cv: &SummaryRow,
    masks: &Masks,
    eval: &Eval,
    stem: &str,
) -> SelectionRow {
    let r = record(prep, refit, method, tau, unit, masks, eval, 0, false);
    SelectionRow {
        method,
        rule,
        tau,
        tau_unit: unit.into(),
        cv_mean_val_acc: cv.mean_val_acc,
        cv_se_val_acc: cv.se_val_acc,
        cv_mean_sparsity: cv.mean_sparsity,
        test_acc: eval.acc,
        test_loss: eval.loss,
        test_sparsity: r.sparsity,
        neurons_removed: r.neurons_removed,
        params_left: r.params_left,
        shrunk_params: prep.arch.shrunk_param_count(&refit.params, masks),
        flops_left: r.flops_left,
        model: format!("models/{stem}.safetensors"),
        test_effective_sparsity: r.effective_sparsity,
        feature_jaccard: None,
        feature_jaccard_chance: None,
        mask_jaccard: None,
        mask_jaccard_chance: None,
    }
}
