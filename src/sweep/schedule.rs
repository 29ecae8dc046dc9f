//! Pruning one trained model at one τ under the experiment's schedule: one-shot, fine-tuning
//! with fixed masks, iterative prune → retrain rounds, or lottery-ticket rewinding.

use super::{Prepared, Trained, Which};
use crate::config::{Experiment, MethodKind, Schedule, Scope};
use crate::error::Result;
use crate::model::{Architecture, LayerInfo, Masks, Params};
use crate::prune::budget::Curve;
use crate::prune::{self, LayerScores, MaskContext, PruningMethod, ScoreContext};
use crate::rng::Rng;
use crate::train::{self, Budget, Eval, HostData};

/// A method ready to prune one model: its scores on that model's weights.
pub struct Scored {
    pub method: Box<dyn PruningMethod>,
    pub scores: Vec<LayerScores>,
    /// Each scored layer's sensitivity, measured for `tau.scope: sensitivity` only.
    pub curves: Option<Vec<Curve>>,
}

/// Stream ids of a model: `[repeat, fold]`, or `[MAX]` for the refit.
pub fn model_ids(w: Which) -> Vec<u64> {
    match w {
        Which::Fold { repeat, fold } => vec![repeat as u64, fold as u64],
        Which::Refit => vec![u64::MAX],
    }
}

/// Score `params` with one method. Taylor gradients and random draws use streams derived from
/// the seed, the method and `ids`.
pub fn score(
    exp: &Experiment,
    prep: &Prepared,
    params: &Params,
    train_data: &HostData,
    kind: MethodKind,
    ids: &[u64],
) -> Result<Scored> {
    score_among(exp, prep, params, train_data, kind, ids, None)
}

/// [`score`] for a model already pruned by `prior` (iterative and gradual rounds): only the
/// sensitivity curves of `scope: sensitivity` depend on it.
fn score_among(
    exp: &Experiment,
    prep: &Prepared,
    params: &Params,
    train_data: &HostData,
    kind: MethodKind,
    ids: &[u64],
    prior: Option<&Masks>,
) -> Result<Scored> {
    let layers = prep.arch.layers();
    let method = prune::build(kind, &exp.prune);
    let grads = if method.needs_gradients() {
        let mut rng = Rng::stream(exp.seed, "taylor-batches", ids);
        Some(train::mean_gradients(
            prep.arch.as_ref(),
            params,
            train_data,
            exp.train.batch_size,
            exp.prune.settings.taylor_batches,
            &mut rng,
        )?)
    } else {
        None
    };
    let norms = if method.needs_input_norms() {
        Some(train::input_norms(prep.arch.as_ref(), params, train_data)?)
    } else {
        None
    };
    let mut ctx = ScoreContext {
        ignore: &exp.prune.ignore,
        grads: grads.as_ref(),
        input_norms: norms.as_deref(),
        ..ScoreContext::plain(
            prep.arch.as_ref(),
            params,
            &layers,
            Rng::stream(exp.seed, method.name(), ids),
        )
    };
    let scores = method.scores(&mut ctx)?;
    let curves = if exp.prune.tau.scope == Scope::Sensitivity {
        Some(super::layer_budget::curves(
            exp,
            prep.arch.as_ref(),
            params,
            train_data,
            method.as_ref(),
            &scores,
            prior,
        )?)
    } else {
        None
    };
    Ok(Scored {
        method,
        scores,
        curves,
    })
}

/// The weights a method scores for model `t`: its trained weights, or, for a prune-at-init
/// schedule, the initial weights it was trained from.
pub fn scoring_params<'a>(
    exp: &Experiment,
    prep: &Prepared,
    t: &'a Trained,
) -> std::borrow::Cow<'a, Params> {
    match exp.prune.schedule {
        Schedule::AtInit { .. } => {
            std::borrow::Cow::Owned(super::dense::init(exp, prep, t.which).0)
        }
        _ => std::borrow::Cow::Borrowed(&t.params),
    }
}

/// The threshold context for `params` (with earlier rounds' masks as `prior`) and the scores
/// of `sc`.
pub fn mask_ctx<'a>(
    exp: &Experiment,
    arch: &'a dyn Architecture,
    params: &'a Params,
    layers: &'a [LayerInfo],
    prior: Option<&'a Masks>,
    sc: &'a Scored,
) -> MaskContext<'a> {
    MaskContext {
        prior,
        n_m: exp.prune.n_m,
        sensitivity: sc.curves.as_deref(),
        ..MaskContext::one_shot(
            arch,
            params,
            layers,
            exp.prune.tau.unit,
            exp.prune.tau.scope,
        )
    }
}

/// One round of an iterative schedule, for `trajectory.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct Round {
    pub round: usize,
    pub sparsity: f64,
    pub val_acc: f64,
}

/// The pruned (and possibly retrained) model and its evaluation on the held-out rows.
pub struct Outcome {
    pub masks: Masks,
    /// Final parameters with masked entries exactly zero.
    pub params: Params,
    pub eval: Eval,
    /// Masked entries that ended non-zero (0 unless the mask guarantee broke).
    pub regrown: usize,
    pub diverged: bool,
    /// Per-round trajectory (iterative schedules; round 0 is the dense model).
    pub rounds: Vec<Round>,
}

fn regrown(params: &Params, masks: &Masks) -> usize {
    params
        .0
        .iter()
        .zip(&masks.0)
        .map(|(p, m)| {
            p.data
                .iter()
                .zip(m)
                .filter(|(v, k)| !**k && **v != 0.0)
                .count()
        })
        .sum()
}

/// One round of the iterative and gradual schedules: rescore the current weights `p` (streams
/// keyed by the round), cut `frac` of the survivors of `prior`, train `p` with the new masks
/// under `budget`, and — for fold models, never the refit, whose held-out rows are the test
/// split — evaluate on the validation rows. Returns the masks, whether training diverged, and
/// that evaluation.
#[allow(clippy::too_many_arguments)]
fn prune_and_retrain(
    exp: &Experiment,
    prep: &Prepared,
    t: &Trained,
    kind: MethodKind,
    ids: &[u64],
    r: usize,
    purpose: &str,
    p: &mut Params,
    prior: &Masks,
    frac: f64,
    budget: Budget,
) -> Result<(Masks, bool, Option<Eval>)> {
    let arch = prep.arch.as_ref();
    let layers = arch.layers();
    let mut rids = ids.to_vec();
    rids.push(r as u64);
    let sc = score_among(exp, prep, p, &t.train_data, kind, &rids, Some(prior))?;
    let masks = sc.method.masks(
        &mask_ctx(exp, prep.arch.as_ref(), p, &layers, Some(prior), &sc),
        &sc.scores,
        frac,
    )?;
    let mut rng = Rng::stream(exp.seed, purpose, &rids);
    let log = train::fit(
        arch,
        p,
        Some(&masks),
        &t.train_data,
        &exp.train,
        budget,
        &mut rng,
    )?;
    let eval = match t.which {
        Which::Fold { .. } => Some(train::evaluate(arch, p, &t.heldout)?),
        Which::Refit => None,
    };
    Ok((masks, log.diverged, eval))
}

/// The sparsity after step `r` of `n` of Zhu & Gupta's cubic ramp from `from` to `to`:
/// s_r = to + (from − to)(1 − r / n)³.
pub fn cubic_sparsity(from: f64, to: f64, r: usize, n: usize) -> f64 {
    to + (from - to) * (1.0 - r as f64 / n.max(1) as f64).powi(3)
}

/// A gradual schedule's steps, from `from` to the final sparsity `to`.
struct Ramp {
    rounds: usize,
    epochs_per_round: usize,
    lr_scale: f64,
    from: f64,
    to: f64,
}

/// Gradual pruning: at each step raise the sparsity along the cubic ramp (the method's scores
/// recomputed on the current weights, the step's new cuts taken among the survivors), then train
/// with those masks. Fold models record every step in `trajectory.csv` (validation rows only).
fn gradual(
    exp: &Experiment,
    prep: &Prepared,
    t: &Trained,
    kind: MethodKind,
    ids: &[u64],
    ramp: Ramp,
    last_eval: &mut Option<Eval>,
) -> Result<(Masks, Params, bool, Vec<Round>)> {
    let arch = prep.arch.as_ref();
    let layers = arch.layers();
    let mut traj: Vec<Round> = t
        .validation
        .iter()
        .map(|d| Round {
            round: 0,
            sparsity: 0.0,
            val_acc: d.acc,
        })
        .collect();
    let mut masks = Masks::dense(&t.params);
    let mut p = t.params.clone();
    let mut before = 0.0;
    for r in 1..=ramp.rounds {
        let target = cubic_sparsity(ramp.from, ramp.to, r, ramp.rounds);
        // Quantile τ among the survivors: the share of them this step removes.
        let step = if before < 1.0 {
            ((target - before) / (1.0 - before)).max(0.0)
        } else {
            0.0
        };
        before = target;
        let (m, diverged, eval) = prune_and_retrain(
            exp,
            prep,
            t,
            kind,
            ids,
            r,
            "gradual",
            &mut p,
            &masks,
            step,
            Budget::new(ramp.epochs_per_round, exp.train.lr * ramp.lr_scale),
        )?;
        masks = m;
        if let Some(ev) = eval {
            traj.push(Round {
                round: r,
                sparsity: masks.sparsity(&layers),
                val_acc: ev.acc,
            });
            *last_eval = Some(ev);
        }
        if diverged {
            return Ok((masks, p, true, traj));
        }
    }
    Ok((masks, p, false, traj))
}

/// The settings of an iterative schedule, for [`iterative`].
struct Rounds {
    rounds: usize,
    /// Each round's retraining.
    budget: Budget,
    target_sparsity: Option<f64>,
    /// The fraction of the survivors each round prunes.
    tau: f64,
}

/// Iterative pruning: each round prunes the fraction τ of the survivors (scores recomputed on
/// the current weights) and retrains with the masks fixed, until `rounds` or `target_sparsity`.
/// Per-round accuracy is validation data for fold models only (see [`prune_and_retrain`]).
fn iterative(
    exp: &Experiment,
    prep: &Prepared,
    t: &Trained,
    kind: MethodKind,
    ids: &[u64],
    spec: Rounds,
    last_eval: &mut Option<Eval>,
) -> Result<(Masks, Params, bool, Vec<Round>)> {
    let layers = prep.arch.layers();
    let mut traj = Vec::new();
    if let Some(dense) = &t.validation {
        traj.push(Round {
            round: 0,
            sparsity: 0.0,
            val_acc: dense.acc,
        });
    }
    let mut masks = Masks::dense(&t.params);
    let mut p = t.params.clone();
    for r in 1..=spec.rounds {
        let (m, diverged, eval) = prune_and_retrain(
            exp,
            prep,
            t,
            kind,
            ids,
            r,
            "iterative",
            &mut p,
            &masks,
            spec.tau,
            spec.budget,
        )?;
        masks = m;
        let sparsity = masks.sparsity(&layers);
        if let Some(ev) = eval {
            traj.push(Round {
                round: r,
                sparsity,
                val_acc: ev.acc,
            });
            *last_eval = Some(ev);
        }
        if diverged {
            return Ok((masks, p, true, traj));
        }
        if spec.target_sparsity.is_some_and(|s| sparsity >= s) {
            break;
        }
    }
    Ok((masks, p, false, traj))
}

/// Prune `t` at τ with `kind` under the experiment's schedule and evaluate on `t.heldout`.
/// `scored` holds the method's scores on the dense weights (reused across τ).
pub fn run(
    exp: &Experiment,
    prep: &Prepared,
    t: &Trained,
    kind: MethodKind,
    scored: &Scored,
    tau: f64,
) -> Result<Outcome> {
    let arch = prep.arch.as_ref();
    let layers = arch.layers();
    let mut ids = model_ids(t.which);
    ids.extend([kind.stream_id(), tau.to_bits()]);
    let lr = exp.train.lr;
    let one_shot = || {
        scored.method.masks(
            &mask_ctx(exp, prep.arch.as_ref(), &t.params, &layers, None, scored),
            &scored.scores,
            tau,
        )
    };
    let retrain = |start: &Params, masks: &Masks, epochs: usize, scale: f64, purpose: &str| {
        let mut p = start.clone();
        let mut rng = Rng::stream(exp.seed, purpose, &ids);
        let log = train::fit(
            arch,
            &mut p,
            Some(masks),
            &t.train_data,
            &exp.train,
            Budget::new(epochs, lr * scale),
            &mut rng,
        )?;
        Ok::<_, crate::error::Error>((p, log.diverged))
    };
    let mut last_eval = None;
    let (masks, params, diverged, rounds) = match exp.prune.schedule {
        Schedule::OneShot => {
            let m = one_shot()?;
            let p = m.apply(&t.params);
            (m, p, false, Vec::new())
        }
        Schedule::Finetune { epochs, lr_scale } => {
            let m = one_shot()?;
            let (p, d) = retrain(&t.params, &m, epochs, lr_scale, "finetune")?;
            (m, p, d, Vec::new())
        }
        Schedule::Rewind {
            epochs, lr_scale, ..
        } => {
            let m = one_shot()?;
            let start = t.rewind.as_ref().unwrap_or(&t.params);
            let (p, d) = retrain(start, &m, epochs, lr_scale, "rewind")?;
            (m, p, d, Vec::new())
        }
        Schedule::Gradual {
            rounds,
            epochs_per_round,
            lr_scale,
            initial_sparsity,
        } => gradual(
            exp,
            prep,
            t,
            kind,
            &ids,
            Ramp {
                rounds,
                epochs_per_round,
                lr_scale,
                from: initial_sparsity,
                to: tau,
            },
            &mut last_eval,
        )?,
        Schedule::AtInit { epochs, lr_scale } => {
            // `scored` holds the scores of the initial weights (see `scoring_params`).
            let (start, _) = super::dense::init(exp, prep, t.which);
            let m = scored.method.masks(
                &mask_ctx(exp, prep.arch.as_ref(), &start, &layers, None, scored),
                &scored.scores,
                tau,
            )?;
            let (p, d) = retrain(&start, &m, epochs, lr_scale, "at_init")?;
            (m, p, d, Vec::new())
        }
        Schedule::Iterative {
            rounds,
            epochs_per_round,
            lr_scale,
            target_sparsity,
        } => iterative(
            exp,
            prep,
            t,
            kind,
            &ids,
            Rounds {
                rounds,
                budget: Budget::new(epochs_per_round, lr * lr_scale),
                target_sparsity,
                tau,
            },
            &mut last_eval,
        )?,
    };
    // An iterative fold job has just evaluated its final parameters: reuse that.
    let eval = match last_eval {
        Some(e) => e,
        None => train::evaluate(arch, &params, &t.heldout)?,
    };
    Ok(Outcome {
        regrown: regrown(&params, &masks),
        masks,
        params,
        eval,
        diverged,
        rounds,
    })
}
