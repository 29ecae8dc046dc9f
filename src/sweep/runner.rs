//! The run itself: one job graph of dense models → per-method τ grids → (fold, method) prune
//! jobs (executed by [`super::pipeline`]) → tables → selection, refit and one test evaluation
//! per choice → models, manifest, figures and report.

use super::cache::DenseCache;
use super::dense::{dense_model, Trained, Which};
use super::interrupt;
use super::journal::{self, Journal};
use super::lock::{self, RunLock};
use super::prepare::{fold_rows, prepare, Prepared};
use super::progress::Progress;
use super::records::*;
use super::schedule::{self, mask_ctx, model_ids, score, Outcome, Scored};
use super::shard::{self, Shard};
use super::{aggregate, grid, pipeline, select, Mode, RunOptions, RunOutcome};
use crate::config::{Experiment, MethodKind};
use crate::error::{Error, Result};
use crate::model::{export, Masks, Params};
use crate::report::{csv_bytes, manifest};
use crate::train::{self, Eval};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

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
    let (repeat, fold) = t.which.repeat_fold().unwrap_or((usize::MAX, usize::MAX));
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
        effective_sparsity: crate::model::effective::effective_sparsity(&t.params, masks, &layers),
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
        // A job pruned from a diverged dense model inherits its divergence.
        o.diverged || t.diverged,
    )
}

/// Open the run directory: refuse to touch one another live process holds; on `--resume`,
/// require the same resolved configuration; otherwise refuse an existing directory unless
/// `--force`. Returns the lock, held until the run ends.
fn open_run_dir(dir: &Path, exp: &Experiment, opts: &RunOptions) -> Result<RunLock> {
    if dir.exists() {
        if let Some(pid) = lock::holder(dir) {
            return Err(Error::Locked {
                dir: dir.to_path_buf(),
                pid,
            });
        }
        if opts.resume {
            let resolved = dir.join("resolved.yaml");
            let before = std::fs::read_to_string(&resolved).unwrap_or_default();
            if before != exp.to_yaml() {
                return Err(Error::Usage(format!(
                    "cannot resume {}: its resolved.yaml differs from this experiment (the \
                     configuration changed); use --force to start over or --out for a new directory",
                    dir.display()
                )));
            }
        } else if opts.force {
            std::fs::remove_dir_all(dir).map_err(|e| Error::io("remove", dir, e))?;
        } else {
            return Err(Error::RunExists(dir.to_path_buf()));
        }
    }
    crate::fsio::create_dir_all(&dir.join("models"))?;
    let lock = RunLock::acquire(dir)?;
    crate::fsio::write_atomic(&dir.join("resolved.yaml"), exp.to_yaml().as_bytes())?;
    Ok(lock)
}

/// Open a shard's directory inside the shared run directory. The run directory may already
/// exist (other shards) if its configuration is the same; the shard's own directory follows the
/// --resume / --force rules.
fn open_shard_dir(
    dir: &Path,
    sh: Shard,
    exp: &Experiment,
    opts: &RunOptions,
) -> Result<(PathBuf, RunLock)> {
    let resolved = dir.join("resolved.yaml");
    if let Ok(before) = std::fs::read_to_string(&resolved) {
        if before != exp.to_yaml() {
            return Err(Error::Usage(format!(
                "{} holds a run of a different configuration; shards must share one experiment",
                dir.display()
            )));
        }
    }
    let sd = sh.dir(dir);
    if sd.exists() {
        if let Some(pid) = lock::holder(&sd) {
            return Err(Error::Locked { dir: sd, pid });
        }
        if opts.force {
            std::fs::remove_dir_all(&sd).map_err(|e| Error::io("remove", &sd, e))?;
        } else if !opts.resume {
            return Err(Error::RunExists(sd));
        }
    }
    crate::fsio::create_dir_all(&sd)?;
    crate::fsio::create_dir_all(&dir.join("models"))?;
    let lock = RunLock::acquire(&sd)?;
    crate::fsio::write_atomic(&resolved, exp.to_yaml().as_bytes())?;
    Ok((sd, lock))
}

/// The command that resumes this run.
fn resume_command(opts: &RunOptions) -> String {
    let mut args: Vec<String> = opts
        .command
        .iter()
        .filter(|a| *a != "--force" && *a != "--resume")
        .cloned()
        .collect();
    if args.is_empty() {
        args = vec!["prunecv".into(), "run".into(), opts.experiment_file.clone()];
    }
    args.push("--resume".into());
    args.iter()
        .map(|a| crate::slurm::shell_quote(a))
        .collect::<Vec<_>>()
        .join(" ")
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
    // `git rev-parse` for the manifest is a subprocess: start it now, read it at the end.
    let git_commit = std::thread::spawn(manifest::git_commit);
    // Data first: bad data fails the run before its directory is created or touched.
    let prep = prepare(exp)?;
    // resolved.yaml records how CSV class names were mapped to class indices.
    let pinned = exp.with_class_names(prep.class_names.as_deref());
    let exp = &pinned;
    // Memory next: a run that cannot fit is refused before anything is allocated or written.
    let (workers, notice) = super::memory::fit_jobs(exp, &prep, opts.jobs)?;
    for w in prep.warnings.iter().chain(&notice) {
        log(opts, w);
    }
    let (work_dir, _lock) = match opts.mode {
        Mode::Full => (dir.clone(), open_run_dir(&dir, exp, opts)?),
        Mode::Shard(sh) => open_shard_dir(&dir, sh, exp, opts)?,
        Mode::Merge => {
            if !dir.join("resolved.yaml").is_file() {
                return Err(Error::Usage(format!(
                    "{} is not a run directory (no resolved.yaml)",
                    dir.display()
                )));
            }
            if let Some(pid) = lock::holder(&dir) {
                return Err(Error::Locked {
                    dir: dir.clone(),
                    pid,
                });
            }
            (dir.clone(), RunLock::acquire(&dir)?)
        }
    };
    journal::check_data(&work_dir, &prep.fingerprint)?;
    let (journal, mut journalled) = Journal::open(&work_dir)?;
    if opts.mode == Mode::Merge {
        journalled.extend(shard::collect(&dir, &exp.hash(), &prep.fingerprint)?);
    }
    let cache = opts.cache.then(|| DenseCache::new(&root));
    // Wall seconds of the serial and parallel phases, for timings.csv.
    let mut phases: Vec<(&str, f64)> = vec![("prepare", clock.elapsed().as_secs_f64())];
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
        .num_threads(workers.max(1))
        .build()
        .map_err(|e| Error::Environment(format!("cannot start {workers} worker threads: {e}")))?;

    // The job list: every (fold model, method), in a fixed order. A shard owns every n-th job.
    let folds: Vec<Which> = (0..exp.cv.repeats)
        .flat_map(|r| (0..exp.cv.folds).map(move |f| Which::Fold { repeat: r, fold: f }))
        .collect();
    let n_methods = exp.prune.methods.len();
    let owned = |j: usize| match opts.mode {
        Mode::Shard(sh) => sh.owns(j),
        Mode::Full | Mode::Merge => true,
    };
    // Full runs and merges need every fold's dense model; a shard only those of its jobs.
    let needed: Vec<bool> = (0..folds.len())
        .map(|i| (0..n_methods).any(|m| owned(i * n_methods + m)))
        .collect();

    // The dense models this process needs (fold models, then the refit on the whole pool).
    let mut which: Vec<Which> = folds
        .iter()
        .zip(&needed)
        .filter(|(_, n)| **n)
        .map(|(w, _)| *w)
        .collect();
    which.push(Which::Refit);
    let n_models = which.len();
    let refit_slot = n_models - 1;
    // Dense slot of every fold index (None where a shard does not need the fold).
    let mut slot_of_fold: Vec<Option<usize>> = vec![None; folds.len()];
    for (k, w) in which.iter().enumerate() {
        if let Some(i) = folds.iter().position(|f| f == w) {
            slot_of_fold[i] = Some(k);
        }
    }

    // Every (fold, method) job this process owns; on --resume the journalled ones are not run
    // again, and a merge must find every one in the shards' journals.
    let unit = exp.prune.tau.unit.as_str();
    let job_name = |i: usize, m: usize| format!("{} {}", folds[i], exp.prune.methods[m].as_str());
    let jobs: Vec<(usize, usize)> = (0..folds.len())
        .flat_map(|i| (0..n_methods).map(move |m| (i, m)))
        .filter(|&(i, m)| owned(i * n_methods + m))
        .collect();
    let n_jobs = jobs.len();
    let resumed: Vec<&journal::Entry> = jobs
        .iter()
        .filter_map(|&(i, m)| journalled.get(&job_name(i, m)))
        .collect();
    let n_resumed = resumed.len();
    let todo: Vec<(usize, usize)> = jobs
        .iter()
        .copied()
        .filter(|&(i, m)| !journalled.contains_key(&job_name(i, m)))
        .collect();
    if opts.mode == Mode::Merge && !todo.is_empty() {
        let missing: Vec<String> = todo.iter().map(|&(i, m)| job_name(i, m)).collect();
        return Err(Error::Usage(format!(
            "the shards' journals lack {} job(s): {}",
            missing.len(),
            missing.join("; ")
        )));
    }
    let total = n_models + if opts.mode == Mode::Merge { 0 } else { n_jobs };
    let progress = Progress::new(total, opts.quiet);
    progress.inc(n_resumed, "journalled");
    let interrupted = |done: usize| Error::Interrupted {
        done,
        total,
        resume: resume_command(opts),
    };

    // Dense models and pruning jobs run as one job graph on the pool (see `pipeline`): a job
    // starts once its fold's model and the τ grids (read from the refit model) exist. Each
    // finished job is journalled at once.
    let layers = prep.arch.layers();
    let t_graph = Instant::now();
    let dense_order: Vec<usize> = std::iter::once(refit_slot).chain(0..refit_slot).collect();
    let job_deps: Vec<usize> = todo
        .iter()
        .map(|&(i, _)| slot_of_fold[i].expect("a shard trains the models its jobs need"))
        .collect();
    type Grids = (Vec<(MethodKind, Vec<f64>)>, Vec<Scored>);
    let executed = pipeline::execute(
        &pool,
        &dense_order,
        refit_slot,
        &job_deps,
        interrupt::requested,
        |k| {
            let t = dense_model(exp, &prep, which[k], cache.as_ref())?;
            progress.inc(1, "dense model");
            Ok(t)
        },
        // The τ grid of every method (auto grids come from the refit model).
        |refit: &Trained| -> Result<Grids> {
            let mut grids = Vec::new();
            let mut scores = Vec::new();
            let params = schedule::scoring_params(exp, &prep, refit);
            for &m in &exp.prune.methods {
                let sc = score(
                    exp,
                    &prep,
                    &params,
                    &refit.train_data,
                    m,
                    &model_ids(Which::Refit),
                )?;
                let g = grid::method_grid(
                    &exp.prune.tau.grid,
                    sc.method.as_ref(),
                    &mask_ctx(exp, prep.arch.as_ref(), &params, &layers, None, &sc),
                    &sc.scores,
                )?;
                grids.push((m, g));
                scores.push(sc);
            }
            Ok((grids, scores))
        },
        |j, t: &Trained, (grids, _): &Grids| {
            let (i, m) = todo[j];
            let (kind, taus) = &grids[m];
            let sc = score(
                exp,
                &prep,
                &schedule::scoring_params(exp, &prep, t),
                &t.train_data,
                *kind,
                &model_ids(t.which),
            )?;
            let mut entry = journal::Entry {
                job: job_name(i, m),
                records: Vec::new(),
                trajectory: Vec::new(),
                features: Vec::new(),
            };
            for &tau in taus {
                let o = schedule::run(exp, &prep, t, *kind, &sc, tau)?;
                let rec = outcome_record(&prep, t, kind.as_str(), tau, unit, &o);
                entry
                    .trajectory
                    .extend(o.rounds.iter().map(|r| TrajectoryRow {
                        repeat: rec.repeat,
                        fold: rec.fold,
                        method: rec.method.clone(),
                        tau,
                        round: r.round,
                        sparsity: r.sparsity,
                        val_acc: r.val_acc,
                    }));
                entry.features.push(super::stability::to_hex(
                    &crate::model::effective::effective(&t.params, &o.masks, &layers).inputs_used,
                ));
                entry.records.push(rec);
            }
            journal.append(&entry)?;
            progress.inc(1, &entry.job);
            Ok(entry)
        },
    )?;
    progress.finish();
    let pipeline::Executed {
        dense: models,
        grids,
        jobs: new_entries,
    } = executed;
    let models_done = models.iter().flatten().count();
    if models_done < n_models || new_entries.iter().any(Option::is_none) {
        let done = models_done + n_resumed + new_entries.iter().flatten().count();
        return Err(interrupted(done));
    }
    phases.push(("dense_models_and_jobs", t_graph.elapsed().as_secs_f64()));
    let (method_grids, refit_scores) = grids.expect("grids exist once the refit model does");
    let mut models: Vec<Option<Trained>> = models;
    let refit = models[refit_slot].take().expect("refit model");
    let from_cache =
        models.iter().flatten().filter(|t| t.cached).count() + usize::from(refit.cached);
    // Fold models by fold index (None where a shard does not need one).
    let trained: Vec<Option<Trained>> = slot_of_fold
        .iter()
        .map(|k| k.and_then(|k| models[k].take()))
        .collect();
    for t in trained.iter().flatten().filter(|t| t.diverged) {
        progress.println(&format!(
            "  warning: dense model {} diverged (non-finite loss)",
            t.which
        ));
    }
    if let Mode::Shard(sh) = opts.mode {
        let mut done_jobs: Vec<String> = jobs.iter().map(|&(i, m)| job_name(i, m)).collect();
        done_jobs.sort();
        shard::write_done(
            &work_dir,
            &shard::Done {
                config_hash: exp.hash(),
                jobs: done_jobs,
            },
        )?;
        log(
            opts,
            format!(
                "shard {sh} finished {} job(s); when all shards are done: prunecv merge {}",
                jobs.len(),
                dir.display()
            ),
        );
        return Ok(RunOutcome {
            dir,
            records: Vec::new(),
            summary: Vec::new(),
            selection: Vec::new(),
        });
    }
    let t_select = Instant::now();
    let trained: Vec<Trained> = trained.into_iter().flatten().collect();
    let mut records: Vec<RunRecord> = Vec::new();
    for t in &trained {
        let dense = Masks::dense(&t.params);
        let eval = t
            .validation
            .expect("fold models carry their validation result");
        records.push(record(
            &prep, t, "dense", None, "", &dense, &eval, 0, t.diverged,
        ));
    }
    let mut trajectory: Vec<TrajectoryRow> = Vec::new();
    let resumed_entries: Vec<&journal::Entry> = resumed.clone();
    for e in resumed.into_iter().chain(new_entries.iter().flatten()) {
        records.extend(e.records.iter().cloned());
        trajectory.extend(e.trajectory.iter().cloned());
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
    trajectory.sort_by(|a, b| {
        (a.repeat, a.fold, order(&a.method))
            .cmp(&(b.repeat, b.fold, order(&b.method)))
            .then(a.tau.total_cmp(&b.tau))
            .then(a.round.cmp(&b.round))
    });
    if !trajectory.is_empty() {
        crate::fsio::write_atomic(&dir.join("trajectory.csv"), &csv_bytes(&trajectory)?)?;
    }
    crate::fsio::write_atomic(&dir.join("runs.csv"), &csv_bytes(&records)?)?;
    let diverged: Vec<String> = records
        .iter()
        .filter(|r| r.diverged)
        .map(|r| {
            let tau = r.tau.map_or(String::new(), |t| format!(" τ={t}"));
            format!("repeat {} fold {} {}{tau}", r.repeat, r.fold, r.method)
        })
        .collect();
    if !diverged.is_empty() {
        log(
            opts,
            format!(
                "warning: {} run(s) diverged (non-finite loss) and are excluded from the summary and selection: {}",
                diverged.len(),
                diverged.join("; ")
            ),
        );
    }
    let summary = aggregate::summarize(&records);
    crate::fsio::write_atomic(&dir.join("summary.csv"), &csv_bytes(&summary)?)?;
    // Layer sensitivity: fold models and their validation rows only.
    let sensitivity =
        pool.install(|| super::sensitivity::table(exp, &prep, &trained, &method_grids))?;
    crate::fsio::write_atomic(&dir.join("sensitivity.csv"), &csv_bytes(&sensitivity)?)?;

    // Choose τ per method and rule on validation numbers only, then touch the test split once
    // per choice with the refit model.
    let dense_row = summary.iter().find(|s| s.method == "dense");
    let dense_mean = dense_row.map_or(0.0, |d| d.mean_val_acc);
    if dense_row.is_some() && !refit.diverged {
        if let Some(w) = super::refit_check::warning(
            prep.arch.as_ref(),
            &refit.params,
            &refit.train_data,
            dense_mean,
        )? {
            log(opts, w);
        }
    }
    let models_dir = dir.join("models");
    let mut selection = Vec::new();
    let mut layer_rows = Vec::new();
    let mut test_evals = 0;
    let (dense_masks, dense_eval) = {
        let dense = Masks::dense(&refit.params);
        let eval = train::evaluate(prep.arch.as_ref(), &refit.params, &refit.heldout)?;
        test_evals += 1;
        let d = dense_row.expect("dense summary row");
        selection.push(selection_row(
            &prep, &refit, "dense", "none", None, "", d, &dense, &eval, "dense",
        ));
        (dense, eval)
    };
    // Every rule's choice, on validation numbers only; then one refit per distinct
    // (method, τ) — rules that agree share it — run in parallel on the job pool, each touching
    // the test split once.
    let mut choices: Vec<(usize, &crate::config::SelectRule, &SummaryRow, f64)> = Vec::new();
    for (mi, m) in exp.prune.methods.iter().enumerate() {
        let rows: Vec<&SummaryRow> = summary.iter().filter(|s| s.method == m.as_str()).collect();
        for rule in &exp.cv.select {
            match select::choose(rule, &rows, dense_mean) {
                Some(chosen) => {
                    choices.push((mi, rule, chosen, chosen.tau.expect("pruned rows have τ")))
                }
                None => log(
                    opts,
                    format!(
                        "  {} / {}: no τ satisfies the rule",
                        m.as_str(),
                        rule.label()
                    ),
                ),
            }
        }
    }
    let mut distinct: Vec<(usize, f64)> = Vec::new();
    for &(mi, _, _, tau) in &choices {
        if !distinct.contains(&(mi, tau)) {
            distinct.push((mi, tau));
        }
    }
    // Pulled in order, so that fewer refits than workers split their kernels over the idle
    // workers ([`crate::par::kernel_threads`]).
    let refits: Vec<Outcome> = pool
        .install(|| {
            crate::par::pull(
                distinct.len(),
                || false,
                |i| {
                    let (mi, tau) = distinct[i];
                    let m = exp.prune.methods[mi];
                    schedule::run(exp, &prep, &refit, m, &refit_scores[mi], tau)
                },
            )
        })
        .into_iter()
        .map(|r| r.expect("no stop: every refit runs"))
        .collect::<Result<Vec<_>>>()?;
    test_evals += refits.len();
    // Mask stability across the fold models at each choice (validation side only): input
    // features from the journalled jobs; whole masks (shared initialisation), or journals of an
    // older version, by pruning the fold models again.
    let n_inputs = layers
        .first()
        .and_then(|l| refit.params.0[l.weight].shape.get(1).copied())
        .unwrap_or(0);
    let feature_sets = super::stability::journalled(
        resumed_entries
            .iter()
            .copied()
            .chain(new_entries.iter().flatten()),
        &distinct
            .iter()
            .map(|&(mi, tau)| (exp.prune.methods[mi].as_str(), tau))
            .collect::<Vec<_>>(),
        n_inputs,
    );
    let stabilities = match feature_sets {
        Some(sets) if !exp.cv.shared_init => sets
            .iter()
            .map(|s| super::stability::Stability {
                features: super::stability::feature_pairwise(s),
                masks: None,
            })
            .collect(),
        _ => pool.install(|| super::stability::measure(exp, &prep, &trained, &distinct))?,
    };
    let outcomes: Vec<(MethodKind, f64, Outcome)> = distinct
        .iter()
        .zip(refits)
        .map(|(&(mi, tau), o)| (exp.prune.methods[mi], tau, o))
        .collect();
    let mut saves = vec![Save {
        stem: "dense".into(),
        method: "dense",
        rule: "none".into(),
        tau: None,
        params: &refit.params,
        masks: &dense_masks,
        eval: &dense_eval,
    }];
    for &(mi, rule, chosen, tau) in &choices {
        let m = &exp.prune.methods[mi];
        {
            let p = &outcomes
                .iter()
                .find(|(k, t, _)| k == m && *t == tau)
                .expect("outcome just computed")
                .2;
            let stem = format!("{}_{}", m.as_str(), rule.label().replace('=', "-"));
            let st = stabilities[distinct
                .iter()
                .position(|&d| d == (mi, tau))
                .expect("a distinct choice")];
            let mut row = selection_row(
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
            );
            (row.feature_jaccard, row.feature_jaccard_chance) = st.features.unzip();
            (row.mask_jaccard, row.mask_jaccard_chance) = st.masks.unzip();
            selection.push(row);
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
            saves.push(Save {
                stem,
                method: m.as_str(),
                rule: rule.label(),
                tau: Some(tau),
                params: &p.params,
                masks: &p.masks,
                eval: &p.eval,
            });
        }
    }
    // Every chosen model (and the dense refit) to models/, in parallel on the job pool.
    pool.install(|| {
        saves
            .par_iter()
            .try_for_each(|sv| save_model(exp, &prep, &refit, &models_dir, sv))
    })?;
    crate::fsio::write_atomic(&dir.join("selection.csv"), &csv_bytes(&selection)?)?;
    crate::fsio::write_atomic(&dir.join("layers.csv"), &csv_bytes(&layer_rows)?)?;
    phases.push(("tables_selection_refits", t_select.elapsed().as_secs_f64()));
    // Measured inference speed of every selected model, one thread, nothing else running;
    // times go to speed.csv alone (the tables above stay byte-identical across reruns).
    let t_speed = Instant::now();
    let subjects: Vec<crate::speed::measure::Subject> = saves
        .iter()
        .map(|sv| crate::speed::measure::Subject {
            method: sv.method,
            rule: &sv.rule,
            tau: sv.tau,
            params: sv.params,
            masks: sv.masks,
        })
        .collect();
    let (rows, d) = refit.train_data.features();
    let speed = crate::speed::measure::measure(
        prep.arch.as_ref(),
        &subjects,
        rows,
        d,
        crate::speed::timing::Protocol::RUN,
    )?;
    crate::fsio::write_atomic(&dir.join("speed.csv"), &csv_bytes(&speed)?)?;
    phases.push(("speed", t_speed.elapsed().as_secs_f64()));

    let mut timings: Vec<TimingRow> = trained
        .iter()
        .chain(std::iter::once(&refit))
        .map(|t| {
            let rf = t.which.repeat_fold();
            TimingRow {
                stage: "train_dense".into(),
                repeat: rf.map(|(r, _)| r),
                fold: rf.map(|(_, f)| f),
                method: "dense".into(),
                seconds: t.seconds,
            }
        })
        .collect();

    let finished = unix_now();
    let m = manifest::Manifest {
        prunecv_version: env!("CARGO_PKG_VERSION").into(),
        git_commit: git_commit.join().ok().flatten(),
        experiment_file: opts.experiment_file.clone(),
        config_hash: exp.hash(),
        seed: exp.seed,
        command: opts.command.clone(),
        jobs: workers,
        candle_threads_per_job: 1,
        started_unix: started,
        finished_unix: finished,
        wall_seconds: clock.elapsed().as_secs_f64(),
        dense_models_trained: trained.len() + 1 - from_cache,
        dense_models_from_cache: from_cache,
        jobs_resumed: n_resumed,
        validation_evaluations: records.len(),
        test_evaluations: test_evals,
        memory_estimate_bytes: super::memory::estimate(
            exp,
            prep.arch.as_ref(),
            prep.pool.n,
            prep.test.n,
            prep.pool.d,
        )
        .total(workers) as u64,
        peak_resident_bytes: super::memory::peak_resident(),
        os: std::env::consts::OS.into(),
        arch: std::env::consts::ARCH.into(),
    };
    crate::fsio::write_atomic(&dir.join("manifest.json"), &m.to_json())?;
    // Figures and the Markdown report, from the tables just written.
    let t_figures = Instant::now();
    pool.install(|| crate::report::plot::render_all(&dir))?;
    crate::report::write_reports(&dir)?;
    phases.push(("figures_and_report", t_figures.elapsed().as_secs_f64()));
    timings.extend(phases.iter().map(|&(stage, seconds)| TimingRow {
        stage: stage.into(),
        repeat: None,
        fold: None,
        method: "all".into(),
        seconds,
    }));
    crate::fsio::write_atomic(&dir.join("timings.csv"), &csv_bytes(&timings)?)?;
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
        test_effective_sparsity: r.effective_sparsity,
        feature_jaccard: None,
        feature_jaccard_chance: None,
        mask_jaccard: None,
        mask_jaccard_chance: None,
    }
}

#[allow(clippy::too_many_arguments)]
/// One model to write to `models/`: the dense refit or a rule's choice.
struct Save<'a> {
    stem: String,
    method: &'a str,
    rule: String,
    tau: Option<f64>,
    params: &'a Params,
    masks: &'a Masks,
    eval: &'a Eval,
}

fn save_model(
    exp: &Experiment,
    prep: &Prepared,
    refit: &Trained,
    dir: &Path,
    sv: &Save,
) -> Result<()> {
    let Save {
        method,
        tau,
        masks,
        eval,
        ..
    } = *sv;
    let card = export::ModelCard {
        format: "prunecv-model-1".into(),
        model: exp.to_raw().model.expect("model section"),
        input_dim: prep.pool.d,
        classes: prep.pool.classes,
        class_names: prep.class_names.clone(),
        standardizer: refit.standardizer.clone(),
        method: method.into(),
        rule: sv.rule.clone(),
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
    export::save(dir, &sv.stem, sv.params, masks, &card)
}
