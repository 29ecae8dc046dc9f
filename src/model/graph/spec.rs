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
        }
    }
}

/// Names of the layers that have weights, in order: explicit `name`s, else `fc<i>` for the
/// i-th linear layer and `conv<i>` for the i-th convolution (counted separately, from 1).
pub fn layer_names(layers: &[LayerSpec]) -> Vec<String> {
    let (mut fc, mut conv) = (0, 0);
    let mut names = Vec::new();
    for l in layers {
        match l {
            LayerSpec::Linear { name, .. } => {
                fc += 1;
                names.push(name.clone().unwrap_or_else(|| format!("fc{fc}")));
            }
            LayerSpec::Conv2d { name, .. } => {
                conv += 1;
                names.push(name.clone().unwrap_or_else(|| format!("conv{conv}")));
            }
            _ => {}
        }
    }
    names
}
