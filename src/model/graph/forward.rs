//! The candle forward pass of a [`super::Graph`]: what candle's autograd trains a graph through
//! when no hand-written engine implements all its layers, and the reference the engines are
//! tested against.
//!
//! Maps are held as `(channels·height·width, batch)`, so every gather moves contiguous runs of
//! `batch` values: a convolution is a gather of its patches (padding reads an extra zero row)
//! and one matrix product (im2col); a pooling is a gather of its windows and a reduction.
//! Flat activations are `(batch, features)`, and a linear layer is `candle_nn::Linear`.

use super::shape::Node;
use candle_core::Tensor;

/// An activation in one of the two layouts.
pub enum H {
    /// `(c·h·w, batch)`.
    Maps(Tensor),
    /// `(batch, features)`.
    Flat(Tensor),
}

impl H {
    /// `f` applied to the tensor, layout kept.
    pub fn map(
        self,
        mut f: impl FnMut(&Tensor) -> candle_core::Result<Tensor>,
    ) -> candle_core::Result<H> {
        Ok(match self {
            H::Maps(t) => H::Maps(f(&t)?),
            H::Flat(t) => H::Flat(f(&t)?),
        })
    }
}

/// Source row of every (entry, window position) of a sliding window over `[c, h, w]` maps:
/// rows ordered channel, window row, window column, then output row and column; a position
/// in the padding reads row `c·h·w` (a row of zeros appended to the maps).
fn window_index(shape: &[usize], k: usize, stride: usize, pad: usize, out: &[usize]) -> Vec<u32> {
    let (c, h, w) = (shape[0], shape[1], shape[2]);
    let (oh, ow) = (out[1], out[2]);
    let zero = (c * h * w) as u32;
    let mut idx = Vec::with_capacity(c * k * k * oh * ow);
    for ci in 0..c {
        for ky in 0..k {
            for kx in 0..k {
                for oy in 0..oh {
                    for ox in 0..ow {
                        let y = (oy * stride + ky) as isize - pad as isize;
                        let x = (ox * stride + kx) as isize - pad as isize;
                        let inside = (0..h as isize).contains(&y) && (0..w as isize).contains(&x);
                        idx.push(if inside {
                            ((ci * h + y as usize) * w + x as usize) as u32
                        } else {
                            zero
                        });
                    }
                }
            }
        }
    }
    idx
}

/// The im2col patch matrix `(c·k·k, oh·ow·batch)` of maps `h` `(c·h·w, batch)`.
pub fn patches(
    h: &Tensor,
    node: &Node,
    k: usize,
    stride: usize,
    pad: usize,
) -> candle_core::Result<Tensor> {
    let batch = h.dim(1)?;
    let c = node.input[0];
    let positions = node.output[1] * node.output[2];
    let idx = window_index(&node.input, k, stride, pad, &node.output);
    let n = idx.len();
    let idx = Tensor::from_vec(idx, n, h.device())?;
    let src = if pad > 0 {
        Tensor::cat(&[h, &h.zeros_like()?.narrow(0, 0, 1)?], 0)?
    } else {
        h.clone()
    };
    src.index_select(&idx, 0)?
        .reshape((c * k * k, positions * batch))
}

/// Pooling windows of maps `h` as `(c·oh·ow, size², batch)`, window entries in the middle.
pub fn windows(h: &Tensor, node: &Node, size: usize, stride: usize) -> candle_core::Result<Tensor> {
    let batch = h.dim(1)?;
    let (c, oh, ow) = (node.output[0], node.output[1], node.output[2]);
    // window_index orders (channel, window entry, output position); regroup per channel to
    // (channel, output position, window entry).
    let idx = window_index(&node.input, size, stride, 0, &node.output);
    let n = idx.len();
    let idx = Tensor::from_vec(idx, n, h.device())?;
    h.index_select(&idx, 0)?
        .reshape((c, size * size, oh * ow, batch))?
        .transpose(1, 2)?
        .contiguous()?
        .reshape((c * oh * ow, size * size, batch))
}

/// The maximum over dimension 1 as a weighted sum whose weights (1/k on the k entries equal to
/// the maximum, held constant) route the gradient to the maximum, split evenly among ties.
/// (candle 0.11's `max_pool2d` backward gives a unique maximum a quarter of it instead.)
pub fn max_routed(w: &Tensor) -> candle_core::Result<Tensor> {
    let max = w.max_keepdim(1)?;
    let at_max = w.broadcast_eq(&max)?.to_dtype(w.dtype())?;
    let weights = at_max.broadcast_div(&at_max.sum_keepdim(1)?)?.detach();
    (w * weights)?.sum(1)
}

/// The output of `node` when its input or output has no values: zeros of the output's layout,
/// or a weighted layer's bias at every position.
fn empty(node: &Node, params: &[Tensor], h: H, n_out: usize) -> candle_core::Result<H> {
    let (t, maps) = match h {
        H::Maps(t) => (t, true),
        H::Flat(t) => (t, false),
    };
    let batch = if maps { t.dim(1)? } else { t.dim(0)? };
    let out_maps = node.output.len() == 3;
    let y = match (&node.param, n_out) {
        (Some((_, p)), n) if n > 0 => {
            let b = &params[p + 1];
            let per_unit = n / b.dim(0)?;
            // (units, positions) → (units·positions, batch) or (batch, units).
            let col = b
                .reshape((b.dim(0)?, 1))?
                .broadcast_as((b.dim(0)?, per_unit))?
                .reshape((n, 1))?;
            let y = col.broadcast_as((n, batch))?.contiguous()?;
            if out_maps {
                y
            } else {
                y.t()?.contiguous()?
            }
        }
        _ if out_maps => Tensor::zeros((n_out, batch), t.dtype(), t.device())?,
        _ => Tensor::zeros((batch, n_out), t.dtype(), t.device())?,
    };
    Ok(if out_maps { H::Maps(y) } else { H::Flat(y) })
}

/// Training-mode state of a forward pass: batch normalisations use and report batch
/// statistics, dropout draws from `noise`.
pub struct Train<'r> {
    /// Dropout's random stream; `None` turns dropout off (gradients taken for scoring).
    pub noise: Option<&'r mut crate::rng::Rng>,
    /// New running statistics, to be written once the step is taken: (parameter index, values).
    pub updates: Vec<(usize, Tensor)>,
}

/// Logits `(batch, classes)` of `nodes` for a batch `x` `(batch, features)` in evaluation mode
/// (running statistics, no dropout); `seen` is shown the input of every layer with weights as
/// the matrix its weight multiplies: `(batch, in)` for a linear layer (`false`), the patch
/// matrix `(c·k·k, positions·batch)` for a convolution (`true`).
pub fn run(
    nodes: &[Node],
    params: &[Tensor],
    x: &Tensor,
    mut seen: impl FnMut(&Tensor, bool) -> candle_core::Result<()>,
) -> candle_core::Result<Tensor> {
    Pass {
        params,
        train: None,
        seen: &mut seen,
    }
    .logits(nodes, x)
}

/// [`run`] in training mode.
pub fn run_train(
    nodes: &[Node],
    params: &[Tensor],
    x: &Tensor,
    train: &mut Train,
) -> candle_core::Result<Tensor> {
    Pass {
        params,
        train: Some(train),
        seen: &mut |_: &Tensor, _| Ok(()),
    }
    .logits(nodes, x)
}

/// One forward pass, as the layers see it ([`super::layers::Layer::forward`]).
pub struct Pass<'a, 't, 'r> {
    /// Every parameter of the graph; a layer's are at its node's `param` index.
    pub params: &'a [Tensor],
    /// Training-mode state; `None` at evaluation.
    pub train: Option<&'t mut Train<'r>>,
    seen: &'a mut dyn FnMut(&Tensor, bool) -> candle_core::Result<()>,
}

impl Pass<'_, '_, '_> {
    fn logits(&mut self, nodes: &[Node], x: &Tensor) -> candle_core::Result<Tensor> {
        let spatial_input = nodes.first().is_some_and(|n| n.input.len() == 3);
        let h = if spatial_input {
            H::Maps(x.t()?.contiguous()?)
        } else {
            H::Flat(x.clone())
        };
        match self.list(nodes, h)? {
            H::Flat(t) => Ok(t),
            H::Maps(t) => t.t()?.contiguous(),
        }
    }

    /// Show the input of a layer with weights as the matrix its weight multiplies: `(batch,
    /// in)` for a linear layer (`patches` false), the patch matrix for a convolution (true).
    pub fn seen(&mut self, m: &Tensor, patches: bool) -> candle_core::Result<()> {
        (self.seen)(m, patches)
    }

    /// Run `nodes` on `h`.
    pub fn list(&mut self, nodes: &[Node], mut h: H) -> candle_core::Result<H> {
        for node in nodes {
            h = self.node(node, h)?;
        }
        Ok(h)
    }

    fn node(&mut self, node: &Node, h: H) -> candle_core::Result<H> {
        // A layer whose units were all cut out by shrinking, or that reads none: zero-sized
        // maps, or the bias alone (what the masked model computes there). A layer with
        // branches (a residual block) that reads nothing still has their biases to add.
        let (n_in, n_out) = (
            node.input.iter().product::<usize>(),
            node.output.iter().product::<usize>(),
        );
        let reads_nothing = n_in == 0 && node.branches.is_empty();
        if n_out == 0 || reads_nothing {
            return empty(node, self.params, h, n_out);
        }
        node.spec.layer().forward(node, self, h)
    }
}
