//! The `prunecv` command line: argument definitions (clap), their dispatch into the library,
//! and the exit code of a failed command. Not part of the library's API: it lives in the crate
//! (hidden from the documentation) only so that the binary can reach crate-private code;
//! `src/main.rs` uses [`Cli`], [`install_interrupt`], [`run`] and [`exit_code`].

// The doc comments of the argument definitions are clap's `--help` text, where `<name>` is
// meant literally, not as HTML.
#![allow(rustdoc::invalid_html_tags)]

use crate::config;
use crate::config::MethodKind;
use crate::sweep::{self, Mode, RunOptions};
use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::path::PathBuf;

mod data;

const EXAMPLES: &str = "Examples:
  prunecv run experiments/digits-mlp.yaml
  prunecv run experiments/digits-mlp.yaml --set cv.folds=3 --set train.epochs=10 --force
  prunecv check experiments/digits-mlp.yaml
  prunecv compare results/digits-mlp results/digits-finetune --out figures --width-in 3.3 --font-pt 8
  prunecv eval results/digits-mlp/models/magnitude_one_se.safetensors --data experiments/digits-mlp.yaml

Exit codes: 0 success, 1 the run failed, 2 bad input or usage, 3 the environment failed the run
(cannot write the output directory, sbatch failed), 130 interrupted (resumable).";

#[derive(Parser, Debug)]
#[command(name = "prunecv", version, about = "Pruning sweeps with threshold cross-validation", after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Debug)]
pub(crate) struct ExpArgs {
    /// The experiment file (YAML).
    experiment: PathBuf,
    /// Override a field, e.g. `--set cv.folds=3` or `--set prune.methods=[magnitude]` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Run an experiment and write results/<name>/.
    Run {
        #[command(flatten)]
        exp: ExpArgs,
        /// Parallel jobs (default: all cores).
        #[arg(long, short = 'j')]
        jobs: Option<usize>,
        /// Parent directory of the run directory (default: the experiment's output.dir).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Replace an existing run directory.
        #[arg(long, conflicts_with = "resume")]
        force: bool,
        /// Continue an interrupted run: journalled jobs are kept, the rest run.
        #[arg(long)]
        resume: bool,
        /// Neither read nor write the dense-model cache (<out>/.cache).
        #[arg(long)]
        no_cache: bool,
        /// Run only shard I of N (0-based), e.g. `--shard 2/8`; finish with `prunecv merge`.
        #[arg(long, value_name = "I/N")]
        shard: Option<crate::sweep::shard::Shard>,
        /// Print nothing but errors.
        #[arg(long, short = 'q')]
        quiet: bool,
    },
    /// Write a commented starter experiment (NAME.yaml) that runs as is.
    Init {
        /// Experiment name (also the file name).
        #[arg(default_value = "experiment")]
        name: String,
    },
    /// Merge the shards of a sharded run: check all finished, then summarise, select, refit, test.
    Merge {
        /// The run directory (`<out>/<name>`).
        run_dir: PathBuf,
        #[arg(long, short = 'j')]
        jobs: Option<usize>,
        #[arg(long, short = 'q')]
        quiet: bool,
    },
    /// Write sbatch scripts for a sharded run (a job array plus a merge job); --submit submits them.
    Slurm {
        #[command(flatten)]
        exp: ExpArgs,
        /// Number of shards (array tasks).
        #[arg(long, default_value_t = 4)]
        array_size: usize,
        #[arg(long)]
        partition: Option<String>,
        /// Time limit per task, e.g. 01:00:00.
        #[arg(long)]
        time: Option<String>,
        /// CPUs per task (= --jobs of each shard).
        #[arg(long, default_value_t = 1)]
        cpus: usize,
        /// Results root (default: the experiment's output.dir).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Call sbatch and print the job ids.
        #[arg(long)]
        submit: bool,
    },
    /// Re-render every plot of a run from its CSV files alone (no model, no retraining).
    Plot { run_dir: PathBuf },
    /// Write a run's pairwise.csv, report.md and report.tex from its CSV files; print report.md.
    Report { run_dir: PathBuf },
    /// Overlay several runs in one figure (SVG, PNG, PDF) and one tidy comparison.csv.
    Compare {
        /// Run directories, or one comparison file (YAML with a `compare:` section).
        #[arg(required = true)]
        runs: Vec<PathBuf>,
        /// Output directory (required with run directories).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Compare runs whose data or test split differ.
        #[arg(long)]
        allow_different_data: bool,
        /// Only these methods, e.g. `--methods magnitude,random` (dense baselines are kept).
        #[arg(long, value_delimiter = ',', value_parser = method_name)]
        methods: Vec<MethodKind>,
        /// Figure width in inches (default 7.75; 3.3 for one column of a paper).
        #[arg(long)]
        width_in: Option<f64>,
        /// Figure height in inches (default two thirds of the width).
        #[arg(long)]
        height_in: Option<f64>,
        /// Tick-label size in points (default 8).
        #[arg(long)]
        font_pt: Option<f64>,
    },
    /// Print the JSON Schema of experiment files (for editor validation and completion).
    Schema,
    /// Validate an experiment and print the resolved plan.
    Check {
        #[command(flatten)]
        exp: ExpArgs,
        /// Jobs the memory estimate assumes (default: all cores, as `run`).
        #[arg(long, short = 'j')]
        jobs: Option<usize>,
    },
    /// Measure training throughput and sweep speed (build with --release); prints JSON.
    Bench {
        /// Small, fast measurements (a smoke test, not for reporting).
        #[arg(long)]
        quick: bool,
        /// Instead: the LeNet-300-100 and LeNet-5 inference speed-up tables (dense vs shrunk
        /// vs CSR, batch 1 and 256, 50–99 % sparsity), printed as Markdown.
        #[arg(long)]
        speedup: bool,
    },
    /// Download standard data sets (MNIST, Fashion-MNIST, KMNIST, CIFAR-10) into the cache.
    Data {
        #[command(subcommand)]
        command: data::DataCommand,
    },
    /// Re-evaluate an exported model on its experiment's test split.
    Eval {
        /// A model written by `run` (models/<method>_<rule>.safetensors).
        model: PathBuf,
        /// The experiment file whose test split to use.
        #[arg(long)]
        data: PathBuf,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
    },
}

/// `prunecv compare`: run directories and flags, or one comparison file (flags then override its
/// `plots:` and `allow_different_data`).
fn compare(
    runs: Vec<PathBuf>,
    out: Option<PathBuf>,
    allow: bool,
    methods: Vec<MethodKind>,
    plots: crate::config::plots::RawPlots,
) -> Result<()> {
    let is_yaml = |p: &PathBuf| {
        p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
    };
    let spec = if runs.len() == 1 && is_yaml(&runs[0]) {
        let mut s = crate::config::compare::load(&runs[0])?;
        s.out = out.unwrap_or(s.out);
        s.allow_different_data |= allow;
        if !methods.is_empty() {
            s.methods = methods;
        }
        if plots != crate::config::plots::RawPlots::default() {
            s.plots = crate::config::plots::resolve(Some(plots), "command line")?;
        }
        s
    } else {
        let out = out.ok_or_else(|| {
            InputError("compare: --out DIR is required with run directories".into())
        })?;
        crate::config::compare::CompareSpec {
            runs,
            out,
            allow_different_data: allow,
            methods,
            plots: crate::config::plots::resolve(Some(plots), "command line")?,
        }
    };
    let files = crate::report::compare::write(
        &spec.runs,
        &spec.out,
        spec.allow_different_data,
        &spec.methods,
        &spec.plots,
    )?;
    for f in files {
        println!("{}", f.display());
    }
    Ok(())
}

/// A pruning method named on the command line.
fn method_name(s: &str) -> std::result::Result<MethodKind, String> {
    MethodKind::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = MethodKind::ALL.iter().map(|m| m.as_str()).collect();
        format!("unknown method {s:?} (one of {})", names.join(", "))
    })
}

/// Errors of the command line itself that the user can fix by changing the input: exit code 2.
/// (Library errors keep their own type: [`crate::Error::exit_code`] chooses their code.)
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct InputError(String);

/// The exit code of a failed command: the first library error or command-line input error in
/// the chain decides ([`crate::Error::exit_code`] holds the table); anything else is a failed
/// run (1).
pub fn exit_code(e: &anyhow::Error) -> u8 {
    e.chain()
        .find_map(|c| {
            if let Some(lib) = c.downcast_ref::<crate::Error>() {
                Some(lib.exit_code())
            } else {
                c.is::<InputError>().then_some(2)
            }
        })
        .unwrap_or(1)
}

/// Install the process's SIGINT/SIGTERM handler for `token`: the first interrupt cancels it,
/// the second exits at once (`sweep::interrupt`).
pub fn install_interrupt(token: sweep::CancelToken) {
    sweep::interrupt::install(token);
}

fn load(path: &std::path::Path, set: &[String]) -> Result<config::Experiment> {
    Ok(config::load(path, set)?)
}

/// `--jobs` when not given: one per core.
fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Errors of a run of `experiment`: a mismatch between the experiment and its data names the
/// experiment file.
fn in_experiment(experiment: &std::path::Path) -> impl Fn(crate::Error) -> anyhow::Error + '_ {
    move |e| match e {
        crate::Error::Mismatch { .. } => {
            anyhow::Error::new(e).context(experiment.display().to_string())
        }
        e => e.into(),
    }
}

/// Progress and messages on stderr, or nothing with `--quiet`.
fn observer(quiet: bool) -> std::sync::Arc<dyn sweep::Observer> {
    if quiet {
        std::sync::Arc::new(sweep::Silent)
    } else {
        std::sync::Arc::new(sweep::progress::Terminal::default())
    }
}

/// Carry out the parsed command; `cancel` stops a sweep (see [`install_interrupt`]).
pub fn run(cli: Cli, cancel: sweep::CancelToken) -> Result<()> {
    match cli.command {
        Command::Run {
            exp,
            jobs,
            out,
            force,
            resume,
            no_cache,
            shard,
            quiet,
        } => {
            let e = load(&exp.experiment, &exp.set)?;
            let jobs = jobs.unwrap_or_else(default_jobs);
            let opts = RunOptions {
                out_root: out,
                jobs,
                force,
                resume,
                cache: !no_cache,
                mode: shard.map_or(Mode::Full, Mode::Shard),
                observer: observer(quiet),
                cancel,
                write: true,
                experiment_file: exp.experiment.display().to_string(),
                command: std::env::args().collect(),
            };
            let outcome = sweep::run(&e, &opts).map_err(in_experiment(&exp.experiment))?;
            if !quiet && shard.is_none() {
                println!("{}", sweep::text_summary(&outcome));
                if let Some(dir) = &outcome.dir {
                    println!("results in {}", dir.display());
                }
            }
            Ok(())
        }
        Command::Bench { quick, speedup } => {
            if cfg!(debug_assertions) {
                eprintln!(
                    "warning: this is a debug build; timings are meaningless (use --release)"
                );
            }
            if speedup {
                use crate::speed::bench::{markdown, speedup_table, BenchNet};
                for net in BenchNet::ALL {
                    let rows = speedup_table(net, quick)?;
                    println!("### {}\n\n{}", net.title(), markdown(&rows));
                }
                return Ok(());
            }
            let ms = crate::bench::run_all(quick)?;
            println!("{}", serde_json::to_string_pretty(&ms)?);
            Ok(())
        }
        Command::Init { name } => {
            let file = format!("{name}.yaml");
            let text = crate::starter::starter(&name, &file);
            // Validate before writing: the name must be a valid experiment name.
            config::parse(&text, &file, &[])?;
            let path = std::path::Path::new(&file);
            if path.exists() {
                return Err(
                    InputError(format!("{file} already exists; not overwriting it")).into(),
                );
            }
            crate::fsio::write_atomic(path, text.as_bytes())?;
            println!("wrote {file}; run it with: prunecv run {file}");
            Ok(())
        }
        Command::Merge {
            run_dir,
            jobs,
            quiet,
        } => {
            // resolved.yaml already holds the data paths as the run resolved them: parse it
            // as is (`load` would re-base relative paths onto the run directory).
            let resolved = run_dir.join("resolved.yaml");
            let bytes = std::fs::read(&resolved).map_err(|e| {
                crate::Error::data(
                    resolved.display().to_string(),
                    format!("cannot read it: {e}"),
                )
            })?;
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let e = crate::config::parse(&text, &resolved.display().to_string(), &[])?;
            let root = run_dir.parent().map(PathBuf::from).unwrap_or_default();
            if root.join(&e.name) != run_dir
                && run_dir.file_name() != Some(std::ffi::OsStr::new(&e.name))
            {
                return Err(InputError(format!(
                    "{}: directory name differs from the run name {:?}",
                    run_dir.display(),
                    e.name
                ))
                .into());
            }
            let opts = RunOptions {
                out_root: Some(root),
                jobs: jobs.unwrap_or_else(default_jobs),
                force: false,
                resume: false,
                cache: true,
                mode: Mode::Merge,
                observer: observer(quiet),
                cancel,
                write: true,
                experiment_file: resolved.display().to_string(),
                command: std::env::args().collect(),
            };
            let outcome = sweep::run(&e, &opts)?;
            if !quiet {
                println!("{}", sweep::text_summary(&outcome));
                if let Some(dir) = &outcome.dir {
                    println!("results in {}", dir.display());
                }
            }
            Ok(())
        }
        Command::Slurm {
            exp,
            array_size,
            partition,
            time,
            cpus,
            out,
            submit,
        } => {
            let e = load(&exp.experiment, &exp.set)?;
            if array_size == 0 || cpus == 0 {
                return Err(InputError("--array-size and --cpus must be at least 1".into()).into());
            }
            let abs =
                |p: &std::path::Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
            let out = abs(&out.unwrap_or_else(|| PathBuf::from(&e.output.dir)));
            let plan = crate::slurm::SlurmPlan {
                binary: std::env::current_exe().context("locating the prunecv binary")?,
                experiment: abs(&exp.experiment),
                overrides: exp.set.clone(),
                run_dir: out.join(&e.name),
                out,
                array_size,
                partition,
                time,
                cpus,
            };
            let (a, m) = crate::slurm::write(&plan)?;
            println!("wrote {} and {}", a.display(), m.display());
            if submit {
                let (ja, jm) = crate::slurm::submit(&a, &m)?;
                println!("submitted array job {ja} ({array_size} shards) and merge job {jm} (afterany:{ja})");
            } else {
                println!(
                    "submit with: sbatch {} && sbatch --dependency=afterany:<array id> {}",
                    a.display(),
                    m.display()
                );
            }
            Ok(())
        }
        Command::Plot { run_dir } => {
            let files = crate::report::plot::render_all(&run_dir)?;
            for f in files {
                println!("{}", f.display());
            }
            Ok(())
        }
        Command::Report { run_dir } => {
            print!("{}", crate::report::write_reports(&run_dir)?);
            Ok(())
        }
        Command::Compare {
            runs,
            out,
            allow_different_data,
            methods,
            width_in,
            height_in,
            font_pt,
        } => compare(
            runs,
            out,
            allow_different_data,
            methods,
            crate::config::plots::RawPlots {
                width_in,
                height_in,
                font_pt,
            },
        ),
        Command::Schema => {
            println!("{}", serde_json::to_string_pretty(&config::json_schema())?);
            Ok(())
        }
        Command::Check { exp, jobs } => {
            let e = load(&exp.experiment, &exp.set)?;
            print!(
                "{}",
                sweep::plan_text(&e, jobs.unwrap_or_else(default_jobs))
                    .map_err(in_experiment(&exp.experiment))?
            );
            Ok(())
        }
        Command::Data { command } => data::run(command),
        Command::Eval { model, data, set } => {
            let e = load(&data, &set)?;
            let (card, ev) = sweep::eval_exported(&model, &e)
                .with_context(|| format!("evaluating {}", model.display()))?;
            println!(
                "{}: method {} rule {} tau {} sparsity {:.4}\ntest_acc {} ({} / {}), test_loss {}",
                model.display(),
                card.method,
                card.rule,
                card.tau.map_or("-".into(), |t| t.to_string()),
                card.sparsity,
                ev.acc,
                ev.correct,
                ev.n,
                ev.loss
            );
            if ev.correct != card.test_correct {
                anyhow::bail!(
                    "reproduced {} correct, but the run recorded {}",
                    ev.correct,
                    card.test_correct
                );
            }
            Ok(())
        }
    }
}
