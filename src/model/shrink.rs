//! Physical shrinking of a structurally pruned MLP: units whose incoming weights and bias are all
//! masked produce activation(0) = 0 and are cut out, giving smaller Linear layers that compute
//! the same function as the masked model.

use super::mlp::Mlp;
use super::{Masks, Param, Params};

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
            continue;
        }
        let (w, b) = (&masks.0[2 * l], &masks.0[2 * l + 1]);
        let row = w.len() / units;
        kept.push(
            (0..units)
                .filter(|&u| b[u] || w[u * row..(u + 1) * row].iter().any(|k| *k))
                .collect(),
        );
    }
    let mut out = Vec::new();
    for l in 0..n_layers {
        let (ins, outs) = (&kept[l], &kept[l + 1]);
        let fan_in = mlp.widths[l];
        let w = &pruned.0[2 * l];
        let b = &pruned.0[2 * l + 1];
        let mut wd = Vec::with_capacity(ins.len() * outs.len());
        for &o in outs {
            for &i in ins {
                wd.push(w.data[o * fan_in + i]);
            }
        }
        out.push(Param {
            name: w.name.clone(),
            shape: vec![outs.len(), ins.len()],
            kind: w.kind,
            data: wd,
        });
        out.push(Param {
            name: b.name.clone(),
            shape: vec![outs.len()],
            kind: b.kind,
            data: outs.iter().map(|&o| b.data[o]).collect(),
        });
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
