//! The experiment file as written by the user: every field optional, unknown keys rejected.
//!
//! These structs only mirror the YAML. Defaults and validation live in [`super::resolve`].

pub use super::data::RawData;
pub use super::methods::RawMethod;
pub use super::scope::RawScope;
use super::types::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawExperiment {
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// The data set, by `source`; each source takes only its own fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<RawData>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<RawModel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub train: Option<RawTrain>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prune: Option<RawPrune>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cv: Option<RawCv>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<RawOutput>,
    /// Figure size and text size (for a paper): see `prunecv check` for the defaults.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plots: Option<super::plots::RawPlots>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawModel {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<ModelKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden: Option<Vec<usize>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activation: Option<Activation>,
    /// Per-sample input shape, `[features]` or `[channels, height, width]` (default: the
    /// data's features, flat).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Vec<usize>>,
    /// The layers, input to output (`kind` omitted or `custom`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layers: Option<Vec<crate::model::graph::LayerSpec>>,
    /// `vgg`, `resnet`: channels of the first stage (default 16).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<usize>,
    /// `vgg`: stages of two convolutions and a max-pool (default 2); `resnet`: stages of basic
    /// blocks (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stages: Option<usize>,
    /// `resnet`: basic blocks per stage (default 3: ResNet-20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocks: Option<usize>,
    /// Written by prunecv for a model built by Rust code (`Experiment::with_model`): its name.
    /// Not accepted in an experiment file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTrain {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub optimizer: Option<OptimizerKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lr: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub momentum: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight_decay: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub betas: Option<[f64; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epochs: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<usize>,
    /// How the learning rate changes over each training phase (default: constant).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lr_schedule: Option<RawLrSchedule>,
}

/// `train.lr_schedule`: `{kind: constant}`, `{kind: step, every: 10, gamma: 0.1}`,
/// `{kind: step, milestones: [30, 45], gamma: 0.1}` or `{kind: cosine, min_lr_scale: 0.0}`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLrSchedule {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<LrScheduleKind>,
    /// `step`: multiply the rate by `gamma` every this many epochs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub every: Option<usize>,
    /// `step`: multiply the rate by `gamma` at each of these epochs (instead of `every`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub milestones: Option<Vec<usize>>,
    /// `step`: the factor (default 0.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gamma: Option<f64>,
    /// `cosine`: the final rate as a fraction of the phase's base rate (default 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_lr_scale: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPrune {
    /// Each a method's name, or a method with its settings: `{taylor: {batches: 8}}`,
    /// `{importance: {norm: l2}}`, `{combined: {norm: l2}}`, `{synflow: {rounds: 100}}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<RawMethod>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tau: Option<RawTau>,
    /// Layers kept dense (by name, e.g. `fc1`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignore: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<RawSchedule>,
    /// N:M semi-structured sparsity: of every `m` consecutive weights of an output row, at most
    /// the `n` highest-scoring survive (on top of what τ prunes), for every listed method (so
    /// that they compare at one pattern). Weight-level methods only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n_m: Option<NmSpec>,
    /// Moved to `methods: [{taylor: {batches: N}}]`: read only to say so.
    #[serde(default, skip_serializing)]
    #[schemars(skip)]
    pub taylor_batches: Option<serde_yaml_ng::Value>,
    /// Moved to `methods: [{importance: {norm: ..}}]`: read only to say so.
    #[serde(default, skip_serializing)]
    #[schemars(skip)]
    pub importance_norm: Option<serde_yaml_ng::Value>,
    /// Moved to `methods: [{synflow: {rounds: N}}]`: read only to say so.
    #[serde(default, skip_serializing)]
    #[schemars(skip)]
    pub synflow_rounds: Option<serde_yaml_ng::Value>,
    /// Moved to `tau.scope: {sensitivity: {rows: N}}`: read only to say so.
    #[serde(default, skip_serializing)]
    #[schemars(skip)]
    pub sensitivity_rows: Option<serde_yaml_ng::Value>,
}

/// `prune.schedule`: what happens after masks are computed.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSchedule {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<ScheduleKind>,
    /// Retraining epochs (finetune, rewind).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epochs: Option<usize>,
    /// Learning rate of retraining as a multiple of `train.lr`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lr_scale: Option<f64>,
    /// Maximum prune → retrain rounds (iterative).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rounds: Option<usize>,
    /// Retraining epochs per round (iterative).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epochs_per_round: Option<usize>,
    /// Stop iterating once this sparsity is reached (iterative).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_sparsity: Option<f64>,
    /// Epoch of dense training whose weights survivors are reset to (rewind; 0 = initialisation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rewind_epoch: Option<usize>,
    /// Sparsity of the first gradual step's starting point (gradual; default 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial_sparsity: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTau {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<TauUnit>,
    /// `layer`, `global`, `erk`, `row` or `sensitivity` (also `{sensitivity: {rows: 1024}}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<RawScope>,
    /// An explicit list of thresholds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<f64>>,
    /// `[start, stop, n]`: n evenly spaced values, both ends included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linspace: Option<(f64, f64, usize)>,
    /// `[start, stop, n]`: n geometrically spaced values (start, stop > 0), both ends included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logspace: Option<(f64, f64, usize)>,
    /// n thresholds per method spanning 0 % to 99 % sparsity on the refit model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto: Option<usize>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCv {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folds: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeats: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub select: Option<Vec<SelectRule>>,
    /// All fold models start from the same seeded initialisation (lottery-ticket stability
    /// studies); enables the whole-mask Jaccard in `selection.csv`. Default false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared_init: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOutput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<String>,
}
