//! The resolved experiment: every default filled in and every value validated. The rest of the
//! program only ever sees these types.

pub use super::model::ModelSpec;
use super::raw::*;
use super::types::*;
use crate::error::{Error, Result};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Experiment {
    pub name: String,
    pub seed: u64,
    pub data: DataSpec,
    pub model: ModelSpec,
    pub train: TrainSpec,
    pub prune: PruneSpec,
    pub cv: CvSpec,
    pub output: OutputSpec,
    pub plots: super::plots::PlotsSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataSpec {
    pub source: DataSource,
    /// The built-in data set (sources `builtin` and `csv`, which ignores it: always set), or the
    /// fetched MNIST-format set whose cached directory `idx` reads (`None`: `dir` is given).
    pub name: Option<DataName>,
    pub holdout: f64,
    /// CSV path as written (source `csv`).
    pub path: Option<String>,
    /// CSV with a fixed test split (source `csv`).
    pub test_path: Option<String>,
    /// How to read the CSV files (source `csv`): label column, header, separator, columns,
    /// class names.
    pub csv: crate::data::csv::CsvOptions,
    /// Directory of the IDX files (source `idx`) or CIFAR-10 batches (source `cifar10`); `None`:
    /// the `prunecv data fetch` cache.
    pub dir: Option<String>,
    /// Expected SHA-256 (lower-case hex) of the uncompressed IDX files, by file name without
    /// `.gz` (source `idx`); files not named are not checked.
    pub sha256: BTreeMap<String, String>,
    /// Use only the first N training images (sources `idx`, `cifar10`).
    pub limit: Option<usize>,
    /// How features are scaled (statistics from each model's training rows).
    pub standardize: Standardize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainSpec {
    pub optimizer: OptimizerKind,
    pub lr: f64,
    pub momentum: f64,
    pub weight_decay: f64,
    pub betas: [f64; 2],
    pub epochs: usize,
    pub batch_size: usize,
    /// How the rate changes over each training phase.
    pub lr_schedule: crate::train::lr::LrSchedule,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PruneSpec {
    pub methods: Vec<MethodKind>,
    pub tau: TauSpec,
    pub ignore: Vec<String>,
    pub taylor_batches: usize,
    pub importance_norm: Norm,
    pub schedule: Schedule,
    /// N:M semi-structured sparsity on top of τ (weight-level methods).
    pub n_m: Option<NmSpec>,
    /// SynFlow's rounds per mask.
    pub synflow_rounds: usize,
    /// Training rows on which `scope: sensitivity` measures each layer.
    pub sensitivity_rows: usize,
}

/// What happens to a model after its masks are computed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Schedule {
    /// Evaluate the masked dense model as is.
    OneShot,
    /// Retrain `epochs` with masks fixed at `lr_scale × train.lr`.
    Finetune { epochs: usize, lr_scale: f64 },
    /// Up to `rounds` rounds of prune (τ on the survivors' current scores) → retrain
    /// `epochs_per_round`, stopping once `target_sparsity` is reached.
    Iterative {
        rounds: usize,
        epochs_per_round: usize,
        lr_scale: f64,
        target_sparsity: Option<f64>,
    },
    /// Prune, reset survivors to their values after dense epoch `rewind_epoch`, retrain `epochs`.
    Rewind {
        epochs: usize,
        rewind_epoch: usize,
        lr_scale: f64,
    },
    /// Zhu & Gupta's gradual pruning from the trained dense model: `rounds` steps, each
    /// raising the sparsity to s_r = τ + (s₀ − τ)(1 − r / rounds)³ (τ the final sparsity,
    /// `unit: quantile`) and then training `epochs_per_round` at `lr_scale × train.lr`.
    Gradual {
        rounds: usize,
        epochs_per_round: usize,
        lr_scale: f64,
        initial_sparsity: f64,
    },
    /// Score and prune the freshly initialised model (SNIP is `taylor` this way), then train it
    /// `epochs` at `lr_scale × train.lr` with the masks fixed.
    AtInit { epochs: usize, lr_scale: f64 },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TauSpec {
    pub unit: TauUnit,
    pub scope: Scope,
    pub grid: Grid,
}

/// The τ grid: given values, or `auto` points found per method from the refit model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Grid {
    /// Ascending, duplicates removed.
    Values(Vec<f64>),
    /// n points from 0 % to 99 % sparsity.
    Auto(usize),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CvSpec {
    pub folds: usize,
    pub repeats: usize,
    pub select: Vec<SelectRule>,
    /// Every fold model (and the refit) starts from one seeded initialisation.
    pub shared_init: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutputSpec {
    pub dir: String,
}

/// Round to 10 decimal places so grids print as the user wrote them (0.3, not 0.30000000000000004).
pub fn tidy(v: f64) -> f64 {
    let r = (v * 1e10).round() / 1e10;
    if r == 0.0 {
        0.0
    } else {
        r
    }
}

struct Ctx<'a> {
    file: &'a str,
}

impl Ctx<'_> {
    fn bad(&self, field: &str, expected: &str, found: impl std::fmt::Display) -> Error {
        Error::config(
            self.file,
            format!("field `{field}`: expected {expected}, found {found}"),
        )
    }
}

/// Fill defaults and validate. `file` names the source in error messages.
pub fn resolve(raw: RawExperiment, file: &str) -> Result<Experiment> {
    let c = Ctx { file };
    let name = raw.name.ok_or_else(|| {
        Error::config(
            file,
            "missing field `name` (the run's name, used for its output directory)",
        )
    })?;
    if name.is_empty()
        || !name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_' || ch == '.')
        || name.starts_with('.')
    {
        return Err(c.bad(
            "name",
            "a non-empty name of letters, digits, '-', '_' or '.' (it names a directory)",
            format!("{name:?}"),
        ));
    }
    let seed = raw.seed.unwrap_or(0);

    let d = raw.data.unwrap_or_default();
    let source = d.source.unwrap_or(DataSource::Builtin);
    check_csv_fields(&d, source, &c)?;
    let csv = csv_options(&d, &c)?;
    let data = DataSpec {
        source,
        name: match source {
            DataSource::Builtin | DataSource::Csv => Some(d.name.unwrap_or(DataName::Digits)),
            DataSource::Idx | DataSource::Cifar10 => d.name,
        },
        holdout: d.holdout.unwrap_or(0.2),
        path: d.path,
        test_path: d.test_path,
        csv,
        dir: d.dir,
        sha256: d.sha256.unwrap_or_default(),
        limit: d.limit,
        standardize: d.standardize.unwrap_or_default(),
    };
    if data.source == DataSource::Csv && data.path.is_none() {
        return Err(c.bad("data.path", "the CSV file to read (source: csv)", "nothing"));
    }
    check_idx_fields(&data, &c)?;
    let data = DataSpec {
        sha256: data
            .sha256
            .into_iter()
            .map(|(k, v)| (k, v.to_ascii_lowercase()))
            .collect(),
        ..data
    };
    if !(data.holdout > 0.0 && data.holdout < 1.0) {
        return Err(c.bad("data.holdout", "a fraction in (0, 1)", data.holdout));
    }

    let raw_model = raw.model.unwrap_or_default();
    let model = super::model::resolve_model(&raw_model, c.file)?;

    let t = raw.train.unwrap_or_default();
    let optimizer = t.optimizer.unwrap_or(OptimizerKind::Sgd);
    let train = TrainSpec {
        optimizer,
        lr: t.lr.unwrap_or(match optimizer {
            OptimizerKind::Sgd => 0.05,
            OptimizerKind::Adamw => 0.001,
        }),
        momentum: t.momentum.unwrap_or(0.9),
        weight_decay: t.weight_decay.unwrap_or(1e-4),
        betas: t.betas.unwrap_or([0.9, 0.999]),
        epochs: t.epochs.unwrap_or(20),
        batch_size: t.batch_size.unwrap_or(64),
        lr_schedule: lr_schedule(t.lr_schedule.as_ref(), &c)?,
    };
    if !(train.lr > 0.0 && train.lr.is_finite()) {
        return Err(c.bad("train.lr", "a positive learning rate", train.lr));
    }
    if !(0.0..1.0).contains(&train.momentum) {
        return Err(c.bad("train.momentum", "a value in [0, 1)", train.momentum));
    }
    if !(train.weight_decay >= 0.0 && train.weight_decay.is_finite()) {
        return Err(c.bad("train.weight_decay", "a value ≥ 0", train.weight_decay));
    }
    for (i, b) in train.betas.iter().enumerate() {
        if !(0.0..1.0).contains(b) {
            return Err(c.bad(&format!("train.betas[{i}]"), "a value in [0, 1)", b));
        }
    }
    if train.epochs == 0 {
        return Err(c.bad("train.epochs", "at least 1 epoch", 0));
    }
    if train.batch_size == 0 {
        return Err(c.bad("train.batch_size", "a positive batch size", 0));
    }

    let p = raw.prune.unwrap_or_default();
    let methods = p
        .methods
        .unwrap_or_else(|| vec![MethodKind::Magnitude, MethodKind::Random]);
    if methods.is_empty() {
        return Err(c.bad(
            "prune.methods",
            "at least one pruning method",
            "an empty list",
        ));
    }
    for (i, mth) in methods.iter().enumerate() {
        if methods[..i].contains(mth) {
            return Err(c.bad(
                &format!("prune.methods[{i}]"),
                "each method listed once",
                format!("`{}` twice", mth.as_str()),
            ));
        }
    }
    let tau = resolve_tau(p.tau.unwrap_or_default(), &c)?;
    let layer_names = crate::model::layer_names(&model);
    let ignore = p.ignore.unwrap_or_default();
    for (i, l) in ignore.iter().enumerate() {
        if !layer_names.contains(l) {
            return Err(c.bad(
                &format!("prune.ignore[{i}]"),
                &format!("a layer name, one of {}", layer_names.join(", ")),
                format!("{l:?}"),
            ));
        }
    }
    let taylor_batches = p.taylor_batches.unwrap_or(8);
    if taylor_batches == 0 {
        return Err(c.bad("prune.taylor_batches", "at least 1 batch", 0));
    }
    let schedule = resolve_schedule(p.schedule.unwrap_or_default(), train.epochs, &c)?;
    if matches!(schedule, Schedule::Gradual { .. }) && tau.unit != TauUnit::Quantile {
        return Err(c.bad(
            "prune.schedule.kind",
            "a schedule that suits this τ unit (`gradual` ramps to the sparsity τ: use \
             `tau.unit: quantile`)",
            "gradual",
        ));
    }
    check_method_options(&methods, &tau, p.n_m, &c)?;
    let synflow_rounds = p.synflow_rounds.unwrap_or(100);
    if synflow_rounds == 0 {
        return Err(c.bad("prune.synflow_rounds", "at least 1 round", 0));
    }
    let sensitivity_rows = p.sensitivity_rows.unwrap_or(1024);
    if sensitivity_rows == 0 {
        return Err(c.bad("prune.sensitivity_rows", "at least 1 row", 0));
    }
    if tau.scope == Scope::Sensitivity {
        if let Schedule::AtInit { .. } = schedule {
            return Err(c.bad(
                "prune.tau.scope",
                "`layer`, `global` or `erk` with `schedule: at_init` (`sensitivity` measures \
                 how a trained model's loss rises as each layer is pruned; an untrained model's \
                 loss says nothing about its layers)",
                "sensitivity",
            ));
        }
        if let Some(i) = methods.iter().position(|m| *m == MethodKind::Synflow) {
            return Err(c.bad(
                &format!("prune.methods[{i}]"),
                "a method other than `synflow` with `tau.scope: sensitivity` (SynFlow is \
                 data-free and prunes at initialisation)",
                "synflow",
            ));
        }
    }
    let prune = PruneSpec {
        methods,
        tau,
        ignore,
        taylor_batches,
        importance_norm: p.importance_norm.unwrap_or(Norm::L2),
        schedule,
        n_m: p.n_m,
        synflow_rounds,
        sensitivity_rows,
    };

    let v = raw.cv.unwrap_or_default();
    let cv = CvSpec {
        folds: v.folds.unwrap_or(5),
        repeats: v.repeats.unwrap_or(1),
        select: v
            .select
            .unwrap_or_else(|| vec![SelectRule::Best, SelectRule::OneSe]),
        shared_init: v.shared_init.unwrap_or(false),
    };
    if cv.folds < 2 {
        return Err(c.bad("cv.folds", "an integer ≥ 2", cv.folds));
    }
    if cv.repeats == 0 {
        return Err(c.bad("cv.repeats", "an integer ≥ 1", 0));
    }
    for (i, r) in cv.select.iter().enumerate() {
        match *r {
            SelectRule::MaxDrop(x) if !(0.0..=1.0).contains(&x) => {
                return Err(c.bad(
                    &format!("cv.select[{i}].max_drop"),
                    "an accuracy drop in [0, 1]",
                    x,
                ))
            }
            SelectRule::TargetSparsity(s) if !(0.0..=1.0).contains(&s) => {
                return Err(c.bad(
                    &format!("cv.select[{i}].target_sparsity"),
                    "a sparsity in [0, 1]",
                    s,
                ))
            }
            _ => {}
        }
    }
    if cv.select.is_empty() {
        return Err(c.bad("cv.select", "at least one selection rule", "an empty list"));
    }

    let o = raw.output.unwrap_or_default();
    let output = OutputSpec {
        dir: o.dir.unwrap_or_else(|| "results".into()),
    };

    let plots = super::plots::resolve(raw.plots, file)?;

    Ok(Experiment {
        name,
        seed,
        data,
        model,
        train,
        prune,
        cv,
        output,
        plots,
    })
}

fn resolve_schedule(s: RawSchedule, dense_epochs: usize, c: &Ctx) -> Result<Schedule> {
    let kind = s.kind.unwrap_or(ScheduleKind::OneShot);
    let allowed: &[&str] = match kind {
        ScheduleKind::OneShot => &[],
        ScheduleKind::Finetune => &["epochs", "lr_scale"],
        ScheduleKind::Iterative => &["rounds", "epochs_per_round", "lr_scale", "target_sparsity"],
        ScheduleKind::Rewind => &["epochs", "rewind_epoch", "lr_scale"],
        ScheduleKind::AtInit => &["epochs", "lr_scale"],
        ScheduleKind::Gradual => &["rounds", "epochs_per_round", "lr_scale", "initial_sparsity"],
    };
    let given = [
        ("epochs", s.epochs.is_some()),
        ("lr_scale", s.lr_scale.is_some()),
        ("rounds", s.rounds.is_some()),
        ("epochs_per_round", s.epochs_per_round.is_some()),
        ("target_sparsity", s.target_sparsity.is_some()),
        ("rewind_epoch", s.rewind_epoch.is_some()),
        ("initial_sparsity", s.initial_sparsity.is_some()),
    ];
    for (name, set) in given {
        if set && !allowed.contains(&name) {
            let kind_name = serde_yaml_ng::to_string(&kind).unwrap_or_default();
            return Err(c.bad(
                &format!("prune.schedule.{name}"),
                &format!(
                    "no `{name}` for schedule kind `{}` (it takes: {})",
                    kind_name.trim(),
                    if allowed.is_empty() {
                        "nothing".to_string()
                    } else {
                        allowed.join(", ")
                    }
                ),
                "it set",
            ));
        }
    }
    let positive = |name: &str, v: Option<usize>, default: usize| -> Result<usize> {
        let v = v.unwrap_or(default);
        if v == 0 {
            return Err(c.bad(&format!("prune.schedule.{name}"), "at least 1", 0));
        }
        Ok(v)
    };
    let lr_scale = s.lr_scale.unwrap_or(0.1);
    if !(lr_scale > 0.0 && lr_scale.is_finite()) {
        return Err(c.bad(
            "prune.schedule.lr_scale",
            "a positive multiple of train.lr",
            lr_scale,
        ));
    }
    Ok(match kind {
        ScheduleKind::OneShot => Schedule::OneShot,
        ScheduleKind::Finetune => Schedule::Finetune {
            epochs: positive("epochs", s.epochs, 3)?,
            lr_scale,
        },
        ScheduleKind::Iterative => {
            if let Some(t) = s.target_sparsity {
                if !(t > 0.0 && t <= 1.0) {
                    return Err(c.bad("prune.schedule.target_sparsity", "a sparsity in (0, 1]", t));
                }
            }
            Schedule::Iterative {
                rounds: positive("rounds", s.rounds, 5)?,
                epochs_per_round: positive("epochs_per_round", s.epochs_per_round, 2)?,
                lr_scale,
                target_sparsity: s.target_sparsity,
            }
        }
        ScheduleKind::Rewind => {
            let rewind_epoch = s.rewind_epoch.unwrap_or(0);
            if rewind_epoch > dense_epochs {
                return Err(c.bad(
                    "prune.schedule.rewind_epoch",
                    &format!("an epoch of dense training, 0..={dense_epochs}"),
                    rewind_epoch,
                ));
            }
            Schedule::Rewind {
                epochs: positive("epochs", s.epochs, dense_epochs)?,
                rewind_epoch,
                lr_scale: s.lr_scale.unwrap_or(1.0),
            }
        }
        ScheduleKind::Gradual => {
            let s0 = s.initial_sparsity.unwrap_or(0.0);
            if !(0.0..1.0).contains(&s0) {
                return Err(c.bad(
                    "prune.schedule.initial_sparsity",
                    "a sparsity in [0, 1)",
                    s0,
                ));
            }
            Schedule::Gradual {
                rounds: positive("rounds", s.rounds, 10)?,
                epochs_per_round: positive("epochs_per_round", s.epochs_per_round, 1)?,
                lr_scale,
                initial_sparsity: s0,
            }
        }
        ScheduleKind::AtInit => Schedule::AtInit {
            epochs: positive("epochs", s.epochs, dense_epochs)?,
            lr_scale: s.lr_scale.unwrap_or(1.0),
        },
    })
}

/// `train.lr_schedule`, validated: each kind takes only its own keys.
fn lr_schedule(raw: Option<&RawLrSchedule>, c: &Ctx) -> Result<crate::train::lr::LrSchedule> {
    use crate::train::lr::LrSchedule;
    let Some(r) = raw else {
        return Ok(LrSchedule::Constant);
    };
    let kind = r.kind.unwrap_or(LrScheduleKind::Constant);
    let own: &[&str] = match kind {
        LrScheduleKind::Constant => &[],
        LrScheduleKind::Step => &["every", "milestones", "gamma"],
        LrScheduleKind::Cosine => &["min_lr_scale"],
    };
    for (key, set) in [
        ("every", r.every.is_some()),
        ("milestones", r.milestones.is_some()),
        ("gamma", r.gamma.is_some()),
        ("min_lr_scale", r.min_lr_scale.is_some()),
    ] {
        if set && !own.contains(&key) {
            return Err(c.bad(
                &format!("train.lr_schedule.{key}"),
                &format!(
                    "no `{key}` for `kind: {}`",
                    serde_yaml_ng::to_string(&kind).unwrap_or_default().trim()
                ),
                "it set",
            ));
        }
    }
    let gamma = r.gamma.unwrap_or(0.1);
    if !(gamma > 0.0 && gamma <= 1.0) {
        return Err(c.bad("train.lr_schedule.gamma", "a factor in (0, 1]", gamma));
    }
    Ok(match kind {
        LrScheduleKind::Constant => LrSchedule::Constant,
        LrScheduleKind::Cosine => {
            let m = r.min_lr_scale.unwrap_or(0.0);
            if !(0.0..=1.0).contains(&m) {
                return Err(c.bad("train.lr_schedule.min_lr_scale", "a fraction in [0, 1]", m));
            }
            LrSchedule::Cosine { min_scale: m }
        }
        LrScheduleKind::Step => match (r.every, &r.milestones) {
            (Some(0), _) => return Err(c.bad("train.lr_schedule.every", "at least 1 epoch", 0)),
            (Some(every), None) => LrSchedule::Step { every, gamma },
            (None, Some(ms)) => {
                if ms.is_empty() || ms.windows(2).any(|w| w[0] >= w[1]) || ms[0] == 0 {
                    return Err(c.bad(
                        "train.lr_schedule.milestones",
                        "increasing epochs ≥ 1, e.g. [30, 45]",
                        format!("{ms:?}"),
                    ));
                }
                LrSchedule::MultiStep {
                    milestones: ms.clone(),
                    gamma,
                }
            }
            _ => {
                return Err(c.bad(
                    "train.lr_schedule",
                    "`every: N` or `milestones: [..]` for `kind: step` (one of them)",
                    if r.every.is_some() { "both" } else { "neither" },
                ))
            }
        },
    })
}

/// The CSV reading options of `data`, validated.
fn csv_options(d: &RawData, c: &Ctx) -> Result<crate::data::csv::CsvOptions> {
    let delimiter = match d.delimiter.as_deref() {
        None | Some("auto") => None,
        Some("tab") | Some("\t") => Some(b'\t'),
        Some(s)
            if s.len() == 1
                && !s.as_bytes()[0].is_ascii_alphanumeric()
                && !matches!(s, "\"" | "." | "-" | "+" | "\n" | "\r") =>
        {
            Some(s.as_bytes()[0])
        }
        Some(s) => {
            return Err(c.bad(
                "data.delimiter",
                "`auto`, `tab` or one separator character such as `,` `;` `|`",
                format!("{s:?}"),
            ))
        }
    };
    if let Some(classes) = &d.classes {
        let mut seen = classes.clone();
        seen.sort_unstable();
        if let Some(w) = seen.windows(2).find(|w| w[0] == w[1]) {
            return Err(c.bad(
                "data.classes",
                "distinct class names",
                format!("{:?} twice", w[0]),
            ));
        }
        if classes.len() < 2 {
            return Err(c.bad("data.classes", "at least 2 class names", classes.len()));
        }
    }
    if d.features.is_some() && d.drop.is_some() {
        return Err(c.bad(
            "data.drop",
            "either `features` or `drop`, not both (`features` already leaves out the rest)",
            "both set",
        ));
    }
    Ok(crate::data::csv::CsvOptions {
        label: d.label.clone().unwrap_or_else(|| "last".into()),
        header: d.header.unwrap_or_default(),
        skip_rows: d.skip_rows.unwrap_or(0),
        delimiter,
        features: d.features.clone(),
        drop: d.drop.clone().unwrap_or_default(),
        classes: d.classes.clone(),
    })
}

/// The CSV fields (`path`, `test_path`, `label`, `header`, …) belong to `source: csv`.
fn check_csv_fields(d: &RawData, source: DataSource, c: &Ctx) -> Result<()> {
    if source == DataSource::Csv {
        return Ok(());
    }
    let given = [
        ("path", d.path.is_some()),
        ("test_path", d.test_path.is_some()),
        ("label", d.label.is_some()),
        ("header", d.header.is_some()),
        ("skip_rows", d.skip_rows.is_some()),
        ("delimiter", d.delimiter.is_some()),
        ("features", d.features.is_some()),
        ("drop", d.drop.is_some()),
        ("classes", d.classes.is_some()),
    ];
    match given.iter().find(|(_, set)| *set) {
        Some((name, _)) => Err(c.bad(
            &format!("data.{name}"),
            &format!("no `{name}` for this data source (it belongs to `source: csv`)"),
            "it set",
        )),
        None => Ok(()),
    }
}

/// `data.name` must suit the source: a built-in set for `builtin` and `csv`, a fetched
/// MNIST-format set for `idx`, none for `cifar10`.
fn check_data_name(d: &DataSpec, c: &Ctx) -> Result<()> {
    let Some(n) = d.name else { return Ok(()) };
    let ok = match d.source {
        DataSource::Builtin | DataSource::Csv => n.builtin().is_some(),
        DataSource::Idx => n.is_idx(),
        DataSource::Cifar10 => false,
    };
    if ok {
        return Ok(());
    }
    let found = format!("`{}`", n.as_str());
    let hint = if n == DataName::Cifar10 {
        " (CIFAR-10 is `source: cifar10`, after `prunecv data fetch cifar10`)".to_string()
    } else if n.is_idx() {
        format!(
            " (`{0}` is `source: idx, name: {0}`, after `prunecv data fetch {0}`)",
            n.as_str()
        )
    } else if n.builtin().is_some() {
        " (built-in data sets are `source: builtin`)".to_string()
    } else {
        String::new()
    };
    let expected = match d.source {
        DataSource::Builtin | DataSource::Csv => "a built-in data set, `digits` or `iris`",
        DataSource::Idx => {
            "a data set fetched by `prunecv data fetch`: `mnist`, `fashion_mnist` or `kmnist`"
        }
        DataSource::Cifar10 => {
            "no `name` for `source: cifar10` (it reads `data.dir`, by default the directory \
             `prunecv data fetch cifar10` fills)"
        }
    };
    Err(c.bad("data.name", &format!("{expected}{hint}"), found))
}

/// `dir` and `limit` belong to `source: idx` and `source: cifar10`, `sha256` to `idx` only. `idx`
/// needs exactly one of `dir` and `name` (a fetched set); neither takes CSV paths; hashes must
/// name one of the four MNIST-format files and be 64 hex digits.
fn check_idx_fields(d: &DataSpec, c: &Ctx) -> Result<()> {
    check_data_name(d, c)?;
    let images = matches!(d.source, DataSource::Idx | DataSource::Cifar10);
    let given = [
        ("dir", d.dir.is_some(), images),
        ("sha256", !d.sha256.is_empty(), d.source == DataSource::Idx),
        ("limit", d.limit.is_some(), images),
    ];
    if let Some((name, _, _)) = given.iter().find(|(_, set, allowed)| *set && !allowed) {
        let owner = if *name == "sha256" {
            "`source: idx`"
        } else {
            "`source: idx` and `source: cifar10`"
        };
        return Err(c.bad(
            &format!("data.{name}"),
            &format!("no `{name}` for this data source (it belongs to {owner})"),
            "it set",
        ));
    }
    if !images {
        return Ok(());
    }
    if d.source == DataSource::Idx {
        match (&d.dir, d.name) {
            (None, None) => {
                return Err(c.bad(
                    "data.dir",
                    "the directory holding the IDX files, or `name: mnist` (or `fashion_mnist`, \
                     `kmnist`) for a data set downloaded by `prunecv data fetch` (source: idx)",
                    "nothing",
                ))
            }
            (Some(_), Some(n)) => {
                return Err(c.bad(
                    "data.name",
                    "one of `dir` (files you have) and `name` (a data set downloaded by \
                     `prunecv data fetch`), not both",
                    format!("`name: {}` and `dir`", n.as_str()),
                ))
            }
            _ => {}
        }
    }
    for (k, v) in &d.sha256 {
        if !crate::data::idx::FILES.contains(&k.as_str()) {
            return Err(c.bad(
                &format!("data.sha256.{k}"),
                &format!(
                    "a file name, one of {} (hashes are of the uncompressed content, so no `.gz`)",
                    crate::data::idx::FILES.join(", ")
                ),
                format!("{k:?}"),
            ));
        }
        if v.len() != 64 || !v.chars().all(|ch| ch.is_ascii_hexdigit()) {
            return Err(c.bad(
                &format!("data.sha256.{k}"),
                "a SHA-256 digest of 64 hex digits",
                format!("{v:?}"),
            ));
        }
    }
    if d.limit == Some(0) {
        return Err(c.bad("data.limit", "at least 1 training image", 0));
    }
    Ok(())
}

/// Methods that score whole units, not weights: `scope: row` and `n_m` do not apply to them.
const UNIT_METHODS: [MethodKind; 2] = [MethodKind::Importance, MethodKind::Combined];

/// The combinations of methods, τ and `n_m` that have a meaning.
fn check_method_options(
    methods: &[MethodKind],
    tau: &TauSpec,
    n_m: Option<NmSpec>,
    c: &Ctx,
) -> Result<()> {
    let unit_method = methods.iter().find(|m| UNIT_METHODS.contains(m));
    if let (Scope::Row, Some(m)) = (tau.scope, unit_method) {
        return Err(c.bad(
            "prune.tau.scope",
            &format!(
                "`layer`, `global` or `erk` with `{}` (`row` compares single weights within an \
                 output row; it suits weight-level methods)",
                m.as_str()
            ),
            "row",
        ));
    }
    if methods.contains(&MethodKind::Synflow) && tau.unit != TauUnit::Quantile {
        return Err(c.bad(
            "prune.tau.unit",
            "`quantile` with `synflow` (its rounds step towards a sparsity target)",
            tau.unit.as_str(),
        ));
    }
    if let Some(nm) = n_m {
        if nm.m < 2 || nm.n == 0 || nm.n >= nm.m {
            return Err(c.bad(
                "prune.n_m",
                "1 ≤ n < m and m ≥ 2 (e.g. {n: 2, m: 4})",
                nm.label(),
            ));
        }
        if let Some(i) = methods.iter().position(|m| *m == MethodKind::Importance) {
            return Err(c.bad(
                &format!("prune.methods[{i}]"),
                "weight-level methods with `n_m` (`importance` removes whole units)",
                "importance",
            ));
        }
    }
    Ok(())
}

fn resolve_tau(t: RawTau, c: &Ctx) -> Result<TauSpec> {
    let unit = t.unit.unwrap_or(TauUnit::Std);
    let scope = t.scope.unwrap_or(Scope::Layer);
    if matches!(scope, Scope::Erk | Scope::Sensitivity) && unit != TauUnit::Quantile {
        let name = if scope == Scope::Erk {
            "erk"
        } else {
            "sensitivity"
        };
        return Err(c.bad(
            "prune.tau.scope",
            &format!(
                "`layer` or `global` with this unit (`{name}` splits a sparsity target: use \
                 `unit: quantile`)"
            ),
            name,
        ));
    }
    let given = [
        t.values.is_some(),
        t.linspace.is_some(),
        t.logspace.is_some(),
        t.auto.is_some(),
    ]
    .iter()
    .filter(|&&b| b)
    .count();
    if given > 1 {
        return Err(c.bad(
            "prune.tau",
            "exactly one of `values`, `linspace`, `logspace`, `auto`",
            format!("{given} of them"),
        ));
    }
    if let Some(n) = t.auto {
        if n < 2 {
            return Err(c.bad("prune.tau.auto", "at least 2 points", n));
        }
        return Ok(TauSpec {
            unit,
            scope,
            grid: Grid::Auto(n),
        });
    }
    let mut values = if let Some(v) = t.values {
        v
    } else if let Some((a, b, n)) = t.logspace {
        if !(a > 0.0 && b > 0.0) || n == 0 {
            return Err(c.bad(
                "prune.tau.logspace",
                "[start, stop, n] with start, stop > 0 and n ≥ 1",
                format!("[{a}, {b}, {n}]"),
            ));
        }
        geometric(a, b, n)
    } else {
        let (a, b, n) = t.linspace.unwrap_or((0.0, 2.5, 26));
        if n == 0 {
            return Err(c.bad("prune.tau.linspace", "[start, stop, n] with n ≥ 1", "n = 0"));
        }
        linear(a, b, n)
    };
    for (i, v) in values.iter().enumerate() {
        if !(v.is_finite() && *v >= 0.0) {
            return Err(c.bad(&format!("prune.tau values[{i}]"), "a finite τ ≥ 0", v));
        }
    }
    if values.is_empty() {
        return Err(c.bad("prune.tau.values", "at least one τ", "an empty list"));
    }
    if unit == TauUnit::Quantile {
        if let Some(i) = values.iter().position(|v| *v > 1.0) {
            return Err(c.bad(
                &format!("prune.tau values[{i}]"),
                "a fraction in [0, 1] (unit `quantile` prunes that fraction of scores)",
                values[i],
            ));
        }
    }
    values.iter_mut().for_each(|v| *v = tidy(*v));
    values.sort_by(f64::total_cmp);
    values.dedup();
    Ok(TauSpec {
        unit,
        scope,
        grid: Grid::Values(values),
    })
}

/// `n` evenly spaced values from `a` to `b` inclusive.
pub fn linear(a: f64, b: f64, n: usize) -> Vec<f64> {
    if n == 1 {
        return vec![a];
    }
    (0..n)
        .map(|i| a + (b - a) * i as f64 / (n - 1) as f64)
        .collect()
}

/// `n` geometrically spaced values from `a` to `b` inclusive.
pub fn geometric(a: f64, b: f64, n: usize) -> Vec<f64> {
    linear(a.ln(), b.ln(), n)
        .into_iter()
        .map(f64::exp)
        .collect()
}

impl Experiment {
    /// The experiment with the class names its CSV data produced (in class-index order) written
    /// into `data.classes`, so that `resolved.yaml` records how labels were decoded and a rerun
    /// from it maps them the same way. Unchanged when there are none.
    pub fn with_class_names(&self, names: Option<&[String]>) -> Experiment {
        let mut e = self.clone();
        if let Some(n) = names {
            e.data.csv.classes = Some(n.to_vec());
        }
        e
    }

    /// The experiment as an experiment file with every default written out.
    pub fn to_raw(&self) -> RawExperiment {
        // IDX and CIFAR-10 data have their own test split and no CSV label column.
        let idx = matches!(self.data.source, DataSource::Idx | DataSource::Cifar10);
        let csv = (self.data.source == DataSource::Csv).then_some(&self.data.csv);
        RawExperiment {
            name: Some(self.name.clone()),
            seed: Some(self.seed),
            data: Some(RawData {
                source: Some(self.data.source),
                // IDX data has its own test split and no CSV label column: leave out what it
                // does not use (the defaults fill them in again).
                name: self.data.name,
                holdout: (!idx).then_some(self.data.holdout),
                path: self.data.path.clone(),
                test_path: self.data.test_path.clone(),
                label: csv.map(|o| o.label.clone()),
                header: csv.map(|o| o.header),
                skip_rows: csv.map(|o| o.skip_rows),
                delimiter: csv.map(|o| match o.delimiter {
                    None => "auto".into(),
                    Some(b'\t') => "tab".into(),
                    Some(b) => (b as char).to_string(),
                }),
                features: csv.and_then(|o| o.features.clone()),
                drop: csv.and_then(|o| (!o.drop.is_empty()).then(|| o.drop.clone())),
                classes: csv.and_then(|o| o.classes.clone()),
                dir: self.data.dir.clone(),
                sha256: (!self.data.sha256.is_empty()).then(|| self.data.sha256.clone()),
                limit: self.data.limit,
                // The default is left out, so that configuration hashes (and dense-model cache
                // keys) of experiments that do not set it stay what they were.
                standardize: (self.data.standardize != Standardize::Feature)
                    .then_some(self.data.standardize),
            }),
            model: Some(self.model.to_raw()),
            train: Some(RawTrain {
                optimizer: Some(self.train.optimizer),
                lr: Some(self.train.lr),
                momentum: Some(self.train.momentum),
                weight_decay: Some(self.train.weight_decay),
                betas: Some(self.train.betas),
                epochs: Some(self.train.epochs),
                batch_size: Some(self.train.batch_size),
                // Constant is left out, so that configuration hashes (and dense-model cache
                // keys) of experiments without a schedule stay what they were.
                lr_schedule: self.train.lr_schedule.to_raw(),
            }),
            prune: Some(RawPrune {
                methods: Some(self.prune.methods.clone()),
                tau: Some(RawTau {
                    unit: Some(self.prune.tau.unit),
                    scope: Some(self.prune.tau.scope),
                    values: match &self.prune.tau.grid {
                        Grid::Values(v) => Some(v.clone()),
                        Grid::Auto(_) => None,
                    },
                    linspace: None,
                    logspace: None,
                    auto: match self.prune.tau.grid {
                        Grid::Auto(n) => Some(n),
                        Grid::Values(_) => None,
                    },
                }),
                ignore: Some(self.prune.ignore.clone()),
                taylor_batches: Some(self.prune.taylor_batches),
                importance_norm: Some(self.prune.importance_norm),
                schedule: Some(self.prune.schedule.to_raw()),
                // Written only when they apply, so that existing experiments keep their
                // resolved.yaml and configuration hash.
                n_m: self.prune.n_m,
                synflow_rounds: self
                    .prune
                    .methods
                    .contains(&MethodKind::Synflow)
                    .then_some(self.prune.synflow_rounds),
                sensitivity_rows: (self.prune.tau.scope == Scope::Sensitivity)
                    .then_some(self.prune.sensitivity_rows),
            }),
            cv: Some(RawCv {
                folds: Some(self.cv.folds),
                repeats: Some(self.cv.repeats),
                select: Some(self.cv.select.clone()),
                // Written only when on, so existing experiments keep their resolved.yaml and hash.
                shared_init: self.cv.shared_init.then_some(true),
            }),
            output: Some(RawOutput {
                dir: Some(self.output.dir.clone()),
            }),
            plots: self.plots.to_raw(),
        }
    }
}

impl Schedule {
    /// The schedule as written in an experiment file.
    pub fn to_raw(&self) -> RawSchedule {
        let mut r = RawSchedule::default();
        match *self {
            Schedule::OneShot => r.kind = Some(ScheduleKind::OneShot),
            Schedule::Finetune { epochs, lr_scale } => {
                r.kind = Some(ScheduleKind::Finetune);
                r.epochs = Some(epochs);
                r.lr_scale = Some(lr_scale);
            }
            Schedule::Iterative {
                rounds,
                epochs_per_round,
                lr_scale,
                target_sparsity,
            } => {
                r.kind = Some(ScheduleKind::Iterative);
                r.rounds = Some(rounds);
                r.epochs_per_round = Some(epochs_per_round);
                r.lr_scale = Some(lr_scale);
                r.target_sparsity = target_sparsity;
            }
            Schedule::Rewind {
                epochs,
                rewind_epoch,
                lr_scale,
            } => {
                r.kind = Some(ScheduleKind::Rewind);
                r.epochs = Some(epochs);
                r.rewind_epoch = Some(rewind_epoch);
                r.lr_scale = Some(lr_scale);
            }
            Schedule::Gradual {
                rounds,
                epochs_per_round,
                lr_scale,
                initial_sparsity,
            } => {
                r.kind = Some(ScheduleKind::Gradual);
                r.rounds = Some(rounds);
                r.epochs_per_round = Some(epochs_per_round);
                r.lr_scale = Some(lr_scale);
                r.initial_sparsity = Some(initial_sparsity);
            }
            Schedule::AtInit { epochs, lr_scale } => {
                r.kind = Some(ScheduleKind::AtInit);
                r.epochs = Some(epochs);
                r.lr_scale = Some(lr_scale);
            }
        }
        r
    }

    /// Short name for tables.
    pub fn name(&self) -> &'static str {
        match self {
            Schedule::OneShot => "one_shot",
            Schedule::Finetune { .. } => "finetune",
            Schedule::Iterative { .. } => "iterative",
            Schedule::Rewind { .. } => "rewind",
            Schedule::AtInit { .. } => "at_init",
            Schedule::Gradual { .. } => "gradual",
        }
    }
}
