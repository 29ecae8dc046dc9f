//! The resolved experiment: every default filled in and every value validated. The rest of the
//! program only ever sees these types.

pub use super::data::DataSpec;
pub use super::methods::MethodSettings;
pub use super::model::ModelSpec;
use super::raw::*;
use super::scope::{RawScope, RawSensitivity};
use super::types::*;
use crate::error::{Error, Result};
use serde::Serialize;

/// A resolved, validated experiment: what to run. Made by [`super::parse`] or [`super::load`];
/// run by [`crate::sweep::run`]. Its settings are read through its YAML form
/// ([`Experiment::to_yaml`]), which is a valid experiment file with every default written out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Experiment {
    pub(crate) name: String,
    pub(crate) seed: u64,
    pub(crate) data: DataSpec,
    pub(crate) model: ModelSpec,
    pub(crate) train: TrainSpec,
    pub(crate) prune: PruneSpec,
    pub(crate) cv: CvSpec,
    pub(crate) output: OutputSpec,
    pub(crate) plots: super::plots::PlotsSpec,
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
    /// The methods' own settings (Taylor's batches, the unit methods' norms, SynFlow's rounds).
    pub settings: MethodSettings,
    pub tau: TauSpec,
    pub ignore: Vec<String>,
    pub schedule: Schedule,
    /// N:M semi-structured sparsity on top of τ (weight-level methods).
    pub n_m: Option<NmSpec>,
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
    /// `scope: sensitivity` only: the training rows on which each layer is measured.
    pub sensitivity_rows: Option<usize>,
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

/// What validation errors name: the experiment file.
pub(super) struct Ctx<'a> {
    pub(super) file: &'a str,
}

impl Ctx<'_> {
    /// `field `FIELD`: expected EXPECTED, found FOUND`, naming the file.
    pub(super) fn bad(&self, field: &str, expected: &str, found: impl std::fmt::Display) -> Error {
        Error::config(
            self.file,
            format!("field `{field}`: expected {expected}, found {found}"),
        )
    }
}

/// Fill defaults and validate. `file` names the source in error messages; `user`: a model
/// built by Rust code, which the file must then leave out.
pub fn resolve(
    raw: RawExperiment,
    file: &str,
    user: Option<crate::model::candle_module::UserModel>,
) -> Result<Experiment> {
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

    let data = super::data::resolve(raw.data.unwrap_or_default(), &c)?;

    let raw_model = raw.model.unwrap_or_default();
    let model = match user {
        None => super::model::resolve_model(&raw_model, c.file)?,
        Some(user) if raw_model == Default::default() => super::model::from_user(user, c.file)?,
        Some(_) => {
            return Err(Error::config(
                file,
                "field `model`: the model is built by Rust code (`parse_with_model`); a file \
                 parsed for it must leave `model` out",
            ))
        }
    };

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

    let prune = resolve_prune(raw.prune.unwrap_or_default(), &train, &model, &c)?;
    let cv = resolve_cv(raw.cv.unwrap_or_default(), &c)?;

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

/// The first name of `ignore` that is not one of the model's prunable layers `names`, with its
/// index.
pub(crate) fn unknown_layer<'a>(
    ignore: &'a [String],
    names: &[String],
) -> Option<(usize, &'a str)> {
    ignore
        .iter()
        .enumerate()
        .find(|(_, l)| !names.contains(l))
        .map(|(i, l)| (i, l.as_str()))
}

/// The `prune` section: the methods with their settings, τ, ignored layers, the schedule, N:M,
/// and the combinations of them that have a meaning.
fn resolve_prune(p: RawPrune, train: &TrainSpec, model: &ModelSpec, c: &Ctx) -> Result<PruneSpec> {
    check_moved(&p, c)?;
    let (methods, settings) = super::methods::resolve(p.methods, c)?;
    let tau = resolve_tau(p.tau.unwrap_or_default(), c)?;
    let layer_names = crate::model::layer_names(model);
    let ignore = p.ignore.unwrap_or_default();
    if let Some((i, l)) = unknown_layer(&ignore, &layer_names) {
        return Err(c.bad(
            &format!("prune.ignore[{i}]"),
            &format!("a layer name, one of {}", layer_names.join(", ")),
            format!("{l:?}"),
        ));
    }
    let schedule = resolve_schedule(p.schedule.unwrap_or_default(), train.epochs, c)?;
    if matches!(schedule, Schedule::Gradual { .. }) && tau.unit != TauUnit::Quantile {
        return Err(c.bad(
            "prune.schedule.kind",
            "a schedule that suits this τ unit (`gradual` ramps to the sparsity τ: use \
             `tau.unit: quantile`)",
            "gradual",
        ));
    }
    check_method_options(&methods, &tau, p.n_m, c)?;
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
    Ok(PruneSpec {
        methods,
        settings,
        tau,
        ignore,
        schedule,
        n_m: p.n_m,
    })
}

/// Settings of the first layout, flat under `prune`, now written with their method or scope:
/// an error naming the file, the old field and where it went.
fn check_moved(p: &RawPrune, c: &Ctx) -> Result<()> {
    let moved = [
        (
            "taylor_batches",
            p.taylor_batches.is_some(),
            "`prune.methods: [..., {taylor: {batches: N}}]`",
        ),
        (
            "importance_norm",
            p.importance_norm.is_some(),
            "`prune.methods: [..., {importance: {norm: l1}}]` (and `{combined: {norm: l1}}` \
             for `combined`)",
        ),
        (
            "synflow_rounds",
            p.synflow_rounds.is_some(),
            "`prune.methods: [..., {synflow: {rounds: N}}]`",
        ),
        (
            "sensitivity_rows",
            p.sensitivity_rows.is_some(),
            "`prune.tau.scope: {sensitivity: {rows: N}}`",
        ),
    ];
    match moved.iter().find(|(_, set, _)| *set) {
        Some((old, _, new)) => Err(Error::config(
            c.file,
            format!(
                "field `prune.{old}` has moved: a setting is now written with the method (or \
                 scope) it belongs to, as {new}"
            ),
        )),
        None => Ok(()),
    }
}

/// The `cv` section: folds, repeats, selection rules, shared initialisation.
fn resolve_cv(v: RawCv, c: &Ctx) -> Result<CvSpec> {
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
    Ok(cv)
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
    let raw_scope = t.scope.unwrap_or(RawScope::Plain(Scope::Layer));
    let scope = raw_scope.scope();
    let sensitivity_rows = match raw_scope {
        RawScope::Sensitivity(RawSensitivity { rows: Some(0) }) => {
            return Err(c.bad("prune.tau.scope.sensitivity.rows", "at least 1 row", 0))
        }
        RawScope::Sensitivity(r) => Some(r.rows.unwrap_or(super::scope::SENSITIVITY_ROWS)),
        RawScope::Plain(Scope::Sensitivity) => Some(super::scope::SENSITIVITY_ROWS),
        RawScope::Plain(_) => None,
    };
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
            sensitivity_rows,
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
        sensitivity_rows,
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
    pub(crate) fn with_class_names(&self, names: Option<&[String]>) -> Experiment {
        let mut e = self.clone();
        if let (Some(n), super::data::Source::Csv(c)) = (names, &mut e.data.source) {
            c.options.classes = Some(n.to_vec());
        }
        e
    }

    /// The experiment as an experiment file with every default written out.
    pub(crate) fn to_raw(&self) -> RawExperiment {
        RawExperiment {
            name: Some(self.name.clone()),
            seed: Some(self.seed),
            data: Some(self.data.to_raw()),
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
                methods: Some(super::methods::to_raw(
                    &self.prune.methods,
                    &self.prune.settings,
                )),
                tau: Some(RawTau {
                    unit: Some(self.prune.tau.unit),
                    scope: Some(match self.prune.tau.sensitivity_rows {
                        Some(rows) => RawScope::Sensitivity(RawSensitivity { rows: Some(rows) }),
                        None => RawScope::Plain(self.prune.tau.scope),
                    }),
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
                schedule: Some(self.prune.schedule.to_raw()),
                n_m: self.prune.n_m,
                ..RawPrune::default()
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
    pub fn to_raw(self) -> RawSchedule {
        let mut r = RawSchedule::default();
        match self {
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
}
