//! Shape inference: walks a layer list from the input shape, checks that every layer can read
//! what the one before it produces, and resolves the list into [`Node`]s with their input and
//! output shapes and parameter positions. Every refusal names the layer's index and kind and
//! both shapes involved.

use super::layers::{LayerSpec, Resolved};
use super::spec::layer_names;

/// A layer with the shapes it reads and writes (per sample: `[features]` or `[c, h, w]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The layer's settings, every default filled in (a residual's lists left empty: its
    /// resolved branches are `branches`).
    pub spec: LayerSpec,
    pub input: Vec<usize>,
    pub output: Vec<usize>,
    /// For a layer with parameters: its name and the index of its first parameter (a weight,
    /// with its bias next; a batch normalisation's scale, with shift, running mean and running
    /// variance next).
    pub param: Option<(String, usize)>,
    /// Resolved nested layer lists: a residual's body and shortcut.
    pub branches: Vec<Vec<Node>>,
}

impl Node {
    /// Output units of a layer with weights (neurons or channels).
    pub fn units(&self) -> Option<usize> {
        let weighted = self.spec.layer().params().is_some_and(|p| p.weighted);
        weighted.then(|| self.output[0])
    }
}

/// Why a layer list does not fit its input: `at` is the layer's place under `model.layers`
/// (`[3]`, or `[3].body[1]` inside a residual; `None`: the model as a whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError {
    pub at: Option<String>,
    pub message: String,
}

impl ShapeError {
    /// The config field the error is about.
    pub fn field(&self) -> String {
        match &self.at {
            Some(at) => format!("model.layers{at}"),
            None => "model".into(),
        }
    }
}

/// `[a, b, c]` as written in YAML.
pub fn fmt_shape(s: &[usize]) -> String {
    let v: Vec<String> = s.iter().map(|x| x.to_string()).collect();
    format!("[{}]", v.join(", "))
}

/// Output side of a window of `k` sliding by `stride` over `side + 2·pad`, if it fits.
pub fn slide(side: usize, k: usize, stride: usize, pad: usize) -> Option<usize> {
    let padded = side.checked_add(pad.checked_mul(2)?)?;
    (padded >= k).then(|| (padded - k) / stride + 1)
}

/// Resolve `layers` read from inputs of shape `input`. `classes`: the data's class count, when
/// known (the output must then be `[classes]`, and a linear layer without `out` gets it);
/// without it (a config checked before its data is loaded) an omitted `out` stands for one unit.
pub fn resolve(
    input: &[usize],
    layers: &[LayerSpec],
    classes: Option<usize>,
) -> Result<Vec<Node>, ShapeError> {
    let whole = |message: String| ShapeError { at: None, message };
    if !(input.len() == 1 || input.len() == 3) || input.contains(&0) {
        return Err(whole(format!(
            "model.input must be [features] or [channels, height, width] with every size at \
             least 1, not {}",
            fmt_shape(input)
        )));
    }
    let names = layer_names(layers);
    for (i, n) in names.iter().enumerate() {
        if names[..i].contains(n) {
            return Err(whole(format!(
                "two layers are named `{n}`; names must be unique"
            )));
        }
    }
    if super::spec::weight_layer_names(layers).is_empty() {
        return Err(whole(
            "the model has no layer with weights (add a `linear` or `conv2d` layer)".into(),
        ));
    }
    let last_linear = layers
        .iter()
        .rposition(|l| matches!(l, LayerSpec::Linear(_)));
    let mut walk = Walk {
        names: names.into_iter(),
        n_params: 0,
        last_linear,
        classes,
    };
    let (nodes, shape) = walk.list(input.to_vec(), layers, "")?;
    if let Some(c) = classes {
        if shape != [c] {
            let i = layers.len() - 1;
            return Err(ShapeError {
                at: Some(format!("[{i}]")),
                message: format!(
                    "the model's output must be one logit per class, {}, but the last layer \
                     (layer {i}, {}) gives {}",
                    fmt_shape(&[c]),
                    layers[i].kind(),
                    fmt_shape(&shape)
                ),
            });
        }
    }
    Ok(nodes)
}

/// The state of one resolution: names and parameter positions handed out in order.
pub struct Walk {
    names: std::vec::IntoIter<String>,
    n_params: usize,
    /// Index of the last top-level linear layer (it may leave `out` to the class count).
    last_linear: Option<usize>,
    /// The data's class count, when known.
    pub classes: Option<usize>,
}

/// Where a layer sits, for its errors: `at` under `model.layers` (`[3]`, `[3].body[1]`).
pub struct Site {
    pub at: String,
    label: String,
    kind: &'static str,
    /// Whether it is the last top-level linear layer (which may leave `out` to the classes).
    pub last_linear: bool,
}

impl Site {
    /// An error about this layer: "layer 3 (conv2d) {what}".
    pub fn err(&self, what: String) -> ShapeError {
        ShapeError {
            at: Some(self.at.clone()),
            message: format!("{} ({}) {what}", self.label, self.kind),
        }
    }

    /// Refuse a zero `field`.
    pub fn at_least_1(&self, field: &str, v: usize) -> Result<(), ShapeError> {
        if v == 0 {
            Err(self.err(format!("`{field}` must be at least 1, got 0")))
        } else {
            Ok(())
        }
    }

    /// `shape` as (channels, height, width), or an error ending in `hint`.
    pub fn spatial(
        &self,
        shape: &[usize],
        hint: &str,
    ) -> Result<(usize, usize, usize), ShapeError> {
        match *shape {
            [c, h, w] => Ok((c, h, w)),
            _ => Err(self.err(format!(
                "needs a [channels, height, width] input but gets {}{hint}",
                fmt_shape(shape)
            ))),
        }
    }
}

impl Walk {
    /// Resolve `layers` (at `prefix` under `model.layers`: empty at the top, `[3].body` in a
    /// residual) read from `shape`: the nodes and the shape they give.
    pub fn list(
        &mut self,
        mut shape: Vec<usize>,
        layers: &[LayerSpec],
        prefix: &str,
    ) -> Result<(Vec<Node>, Vec<usize>), ShapeError> {
        let mut nodes = Vec::with_capacity(layers.len());
        for (i, spec) in layers.iter().enumerate() {
            let node = self.layer(&shape, spec, i, prefix)?;
            shape = node.output.clone();
            nodes.push(node);
        }
        Ok((nodes, shape))
    }

    /// Resolve layer `i` of the list at `prefix`, read from `shape`.
    fn layer(
        &mut self,
        shape: &[usize],
        spec: &LayerSpec,
        i: usize,
        prefix: &str,
    ) -> Result<Node, ShapeError> {
        let at = format!("{prefix}[{i}]");
        let label = if prefix.is_empty() {
            format!("layer {i}")
        } else {
            format!("layer {}", &at[1..].replacen(']', "", 1))
        };
        let site = Site {
            at,
            label,
            kind: spec.kind(),
            last_linear: prefix.is_empty() && Some(i) == self.last_linear,
        };
        let layer = spec.layer();
        let Resolved {
            spec,
            output,
            branches,
        } = layer.resolve(shape, &site, self)?;
        let param = layer.params().map(|p| {
            let at = (
                self.names
                    .next()
                    .expect("one name per layer with parameters"),
                self.n_params,
            );
            self.n_params += p.tensors;
            at
        });
        Ok(Node {
            spec,
            input: shape.to_vec(),
            output,
            param,
            branches,
        })
    }
}
