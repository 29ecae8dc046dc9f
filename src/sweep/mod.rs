//! Running an experiment: split the data, train one dense model per (repeat, fold) plus the
//! refit model on a rayon pool, prune and evaluate every (fold, method, τ), summarise, choose τ
//! per method and rule, evaluate the refit model on the test split once per choice, and write
//! the run directory.

pub mod aggregate;
pub mod grid;
pub mod records;
pub mod schedule;
pub mod select;

use crate::config::Experiment;
use crate::config::MethodKind;
use crate::data::split;
use crate::data::standardize::Standardizer;
use crate::data::Table;
use crate::error::{Error, Result};
use crate::model::{export, Architecture, Masks, Params};
use crate::report::{csv_bytes, manifest};
use crate::rng::Rng;
use crate::train::{self, Eval, TensorData};
use rayon::prelude::*;
use records::*;
use schedule::{mask_ctx, model_ids, score, Outcome, Scored};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// How to run (not what: that is the [`Experiment`]).
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Parent of the run directory; default: the experiment's `output.dir`.
    pub out_root: Option<PathBuf>,
    /// Parallel jobs (rayon threads); each job's candle kernels run on one thread.
    pub jobs: usize,
    /// Replace an existing run directory.
    pub force: bool,
    pub quiet: bool,
    /// Shown in the manifest.
    pub experiment_file: String,
    pub command: Vec<String>,
}

/// What a finished run produced.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub dir: PathBuf,
    pub records: Vec<RunRecord>,
    pub summary: Vec<SummaryRow>,
    pub selection: Vec<SelectionRow>,
}

/// Make candle's kernels single-threaded so that parallelism comes from jobs only. Call before
/// any candle operation (the binary does so first thing); candle reads these on every matmul.
pub fn init_threads() {
    std::env::set_var("RAYON_NUM_THREADS", "1");
    std::env::set_var("CANDLE_NUM_THREADS", "1");
}

/// The data of a run, split once and shared by every job.
pub struct Prepared {
    pub pool: Table,
    pub test: Table,
    /// Original row index of every pool / test row.
    pub pool_ids: Vec<usize>,
    pub test_ids: Vec<usize>,
    /// Per repeat: the fold of every pool row.
    pub folds: Vec<Vec<usize>>,
    pub arch: Box<dyn Architecture>,
}

/// Load the data, carve off the test split and assign folds.
pub fn prepare(exp: &Experiment) -> Result<Prepared> {
    let ds = crate::data::load(&exp.data)?;
    let classes = ds.pool.classes;
    let (pool, test, pool_ids, test_ids) = match ds.test {
        Some(test) => {
            let n = ds.pool.n;
            let tn = test.n;
            (ds.pool, test, (0..n).collect(), (n..n + tn).collect())
        }
        None => {
            let mut rng = Rng::stream(exp.seed, "holdout", &[]);
            let h = split::holdout(&ds.pool.y, classes, exp.data.holdout, &mut rng);
            (
                ds.pool.select(&h.pool),
                ds.pool.select(&h.test),
                h.pool,
                h.test,
            )
        }
    };
    let folds = (0..exp.cv.repeats)
        .map(|r| {
            let mut rng = Rng::stream(exp.seed, "folds", &[r as u64]);
            split::stratified_folds(&pool.y, classes, exp.cv.folds, &mut rng)
        })
        .collect();
    let arch = crate::model::build(&exp.model, pool.d, classes);
    Ok(Prepared {
        pool,
        test,
        pool_ids,
        test_ids,
        folds,
        arch,
    })
}

/// Which dense model: one (repeat, fold) or the refit on the whole pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Fold { repeat: usize, fold: usize },
    Refit,
}

/// A trained dense model with its preprocessing and held-out evaluation data.
pub struct Trained {
    pub which: Which,
    pub params: Params,
    pub standardizer: Standardizer,
    /// Validation rows (fold) or test rows (refit), standardised with training statistics.
    pub heldout: TensorData,
    /// The standardised training rows (Taylor gradients and retraining use them).
    pub train_data: TensorData,
    /// Weights after dense epoch `rewind_epoch` (rewind schedules only).
    pub rewind: Option<Params>,
    pub diverged: bool,
    pub seconds: f64,
}

/// Train the dense model `which`. Standardisation is fitted on its training rows only.
pub fn train_dense(exp: &Experiment, prep: &Prepared, which: Which) -> Result<Trained> {
    let t0 = Instant::now();
    let (train_rows, held): (Table, Table) = match which {
        Which::Fold { repeat, fold } => {
            let (tr, va) = split::fold_rows(&prep.folds[repeat], fold);
            (prep.pool.select(&tr), prep.pool.select(&va))
        }
        Which::Refit => (prep.pool.clone(), prep.test.clone()),
    };
    let standardizer = Standardizer::fit(&train_rows);
    let train_data = TensorData::new(&standardizer.apply(&train_rows))?;
    let heldout = TensorData::new(&standardizer.apply(&held))?;
    let mut rng = Rng::stream(exp.seed, "train", &model_ids(which));
    let mut params = prep.arch.init(&mut rng);
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
    Ok(Trained {
        which,
        params,
        standardizer,
        heldout,
        train_data,
        rewind: log.snapshot,
        diverged: log.diverged,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

#[allow(clippy::too_many_arguments)]
fn record(
    prep: &Prepared,
    t: &Trained,
    method: &str,
    tau: Option<f64>,
    unit: &str,
    masks: &Masks,
    eval: &Eval,
    regrown: usize,
    diverged: bool,
) -> RunRecord {
    let layers = prep.arch.layers();
    let (repeat, fold) = match t.which {
        Which::Fold { repeat, fold } => (repeat, fold),
        Which::Refit => (usize::MAX, usize::MAX),
    };
    RunRecord {
        repeat,
        fold,
        method: method.to_string(),
        tau,
        tau_unit: unit.to_string(),
        sparsity: masks.sparsity(&layers),
        neurons_removed: masks.neurons_removed(&layers),
        params_left: masks.params_left(),
        flops_left: masks.flops_left(&layers),
        val_loss: eval.loss,
        val_acc: eval.acc,
        regrown,
        diverged,
    }
}

/// The run record of a schedule's outcome.
fn outcome_record(
    prep: &Prepared,
    t: &Trained,
    method: &str,
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
        o.diverged,
    )
}

/// Create the run directory, refusing to replace an existing one unless `force`.
fn prepare_dir(dir: &Path, force: bool) -> Result<()> {
    if dir.exists() {
        if !force {
            return Err(Error::RunExists(dir.to_path_buf()));
        }
        std::fs::remove_dir_all(dir).map_err(|e| Error::io("remove", dir, e))?;
    }
    crate::fsio::create_dir_all(&dir.join("models"))
}

fn log(opts: &RunOptions, msg: impl AsRef<str>) {
    if !opts.quiet {
        eprintln!("{}", msg.as_ref());
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Run a whole experiment and write its run directory.
pub fn run(exp: &Experiment, opts: &RunOptions) -> Result<RunOutcome> {
    let started = unix_now();
    let clock = Instant::now();
    let root = opts
        .out_root
        .clone()
        .unwrap_or_else(|| PathBuf::from(&exp.output.dir));
    let dir = root.join(&exp.name);
    prepare_dir(&dir, opts.force)?;
    crate::fsio::write_atomic(&dir.join("resolved.yaml"), exp.to_yaml().as_bytes())?;

    let prep = prepare(exp)?;
    crate::fsio::write_atomic(&dir.join("folds.csv"), &csv_bytes(&fold_rows(&prep))?)?;
    log(
        opts,
        format!(
            "{}: {} training rows, {} test rows, {} × {} folds, model {}",
            exp.name,
            prep.pool.n,
            prep.test.n,
            exp.cv.repeats,
            exp.cv.folds,
            prep.arch.describe()
        ),
    );

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.max(1))
        .build()
        .map_err(|e| Error::Invalid(format!("cannot start {} worker threads: {e}", opts.jobs)))?;

    // Stage 1: dense models, one per (repeat, fold), plus the refit on the whole pool.
    let mut which: Vec<Which> = (0..exp.cv.repeats)
        .flat_map(|r| (0..exp.cv.folds).map(move |f| Which::Fold { repeat: r, fold: f }))
        .collect();
    which.push(Which::Refit);
    let mut trained: Vec<Trained> = pool.install(|| {
        which
            .par_iter()
            .map(|w| {
                let t = train_dense(exp, &prep, *w)?;
                if let Which::Fold { repeat, fold } = w {
                    log(
                        opts,
                        format!(
                            "  dense model repeat {repeat} fold {fold}: {:.1} s",
                            t.seconds
                        ),
                    );
                }
                Ok(t)
            })
            .collect::<Result<Vec<_>>>()
    })?;
    let refit = trained.pop().expect("refit model");
    for t in trained.iter().filter(|t| t.diverged) {
        log(
            opts,
            format!(
                "  warning: dense model {:?} diverged (non-finite loss)",
                t.which
            ),
        );
    }

    // The τ grid of every method (auto grids come from the refit model).
    let layers = prep.arch.layers();
    let mut grids: Vec<(MethodKind, Vec<f64>)> = Vec::new();
    let mut refit_scores: Vec<Scored> = Vec::new();
    for &m in &exp.prune.methods {
        let sc = score(
            exp,
            &prep,
            &refit.params,
            &refit.train_data,
            m,
            &model_ids(Which::Refit),
        )?;
        let g = grid::method_grid(
            &exp.prune.tau.grid,
            sc.method.as_ref(),
            &mask_ctx(exp, &refit.params, &layers, None),
            &sc.scores,
        );
        grids.push((m, g));
        refit_scores.push(sc);
    }

    // Stage 2: every (fold, method) prunes its fold's dense model at every τ.
    let unit = exp.prune.tau.unit.as_str();
    let jobs: Vec<(usize, usize)> = (0..trained.len())
        .flat_map(|i| (0..grids.len()).map(move |m| (i, m)))
        .collect();
    let t_prune = Instant::now();
    let per_job: Vec<Vec<(RunRecord, Vec<TrajectoryRow>)>> = pool.install(|| {
        jobs.par_iter()
            .map(|(i, m)| {
                let t = &trained[*i];
                let (kind, taus) = &grids[*m];
                let sc = score(
                    exp,
                    &prep,
                    &t.params,
                    &t.train_data,
                    *kind,
                    &model_ids(t.which),
                )?;
                taus.iter()
                    .map(|&tau| {
                        let o = schedule::run(exp, &prep, t, *kind, &sc, tau)?;
                        let rec = outcome_record(&prep, t, kind.as_str(), tau, unit, &o);
                        let traj = o
                            .rounds
                            .iter()
                            .map(|r| TrajectoryRow {
                                repeat: rec.repeat,
                                fold: rec.fold,
                                method: rec.method.clone(),
                                tau,
                                round: r.round,
                                sparsity: r.sparsity,
                                val_acc: r.val_acc,
                            })
                            .collect();
                        Ok((rec, traj))
                    })
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<Vec<_>>>()
    })?;
    let prune_seconds = t_prune.elapsed().as_secs_f64();
    let mut records: Vec<RunRecord> = Vec::new();
    for t in &trained {
        let dense = Masks::dense(&t.params);
        let eval = train::evaluate(prep.arch.as_ref(), &t.params, &t.heldout)?;
        records.push(record(
            &prep, t, "dense", None, "", &dense, &eval, 0, t.diverged,
        ));
    }
    let mut trajectory: Vec<TrajectoryRow> = Vec::new();
    for (rec, traj) in per_job.into_iter().flatten() {
        records.push(rec);
        trajectory.extend(traj);
    }
    if !trajectory.is_empty() {
        crate::fsio::write_atomic(&dir.join("trajectory.csv"), &csv_bytes(&trajectory)?)?;
    }
    let order = |m: &str| {
        exp.prune
            .methods
            .iter()
            .position(|k| k.as_str() == m)
            .map_or(0, |p| p + 1)
    };
    records.sort_by(|a, b| {
        (a.repeat, a.fold, order(&a.method))
            .cmp(&(b.repeat, b.fold, order(&b.method)))
            .then(a.tau.unwrap_or(-1.0).total_cmp(&b.tau.unwrap_or(-1.0)))
    });
    crate::fsio::write_atomic(&dir.join("runs.csv"), &csv_bytes(&records)?)?;
    let summary = aggregate::summarize(&records);
    crate::fsio::write_atomic(&dir.join("summary.csv"), &csv_bytes(&summary)?)?;

    // Stage 3: choose τ per method and rule on validation numbers only, then touch the test
    // split once per choice with the refit model.
    let dense_row = summary.iter().find(|s| s.method == "dense");
    let dense_mean = dense_row.map_or(0.0, |d| d.mean_val_acc);
    let models_dir = dir.join("models");
    let mut selection = Vec::new();
    let mut layer_rows = Vec::new();
    let mut test_evals = 0;
    {
        let dense = Masks::dense(&refit.params);
        let eval = train::evaluate(prep.arch.as_ref(), &refit.params, &refit.heldout)?;
        test_evals += 1;
        let d = dense_row.expect("dense summary row");
        selection.push(selection_row(
            &prep, &refit, "dense", "none", None, "", d, &dense, &eval, "dense",
        ));
        save_model(
            exp,
            &prep,
            &refit,
            &models_dir,
            "dense",
            "dense",
            "none",
            None,
            (&refit.params, &dense),
            &eval,
        )?;
    }
    for (m, sc) in exp.prune.methods.iter().zip(&refit_scores) {
        let rows: Vec<&SummaryRow> = summary.iter().filter(|s| s.method == m.as_str()).collect();
        for rule in &exp.cv.select {
            let Some(chosen) = select::choose(rule, &rows, dense_mean) else {
                log(
                    opts,
                    format!(
                        "  {} / {}: no τ satisfies the rule",
                        m.as_str(),
                        rule.label()
                    ),
                );
                continue;
            };
            let tau = chosen.tau.expect("pruned rows have τ");
            let p: Outcome = schedule::run(exp, &prep, &refit, *m, sc, tau)?;
            test_evals += 1;
            let stem = format!("{}_{}", m.as_str(), rule.label().replace('=', "-"));
            selection.push(selection_row(
                &prep,
                &refit,
                m.as_str(),
                &rule.label(),
                Some(tau),
                unit,
                chosen,
                &p.masks,
                &p.eval,
                &stem,
            ));
            for l in &layers {
                let w = p.masks.0[l.weight].len();
                layer_rows.push(LayerRow {
                    method: m.as_str().into(),
                    rule: rule.label(),
                    tau: Some(tau),
                    layer: l.name.clone(),
                    weights: w,
                    weights_left: p.masks.0[l.weight].iter().filter(|k| **k).count(),
                    sparsity: p.masks.layer_sparsity(l),
                });
            }
            save_model(
                exp,
                &prep,
                &refit,
                &models_dir,
                &stem,
                m.as_str(),
                &rule.label(),
                Some(tau),
                (&p.params, &p.masks),
                &p.eval,
            )?;
        }
    }
    crate::fsio::write_atomic(&dir.join("selection.csv"), &csv_bytes(&selection)?)?;
    crate::fsio::write_atomic(&dir.join("layers.csv"), &csv_bytes(&layer_rows)?)?;

    let mut timings: Vec<TimingRow> = trained
        .iter()
        .chain(std::iter::once(&refit))
        .map(|t| {
            let (r, f) = match t.which {
                Which::Fold { repeat, fold } => (Some(repeat), Some(fold)),
                Which::Refit => (None, None),
            };
            TimingRow {
                stage: "train_dense".into(),
                repeat: r,
                fold: f,
                method: "dense".into(),
                seconds: t.seconds,
            }
        })
        .collect();
    timings.push(TimingRow {
        stage: "prune_and_evaluate".into(),
        repeat: None,
        fold: None,
        method: "all".into(),
        seconds: prune_seconds,
    });
    crate::fsio::write_atomic(&dir.join("timings.csv"), &csv_bytes(&timings)?)?;

    let finished = unix_now();
    let m = manifest::Manifest {
        prunecv_version: env!("CARGO_PKG_VERSION").into(),
        git_commit: manifest::git_commit(),
        experiment_file: opts.experiment_file.clone(),
        config_hash: exp.hash(),
        seed: exp.seed,
        command: opts.command.clone(),
        jobs: opts.jobs,
        candle_threads_per_job: 1,
        started_unix: started,
        finished_unix: finished,
        wall_seconds: clock.elapsed().as_secs_f64(),
        dense_models_trained: trained.len() + 1,
        validation_evaluations: records.len(),
        test_evaluations: test_evals,
        os: std::env::consts::OS.into(),
        arch: std::env::consts::ARCH.into(),
    };
    crate::fsio::write_atomic(&dir.join("manifest.json"), &m.to_json())?;
    Ok(RunOutcome {
        dir,
        records,
        summary,
        selection,
    })
}

#[allow(clippy::too_many_arguments)]
fn selection_row(
    prep: &Prepared,
    refit: &Trained,
    method: &str,
    rule: &str,
    tau: Option<f64>,
    unit: &str,
    cv: &SummaryRow,
    masks: &Masks,
    eval: &Eval,
    stem: &str,
) -> SelectionRow {
    let r = record(prep, refit, method, tau, unit, masks, eval, 0, false);
    SelectionRow {
        method: method.into(),
        rule: rule.into(),
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
    }
}

#[allow(clippy::too_many_arguments)]
fn save_model(
    exp: &Experiment,
    prep: &Prepared,
    refit: &Trained,
    dir: &Path,
    stem: &str,
    method: &str,
    rule: &str,
    tau: Option<f64>,
    (params, masks): (&Params, &Masks),
    eval: &Eval,
) -> Result<()> {
    let card = export::ModelCard {
        format: "prunecv-model-1".into(),
        model: exp.to_raw().model.expect("model section"),
        input_dim: prep.pool.d,
        classes: prep.pool.classes,
        standardizer: refit.standardizer.clone(),
        method: method.into(),
        rule: rule.into(),
        tau,
        tau_unit: if tau.is_some() {
            exp.prune.tau.unit.as_str().into()
        } else {
            String::new()
        },
        sparsity: masks.sparsity(&prep.arch.layers()),
        test_acc: eval.acc,
        test_correct: eval.correct,
        test_n: eval.n,
        params: refit
            .params
            .0
            .iter()
            .map(|p| (p.name.clone(), p.shape.clone()))
            .collect(),
    };
    export::save(dir, stem, params, masks, &card)
}

/// `folds.csv` rows: every test row, then every pool row per repeat, by sample index.
fn fold_rows(prep: &Prepared) -> Vec<FoldRow> {
    let mut rows = Vec::new();
    for (r, folds) in prep.folds.iter().enumerate() {
        let mut all: Vec<FoldRow> = prep
            .pool_ids
            .iter()
            .zip(folds)
            .zip(&prep.pool.y)
            .map(|((&s, &f), &y)| FoldRow {
                sample: s,
                label: y,
                repeat: r,
                role: "cv",
                fold: Some(f),
            })
            .chain(
                prep.test_ids
                    .iter()
                    .zip(&prep.test.y)
                    .map(|(&s, &y)| FoldRow {
                        sample: s,
                        label: y,
                        repeat: r,
                        role: "test",
                        fold: None,
                    }),
            )
            .collect();
        all.sort_by_key(|x| x.sample);
        rows.extend(all);
    }
    rows
}

/// Evaluate an exported model on the test split of an experiment (as `run` built it).
pub fn eval_exported(model: &Path, exp: &Experiment) -> Result<(export::ModelCard, Eval)> {
    let (card, params, masks) = export::load(model)?;
    let prep = prepare(exp)?;
    if prep.test.d != card.input_dim || prep.test.classes != card.classes {
        return Err(Error::Invalid(format!(
            "{}: model expects {} features and {} classes, data has {} and {}",
            model.display(),
            card.input_dim,
            card.classes,
            prep.test.d,
            prep.test.classes
        )));
    }
    let spec = crate::config::resolve::model_from_raw(&card.model);
    let arch = crate::model::build(&spec, card.input_dim, card.classes);
    let data = TensorData::new(&card.standardizer.apply(&prep.test))?;
    let eval = train::evaluate(arch.as_ref(), &masks.apply(&params), &data)?;
    Ok((card, eval))
}

/// What `check` prints: the resolved experiment and the job counts it implies.
pub fn plan_text(exp: &Experiment) -> Result<String> {
    let prep = prepare(exp)?;
    let folds = exp.cv.repeats * exp.cv.folds;
    let taus = match &exp.prune.tau.grid {
        crate::config::Grid::Values(v) => v.len(),
        crate::config::Grid::Auto(n) => *n,
    };
    let methods: Vec<&str> = exp.prune.methods.iter().map(|m| m.as_str()).collect();
    Ok(format!(
        "{yaml}---\nplan:\n  data: {n} rows ({pool} training pool, {test} test), {d} features, {c} classes\n  model: {model}\n  dense models: {folds} ({r} repeats × {k} folds) + 1 refit\n  pruning evaluations: {evals} ({folds} models × {nm} methods [{ms}] × {taus} τ, unit {unit})\n  selection: {rules} rules × {nm} methods, each evaluated once on the test split\n",
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
pub fn text_summary(o: &RunOutcome) -> String {
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
