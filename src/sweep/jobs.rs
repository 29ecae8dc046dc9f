//! Executing a [`JobPlan`]: the dense models, every method's τ grid (read from the refit model)
//! and the (fold, method) pruning jobs, as one job graph on the worker pool (see
//! [`super::pipeline`]). Each finished job is journalled at once (when the run writes), so an
//! interrupted run resumes where it stopped.

use super::cache::DenseCache;
use super::dense::{dense_model, Trained};
use super::ids::JobKey;
use super::journal::{self, Journal};
use super::observe::Counter;
use super::pipeline;
use super::plan::{Job, JobPlan};
use super::records::TrajectoryRow;
use super::rows::outcome_record;
use super::runner::Ctx;
use super::schedule::{self, mask_ctx, model_ids, score, Scored};
use super::{grid, stability, Which};
use crate::config::MethodKind;
use crate::error::Result;

/// Every method's τ grid, and the refit model's scores that selection re-uses.
pub struct Grids {
    pub taus: Vec<(MethodKind, Vec<f64>)>,
    pub refit_scores: Vec<Scored>,
}

/// What the job graph produced, once every task ran.
pub struct Done {
    pub refit: Trained,
    /// The fold models this process trained, in fold order.
    pub folds: Vec<Trained>,
    pub grids: Grids,
    /// The journal entries of the jobs run now, in `todo` order.
    pub entries: Vec<journal::Entry>,
}

/// What stopped the graph early: how many tasks had finished.
pub struct Stopped {
    pub done: usize,
}

/// Run the dense models of `plan` and the jobs `todo` (those of `plan.jobs` not yet journalled).
pub fn execute(
    ctx: &Ctx,
    plan: &JobPlan,
    todo: &[Job],
    journal: Option<&Journal>,
    progress: &Counter,
    cache: Option<&DenseCache>,
) -> Result<std::result::Result<Done, Stopped>> {
    let (exp, prep) = (ctx.exp, ctx.prep);
    let refit_slot = plan.refit_slot();
    // The refit first: it is the largest model, and every job waits for the grids read from it.
    let dense_order: Vec<usize> = std::iter::once(refit_slot).chain(0..refit_slot).collect();
    let job_deps: Vec<usize> = todo.iter().map(|&j| plan.slot_of(j)).collect();
    let executed = pipeline::execute(
        ctx.pool,
        &dense_order,
        refit_slot,
        &job_deps,
        || ctx.cancel.is_cancelled(),
        |k| {
            let t = dense_model(exp, prep, plan.models[k], cache)?;
            progress.inc(1, "dense model");
            Ok(t)
        },
        |refit: &Trained| grids(ctx, refit),
        |j, t: &Trained, g: &Grids| {
            let job = todo[j];
            let (kind, taus) = &g.taus[job.method];
            let entry = prune_job(ctx, t, *kind, taus, plan.job_key(&exp.prune.methods, job))?;
            if let Some(j) = journal {
                j.append(&entry)?;
            }
            progress.inc(1, &entry.job.to_string());
            Ok(entry)
        },
    )?;
    progress.finish();
    let pipeline::Executed {
        dense,
        grids,
        jobs: entries,
    } = executed;
    let models_done = dense.iter().flatten().count();
    if models_done < plan.models.len() || entries.iter().any(Option::is_none) {
        let done = models_done + entries.iter().flatten().count();
        return Ok(Err(Stopped { done }));
    }
    let mut dense: Vec<Trained> = dense.into_iter().flatten().collect();
    let refit = dense.pop().expect("the refit model is last");
    for t in dense.iter().filter(|t| t.diverged) {
        progress.message(&format!(
            "  warning: dense model {} diverged (non-finite loss)",
            t.which
        ));
    }
    Ok(Ok(Done {
        refit,
        folds: dense,
        grids: grids.expect("grids exist once the refit model does"),
        entries: entries.into_iter().flatten().collect(),
    }))
}

/// The τ grid of every method (auto grids come from the refit model's scores).
fn grids(ctx: &Ctx, refit: &Trained) -> Result<Grids> {
    let (exp, prep) = (ctx.exp, ctx.prep);
    let params = schedule::scoring_params(exp, prep, refit);
    let mut taus = Vec::new();
    let mut refit_scores = Vec::new();
    for &m in &exp.prune.methods {
        let sc = score(
            exp,
            prep,
            &params,
            &refit.train_data,
            m,
            &model_ids(Which::Refit),
        )?;
        let g = grid::method_grid(
            &exp.prune.tau.grid,
            sc.method.as_ref(),
            &mask_ctx(exp, prep.arch.as_ref(), &params, &ctx.layers, None, &sc),
            &sc.scores,
        )?;
        taus.push((m, g));
        refit_scores.push(sc);
    }
    Ok(Grids { taus, refit_scores })
}

/// One job: prune fold model `t` with `kind` at every τ, evaluate each on its validation rows.
fn prune_job(
    ctx: &Ctx,
    t: &Trained,
    kind: MethodKind,
    taus: &[f64],
    key: JobKey,
) -> Result<journal::Entry> {
    let (exp, prep) = (ctx.exp, ctx.prep);
    let unit = exp.prune.tau.unit.as_str();
    let sc = score(
        exp,
        prep,
        &schedule::scoring_params(exp, prep, t),
        &t.train_data,
        kind,
        &model_ids(t.which),
    )?;
    let mut entry = journal::Entry {
        job: key,
        records: Vec::new(),
        trajectory: Vec::new(),
        features: Vec::new(),
    };
    for &tau in taus {
        let o = schedule::run(exp, prep, t, kind, &sc, tau)?;
        let rec = outcome_record(prep, t, kind.into(), tau, unit, &o);
        entry
            .trajectory
            .extend(o.rounds.iter().map(|r| TrajectoryRow {
                repeat: rec.repeat,
                fold: rec.fold,
                method: kind,
                tau,
                round: r.round,
                sparsity: r.sparsity,
                val_acc: r.val_acc,
            }));
        entry.features.push(stability::to_hex(
            &crate::model::effective::effective(&t.params, &o.masks, &ctx.layers).inputs_used,
        ));
        entry.records.push(rec);
    }
    Ok(entry)
}
