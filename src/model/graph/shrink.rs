//! Physical shrinking of a structurally pruned graph: units (neurons or channels) whose incoming
//! weights and bias are all masked output 0 — every activation here maps 0 to 0, pooling a map
//! of zeros gives zeros, and padding reads zeros — so they are cut out, with the inputs of the
//! next layer with weights that read them (a channel's block of `h·w` columns after a
//! `flatten`). The result is a smaller graph, with smaller tensors, computing the same function
//! as the masked model.

use super::shape::{Node, Op};
use super::Graph;
use crate::model::{Masks, Param, Params};

/// Units of a layer that survive: those with a kept bias or any kept incoming weight.
pub fn kept_units(masks: &Masks, weight: usize, units: usize) -> Vec<usize> {
    let (w, b) = (&masks.0[weight], &masks.0[weight + 1]);
    let row = w.len() / units.max(1);
    (0..units)
        .filter(|&u| b[u] || w[u * row..(u + 1) * row].iter().any(|k| *k))
        .collect()
}

/// The sub-tensor of a weight `[out, n_in, inner]` (row-major) holding outputs `outs` and input
/// blocks `ins`.
fn gather(w: &[f32], n_in: usize, inner: usize, outs: &[usize], ins: &[usize]) -> Vec<f32> {
    let mut v = Vec::with_capacity(outs.len() * ins.len() * inner);
    for &o in outs {
        for &i in ins {
            let start = (o * n_in + i) * inner;
            v.extend_from_slice(&w[start..start + inner]);
        }
    }
    v
}

/// The shrunk graph and its parameters (masked weights that remain are kept as zeros).
pub fn shrink(g: &Graph, params: &Params, masks: &Masks) -> (Graph, Params) {
    let pruned = masks.apply(params);
    let n_weighted = g.nodes.iter().filter(|n| n.param.is_some()).count();
    // Kept units feeding the current layer: every input channel or feature at the start.
    let mut ins: Vec<usize> = (0..g.input[0]).collect();
    let mut n_in = g.input[0];
    let mut seen = 0;
    let mut nodes = Vec::with_capacity(g.nodes.len());
    let mut out = Vec::new();
    // The current per-sample shape, with kept channels or features.
    let mut shape = g.input.clone();
    shape[0] = ins.len();
    for n in &g.nodes {
        let input = shape.clone();
        let op = match n.op {
            Op::Linear { out: units, .. } | Op::Conv2d { cout: units, .. } => {
                let p = n.param.as_ref().expect("weighted").1;
                seen += 1;
                let outs: Vec<usize> = if seen == n_weighted {
                    (0..units).collect()
                } else {
                    kept_units(masks, p, units)
                };
                let (w, b) = (&pruned.0[p], &pruned.0[p + 1]);
                let inner = w.data.len() / (units * n_in).max(1);
                let mut wshape = w.shape.clone();
                wshape[0] = outs.len();
                wshape[1] = ins.len() * (w.shape[1] / n_in.max(1));
                out.push(Param {
                    name: w.name.clone(),
                    shape: wshape,
                    kind: w.kind,
                    data: gather(&w.data, n_in, inner, &outs, &ins),
                });
                out.push(Param {
                    name: b.name.clone(),
                    shape: vec![outs.len()],
                    kind: b.kind,
                    data: outs.iter().map(|&o| b.data[o]).collect(),
                });
                shape = n.output.clone();
                shape[0] = outs.len();
                n_in = units;
                let op = match n.op {
                    Op::Linear { .. } => Op::Linear {
                        inputs: input[0],
                        out: outs.len(),
                    },
                    Op::Conv2d { k, stride, pad, .. } => Op::Conv2d {
                        cin: input[0],
                        cout: outs.len(),
                        k,
                        stride,
                        pad,
                    },
                    _ => unreachable!("matched a weighted layer"),
                };
                ins = outs;
                op
            }
            Op::Flatten => {
                shape = vec![shape.iter().product()];
                Op::Flatten
            }
            ref pool @ (Op::MaxPool { .. } | Op::AvgPool { .. }) => {
                shape = n.output.clone();
                shape[0] = input[0];
                pool.clone()
            }
            ref a @ Op::Act(_) => a.clone(),
        };
        nodes.push(Node {
            op,
            input,
            output: shape.clone(),
            param: n.param.clone(),
        });
    }
    (Graph::from_nodes(g.input.clone(), nodes), Params(out))
}
