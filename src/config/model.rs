//! The `model` section: a preset (`kind: mlp | lenet300 | lenet5 | vgg | resnet`, each with its own few
//! settings) or a layer list (`layers:`), resolved into a [`ModelSpec`] whose `layers` is the
//! full list either way. Each preset's settings are refused on another kind; with `input`
//! given, the layer list is shape-checked here, before any data is read.

use super::raw::RawModel;
use super::types::{Activation, ModelKind};
use crate::error::{Error, Result};
use crate::model::graph::{presets, shape, LayerSpec};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelSpec {
    pub kind: ModelKind,
    /// Hidden widths (`mlp` only; empty otherwise).
    pub hidden: Vec<usize>,
    /// The activation of `mlp` and `lenet300`.
    pub activation: Activation,
    /// `vgg`, `resnet`: channels of the first stage.
    pub width: usize,
    /// `vgg`: stages of two convolutions and a pooling; `resnet`: stages of basic blocks.
    pub stages: usize,
    /// `resnet`: basic blocks per stage.
    pub blocks: usize,
    /// Per-sample input shape; `None`: the data's features, flat.
    pub input: Option<Vec<usize>>,
    /// Every layer, the preset's or the file's.
    pub layers: Vec<LayerSpec>,
    /// A model built by Rust code instead (`Experiment::with_model`); `kind` is then `custom`.
    pub user: Option<crate::model::candle_module::UserModule>,
}

/// The model a library user built in Rust: a candle module (`kind: custom`, no layer list), or
/// a layer graph resolved as the same `model: {input, layers}` in a file would be (`file`
/// names the source in its errors).
pub fn from_user(user: crate::model::candle_module::UserModel, file: &str) -> Result<ModelSpec> {
    use crate::model::candle_module::UserSource;
    match user.0 {
        UserSource::Candle(module) => Ok(ModelSpec::module(module)),
        UserSource::Graph { input, layers } => resolve_model(
            &RawModel {
                kind: Some(ModelKind::Custom),
                input: Some(input),
                layers: Some(layers),
                ..Default::default()
            },
            file,
        ),
    }
}

impl ModelSpec {
    /// A candle module: `kind: custom`, no layer list.
    fn module(user: crate::model::candle_module::UserModule) -> ModelSpec {
        ModelSpec {
            kind: ModelKind::Custom,
            hidden: Vec::new(),
            activation: Activation::Relu,
            width: 0,
            stages: 0,
            blocks: 0,
            input: None,
            layers: Vec::new(),
            user: Some(user),
        }
    }
}

/// Defaults of the `vgg` preset.
const VGG_WIDTH: usize = 16;
const VGG_STAGES: usize = 2;
/// Defaults of the `resnet` preset: ResNet-20.
const RESNET_WIDTH: usize = 16;
const RESNET_STAGES: usize = 3;
const RESNET_BLOCKS: usize = 3;

/// The model section with defaults filled in, unchecked (also used to rebuild exported models).
pub fn model_from_raw(m: &RawModel) -> ModelSpec {
    let kind = m.kind.unwrap_or(if m.layers.is_some() {
        ModelKind::Custom
    } else {
        ModelKind::Mlp
    });
    let activation = m.activation.unwrap_or(Activation::Relu);
    let hidden = match kind {
        ModelKind::Mlp => m.hidden.clone().unwrap_or_else(|| vec![128, 64]),
        _ => Vec::new(),
    };
    let (width, stages, blocks) = match kind {
        ModelKind::Vgg => (
            m.width.unwrap_or(VGG_WIDTH),
            m.stages.unwrap_or(VGG_STAGES),
            0,
        ),
        ModelKind::Resnet => (
            m.width.unwrap_or(RESNET_WIDTH),
            m.stages.unwrap_or(RESNET_STAGES),
            m.blocks.unwrap_or(RESNET_BLOCKS),
        ),
        _ => (0, 0, 0),
    };
    let layers = match kind {
        ModelKind::Mlp => presets::mlp(&hidden, activation),
        ModelKind::Lenet300 => presets::lenet300(activation),
        ModelKind::Lenet5 => presets::lenet5(),
        ModelKind::Vgg => presets::vgg(width, stages),
        ModelKind::Resnet => {
            presets::resnet(width, stages, blocks, m.input.as_deref().unwrap_or(&[]))
        }
        ModelKind::Custom => m.layers.clone().unwrap_or_default(),
    };
    let input = match kind {
        ModelKind::Lenet300 => Some(vec![presets::LENET_INPUT.iter().product()]),
        ModelKind::Lenet5 => Some(presets::LENET_INPUT.to_vec()),
        _ => m.input.clone(),
    };
    ModelSpec {
        kind,
        hidden,
        activation,
        width,
        stages,
        blocks,
        input,
        layers,
        user: None,
    }
}

/// The model section, validated: each field only where its kind uses it, positive sizes, and
/// (with `input` given) layers that fit their inputs.
pub fn resolve_model(m: &RawModel, file: &str) -> Result<ModelSpec> {
    let spec = model_from_raw(m);
    let bad = |field: &str, msg: String| Error::config(file, format!("field `{field}`: {msg}"));
    let kind = spec.kind.as_str();
    let refuse = |field: &str, set: bool, uses: &str| {
        if set {
            Err(bad(
                field,
                format!("not a setting of model kind `{kind}` ({uses}); remove it"),
            ))
        } else {
            Ok(())
        }
    };
    let fixed = |k: ModelKind| match k {
        ModelKind::Lenet300 => "its layer widths are fixed: 784-300-100-10",
        ModelKind::Lenet5 => "its layers are fixed: conv 20, conv 50, fc 500, fc 10",
        _ => "",
    };
    if let Some(name) = &m.module {
        return Err(bad(
            "model.module",
            format!(
                "`{name}` names a model built by Rust code (`Experiment::with_model`); a file \
                 cannot give one: describe the model with `kind` or `layers`"
            ),
        ));
    }
    match spec.kind {
        ModelKind::Mlp => {
            refuse(
                "model.layers",
                m.layers.is_some(),
                "give `layers` without `kind`, or `kind: custom`",
            )?;
            refuse(
                "model.width",
                m.width.is_some(),
                "`width` belongs to `vgg` and `resnet`",
            )?;
            refuse(
                "model.stages",
                m.stages.is_some(),
                "`stages` belongs to `vgg` and `resnet`",
            )?;
        }
        ModelKind::Lenet300 | ModelKind::Lenet5 => {
            let why = fixed(spec.kind);
            refuse("model.hidden", m.hidden.is_some(), why)?;
            refuse("model.layers", m.layers.is_some(), why)?;
            refuse("model.width", m.width.is_some(), why)?;
            refuse("model.stages", m.stages.is_some(), why)?;
            refuse(
                "model.input",
                m.input.is_some(),
                "it reads 28×28 single-channel images",
            )?;
            if spec.kind == ModelKind::Lenet5 && m.activation.is_some_and(|a| a != Activation::Relu)
            {
                return Err(bad(
                    "model.activation",
                    "expected `relu` for model kind `lenet5` (its only activation is the ReLU \
                     after fc1)"
                        .into(),
                ));
            }
        }
        ModelKind::Vgg | ModelKind::Resnet => {
            let why = if spec.kind == ModelKind::Vgg {
                "its layers follow from `width` and `stages`"
            } else {
                "its layers follow from `width`, `stages` and `blocks`"
            };
            refuse("model.hidden", m.hidden.is_some(), why)?;
            refuse("model.layers", m.layers.is_some(), why)?;
            refuse(
                "model.activation",
                m.activation.is_some(),
                "its activations are ReLUs",
            )?;
        }
        ModelKind::Custom => {
            let why = "its layers are the `layers` list";
            refuse("model.hidden", m.hidden.is_some(), why)?;
            refuse("model.activation", m.activation.is_some(), why)?;
            refuse("model.width", m.width.is_some(), why)?;
            refuse("model.stages", m.stages.is_some(), why)?;
            if m.layers.as_ref().is_none_or(|l| l.is_empty()) {
                return Err(bad(
                    "model.layers",
                    "expected a list of layers for model kind `custom`".into(),
                ));
            }
        }
    }
    if let Some(i) = spec.hidden.iter().position(|&h| h == 0) {
        return Err(bad(
            &format!("model.hidden[{i}]"),
            "expected a positive layer width, found 0".into(),
        ));
    }
    if m.blocks.is_some() && spec.kind != ModelKind::Resnet {
        return Err(bad(
            "model.blocks",
            format!(
                "not a setting of model kind `{kind}` (`blocks` belongs to `resnet`); remove it"
            ),
        ));
    }
    let sizes = [
        ("model.width", spec.width),
        ("model.stages", spec.stages),
        ("model.blocks", spec.blocks),
    ];
    let used = match spec.kind {
        ModelKind::Vgg => 2,
        ModelKind::Resnet => 3,
        _ => 0,
    };
    if let Some((field, _)) = sizes[..used].iter().find(|(_, v)| *v == 0) {
        return Err(bad(field, "expected at least 1, found 0".into()));
    }
    if let Some(input) = &spec.input {
        shape::resolve(input, &spec.layers, None)
            .map_err(|e| bad(&e.field(), e.message.clone()))?;
    } else if matches!(spec.kind, ModelKind::Vgg | ModelKind::Resnet) {
        return Err(bad(
            "model.input",
            format!(
                "expected the image shape [channels, height, width] for model kind `{kind}` \
                 (e.g. [1, 8, 8] for the built-in digits)"
            ),
        ));
    }
    Ok(spec)
}

impl ModelSpec {
    /// The section as written back to YAML: each kind's own settings only (so that the
    /// configuration hash of a preset is what it was before layer lists existed).
    pub fn to_raw(&self) -> RawModel {
        let preset = |k| self.kind == k;
        RawModel {
            kind: Some(self.kind),
            hidden: preset(ModelKind::Mlp).then(|| self.hidden.clone()),
            activation: (preset(ModelKind::Mlp)
                || preset(ModelKind::Lenet300)
                || preset(ModelKind::Lenet5))
            .then_some(self.activation),
            input: (preset(ModelKind::Mlp)
                || preset(ModelKind::Vgg)
                || preset(ModelKind::Resnet)
                || preset(ModelKind::Custom))
            .then(|| self.input.clone())
            .flatten(),
            layers: (preset(ModelKind::Custom) && self.user.is_none()).then(|| self.layers.clone()),
            width: (preset(ModelKind::Vgg) || preset(ModelKind::Resnet)).then_some(self.width),
            stages: (preset(ModelKind::Vgg) || preset(ModelKind::Resnet)).then_some(self.stages),
            blocks: preset(ModelKind::Resnet).then_some(self.blocks),
            module: self.user.as_ref().map(|u| u.name.clone()),
        }
    }
}
