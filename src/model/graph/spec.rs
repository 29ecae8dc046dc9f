//! The layer list of a model as written in YAML (`model.layers`): one [`LayerSpec`] per layer,
//! tagged by `kind` (the kinds are [`super::layers`]), and the names its layers with
//! parameters get. [`super::shape`] checks a list against an input shape and resolves it into
//! a [`super::Graph`]; [`super::presets`] writes the built-in models in this same description.

pub use super::layers::LayerSpec;

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
        .filter(|(weighted, _)| *weighted)
        .map(|(_, n)| n)
        .collect()
}

/// Every layer with parameters as (whether it has a prunable weight, name); default names
/// count each prefix separately, from 1.
fn named(layers: &[LayerSpec]) -> Vec<(bool, String)> {
    fn walk(
        layers: &[LayerSpec],
        counts: &mut std::collections::HashMap<&'static str, usize>,
        out: &mut Vec<(bool, String)>,
    ) {
        for l in layers {
            let layer = l.layer();
            for branch in layer.branches() {
                walk(branch, counts, out);
            }
            let Some(p) = layer.params() else { continue };
            let count = counts.entry(p.prefix).or_default();
            *count += 1;
            let n = layer
                .name()
                .map_or_else(|| format!("{}{count}", p.prefix), str::to_string);
            out.push((p.weighted, n));
        }
    }
    let mut out = Vec::new();
    walk(layers, &mut Default::default(), &mut out);
    out
}

/// Builders for layer lists written in Rust (the presets; a library user's graph for
/// [`crate::UserModel::graph`]). Each gives the layer the YAML entry of the same
/// `kind` describes (README, "Models: presets and layer lists"); names are the defaults (`fc1`,
/// `conv1`, `bn1`, … in order).
impl LayerSpec {
    /// `linear` with `out` units (`None`: one per class, last layer only).
    pub fn linear(out: Option<usize>) -> LayerSpec {
        LayerSpec::Linear(super::layers::linear::Linear { out, name: None })
    }

    /// `conv2d` to `out` channels, `kernel`×`kernel`, with `stride` and `padding` (`None`: 1
    /// and 0).
    pub fn conv2d(
        out: usize,
        kernel: usize,
        stride: Option<usize>,
        padding: Option<usize>,
    ) -> LayerSpec {
        LayerSpec::Conv2d(super::layers::conv2d::Conv2d {
            stride,
            padding,
            ..super::layers::conv2d::Conv2d::new(out, kernel)
        })
    }

    /// `max_pool` over `size`×`size` windows, stride `size`.
    pub fn max_pool(size: usize) -> LayerSpec {
        LayerSpec::MaxPool(super::layers::pool::MaxPool { size, stride: None })
    }

    /// `avg_pool` over `size`×`size` windows, stride `size`.
    pub fn avg_pool(size: usize) -> LayerSpec {
        LayerSpec::AvgPool(super::layers::pool::AvgPool { size, stride: None })
    }

    /// `[c, h, w]` → `[c·h·w]`, channel-major.
    pub fn flatten() -> LayerSpec {
        LayerSpec::Flatten(super::layers::flatten::Flatten {})
    }

    /// `max(x, 0)`.
    pub fn relu() -> LayerSpec {
        LayerSpec::Relu(super::layers::activation::Relu {})
    }

    /// `tanh(x)`.
    pub fn tanh() -> LayerSpec {
        LayerSpec::Tanh(super::layers::activation::Tanh {})
    }

    /// GELU (tanh approximation).
    pub fn gelu() -> LayerSpec {
        LayerSpec::Gelu(super::layers::activation::Gelu {})
    }

    /// Batch normalisation of the channels (or features) it reads.
    pub fn batch_norm() -> LayerSpec {
        LayerSpec::BatchNorm(super::layers::batch_norm::BatchNorm { name: None })
    }

    /// Dropout with probability `p` (training only).
    pub fn dropout(p: f64) -> LayerSpec {
        LayerSpec::Dropout(super::layers::dropout::Dropout { p })
    }

    /// `max(x, slope·x)`, `slope` in [0, 1).
    pub fn leaky_relu(slope: f64) -> LayerSpec {
        LayerSpec::LeakyRelu(super::layers::leaky_relu::LeakyRelu { slope: Some(slope) })
    }

    /// `body(x) + shortcut(x)`; an empty `shortcut` is the identity.
    pub fn residual(body: Vec<LayerSpec>, shortcut: Vec<LayerSpec>) -> LayerSpec {
        LayerSpec::Residual(super::layers::residual::Residual { body, shortcut })
    }
}
