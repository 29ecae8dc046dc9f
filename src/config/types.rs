//! Closed vocabularies of the experiment file. Each is a serde enum, so a misspelt choice is
//! rejected with the list of valid ones.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DataSource {
    Builtin,
    Csv,
    /// MNIST-format IDX image and label files in `data.dir`, or fetched (`data.name`).
    Idx,
    /// CIFAR-10 binary batches in `data.dir`, or fetched (`prunecv data fetch cifar10`).
    Cifar10,
}

impl DataSource {
    pub fn as_str(self) -> &'static str {
        match self {
            DataSource::Builtin => "builtin",
            DataSource::Csv => "csv",
            DataSource::Idx => "idx",
            DataSource::Cifar10 => "cifar10",
        }
    }
}

/// `data.name`: a built-in data set (source `builtin`: `digits`, `iris`) or an MNIST-format set
/// downloaded by `prunecv data fetch` (source `idx`: `mnist`, `fashion_mnist`, `kmnist`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DataName {
    Digits,
    Iris,
    Mnist,
    FashionMnist,
    Kmnist,
    /// Not a `data.name`: CIFAR-10 is `source: cifar10` (listed so that the error can say so).
    Cifar10,
}

impl DataName {
    pub fn as_str(self) -> &'static str {
        match self {
            DataName::Digits => "digits",
            DataName::Iris => "iris",
            DataName::Mnist => "mnist",
            DataName::FashionMnist => "fashion_mnist",
            DataName::Kmnist => "kmnist",
            DataName::Cifar10 => "cifar10",
        }
    }

    /// The built-in data set of this name, if it is one.
    pub fn builtin(self) -> Option<BuiltinName> {
        match self {
            DataName::Digits => Some(BuiltinName::Digits),
            DataName::Iris => Some(BuiltinName::Iris),
            _ => None,
        }
    }

    /// True for the MNIST-format sets `prunecv data fetch` downloads (source `idx`).
    pub fn is_idx(self) -> bool {
        matches!(
            self,
            DataName::Mnist | DataName::FashionMnist | DataName::Kmnist
        )
    }
}

/// `prune.n_m`: keep at most `n` of every `m` consecutive weights of a row (2:4, 4:8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NmSpec {
    pub n: usize,
    pub m: usize,
}

impl NmSpec {
    pub fn label(self) -> String {
        format!("{}:{}", self.n, self.m)
    }
}

/// `train.lr_schedule.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LrScheduleKind {
    Constant,
    Step,
    Cosine,
}

/// `data.standardize`: how features are scaled before training, with statistics fitted on the
/// training rows of each model only.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Standardize {
    /// Every feature its own z-score (mean 0, standard deviation 1 over the training rows).
    #[default]
    Feature,
    /// One mean and one standard deviation over every value of every feature, as images are
    /// usually normalised (MNIST's 0.1307 / 0.3081): pixels keep their relative scale, and a
    /// border pixel that is almost always dark is not blown up by its tiny spread.
    Global,
    /// Features as read.
    None,
}

/// `data.header` (CSV): whether the first row read is a header.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum HeaderMode {
    /// A header when a cell of the first row is text and the cell below it a number.
    #[default]
    Auto,
    Yes,
    No,
}

/// A CSV column, by 0-based index or by header name.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum ColumnRef {
    Index(usize),
    Name(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BuiltinName {
    Digits,
    Iris,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    Mlp,
    /// LeNet-300-100 (Han et al. 2015): an MLP 784-300-100-10.
    Lenet300,
    /// Han et al.'s Caffe LeNet-5: conv 20 5×5, max-pool 2, conv 50 5×5, max-pool 2, fc 500, ReLU,
    /// fc 10 on 1×28×28 inputs.
    Lenet5,
    /// A VGG-style CNN for small images: `stages` stages of two 3×3 convolutions and a max-pool.
    Vgg,
    /// A CIFAR-style ResNet with batch normalisation: `stages` stages of `blocks` basic blocks.
    Resnet,
    /// The layers listed in `model.layers`.
    Custom,
}

impl ModelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ModelKind::Mlp => "mlp",
            ModelKind::Lenet300 => "lenet300",
            ModelKind::Lenet5 => "lenet5",
            ModelKind::Vgg => "vgg",
            ModelKind::Resnet => "resnet",
            ModelKind::Custom => "custom",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    Relu,
    Tanh,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerKind {
    Sgd,
    Adamw,
}

/// A pruning method's name, as written in `prune.methods`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Deserialize,
    Serialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum MethodKind {
    /// Weight magnitude |W_ij|.
    Magnitude,
    /// First-order Taylor estimate of the loss change |W_ij · ∂L/∂W_ij| (alias `gradient`).
    #[serde(alias = "gradient")]
    Taylor,
    /// Structured: whole units (neurons, channels) by the norm of their incoming weights.
    Importance,
    /// Magnitude pruning at τ, then importance pruning at the same τ on what magnitude left.
    Combined,
    /// Random scores: the baseline every method should beat.
    Random,
    /// Layer-adaptive magnitude pruning (Lee et al., ICLR 2021); use with `scope: global`.
    Lamp,
    /// Activation-aware magnitude |W_ij|·‖X_j‖₂ (Sun et al., ICLR 2024); use with `scope: row`.
    Wanda,
    /// Data-free iterative synaptic flow (Tanaka et al., NeurIPS 2020); use with `at_init`.
    Synflow,
}

impl MethodKind {
    /// Every method, in the order of the variants.
    pub const ALL: [MethodKind; 8] = [
        MethodKind::Magnitude,
        MethodKind::Taylor,
        MethodKind::Importance,
        MethodKind::Combined,
        MethodKind::Random,
        MethodKind::Lamp,
        MethodKind::Wanda,
        MethodKind::Synflow,
    ];

    /// The method named `name` in an experiment file or a table (aliases included).
    pub fn from_name(name: &str) -> Option<MethodKind> {
        match name {
            "gradient" => Some(MethodKind::Taylor),
            _ => MethodKind::ALL.into_iter().find(|m| m.as_str() == name),
        }
    }

    /// The number that keys this method's random streams (retraining order, random scores).
    /// Fixed per method, independent of the variants' order: a new method takes a new number,
    /// so adding one never changes the results of the others under the same configuration.
    pub(crate) fn stream_id(self) -> u64 {
        match self {
            MethodKind::Magnitude => 0,
            MethodKind::Taylor => 1,
            MethodKind::Importance => 2,
            MethodKind::Combined => 3,
            MethodKind::Random => 4,
            MethodKind::Lamp => 5,
            MethodKind::Wanda => 6,
            MethodKind::Synflow => 7,
        }
    }

    /// The method's name, as experiment files and tables write it.
    pub fn as_str(self) -> &'static str {
        match self {
            MethodKind::Magnitude => "magnitude",
            MethodKind::Taylor => "taylor",
            MethodKind::Importance => "importance",
            MethodKind::Combined => "combined",
            MethodKind::Random => "random",
            MethodKind::Lamp => "lamp",
            MethodKind::Wanda => "wanda",
            MethodKind::Synflow => "synflow",
        }
    }
}

impl std::fmt::Display for MethodKind {
    /// The method's name, as experiment files and tables write it.
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// The norm used by `importance` to score a unit's incoming weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Norm {
    L1,
    L2,
}

/// How a threshold τ is turned into a cut-off on scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TauUnit {
    /// Prune scores < τ.
    Abs,
    /// Prune scores < τ × std(scores).
    Std,
    /// Prune scores < τ × mean(scores).
    Mean,
    /// Prune the fraction τ of scores with the lowest values (a sparsity target).
    Quantile,
}

impl TauUnit {
    pub fn as_str(self) -> &'static str {
        match self {
            TauUnit::Abs => "abs",
            TauUnit::Std => "std",
            TauUnit::Mean => "mean",
            TauUnit::Quantile => "quantile",
        }
    }
}

/// Where threshold statistics are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Per prunable layer.
    Layer,
    /// One threshold over all prunable layers' scores pooled.
    Global,
    /// Erdős–Rényi-Kernel budget (Evci et al. 2020): τ is the overall fraction pruned (`unit:
    /// quantile`), split so that each layer's density is proportional to
    /// (fan_in + fan_out + kernel dims) / (fan_in · fan_out · kernel size), capped at 1 with the
    /// rest redistributed; each layer then prunes its lowest scores.
    Erk,
    /// Per output row of each layer (a neuron's or filter's incoming weights): the threshold is
    /// applied within every row separately, as Wanda compares its scores. Weight-level methods
    /// only.
    Row,
    /// Sensitivity budget: τ is the overall fraction pruned (`unit: quantile`), split so that
    /// every layer is pruned up to one common increase of the training loss, read off each
    /// layer's measured sensitivity (that layer alone pruned at 10 % … 100 %, on up to
    /// `{sensitivity: {rows: N}}` of the model's own training rows); each layer then prunes its
    /// lowest scores. Sensitive layers keep more, robust ones give up more.
    Sensitivity,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Layer => "layer",
            Scope::Global => "global",
            Scope::Erk => "erk",
            Scope::Row => "row",
            Scope::Sensitivity => "sensitivity",
        }
    }
}

/// A rule choosing τ from the cross-validation summary. In YAML a plain name (`best`,
/// `one_se`) or a one-key map (`{max_drop: 0.01}`, `{target_sparsity: 0.9}`); the serde impls
/// below read and write exactly those forms (serde_yaml_ng's default for a variant with a value
/// would be a `!max_drop 0.01` tag). The JSON Schema derive describes the same shapes.
#[derive(Debug, Clone, Copy, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SelectRule {
    /// Highest mean validation accuracy.
    Best,
    /// Sparsest τ whose mean is within one standard error of the best (glmnet's lambda.1se).
    OneSe,
    /// Sparsest τ whose mean accuracy is at most this far below the dense model's mean.
    MaxDrop(f64),
    /// The τ whose mean sparsity is closest to this target from above.
    TargetSparsity(f64),
}

const SELECT_RULES: &[&str] = &["best", "one_se", "max_drop", "target_sparsity"];

impl Serialize for SelectRule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let (key, value) = match *self {
            SelectRule::Best => return s.serialize_str("best"),
            SelectRule::OneSe => return s.serialize_str("one_se"),
            SelectRule::MaxDrop(x) => ("max_drop", x),
            SelectRule::TargetSparsity(x) => ("target_sparsity", x),
        };
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(key, &value)?;
        m.end()
    }
}

impl<'de> Deserialize<'de> for SelectRule {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{Error, MapAccess, Visitor};
        struct Rule;
        impl<'de> Visitor<'de> for Rule {
            type Value = SelectRule;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("`best`, `one_se`, `{max_drop: x}` or `{target_sparsity: s}`")
            }
            fn visit_str<E: Error>(self, v: &str) -> Result<SelectRule, E> {
                match v {
                    "best" => Ok(SelectRule::Best),
                    "one_se" => Ok(SelectRule::OneSe),
                    "max_drop" | "target_sparsity" => {
                        Err(E::custom(format!("`{v}` needs a value: `{{{v}: x}}`")))
                    }
                    _ => Err(E::unknown_variant(v, SELECT_RULES)),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SelectRule, A::Error> {
                let Some(key) = map.next_key::<String>()? else {
                    return Err(A::Error::invalid_length(0, &self));
                };
                let rule = match key.as_str() {
                    "max_drop" => SelectRule::MaxDrop(map.next_value()?),
                    "target_sparsity" => SelectRule::TargetSparsity(map.next_value()?),
                    _ => return Err(A::Error::unknown_variant(&key, &SELECT_RULES[2..])),
                };
                if map.next_key::<String>()?.is_some() {
                    return Err(A::Error::custom("a selection rule is a map of one key"));
                }
                Ok(rule)
            }
        }
        d.deserialize_any(Rule)
    }
}

impl SelectRule {
    /// The rule as the tables write it: `best`, `one_se`, `max_drop=x`, `target_sparsity=s`.
    pub fn label(&self) -> String {
        match self {
            SelectRule::Best => "best".into(),
            SelectRule::OneSe => "one_se".into(),
            SelectRule::MaxDrop(x) => format!("max_drop={x}"),
            SelectRule::TargetSparsity(s) => format!("target_sparsity={s}"),
        }
    }
}

/// The kind of pruning schedule (`prune.schedule.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleKind {
    OneShot,
    Finetune,
    Iterative,
    Rewind,
    /// Prune at initialisation, then train with the masks fixed.
    AtInit,
    /// Gradual pruning on a cubic sparsity schedule while training (Zhu & Gupta 2017).
    Gradual,
}

#[cfg(test)]
mod stream_id_tests {
    use super::MethodKind;

    /// Stream ids are pinned: changing one would silently change every retrained result of
    /// that method under an unchanged configuration hash.
    #[test]
    fn method_stream_ids_are_pinned_and_distinct() {
        let named: Vec<(&str, u64)> = MethodKind::ALL
            .iter()
            .map(|m| (m.as_str(), m.stream_id()))
            .collect();
        assert_eq!(
            named,
            vec![
                ("magnitude", 0),
                ("taylor", 1),
                ("importance", 2),
                ("combined", 3),
                ("random", 4),
                ("lamp", 5),
                ("wanda", 6),
                ("synflow", 7),
            ]
        );
        for m in MethodKind::ALL {
            assert_eq!(MethodKind::from_name(m.as_str()), Some(m));
        }
        assert_eq!(MethodKind::from_name("gradient"), Some(MethodKind::Taylor));
    }
}
