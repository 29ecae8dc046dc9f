//! Running an experiment: split the data, train one dense model per (repeat, fold) plus the
//! refit model on a rayon pool, prune and evaluate every (fold, method, τ), summarise, choose τ
//! per method and rule, evaluate the refit model on the test split once per choice, and (when
//! asked) write the run directory.
//!
//! Public: [`run`] with its [`RunOptions`] ([`Mode`], [`Shard`], an [`Observer`], a
//! [`CancelToken`]), the [`SweepResult`] it returns and the rows it holds ([`RunRecord`],
//! [`SummaryRow`], [`SelectionRow`], [`LayerRow`], [`SensitivityRow`], [`TrajectoryRow`],
//! [`FoldRow`], [`SpeedRow`], [`TimingRow`], with [`RowMethod`] and [`RowRule`]), and
//! [`text_summary`]. The stages (plan, job graph, aggregation, selection, refit, writers) are
//! internal to the crate.

pub(crate) mod aggregate;
pub(crate) mod cache;
pub(crate) mod choose;
pub(crate) mod dense;
pub(crate) mod grid;
pub(crate) mod ids;
pub(crate) mod interrupt;
pub(crate) mod jobs;
pub(crate) mod journal;
pub(crate) mod layer_budget;
pub(crate) mod lock;
pub(crate) mod memory;
pub(crate) mod observe;
pub(crate) mod pipeline;
pub(crate) mod plan;
pub(crate) mod prepare;
pub(crate) mod progress;
pub(crate) mod records;
pub(crate) mod refit_check;
pub(crate) mod result;
pub(crate) mod rows;
pub(crate) mod run_dir;
pub(crate) mod runner;
pub(crate) mod schedule;
pub(crate) mod select;
pub(crate) mod sensitivity;
pub(crate) mod shard;
pub(crate) mod stability;

pub use crate::speed::measure::SpeedRow;
pub use ids::{RowMethod, RowRule};
pub use observe::{CancelToken, Observer, Silent};
pub use records::{
    FoldRow, LayerRow, RunRecord, SelectionRow, SummaryRow, TimingRow, TrajectoryRow,
};
pub use result::SweepResult;
pub use runner::run;
pub use sensitivity::SensitivityRow;
pub use shard::Shard;

pub(crate) use dense::{Trained, Which};
pub(crate) use prepare::{prepare, Prepared};

#[cfg(test)]
mod tests;

use crate::config::Experiment;
use crate::error::{Error, Result};
use crate::model::export;
use crate::train::{self, Eval, HostData};
use std::path::{Path, PathBuf};

/// How to run (not what: that is the [`Experiment`]).
///
/// `RunOptions::default()` is what a library caller usually wants: one job, nothing written
/// (the [`SweepResult`] holds every table), no dense-model cache, silent, not cancellable from
/// outside. The binary sets `write`, `cache`, a terminal observer and a Ctrl-C token.
#[derive(Clone)]
pub struct RunOptions {
    /// Write the run directory (tables, models, figures, report, journal) under `out_root`
    /// (default: the experiment's `output.dir`). Without it the run touches no file.
    pub write: bool,
    /// Parent of the run directory; default: the experiment's `output.dir`.
    pub out_root: Option<PathBuf>,
    /// Parallel jobs (worker threads): the only thread count a run uses, passed to its own
    /// pool (the environment is neither read nor set). A job pulled when fewer jobs than workers
    /// are left may use several kernel threads; results are identical for any number.
    pub jobs: usize,
    /// Replace an existing run directory.
    pub force: bool,
    /// Continue an interrupted run in its existing directory.
    pub resume: bool,
    /// Reuse and store trained dense models in `<root>/.cache` (needs `write`).
    pub cache: bool,
    /// A whole run, one shard of it, or the merge of finished shards (the last two need `write`).
    pub mode: Mode,
    /// Receives progress and messages.
    pub observer: std::sync::Arc<dyn observe::Observer>,
    /// Once cancelled, no new job starts; the run then fails with [`Error::Interrupted`].
    pub cancel: observe::CancelToken,
    /// The experiment file's path, shown in the manifest (empty: none).
    pub experiment_file: String,
    /// The command line, shown in the manifest (empty: none).
    pub command: Vec<String>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            write: false,
            out_root: None,
            jobs: 1,
            force: false,
            resume: false,
            cache: false,
            mode: Mode::Full,
            observer: std::sync::Arc::new(observe::Silent),
            cancel: observe::CancelToken::new(),
            experiment_file: String::new(),
            command: Vec::new(),
        }
    }
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("write", &self.write)
            .field("out_root", &self.out_root)
            .field("jobs", &self.jobs)
            .field("force", &self.force)
            .field("resume", &self.resume)
            .field("cache", &self.cache)
            .field("mode", &self.mode)
            .field("cancelled", &self.cancel.is_cancelled())
            .finish_non_exhaustive()
    }
}

/// What a `run` call does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Every job, then tables, selection, refit and test.
    Full,
    /// Only this shard's jobs, journalled into `shards/<i>-of-<n>/`.
    Shard(shard::Shard),
    /// Collect every shard's journal, then tables, selection, refit and test.
    Merge,
}

/// Evaluate an exported model on the test split of an experiment (as `run` built it).
pub(crate) fn eval_exported(model: &Path, exp: &Experiment) -> Result<(export::ModelCard, Eval)> {
    let (card, params, masks) = export::load(model)?;
    let prep = prepare(exp)?;
    if prep.test.d != card.input_dim || prep.test.classes != card.classes {
        return Err(Error::Usage(format!(
            "{}: model expects {} features and {} classes, data has {} and {}",
            model.display(),
            card.input_dim,
            card.classes,
            prep.test.d,
            prep.test.classes
        )));
    }
    let spec = crate::config::model::model_from_raw(&card.model);
    let arch = crate::model::build(&spec, card.input_dim, card.classes)?;
    let data = HostData::from(card.standardizer.apply(&prep.test));
    let eval = train::evaluate(arch.as_ref(), &masks.apply(&params), &data)?;
    Ok((card, eval))
}

/// What `check` prints: the resolved experiment, the job counts it implies, the memory it is
/// estimated to need with `jobs` jobs at once, and any warnings.
pub(crate) fn plan_text(exp: &Experiment, jobs: usize) -> Result<String> {
    let prep = prepare(exp)?;
    let exp = &exp.with_class_names(prep.class_names.as_deref());
    let est = memory::estimate(
        exp,
        prep.arch.as_ref(),
        prep.pool.n,
        prep.test.n,
        prep.pool.d,
    );
    let avail = memory::available()
        .map_err(Error::Memory)?
        .map_or("unknown".into(), memory::bytes);
    let fits = match memory::available().ok().flatten() {
        Some(a) => match est.jobs_that_fit(jobs, a) {
            Some(j) if j == jobs => String::new(),
            Some(j) => format!(" — `run` would lower --jobs to {j}"),
            None => " — too much: `run` would refuse it".into(),
        },
        None => String::new(),
    };
    let mut warnings = String::new();
    for w in &prep.warnings {
        warnings.push_str(&format!("{w}\n"));
    }
    let folds = exp.cv.repeats * exp.cv.folds;
    let taus = match &exp.prune.tau.grid {
        crate::config::Grid::Values(v) => v.len(),
        crate::config::Grid::Auto(n) => *n,
    };
    let methods: Vec<&str> = exp.prune.methods.iter().map(|m| m.as_str()).collect();
    Ok(format!(
        "{yaml}---\nplan:\n  data: {n} rows ({pool} training pool, {test} test), {d} features, {c} classes\n  model: {model}\n  dense models: {folds} ({r} repeats × {k} folds) + 1 refit\n  pruning evaluations: {evals} ({folds} models × {nm} methods [{ms}] × {taus} τ, unit {unit})\n  selection: {rules} rules × {nm} methods, each evaluated once on the test split\n  memory: {mem}; available {avail}{fits}\n{warnings}",
        mem = est.describe(jobs),
        yaml = exp.to_yaml(),
        n = prep.pool.n + prep.test.n,
        pool = prep.pool.n,
        test = prep.test.n,
        d = prep.pool.d,
        c = prep.pool.classes,
        model = prep.arch.describe(),
        r = exp.cv.repeats,
        k = exp.cv.folds,
        evals = folds * methods.len() * taus,
        nm = methods.len(),
        ms = methods.join(", "),
        unit = exp.prune.tau.unit.as_str(),
        rules = exp.cv.select.len(),
    ))
}

/// A short plain-text digest of a finished run for the terminal.
pub fn text_summary(o: &SweepResult) -> String {
    let mut s = String::from(
        "method      rule                  tau      cv_acc ± se        sparsity  test_acc\n",
    );
    for r in &o.selection {
        s.push_str(&format!(
            "{:<11} {:<21} {:<8} {:.4} ± {:.4}    {:>7.2}%  {:.4}\n",
            r.method,
            r.rule,
            r.tau.map_or("-".into(), |t| t.to_string()),
            r.cv_mean_val_acc,
            r.cv_se_val_acc,
            100.0 * r.test_sparsity,
            r.test_acc
        ));
    }
    s
}
