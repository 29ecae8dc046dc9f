//! The layer list of a model as written in YAML (`model.layers`): one entry per layer, tagged
//! by `kind`. [`super::shape`] checks a list against an input shape and resolves it into a
//! [`super::Graph`]; [`super::presets`] writes the built-in models in this same description.

use serde::{Deserialize, Serialize};

/// One layer of `model.layers`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum LayerSpec {
    /// A fully connected layer `y = W x + b` on a flat input. `out` omitted: as many units as
    /// the data has classes (only for the last linear layer).
    Linear {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        out: Option<usize>,
        /// Name used in `prune.ignore` and `layers.csv` (default `fc1`, `fc2`, … in order).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// A 2-d convolution over a `[channels, height, width]` input (groups = 1), with bias.
    Conv2d {
        out: usize,
        kernel: usize,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stride: Option<usize>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        padding: Option<usize>,
        /// Default `conv1`, `conv2`, … in order.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// Max-pooling over `size × size` windows (stride defaults to `size`; no padding).
    MaxPool {
        size: usize,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stride: Option<usize>,
    },
    /// Average-pooling over `size × size` windows (stride defaults to `size`; no padding).
    AvgPool {
        size: usize,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stride: Option<usize>,
    },
    /// `[c, h, w]` → `[c·h·w]`, channel-major.
    Flatten,
    Relu,
    Tanh,
    /// GELU, tanh approximation.
    Gelu,
    /// Batch normalisation over the channels of `[c, h, w]` maps (or the features of a flat
    /// input): a learned scale and shift per channel, batch statistics while training and the
    /// running statistics (momentum 0.1, ε = 1e-5, as PyTorch) at evaluation.
    BatchNorm {
        /// Default `bn1`, `bn2`, … in order.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// Zeroes each value with probability `p` while training (survivors scaled by 1/(1−p));
    /// the identity at evaluation.
    Dropout {
        p: f64,
    },
    /// `body(x) + shortcut(x)`: the two branches read the same input and must give the same
    /// shape. An empty `shortcut` (the default) is the identity. The channels the add joins
    /// are one group for structured pruning: a channel is removed from every layer that
    /// writes it, or from none.
    Residual {
        body: Vec<LayerSpec>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        shortcut: Vec<LayerSpec>,
    },
}

impl LayerSpec {
    /// The `kind` as written in YAML.
    pub fn kind(&self) -> &'static str {
        match self {
            LayerSpec::Linear { .. } => "linear",
            LayerSpec::Conv2d { .. } => "conv2d",
            LayerSpec::MaxPool { .. } => "max_pool",
            LayerSpec::AvgPool { .. } => "avg_pool",
            LayerSpec::Flatten => "flatten",
            LayerSpec::Relu => "relu",
            LayerSpec::Tanh => "tanh",
            LayerSpec::Gelu => "gelu",
            LayerSpec::BatchNorm { .. } => "batch_norm",
            LayerSpec::Dropout { .. } => "dropout",
            LayerSpec::Residual { .. } => "residual",
        }
    }
}

/// Names of the layers that have parameters, in order (a residual's body, then its shortcut):
/// explicit `name`s, else `fc<i>` for the i-th linear layer, `conv<i>` for the i-th convolution
/// and `bn<i>` for the i-th batch normalisation (each counted separately, from 1).
pub fn layer_names(layers: &[LayerSpec]) -> Vec<String> {
    named(layers).into_iter().map(|(_, n)| n).collect()
}

/// Names of the layers with prunable weights (`linear`, `conv2d`), in [`layer_names`] order:
/// what `prune.ignore` may name.
pub fn weight_layer_names(layers: &[LayerSpec]) -> Vec<String> {
    named(layers)
        .into_iter()
        .filter(|(slot, _)| *slot < 2)
        .map(|(_, n)| n)
        .collect()
}

/// Every layer with parameters as (0 linear | 1 conv2d | 2 batch_norm, name).
fn named(layers: &[LayerSpec]) -> Vec<(usize, String)> {
    fn walk(layers: &[LayerSpec], counts: &mut [usize; 3], out: &mut Vec<(usize, String)>) {
        for l in layers {
            let (slot, prefix, name) = match l {
                LayerSpec::Linear { name, .. } => (0, "fc", name),
                LayerSpec::Conv2d { name, .. } => (1, "conv", name),
                LayerSpec::BatchNorm { name } => (2, "bn", name),
                LayerSpec::Residual { body, shortcut } => {
                    walk(body, counts, out);
                    walk(shortcut, counts, out);
                    continue;
                }
                _ => continue,
            };
            counts[slot] += 1;
            let n = name
                .clone()
                .unwrap_or_else(|| format!("{prefix}{}", counts[slot]));
            out.push((slot, n));
        }
    }
    let mut out = Vec::new();
    walk(layers, &mut [0; 3], &mut out);
    out
}
