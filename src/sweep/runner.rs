//! The run itself, as stages: open the run directory → plan the jobs ([`super::plan`]) →
//! execute the job graph ([`super::jobs`]) → collect the records → summarise → choose τ, refit
//! and test ([`super::choose`]) → a [`SweepResult`], written as tables, models, manifest,
//! figures and report.

use super::cache::DenseCache;
use super::choose::{choose, Chosen, Selected};
use super::dense::Trained;
use super::ids::{JobKey, RowMethod};
use super::jobs::{self, Done};
use super::journal::{self, Journal};
use super::observe::Counter;
use super::plan::{Job, JobPlan};
use super::prepare::{fold_rows, prepare, Prepared};
use super::records::*;
use super::result::SweepResult;
use super::rows::record;
use super::run_dir::{resume_command, RunDir};
use super::{aggregate, shard, Mode, RunOptions};
use crate::config::Experiment;
use crate::error::{Error, Result};
use crate::model::{export, LayerInfo, Masks};
use crate::report::manifest;
use rayon::prelude::*;
use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// What every stage of one run reads.
pub struct Ctx<'a> {
    pub exp: &'a Experiment,
    pub prep: &'a Prepared,
    pub pool: &'a rayon::ThreadPool,
    pub layers: Vec<LayerInfo>,
    pub cancel: &'a super::CancelToken,
}

/// When the run started, and the wall seconds of its serial and parallel phases (timings.csv).
struct Clock {
    started: f64,
    start: Instant,
    phases: Vec<(&'static str, f64)>,
}

impl Clock {
    fn phase<T>(&mut self, name: &'static str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let t = Instant::now();
        let out = f()?;
        self.phases.push((name, t.elapsed().as_secs_f64()));
        Ok(out)
    }
}

fn log(opts: &RunOptions, msg: impl AsRef<str>) {
    opts.observer.message(msg.as_ref());
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Run a whole experiment (or one shard of it, or the merge of its shards) and write its run
/// directory.
pub fn run(exp: &Experiment, opts: &RunOptions) -> Result<SweepResult> {
    let mut clock = Clock {
        started: unix_now(),
        start: Instant::now(),
        phases: Vec::new(),
    };
    let root = opts
        .out_root
        .clone()
        .unwrap_or_else(|| std::path::PathBuf::from(&exp.output.dir));
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
    let run_dir = match (opts.write, opts.mode) {
        (true, _) => Some(RunDir::open(&root.join(&exp.name), exp, opts)?),
        (false, Mode::Full) => None,
        (false, _) => {
            return Err(Error::Usage(
                "a shard or a merge needs a run directory: set RunOptions::write".into(),
            ))
        }
    };
    let (journal, journalled) = match &run_dir {
        Some(d) => {
            let (j, e) = open_journal(exp, &prep, d, opts.mode)?;
            (Some(j), e)
        }
        None => (None, Default::default()),
    };
    let cache = (opts.cache && run_dir.is_some()).then(|| DenseCache::new(&root));
    clock
        .phases
        .push(("prepare", clock.start.elapsed().as_secs_f64()));
    let folds = fold_rows(&prep);
    if let Some(d) = &run_dir {
        crate::fsio::write_atomic(&d.dir.join("folds.csv"), &crate::report::csv_bytes(&folds)?)?;
    }
    log(opts, header(exp, &prep));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(workers.max(1))
        .build()
        .map_err(|e| Error::Environment(format!("cannot start {workers} worker threads: {e}")))?;
    let ctx = Ctx {
        exp,
        prep: &prep,
        pool: &pool,
        layers: prep.arch.layers(),
        cancel: &opts.cancel,
    };
    let plan = JobPlan::new(exp, opts.mode);
    let (resumed, todo) = split_journalled(exp, &plan, &journalled, opts.mode)?;
    let done = clock.phase("dense_models_and_jobs", || {
        execute(
            &ctx,
            opts,
            &plan,
            resumed.len(),
            &todo,
            journal.as_ref(),
            cache.as_ref(),
        )
    })?;
    if let (Mode::Shard(sh), Some(d)) = (opts.mode, &run_dir) {
        finish_shard(exp, opts, &plan, d, sh)?;
        return Ok(SweepResult {
            dir: Some(d.dir.clone()),
            ..SweepResult::default()
        });
    }
    let result = SweepResult {
        dir: run_dir.as_ref().map(|d| d.dir.clone()),
        folds,
        ..SweepResult::default()
    };
    let counts = Counts {
        workers,
        resumed: resumed.len(),
        test_evaluations: 0,
    };
    let entries: Vec<journal::Entry> = resumed.into_iter().cloned().collect();
    finish(&ctx, opts, clock, done, entries, counts, git_commit, result)
}

/// Check the journal belongs to this data, open it, and (for a merge) add the shards' entries.
fn open_journal(
    exp: &Experiment,
    prep: &Prepared,
    run_dir: &RunDir,
    mode: Mode,
) -> Result<(Journal, std::collections::BTreeMap<JobKey, journal::Entry>)> {
    journal::check_data(&run_dir.work, &prep.fingerprint)?;
    let (journal, mut journalled) = Journal::open(&run_dir.work)?;
    if mode == Mode::Merge {
        journalled.extend(shard::collect(
            &run_dir.dir,
            &exp.hash(),
            &prep.fingerprint,
        )?);
    }
    Ok((journal, journalled))
}

/// The line a run starts with.
fn header(exp: &Experiment, prep: &Prepared) -> String {
    format!(
        "{}: {} training rows, {} test rows, {} × {} folds, model {}",
        exp.name,
        prep.pool.n,
        prep.test.n,
        exp.cv.repeats,
        exp.cv.folds,
        prep.arch.describe()
    )
}

/// Execute the plan's dense models and the jobs `todo` with a progress bar counting the
/// `resumed` ones; an interrupt becomes [`Error::Interrupted`] with the command that resumes.
fn execute(
    ctx: &Ctx,
    opts: &RunOptions,
    plan: &JobPlan,
    resumed: usize,
    todo: &[Job],
    journal: Option<&Journal>,
    cache: Option<&DenseCache>,
) -> Result<Done> {
    let total = plan.models.len()
        + if opts.mode == Mode::Merge {
            0
        } else {
            plan.jobs.len()
        };
    let progress = Counter::new(opts.observer.as_ref(), total);
    progress.inc(resumed, "journalled");
    jobs::execute(ctx, plan, todo, journal, &progress, cache)?.map_err(|stopped| {
        Error::Interrupted {
            done: stopped.done + resumed,
            total,
            resume: resume_command(opts),
        }
    })
}

/// After the job graph: tables, selection, refits and test, models, speed, manifest, figures
/// and report. `entries` are the resumed journal entries; the new ones are in `done`.
#[allow(clippy::too_many_arguments)]
fn finish(
    ctx: &Ctx,
    opts: &RunOptions,
    mut clock: Clock,
    mut done: Done,
    mut entries: Vec<journal::Entry>,
    mut counts: Counts,
    git_commit: std::thread::JoinHandle<Option<String>>,
    mut result: SweepResult,
) -> Result<SweepResult> {
    entries.append(&mut done.entries);
    let dir = result.dir.clone();
    let selected = clock.phase("tables_selection_refits", || {
        tabulate(ctx, opts, &done, &entries, &mut result)?;
        let selected = select_stage(ctx, opts, &done, &entries, &result)?;
        if let Some(dir) = &dir {
            save_models(ctx, &done.refit, &dir.join("models"), &selected.models)?;
        }
        Ok(selected)
    })?;
    result.selection = selected.rows;
    result.layers = selected.layers;
    result.speed = clock.phase("speed", || {
        measure_speed(ctx, &done.refit, &selected.models)
    })?;
    counts.test_evaluations = selected.test_evals;
    let m = manifest::Manifest {
        git_commit: git_commit.join().ok().flatten(),
        ..manifest_of(ctx, opts, &clock, &done, counts, &result)
    };
    match &dir {
        Some(dir) => write_outputs(ctx, dir, &mut clock, &done, &m, &mut result)?,
        None => result.timings = timings(&clock, &done),
    }
    Ok(result)
}

/// The jobs already in the journal (resumed, or the shards' for a merge) and those left to run;
/// a merge must find every job in the shards' journals.
fn split_journalled<'a>(
    exp: &Experiment,
    plan: &JobPlan,
    journalled: &'a std::collections::BTreeMap<JobKey, journal::Entry>,
    mode: Mode,
) -> Result<(Vec<&'a journal::Entry>, Vec<Job>)> {
    let key = |j: Job| plan.job_key(&exp.prune.methods, j);
    let resumed = plan
        .jobs
        .iter()
        .filter_map(|&j| journalled.get(&key(j)))
        .collect();
    let todo: Vec<Job> = plan
        .jobs
        .iter()
        .copied()
        .filter(|&j| !journalled.contains_key(&key(j)))
        .collect();
    if mode == Mode::Merge && !todo.is_empty() {
        let missing: Vec<String> = todo.iter().map(|&j| key(j).to_string()).collect();
        return Err(Error::Usage(format!(
            "the shards' journals lack {} job(s): {}",
            missing.len(),
            missing.join("; ")
        )));
    }
    Ok((resumed, todo))
}

/// A shard's end: mark it done, and say how to merge.
fn finish_shard(
    exp: &Experiment,
    opts: &RunOptions,
    plan: &JobPlan,
    run_dir: &RunDir,
    sh: shard::Shard,
) -> Result<()> {
    let mut done_jobs: Vec<JobKey> = plan
        .jobs
        .iter()
        .map(|&j| plan.job_key(&exp.prune.methods, j))
        .collect();
    done_jobs.sort();
    shard::write_done(
        &run_dir.work,
        &shard::Done {
            config_hash: exp.hash(),
            jobs: done_jobs,
        },
    )?;
    log(
        opts,
        format!(
            "shard {sh} finished {} job(s); when all shards are done: prunecv merge {}",
            plan.jobs.len(),
            run_dir.dir.display()
        ),
    );
    Ok(())
}

/// Records (dense fold models and every journalled job), trajectory, summary and sensitivity.
fn tabulate(
    ctx: &Ctx,
    opts: &RunOptions,
    done: &Done,
    entries: &[journal::Entry],
    result: &mut SweepResult,
) -> Result<()> {
    let exp = ctx.exp;
    let mut records: Vec<RunRecord> = done
        .folds
        .iter()
        .map(|t| {
            let eval = t
                .validation
                .expect("fold models carry their validation result");
            let dense = Masks::dense(&t.params);
            record(
                ctx.prep,
                t,
                RowMethod::Dense,
                None,
                "",
                &dense,
                &eval,
                0,
                t.diverged,
            )
        })
        .collect();
    let mut trajectory: Vec<TrajectoryRow> = Vec::new();
    for e in entries {
        records.extend(e.records.iter().cloned());
        trajectory.extend(e.trajectory.iter().cloned());
    }
    // The dense row first, then the methods in the experiment's order.
    let order = |m: RowMethod| {
        exp.prune
            .methods
            .iter()
            .position(|&k| m == k)
            .map_or(0, |p| p + 1)
    };
    records.sort_by(|a, b| {
        (a.repeat, a.fold, order(a.method))
            .cmp(&(b.repeat, b.fold, order(b.method)))
            .then(a.tau.unwrap_or(-1.0).total_cmp(&b.tau.unwrap_or(-1.0)))
    });
    trajectory.sort_by(|a, b| {
        (a.repeat, a.fold, order(a.method.into()))
            .cmp(&(b.repeat, b.fold, order(b.method.into())))
            .then(a.tau.total_cmp(&b.tau))
            .then(a.round.cmp(&b.round))
    });
    warn_diverged(opts, &records);
    result.summary = aggregate::summarize(&records);
    // Layer sensitivity: fold models and their validation rows only.
    result.sensitivity = ctx
        .pool
        .install(|| super::sensitivity::table(exp, ctx.prep, &done.folds, &done.grids.taus))?;
    result.records = records;
    result.trajectory = trajectory;
    Ok(())
}

/// Diverged runs are excluded from the summary and selection: say which.
fn warn_diverged(opts: &RunOptions, records: &[RunRecord]) {
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
}

/// Check the refit model against its own training rows, then choose τ per method and rule on
/// validation numbers only and touch the test split once per choice.
fn select_stage(
    ctx: &Ctx,
    opts: &RunOptions,
    done: &Done,
    entries: &[journal::Entry],
    result: &SweepResult,
) -> Result<Selected> {
    let refit = &done.refit;
    let dense_row = result.summary.iter().find(|s| s.method.is_dense());
    if let (Some(d), false) = (dense_row, refit.diverged) {
        if let Some(w) = super::refit_check::warning(
            ctx.prep.arch.as_ref(),
            &refit.params,
            &refit.train_data,
            d.mean_val_acc,
        )? {
            log(opts, w);
        }
    }
    choose(
        ctx,
        &result.summary,
        refit,
        &done.grids.refit_scores,
        &done.folds,
        entries,
        |msg| log(opts, msg),
    )
}

/// Every chosen model (and the dense refit) to `models/`, in parallel on the job pool; a model
/// whose pruning removed whole units also as `<stem>.shrunk`: the physically smaller model
/// (its card's model section builds it), computing the same function.
fn save_models(ctx: &Ctx, refit: &Trained, dir: &Path, models: &[Chosen]) -> Result<()> {
    let (exp, prep) = (ctx.exp, ctx.prep);
    ctx.pool.install(|| {
        models.par_iter().try_for_each(|c| {
            let card = export::ModelCard {
                format: "prunecv-model-1".into(),
                model: exp.to_raw().model.expect("model section"),
                input_dim: prep.pool.d,
                classes: prep.pool.classes,
                class_names: prep.class_names.clone(),
                standardizer: refit.standardizer.clone(),
                method: c.method.as_str().into(),
                rule: c.rule.label(),
                tau: c.tau,
                tau_unit: if c.tau.is_some() {
                    exp.prune.tau.unit.as_str().into()
                } else {
                    String::new()
                },
                sparsity: c.masks.sparsity(&ctx.layers),
                test_acc: c.eval.acc,
                test_correct: c.eval.correct,
                test_n: c.eval.n,
                params: refit
                    .params
                    .0
                    .iter()
                    .map(|p| (p.name.clone(), p.shape.clone()))
                    .collect(),
            };
            export::save(dir, &c.stem, &c.params, &c.masks, &card)?;
            match prep.arch.shrink(&c.params, &c.masks) {
                Some(s) if s.params.count() < c.params.count() => {
                    let card = export::ModelCard {
                        model: s.model,
                        params: s
                            .params
                            .0
                            .iter()
                            .map(|p| (p.name.clone(), p.shape.clone()))
                            .collect(),
                        ..card
                    };
                    export::save(
                        dir,
                        &format!("{}.shrunk", c.stem),
                        &s.params,
                        &s.masks,
                        &card,
                    )
                }
                _ => Ok(()),
            }
        })
    })
}

/// Measured inference speed of every selected model, one thread, nothing else running; times
/// go to speed.csv alone (the other tables stay byte-identical across reruns).
fn measure_speed(
    ctx: &Ctx,
    refit: &Trained,
    models: &[Chosen],
) -> Result<Vec<crate::speed::measure::SpeedRow>> {
    let subjects: Vec<crate::speed::measure::Subject> = models
        .iter()
        .map(|c| crate::speed::measure::Subject {
            method: c.method,
            rule: c.rule,
            tau: c.tau,
            params: &c.params,
            masks: &c.masks,
        })
        .collect();
    let (rows, d) = refit.train_data.features();
    crate::speed::measure::measure(
        ctx.prep.arch.as_ref(),
        &subjects,
        rows,
        d,
        crate::speed::timing::Protocol::RUN,
    )
}

/// Counts for the manifest.
#[derive(Clone, Copy)]
struct Counts {
    workers: usize,
    resumed: usize,
    test_evaluations: usize,
}

/// The run's manifest (its `git_commit` is filled in by the caller).
fn manifest_of(
    ctx: &Ctx,
    opts: &RunOptions,
    clock: &Clock,
    done: &Done,
    counts: Counts,
    result: &SweepResult,
) -> manifest::Manifest {
    let (exp, prep) = (ctx.exp, ctx.prep);
    let Counts {
        workers,
        resumed,
        test_evaluations,
    } = counts;
    let from_cache =
        done.folds.iter().filter(|t| t.cached).count() + usize::from(done.refit.cached);
    manifest::Manifest {
        prunecv_version: env!("CARGO_PKG_VERSION").into(),
        git_commit: None,
        experiment_file: opts.experiment_file.clone(),
        config_hash: exp.hash(),
        seed: exp.seed,
        command: opts.command.clone(),
        jobs: workers,
        candle_threads_per_job: 1,
        started_unix: clock.started,
        finished_unix: unix_now(),
        wall_seconds: clock.start.elapsed().as_secs_f64(),
        dense_models_trained: done.folds.len() + 1 - from_cache,
        dense_models_from_cache: from_cache,
        jobs_resumed: resumed,
        validation_evaluations: result.records.len(),
        test_evaluations,
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
    }
}

/// Tables, manifest, figures and report, then timings.csv (with the figures' own phase).
fn write_outputs(
    ctx: &Ctx,
    dir: &Path,
    clock: &mut Clock,
    done: &Done,
    m: &manifest::Manifest,
    result: &mut SweepResult,
) -> Result<()> {
    for (name, bytes) in result.tables()? {
        if name != "timings.csv" && name != "folds.csv" {
            crate::fsio::write_atomic(&dir.join(name), &bytes)?;
        }
    }
    crate::fsio::write_atomic(&dir.join("manifest.json"), &m.to_json())?;
    // Figures and the Markdown report, from the rows in memory (the same rows as the tables
    // just written: one schema).
    let data = crate::report::plot::RunData::from_result(&ctx.exp.name, result);
    clock.phase("figures_and_report", || {
        ctx.pool
            .install(|| crate::report::plot::render_all_with(dir, &data))?;
        crate::report::write_reports_with(dir, &data)
    })?;
    result.timings = timings(clock, done);
    crate::fsio::write_atomic(
        &dir.join("timings.csv"),
        &crate::report::csv_bytes(&result.timings)?,
    )
}

/// Wall time of every dense model, then of every phase.
fn timings(clock: &Clock, done: &Done) -> Vec<TimingRow> {
    done.folds
        .iter()
        .chain(std::iter::once(&done.refit))
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
        .chain(clock.phases.iter().map(|&(stage, seconds)| TimingRow {
            stage: stage.into(),
            repeat: None,
            fold: None,
            method: "all".into(),
            seconds,
        }))
        .collect()
}
