//! Layer kinds. Each kind is one file: its YAML settings (a serde struct, documented for the
//! JSON Schema) and its behaviour, the [`Layer`] trait — shape rule, parameters and their
//! initialisation, candle forward pass, place in the pruning structure, physical shrink,
//! description and memory estimate. The registry below (one line per kind) makes
//! [`LayerSpec`], the `kind`-tagged entry of `model.layers`, and its JSON Schema; the graph's
//! walks ([`super::shape`], [`super::forward`], [`super::structure`], [`super::shrink`]) call a
//! layer through the trait only.

pub mod activation;
pub mod batch_norm;
pub mod conv2d;
pub mod dropout;
pub mod flatten;
pub mod leaky_relu;
pub mod linear;
pub mod pool;
pub mod residual;

use super::forward::{Pass, H};
use super::shape::{Node, ShapeError, Site, Walk};
use super::shrink::Cut;
use super::structure;
use crate::model::ParamKind;
use crate::rng::Rng;

/// Makes [`LayerSpec`] from `"yaml kind" => Variant(module::Type)` lines: the serde enum tagged
/// by `kind`, [`LayerSpec::kind`], [`LayerSpec::layer`] and the JSON Schema (`oneOf` the kinds,
/// each its settings' object with a `kind` constant).
macro_rules! registry {
    ($($kind:literal => $variant:ident($($ty:ident)::+),)*) => {
        /// One layer of `model.layers`, as written in YAML (tagged by `kind`) or built in Rust
        /// by its builders ([`LayerSpec::linear`], [`LayerSpec::conv2d`], …).
        #[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
        #[serde(tag = "kind")]
        pub enum LayerSpec {
            $(
                #[doc = concat!("`kind: ", $kind, "`")]
                #[serde(rename = $kind)]
                $variant($($ty)::+),
            )*
        }

        impl LayerSpec {
            /// The `kind` as written in YAML.
            pub fn kind(&self) -> &'static str {
                match self {
                    $(LayerSpec::$variant(_) => $kind,)*
                }
            }

            /// The layer's behaviour.
            pub(crate) fn layer(&self) -> &dyn Layer {
                match self {
                    $(LayerSpec::$variant(l) => l,)*
                }
            }

            /// The layer's behaviour, mutably (to set its name).
            pub(crate) fn layer_mut(&mut self) -> &mut dyn Layer {
                match self {
                    $(LayerSpec::$variant(l) => l,)*
                }
            }
        }

        impl schemars::JsonSchema for LayerSpec {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                "LayerSpec".into()
            }

            fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
                let kinds = vec![$(tagged(<$($ty)::+ as schemars::JsonSchema>::json_schema(g), $kind),)*];
                schemars::json_schema!({
                    "description": "One layer of `model.layers`.",
                    "oneOf": kinds,
                })
            }
        }
    };
}

registry! {
    "linear" => Linear(linear::Linear),
    "conv2d" => Conv2d(conv2d::Conv2d),
    "max_pool" => MaxPool(pool::MaxPool),
    "avg_pool" => AvgPool(pool::AvgPool),
    "flatten" => Flatten(flatten::Flatten),
    "relu" => Relu(activation::Relu),
    "tanh" => Tanh(activation::Tanh),
    "gelu" => Gelu(activation::Gelu),
    "leaky_relu" => LeakyRelu(leaky_relu::LeakyRelu),
    "batch_norm" => BatchNorm(batch_norm::BatchNorm),
    "dropout" => Dropout(dropout::Dropout),
    "residual" => Residual(residual::Residual),
}

/// A kind's settings schema with the `kind` constant added (first among the required keys).
fn tagged(schema: schemars::Schema, kind: &str) -> serde_json::Value {
    let mut v = schema.to_value();
    if let Some(obj) = v.as_object_mut() {
        let props = obj
            .entry("properties")
            .or_insert_with(|| serde_json::json!({}));
        if let Some(p) = props.as_object_mut() {
            p.insert(
                "kind".into(),
                serde_json::json!({"const": kind, "type": "string"}),
            );
        }
        let required = obj
            .entry("required")
            .or_insert_with(|| serde_json::json!([]));
        if let Some(r) = required.as_array_mut() {
            r.insert(0, "kind".into());
        }
    }
    v
}

/// The parameters a layer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamLayout {
    /// Default name prefix: `fc` → `fc1`, `fc2`, … in order of the layers of this prefix.
    pub prefix: &'static str,
    /// Tensors, in order: a weight and its bias (2), or a normalisation's scale, shift, running
    /// mean and running variance (4).
    pub tensors: usize,
    /// Whether the first tensor is a prunable weight whose rows are the layer's units (what
    /// `prune.ignore` may name); otherwise the tensors act on the units of the space read.
    pub weighted: bool,
}

/// One parameter tensor of a layer: name suffix (`weight`, `bias`, …), shape, kind, values.
pub type Init = (&'static str, Vec<usize>, ParamKind, Vec<f32>);

/// A layer resolved against its input shape.
pub struct Resolved {
    /// The settings with every default filled in (`stride`, `padding`, `out`, …).
    pub spec: LayerSpec,
    pub output: Vec<usize>,
    /// Resolved nested layer lists (a residual's body and shortcut).
    pub branches: Vec<Vec<Node>>,
}

/// A layer rebuilt over the kept units by [`super::shrink`].
pub struct Shrunk {
    pub spec: LayerSpec,
    pub branches: Vec<Vec<Node>>,
    /// The unit space and the shape it gives.
    pub space: usize,
    pub shape: Vec<usize>,
}

/// What a layer kind does. Methods with defaults fit a parameter-free layer that keeps its
/// input's shape and unit space (an activation).
pub trait Layer {
    /// Its parameters, if any.
    fn params(&self) -> Option<ParamLayout> {
        None
    }

    /// Its `name` as written (layers with parameters only).
    fn name(&self) -> Option<&str> {
        None
    }

    /// Set its name (layers with parameters only).
    fn set_name(&mut self, _name: String) {}

    /// Layer lists nested in it as written (a residual's body and shortcut).
    fn branches(&self) -> Vec<&[LayerSpec]> {
        Vec::new()
    }

    /// Check that it reads `input` and give its output shape (errors through `site`).
    fn resolve(
        &self,
        input: &[usize],
        site: &Site,
        walk: &mut Walk,
    ) -> Result<Resolved, ShapeError>;

    /// Its parameters' initial values, drawn from `rng` in order.
    fn init(&self, _node: &Node, _rng: &mut Rng) -> Vec<Init> {
        Vec::new()
    }

    /// Its candle forward pass (evaluation or training mode, as `pass` says).
    fn forward(&self, node: &Node, pass: &mut Pass, h: H) -> candle_core::Result<H>;

    /// Its place in the pruning structure, read from unit space `space`: the space it gives.
    fn structure<'a>(
        &self,
        _node: &'a Node,
        space: usize,
        _walk: &mut structure::Walk<'a>,
    ) -> usize {
        space
    }

    /// The layer over the kept units, read from `space` with (shrunk) shape `shape`.
    fn shrink(&self, node: &Node, _cut: &mut Cut, space: usize, shape: Vec<usize>) -> Shrunk {
        Shrunk {
            spec: node.spec.clone(),
            branches: Vec::new(),
            space,
            shape,
        }
    }

    /// Its settings as written back to YAML (nested lists rebuilt from `node`).
    fn to_spec(&self, node: &Node) -> LayerSpec {
        node.spec.clone()
    }

    /// A short description: `fc:10`, `conv3x3:16/p1`, `relu`, …
    fn describe(&self, node: &Node) -> String;

    /// (parameters, activations per sample kept for the backward pass).
    fn footprint(&self, _node: &Node) -> (usize, usize) {
        (0, 0)
    }
}

/// Weight and bias uniform in ±1/√fan_in (PyTorch's Linear and Conv2d default), weight first.
pub fn uniform_weight_and_bias(shape: Vec<usize>, fan_in: usize, rng: &mut Rng) -> Vec<Init> {
    let bound = 1.0 / (fan_in as f32).sqrt();
    let out = shape[0];
    let w: Vec<f32> = (0..shape.iter().product())
        .map(|_| rng.uniform_f32(-bound, bound))
        .collect();
    let b: Vec<f32> = (0..out).map(|_| rng.uniform_f32(-bound, bound)).collect();
    vec![
        ("weight", shape, ParamKind::Weight, w),
        ("bias", vec![out], ParamKind::Bias, b),
    ]
}
