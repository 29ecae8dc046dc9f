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
#[derive(Debug, Clone, PartialEq, Eq)]
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
}

/// A layer with the shapes it reads and writes (per sample: `[features]` or `[c, h, w]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub op: Op,
    pub input: Vec<usize>,
    pub output: Vec<usize>,
    /// For a layer with weights: its name and the index of its weight in the parameters (the
    /// bias follows it).
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

/// Why a layer list does not fit its input: `index` is the layer's position in `model.layers`
/// (`None`: the model as a whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError {
    pub index: Option<usize>,
    pub message: String,
}

impl ShapeError {
    /// The config field the error is about.
    pub fn field(&self) -> String {
        match self.index {
            Some(i) => format!("model.layers[{i}]"),
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
    let whole = |message: String| ShapeError {
        index: None,
        message,
    };
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
    if names.is_empty() {
        return Err(whole(
            "the model has no layer with weights (add a `linear` or `conv2d` layer)".into(),
        ));
    }
    let last_linear = layers
        .iter()
        .rposition(|l| matches!(l, LayerSpec::Linear { .. }));
    let mut shape = input.to_vec();
    let mut nodes = Vec::with_capacity(layers.len());
    let mut names = names.into_iter();
    let mut n_params = 0;
    for (i, spec) in layers.iter().enumerate() {
        let kind = spec.kind();
        let err = |what: String| ShapeError {
            index: Some(i),
            message: format!("layer {i} ({kind}) {what}"),
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
                        fmt_shape(&shape)
                    )));
                };
                let out = match (out, Some(i) == last_linear, classes) {
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
                    &shape,
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
                        fmt_shape(&shape)
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
                let (c, h, w) = spatial(&shape, "; pooling must come before the flatten")?;
                let stride = stride.unwrap_or(*size);
                at_least_1("size", *size)?;
                at_least_1("stride", stride)?;
                let (Some(oh), Some(ow)) = (slide(h, *size, stride, 0), slide(w, *size, stride, 0))
                else {
                    return Err(err(format!(
                        "with size {size} needs maps of at least {size}×{size}, but gets {}",
                        fmt_shape(&shape)
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
                let (c, h, w) = spatial(&shape, " (it is already flat)")?;
                (Op::Flatten, vec![c * h * w])
            }
            LayerSpec::Relu => (Op::Act(Act::Relu), shape.clone()),
            LayerSpec::Tanh => (Op::Act(Act::Tanh), shape.clone()),
            LayerSpec::Gelu => (Op::Act(Act::Gelu), shape.clone()),
        };
        let param = matches!(op, Op::Linear { .. } | Op::Conv2d { .. }).then(|| {
            let p = (names.next().expect("one name per weighted layer"), n_params);
            n_params += 2;
            p
        });
        nodes.push(Node {
            op,
            input: std::mem::replace(&mut shape, output.clone()),
            output,
            param,
        });
    }
    if let Some(c) = classes {
        if shape != [c] {
            return Err(ShapeError {
                index: Some(layers.len() - 1),
                message: format!(
                    "the model's output must be one logit per class, {}, but the last layer \
                     (layer {}, {}) gives {}",
                    fmt_shape(&[c]),
                    layers.len() - 1,
                    layers[layers.len() - 1].kind(),
                    fmt_shape(&shape)
                ),
            });
        }
    }
    Ok(nodes)
}
