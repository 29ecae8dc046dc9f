//! Shape inference: walks a layer list from the input shape, checks that every layer can read
//! what the one before it produces, and resolves the list into [`Node`]s with their input and
//! output shapes and parameter positions. Every refusal names the layer's index and kind and
//! both shapes involved.

use super::spec::{layer_names, LayerSpec};

/// An elementwise activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    Relu,
    Tanh,
    Gelu,
}

impl Act {
    pub fn as_str(self) -> &'static str {
        match self {
            Act::Relu => "relu",
            Act::Tanh => "tanh",
            Act::Gelu => "gelu",
        }
    }
}

/// A resolved layer.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Linear {
        inputs: usize,
        out: usize,
    },
    Conv2d {
        cin: usize,
        cout: usize,
        k: usize,
        stride: usize,
        pad: usize,
    },
    MaxPool {
        size: usize,
        stride: usize,
    },
    AvgPool {
        size: usize,
        stride: usize,
    },
    Flatten,
    Act(Act),
    /// Per-channel (or per-feature) normalisation; its parameters are scale, shift, running
    /// mean, running variance.
    BatchNorm {
        channels: usize,
    },
    Dropout {
        p: f64,
    },
    /// `body(x) + shortcut(x)`; an empty shortcut is the identity.
    Residual {
        body: Vec<Node>,
        shortcut: Vec<Node>,
    },
}

/// A layer with the shapes it reads and writes (per sample: `[features]` or `[c, h, w]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub op: Op,
    pub input: Vec<usize>,
    pub output: Vec<usize>,
    /// For a layer with parameters: its name and the index of its first parameter (a weight,
    /// with its bias next; a batch normalisation's scale, with shift, running mean and running
    /// variance next).
    pub param: Option<(String, usize)>,
}

impl Node {
    /// Output units of a layer with weights (neurons or channels).
    pub fn units(&self) -> Option<usize> {
        match self.op {
            Op::Linear { out, .. } => Some(out),
            Op::Conv2d { cout, .. } => Some(cout),
            _ => None,
        }
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

/// Parameter layout of a layer: how many tensors it holds.
pub fn param_tensors(op: &Op) -> usize {
    match op {
        Op::Linear { .. } | Op::Conv2d { .. } => 2,
        Op::BatchNorm { .. } => 4,
        _ => 0,
    }
}

/// `[a, b, c]` as written in YAML.
pub fn fmt_shape(s: &[usize]) -> String {
    let v: Vec<String> = s.iter().map(|x| x.to_string()).collect();
    format!("[{}]", v.join(", "))
}

/// Output side of a window of `k` sliding by `stride` over `side + 2·pad`, if it fits.
fn slide(side: usize, k: usize, stride: usize, pad: usize) -> Option<usize> {
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
        .rposition(|l| matches!(l, LayerSpec::Linear { .. }));
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
struct Walk {
    names: std::vec::IntoIter<String>,
    n_params: usize,
    /// Index of the last top-level linear layer (it may leave `out` to the class count).
    last_linear: Option<usize>,
    classes: Option<usize>,
}

impl Walk {
    /// Resolve `layers` (at `prefix` under `model.layers`: empty at the top, `[3].body` in a
    /// residual) read from `shape`: the nodes and the shape they give.
    fn list(
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
        let kind = spec.kind();
        let at = format!("{prefix}[{i}]");
        let label = if prefix.is_empty() {
            format!("layer {i}")
        } else {
            format!("layer {}", &at[1..].replacen(']', "", 1))
        };
        let err = |what: String| ShapeError {
            at: Some(at.clone()),
            message: format!("{label} ({kind}) {what}"),
        };
        let at_least_1 = |field: &str, v: usize| {
            if v == 0 {
                Err(err(format!("`{field}` must be at least 1, got 0")))
            } else {
                Ok(())
            }
        };
        let spatial = |shape: &[usize], hint: &str| -> Result<(usize, usize, usize), ShapeError> {
            match *shape {
                [c, h, w] => Ok((c, h, w)),
                _ => Err(err(format!(
                    "needs a [channels, height, width] input but gets {}{hint}",
                    fmt_shape(shape)
                ))),
            }
        };
        let (op, output) = match spec {
            LayerSpec::Linear { out, .. } => {
                let [inputs] = shape[..] else {
                    return Err(err(format!(
                        "needs a flat input but gets {}; add a `flatten` layer before it",
                        fmt_shape(shape)
                    )));
                };
                let last = prefix.is_empty() && Some(i) == self.last_linear;
                let out = match (out, last, self.classes) {
                    (Some(o), _, _) => *o,
                    (None, true, Some(c)) => c,
                    (None, true, None) => 1,
                    (None, false, _) => {
                        return Err(err(
                            "needs `out` (only the last linear layer may leave it out: it \
                             then has one unit per class)"
                                .into(),
                        ))
                    }
                };
                at_least_1("out", out)?;
                (Op::Linear { inputs, out }, vec![out])
            }
            LayerSpec::Conv2d {
                out,
                kernel,
                stride,
                padding,
                ..
            } => {
                let (c, h, w) = spatial(
                    shape,
                    "; give model.input as [channels, height, width], or put the convolutions \
                     before the flatten",
                )?;
                let (stride, pad) = (stride.unwrap_or(1), padding.unwrap_or(0));
                at_least_1("out", *out)?;
                at_least_1("kernel", *kernel)?;
                at_least_1("stride", stride)?;
                let (Some(oh), Some(ow)) = (
                    slide(h, *kernel, stride, pad),
                    slide(w, *kernel, stride, pad),
                ) else {
                    return Err(err(format!(
                        "with kernel {kernel} and padding {pad} needs maps of at least \
                         {kernel}×{kernel} after padding, but gets {}",
                        fmt_shape(shape)
                    )));
                };
                (
                    Op::Conv2d {
                        cin: c,
                        cout: *out,
                        k: *kernel,
                        stride,
                        pad,
                    },
                    vec![*out, oh, ow],
                )
            }
            LayerSpec::MaxPool { size, stride } | LayerSpec::AvgPool { size, stride } => {
                let (c, h, w) = spatial(shape, "; pooling must come before the flatten")?;
                let stride = stride.unwrap_or(*size);
                at_least_1("size", *size)?;
                at_least_1("stride", stride)?;
                let (Some(oh), Some(ow)) = (slide(h, *size, stride, 0), slide(w, *size, stride, 0))
                else {
                    return Err(err(format!(
                        "with size {size} needs maps of at least {size}×{size}, but gets {}",
                        fmt_shape(shape)
                    )));
                };
                let op = if matches!(spec, LayerSpec::MaxPool { .. }) {
                    Op::MaxPool {
                        size: *size,
                        stride,
                    }
                } else {
                    Op::AvgPool {
                        size: *size,
                        stride,
                    }
                };
                (op, vec![c, oh, ow])
            }
            LayerSpec::Flatten => {
                let (c, h, w) = spatial(shape, " (it is already flat)")?;
                (Op::Flatten, vec![c * h * w])
            }
            LayerSpec::Relu => (Op::Act(Act::Relu), shape.to_vec()),
            LayerSpec::Tanh => (Op::Act(Act::Tanh), shape.to_vec()),
            LayerSpec::Gelu => (Op::Act(Act::Gelu), shape.to_vec()),
            LayerSpec::BatchNorm { .. } => (Op::BatchNorm { channels: shape[0] }, shape.to_vec()),
            &LayerSpec::Dropout { p } => {
                if !(0.0..1.0).contains(&p) {
                    return Err(err(format!(
                        "`p` is the probability of zeroing a value, in [0, 1), not {p}"
                    )));
                }
                (Op::Dropout { p }, shape.to_vec())
            }
            LayerSpec::Residual { body, shortcut } => {
                if body.is_empty() {
                    return Err(err(
                        "needs a `body` of at least one layer (the shortcut alone is the \
                         identity)"
                            .into(),
                    ));
                }
                let (body, b) = self.list(shape.to_vec(), body, &format!("{at}.body"))?;
                let (shortcut, s) =
                    self.list(shape.to_vec(), shortcut, &format!("{at}.shortcut"))?;
                if b != s {
                    let what = if shortcut.is_empty() {
                        "the identity shortcut gives its input".to_string()
                    } else {
                        "its shortcut gives".to_string()
                    };
                    return Err(err(format!(
                        "adds branches of different shapes: its body gives {} but {what} {}; \
                         the body must keep the shape, or the shortcut must change it the same \
                         way (e.g. a 1×1 `conv2d` with the body's stride and channels)",
                        fmt_shape(&b),
                        fmt_shape(&s)
                    )));
                }
                (Op::Residual { body, shortcut }, b)
            }
        };
        let tensors = param_tensors(&op);
        let param = (tensors > 0).then(|| {
            let p = (
                self.names
                    .next()
                    .expect("one name per layer with parameters"),
                self.n_params,
            );
            self.n_params += tensors;
            p
        });
        Ok(Node {
            op,
            input: shape.to_vec(),
            output,
            param,
        })
    }
}
