//! Choosing τ and touching the test split: every rule's choice per method on validation numbers
//! only, one refit per distinct (method, τ) (rules that agree share it) evaluated once on the
//! test split, the stability of each choice across the fold models, and the rows and models
//! that record it.

use super::dense::Trained;
use super::ids::{RowMethod, RowRule};
use super::journal;
use super::records::{LayerRow, SelectionRow, SummaryRow};
use super::rows::selection_row;
use super::runner::Ctx;
use super::schedule::{self, Outcome, Scored};
use super::{select, stability};
use crate::config::{MethodKind, SelectRule};
use crate::error::Result;
use crate::model::{Masks, Params};
use crate::train::{self, Eval};

/// A model to write to `models/`: the dense refit or a rule's choice.
pub struct Chosen {
    pub stem: String,
    pub method: RowMethod,
    pub rule: RowRule,
    pub tau: Option<f64>,
    pub params: Params,
    pub masks: Masks,
    pub eval: Eval,
}

/// The selection stage's product.
pub struct Selected {
    pub rows: Vec<SelectionRow>,
    pub layers: Vec<LayerRow>,
    /// The dense refit, then every rule's choice, in selection-row order.
    pub models: Vec<Chosen>,
    /// Evaluations on the test split (one per distinct model).
    pub test_evals: usize,
}

/// One rule's choice: method index, rule, the summary row chosen, τ.
type Choice<'a> = (usize, &'a SelectRule, &'a SummaryRow, f64);

/// Choose, refit and test. `entries` are every journal entry of the run (resumed first), whose
/// input-feature sets give the stability of each choice without pruning again.
pub fn choose(
    ctx: &Ctx,
    summary: &[SummaryRow],
    refit: &Trained,
    refit_scores: &[Scored],
    folds: &[Trained],
    entries: &[journal::Entry],
    log: impl Fn(String),
) -> Result<Selected> {
    let (exp, prep) = (ctx.exp, ctx.prep);
    let dense_row = summary
        .iter()
        .find(|s| s.method.is_dense())
        .expect("dense summary row");
    let dense = Masks::dense(&refit.params);
    let dense_eval = train::evaluate(prep.arch.as_ref(), &refit.params, &refit.heldout)?;
    let mut out = Selected {
        rows: vec![selection_row(
            prep,
            refit,
            RowMethod::Dense,
            RowRule::None,
            None,
            "",
            dense_row,
            &dense,
            &dense_eval,
            "dense",
        )],
        layers: Vec::new(),
        models: vec![Chosen {
            stem: "dense".into(),
            method: RowMethod::Dense,
            rule: RowRule::None,
            tau: None,
            params: refit.params.clone(),
            masks: dense,
            eval: dense_eval,
        }],
        test_evals: 1,
    };
    let choices = choices(ctx, summary, dense_row.mean_val_acc, log);
    let mut distinct: Vec<(usize, f64)> = Vec::new();
    for &(mi, _, _, tau) in &choices {
        if !distinct.contains(&(mi, tau)) {
            distinct.push((mi, tau));
        }
    }
    // Pulled in order, so that fewer refits than workers split their kernels over the idle
    // workers ([`crate::par::kernel_threads`]).
    let refits: Vec<Outcome> = ctx
        .pool
        .install(|| {
            crate::par::pull(
                distinct.len(),
                || false,
                |i| {
                    let (mi, tau) = distinct[i];
                    let m = exp.prune.methods[mi];
                    schedule::run(exp, prep, refit, m, &refit_scores[mi], tau)
                },
            )
        })
        .into_iter()
        .map(|r| r.expect("no stop: every refit runs"))
        .collect::<Result<Vec<_>>>()?;
    out.test_evals += refits.len();
    let stabilities = stabilities(ctx, refit, folds, entries, &distinct)?;
    for (mi, rule, chosen, tau) in choices {
        let k = distinct
            .iter()
            .position(|&d| d == (mi, tau))
            .expect("a distinct choice");
        record_choice(
            ctx,
            &mut out,
            refit,
            (mi, rule, chosen, tau),
            &refits[k],
            stabilities[k],
        );
    }
    Ok(out)
}

/// Every rule's choice per method, on validation numbers only.
fn choices<'a>(
    ctx: &'a Ctx,
    summary: &'a [SummaryRow],
    dense_mean: f64,
    log: impl Fn(String),
) -> Vec<Choice<'a>> {
    let mut out = Vec::new();
    for (mi, m) in ctx.exp.prune.methods.iter().enumerate() {
        let rows: Vec<&SummaryRow> = summary.iter().filter(|s| s.method == *m).collect();
        for rule in &ctx.exp.cv.select {
            match select::choose(rule, &rows, dense_mean) {
                Some(chosen) => {
                    out.push((mi, rule, chosen, chosen.tau.expect("pruned rows have τ")))
                }
                None => log(format!(
                    "  {} / {}: no τ satisfies the rule",
                    m.as_str(),
                    rule.label()
                )),
            }
        }
    }
    out
}

/// Mask stability across the fold models at each choice (validation side only): input features
/// from the journalled jobs; whole masks (shared initialisation), or journals of an older
/// version, by pruning the fold models again.
fn stabilities(
    ctx: &Ctx,
    refit: &Trained,
    folds: &[Trained],
    entries: &[journal::Entry],
    distinct: &[(usize, f64)],
) -> Result<Vec<stability::Stability>> {
    let exp = ctx.exp;
    let n_inputs = ctx
        .layers
        .first()
        .and_then(|l| refit.params.0[l.weight].shape.get(1).copied())
        .unwrap_or(0);
    let named: Vec<(MethodKind, f64)> = distinct
        .iter()
        .map(|&(mi, tau)| (exp.prune.methods[mi], tau))
        .collect();
    match stability::journalled(entries.iter(), &named, n_inputs) {
        Some(sets) if !exp.cv.shared_init => Ok(sets
            .iter()
            .map(|s| stability::Stability {
                features: stability::feature_pairwise(s),
                masks: None,
            })
            .collect()),
        _ => ctx
            .pool
            .install(|| stability::measure(exp, ctx.prep, folds, distinct)),
    }
}

/// The selection row, layer rows and model of one rule's choice.
fn record_choice(
    ctx: &Ctx,
    out: &mut Selected,
    refit: &Trained,
    (mi, rule, chosen, tau): Choice,
    p: &Outcome,
    st: stability::Stability,
) {
    let m = ctx.exp.prune.methods[mi];
    let unit = ctx.exp.prune.tau.unit.as_str();
    let stem = format!("{}_{}", m.as_str(), rule.label().replace('=', "-"));
    let mut row = selection_row(
        ctx.prep,
        refit,
        m.into(),
        (*rule).into(),
        Some(tau),
        unit,
        chosen,
        &p.masks,
        &p.eval,
        &stem,
    );
    (row.feature_jaccard, row.feature_jaccard_chance) = st.features.unzip();
    (row.mask_jaccard, row.mask_jaccard_chance) = st.masks.unzip();
    out.rows.push(row);
    for l in &ctx.layers {
        out.layers.push(LayerRow {
            method: m,
            rule: (*rule).into(),
            tau: Some(tau),
            layer: l.name.clone(),
            weights: p.masks.0[l.weight].len(),
            weights_left: p.masks.0[l.weight].iter().filter(|k| **k).count(),
            sparsity: p.masks.layer_sparsity(l),
        });
    }
    out.models.push(Chosen {
        stem,
        method: m.into(),
        rule: (*rule).into(),
        tau: Some(tau),
        params: p.params.clone(),
        masks: p.masks.clone(),
        eval: p.eval,
    });
}
