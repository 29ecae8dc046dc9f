//! Physical shrinking of a structurally pruned model: units (neurons or conv channels) whose
//! incoming weights and bias are all masked output 0 — activation(0) = 0 for a neuron, a map of
//! zeros (max-pooled to zeros) for a channel — and are cut out, giving smaller Linear and Conv
//! layers that compute the same function as the masked model.

use super::lenet::{LeNet5, K, POOLED};
use super::mlp::Mlp;
use super::{Masks, Param, Params};

/// Units of a layer that survive: those with a kept bias or any kept incoming weight.
fn kept_units(masks: &Masks, weight: usize, bias: usize, units: usize) -> Vec<usize> {
    let (w, b) = (&masks.0[weight], &masks.0[bias]);
    let row = w.len() / units.max(1);
    (0..units)
        .filter(|&u| b[u] || w[u * row..(u + 1) * row].iter().any(|k| *k))
        .collect()
}

/// The sub-tensor of a weight of shape `[out, n_in, inner]` (flattened, row-major) holding the
/// kept outputs `outs` and kept inputs `ins`, each input a block of `inner` values.
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

/// Cut one layer out of `pruned` (weight at `2l`, bias at `2l + 1`): kept outputs, kept input
/// blocks, and the new weight shape.
fn cut(
    pruned: &Params,
    l: usize,
    (n_in, inner): (usize, usize),
    outs: &[usize],
    ins: &[usize],
    shape: Vec<usize>,
) -> [Param; 2] {
    let (w, b) = (&pruned.0[2 * l], &pruned.0[2 * l + 1]);
    [
        Param {
            name: w.name.clone(),
            shape,
            kind: w.kind,
            data: gather(&w.data, n_in, inner, outs, ins),
        },
        Param {
            name: b.name.clone(),
            shape: vec![outs.len()],
            kind: b.kind,
            data: outs.iter().map(|&o| b.data[o]).collect(),
        },
    ]
}

/// The shrunk architecture and its parameters (masked weights that remain are kept as zeros).
pub fn shrink_mlp(mlp: &Mlp, params: &Params, masks: &Masks) -> (Mlp, Params) {
    let pruned = masks.apply(params);
    let n_layers = mlp.widths.len() - 1;
    // Kept units per layer boundary: all inputs and outputs, hidden units not fully removed.
    let mut kept: Vec<Vec<usize>> = vec![(0..mlp.widths[0]).collect()];
    for l in 0..n_layers {
        let units = mlp.widths[l + 1];
        if l + 1 == n_layers {
            kept.push((0..units).collect());
        } else {
            kept.push(kept_units(masks, 2 * l, 2 * l + 1, units));
        }
    }
    let mut out = Vec::new();
    for l in 0..n_layers {
        let (ins, outs) = (&kept[l], &kept[l + 1]);
        let shape = vec![outs.len(), ins.len()];
        out.extend(cut(&pruned, l, (mlp.widths[l], 1), outs, ins, shape));
    }
    let widths = kept.iter().map(|k| k.len()).collect();
    (
        Mlp {
            widths,
            activation: mlp.activation,
        },
        Params(out),
    )
}

/// Shrink a LeNet-5: removed channels of conv1 and conv2 and removed units of fc1 are cut out
/// (conv2's channel `c` takes fc1's 16 input columns `16c..16c+16` with it).
pub fn shrink_lenet5(net: &LeNet5, params: &Params, masks: &Masks) -> (LeNet5, Params) {
    let pruned = masks.apply(params);
    let k1 = kept_units(masks, 0, 1, net.conv1);
    let k2 = kept_units(masks, 2, 3, net.conv2);
    let k3 = kept_units(masks, 4, 5, net.fc1);
    let outs: Vec<usize> = (0..net.classes).collect();
    let (kk, side, spatial) = (K * K, K, POOLED);
    let mut out = Vec::new();
    out.extend(cut(
        &pruned,
        0,
        (1, kk),
        &k1,
        &[0],
        vec![k1.len(), 1, side, side],
    ));
    out.extend(cut(
        &pruned,
        1,
        (net.conv1, kk),
        &k2,
        &k1,
        vec![k2.len(), k1.len(), side, side],
    ));
    out.extend(cut(
        &pruned,
        2,
        (net.conv2, spatial),
        &k3,
        &k2,
        vec![k3.len(), k2.len() * spatial],
    ));
    out.extend(cut(
        &pruned,
        3,
        (net.fc1, 1),
        &outs,
        &k3,
        vec![outs.len(), k3.len()],
    ));
    (
        LeNet5 {
            conv1: k1.len(),
            conv2: k2.len(),
            fc1: k3.len(),
            classes: net.classes,
        },
        Params(out),
    )
}
