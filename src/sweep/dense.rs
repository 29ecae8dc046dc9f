//! Dense models: one per (repeat, fold) trained on the other folds, plus the refit on the whole
//! training pool. Standardisation statistics come from each model's own training rows.

use super::cache::{key_material, DenseCache, Entry};
use super::schedule::model_ids;
use super::Prepared;
use crate::config::Experiment;
use crate::data::split;
use crate::data::standardize::Standardizer;
use crate::data::Table;
use crate::error::Result;
use crate::model::Params;
use crate::rng::Rng;
use crate::train::{self, HostData};
use std::time::Instant;

/// Which dense model: one (repeat, fold) or the refit on the whole pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Fold { repeat: usize, fold: usize },
    Refit,
}

impl Which {
    /// (repeat, fold) of a fold model; `None` for the refit.
    pub fn repeat_fold(self) -> Option<(usize, usize)> {
        match self {
            Which::Fold { repeat, fold } => Some((repeat, fold)),
            Which::Refit => None,
        }
    }
}

impl std::fmt::Display for Which {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            Which::Fold { repeat, fold } => write!(f, "repeat {repeat} fold {fold}"),
            Which::Refit => f.write_str("refit"),
        }
    }
}

/// A trained dense model with its preprocessing and held-out evaluation data.
pub struct Trained {
    pub which: Which,
    pub params: Params,
    pub standardizer: Standardizer,
    /// Validation rows (fold) or test rows (refit), standardised with training statistics.
    pub heldout: HostData,
    /// The standardised training rows (Taylor gradients and retraining use them).
    pub train_data: HostData,
    /// Weights after dense epoch `rewind_epoch` (rewind schedules only).
    pub rewind: Option<Params>,
    pub diverged: bool,
    pub seconds: f64,
    /// Loaded from the dense-model cache rather than trained.
    pub cached: bool,
    /// A fold model's accuracy on its validation rows, computed once on the worker that trained
    /// it (the dense row of `runs.csv`, round 0 of iterative trajectories). `None` for the
    /// refit, whose held-out rows are the test split, evaluated once at selection.
    pub validation: Option<train::Eval>,
}

/// The freshly initialised parameters of model `which`, and the training stream after drawing
/// them (dense training continues it; prune-at-init schedules start from the same weights).
pub fn init(exp: &Experiment, prep: &Prepared, which: Which) -> (Params, Rng) {
    let mut rng = Rng::stream(exp.seed, "train", &model_ids(which));
    let mut params = prep.arch.init(&mut rng);
    if exp.cv.shared_init {
        // One initialisation for every model; `rng` has drawn its own as usual, so the data
        // order is the same as without the option.
        params = prep
            .arch
            .init(&mut Rng::stream(exp.seed, "shared-init", &[]));
    }
    (params, rng)
}

/// Train the dense model `which` (standardisation fitted on its training rows only), or reuse
/// the cached one when `cache` has it; what is trained is stored in the cache.
pub fn dense_model(
    exp: &Experiment,
    prep: &Prepared,
    which: Which,
    cache: Option<&DenseCache>,
) -> Result<Trained> {
    let t0 = Instant::now();
    let (train_rows, held): (Table, Table) = match which {
        Which::Fold { repeat, fold } => {
            let (tr, va) = split::fold_rows(&prep.folds[repeat], fold);
            (prep.pool.select(&tr), prep.pool.select(&va))
        }
        Which::Refit => (prep.pool.clone(), prep.test.clone()),
    };
    let standardizer = Standardizer::fit_with(&train_rows, exp.data.standardize);
    let train_data = HostData::from(standardizer.apply(&train_rows));
    let heldout = HostData::from(standardizer.apply(&held));
    let (mut params, mut rng) = init(exp, prep, which);
    let material = cache.map(|_| key_material(exp, prep, which));
    let from_cache = match (cache, &material) {
        (Some(c), Some(m)) => c.load(m, &params)?,
        _ => None,
    };
    let (params, rewind, diverged, cached) = match from_cache {
        Some(e) => (e.params, e.rewind, e.diverged, true),
        None => {
            let mut budget = train::Budget::of(&exp.train);
            if let crate::config::Schedule::Rewind { rewind_epoch, .. } = exp.prune.schedule {
                budget.snapshot_epoch = Some(rewind_epoch);
            }
            let log = train::fit(
                prep.arch.as_ref(),
                &mut params,
                None,
                &train_data,
                &exp.train,
                budget,
                &mut rng,
            )?;
            if let (Some(c), Some(m)) = (cache, &material) {
                c.store(
                    m,
                    &Entry {
                        params: params.clone(),
                        rewind: log.snapshot.clone(),
                        diverged: log.diverged,
                    },
                )?;
            }
            (params, log.snapshot, log.diverged, false)
        }
    };
    let seconds = t0.elapsed().as_secs_f64();
    let validation = match which {
        Which::Fold { .. } => Some(train::evaluate(prep.arch.as_ref(), &params, &heldout)?),
        Which::Refit => None,
    };
    Ok(Trained {
        which,
        params,
        standardizer,
        heldout,
        train_data,
        rewind,
        diverged,
        seconds,
        cached,
        validation,
    })
}
