//! Effective sparsity (Vysogorets & Kempe 2021, "Connectivity Matters: Neural Network Pruning
//! Through the Lens of Effective Sparsity"): a kept weight that cannot affect the output counts
//! as removed.
//!
//! Layer `l`'s weight is read as `[out, in, inner]`, where a unit is a neuron (Linear,
//! `inner = 1`) or a channel (convolution, `inner` = kernel positions; LeNet-5's fc1 reads
//! conv2's channel `c` as the block of `inner = 16` columns `16c..16c+16` of the flatten); its
//! inputs are the units of the space it reads, its outputs those of the space it writes
//! (layers joined by a residual add share one). Two passes over the unit graph (an edge
//! `i → o` exists when any of its `inner` weights is kept):
//!
//! - forward: every network input is *input-connected*; a unit is input-connected when a kept
//!   weight reaches it from an input-connected unit;
//! - backward: every output unit is *output-connected*; a unit is output-connected when a kept
//!   weight leaves it for an output-connected unit.
//!
//! A kept weight is **effective** when its source unit is input-connected and its target unit
//! output-connected. A unit with no remaining inputs still emits the constant act(bias); that
//! constant could be folded into the next layer's biases, so the weights leaving it count as
//! removed, as in the paper. Biases are not weights and do not enter the count.

use super::{LayerInfo, Masks, Params};

/// The effective masks of a pruned model and which network inputs still matter.
#[derive(Debug, Clone, PartialEq)]
pub struct Effective {
    /// The nominal masks with every ineffective kept weight cleared (biases unchanged).
    pub masks: Masks,
    /// Per input unit of the first layer (a feature, or an input channel): whether an effective
    /// weight leaves it.
    pub inputs_used: Vec<bool>,
}

/// `(out, in, inner)` of every prunable layer, read from the weight shapes and the unit spaces
/// the layers read ([`LayerInfo::reads`]): the network's input as the first layer's weight
/// reads it, any other space with the units of a layer that writes it.
fn geometry(params: &Params, layers: &[LayerInfo]) -> Vec<(usize, usize, usize)> {
    let mut g = Vec::with_capacity(layers.len());
    for info in layers {
        let w = &params.0[info.weight];
        let out = info.units;
        let n_in = match layers.iter().find(|o| o.writes == info.reads) {
            Some(writer) if info.reads != 0 => writer.units,
            _ => w.shape.get(1).copied().unwrap_or(1),
        };
        let inner = w.data.len() / (out * n_in).max(1);
        g.push((out, n_in, inner));
    }
    g
}

/// Whether any of the `inner` weights from input `i` to output `o` is kept.
fn edge(m: &[bool], (n_in, inner): (usize, usize), o: usize, i: usize) -> bool {
    let s = (o * n_in + i) * inner;
    m[s..s + inner].iter().any(|k| *k)
}

/// Compute the effective masks of `masks` over `params`' prunable `layers` (input to output; the
/// unit spaces they read and write make a chain, or a graph with residual joins, whose
/// reachability is iterated to its fixed point).
pub fn effective(params: &Params, masks: &Masks, layers: &[LayerInfo]) -> Effective {
    let geo = geometry(params, layers);
    let n_spaces = layers
        .iter()
        .map(|l| l.reads.max(l.writes) + 1)
        .max()
        .unwrap_or(1);
    let mut units = vec![0usize; n_spaces];
    for (l, info) in layers.iter().enumerate() {
        units[info.reads] = geo[l].1;
        units[info.writes] = geo[l].0;
    }
    // Input-connected units of every space: the network's input, then whatever a kept weight
    // reaches from an input-connected unit.
    let mut reach_in: Vec<Vec<bool>> = units.iter().map(|&u| vec![false; u]).collect();
    reach_in[0].fill(true);
    fixed_point(|| {
        let mut changed = false;
        for (l, info) in layers.iter().enumerate() {
            let (out, n_in, inner) = geo[l];
            let m = &masks.0[info.weight];
            for o in 0..out {
                if !reach_in[info.writes][o]
                    && (0..n_in).any(|i| reach_in[info.reads][i] && edge(m, (n_in, inner), o, i))
                {
                    reach_in[info.writes][o] = true;
                    changed = true;
                }
            }
        }
        changed
    });
    // Output-connected units: the network's outputs, then whatever a kept weight leads from
    // to an output-connected unit.
    let mut reach_out: Vec<Vec<bool>> = units.iter().map(|&u| vec![false; u]).collect();
    if let Some(last) = layers.last() {
        reach_out[last.writes].fill(true);
    }
    fixed_point(|| {
        let mut changed = false;
        for (l, info) in layers.iter().enumerate().rev() {
            let (out, n_in, inner) = geo[l];
            let m = &masks.0[info.weight];
            for i in 0..n_in {
                if !reach_out[info.reads][i]
                    && (0..out).any(|o| reach_out[info.writes][o] && edge(m, (n_in, inner), o, i))
                {
                    reach_out[info.reads][i] = true;
                    changed = true;
                }
            }
        }
        changed
    });
    let mut eff = masks.clone();
    for (l, info) in layers.iter().enumerate() {
        let (out, n_in, inner) = geo[l];
        let m = &mut eff.0[info.weight];
        let (src, dst) = (&reach_in[info.reads], &reach_out[info.writes]);
        for (o, &o_alive) in dst.iter().enumerate().take(out) {
            for (i, &i_alive) in src.iter().enumerate().take(n_in) {
                if !(i_alive && o_alive) {
                    let s = (o * n_in + i) * inner;
                    m[s..s + inner].iter_mut().for_each(|k| *k = false);
                }
            }
        }
    }
    let inputs_used = match (layers.first(), geo.first()) {
        (Some(first), Some(&(out, n_in, inner))) => {
            let m = &eff.0[first.weight];
            (0..n_in)
                .map(|i| (0..out).any(|o| edge(m, (n_in, inner), o, i)))
                .collect()
        }
        _ => Vec::new(),
    };
    Effective {
        masks: eff,
        inputs_used,
    }
}

/// Run `pass` until it reports no change (a chain settles in one pass, plus the one that sees
/// nothing change; a residual join may take a few).
fn fixed_point(mut pass: impl FnMut() -> bool) {
    while pass() {}
}

/// Effective sparsity: the fraction of prunable weights that are masked or cannot affect the
/// output. Never below [`Masks::sparsity`].
pub fn effective_sparsity(params: &Params, masks: &Masks, layers: &[LayerInfo]) -> f64 {
    effective(params, masks, layers).masks.sparsity(layers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Activation;
    use crate::model::testing;
    use crate::model::Architecture;
    use crate::rng::Rng;

    fn b(bits: &str) -> Vec<bool> {
        bits.chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c == '1')
            .collect()
    }

    /// MLP 3-2-2-2: hidden unit h1 of fc1 keeps inputs but fc2 reads nothing from it; fc2's
    /// unit g0 has no input-connected inputs once h0 loses its incoming weights.
    #[test]
    fn mlp_dead_units_by_hand() {
        let mlp = testing::mlp(3, &[2, 2], 2, Activation::Relu);
        let p = mlp.init(&mut Rng::new(1));
        let layers = mlp.layers();
        // fc1 [2,3]: h0 has no kept inputs; h1 keeps x0, x2.
        // fc2 [2,2]: g0 reads only h0 (input-dead), g1 reads h0 and h1.
        // fc3 [2,2]: out0 reads g0 and g1, out1 reads g1.
        let masks = Masks(vec![
            b("000 101"),
            b("11"),
            b("10 11"),
            b("11"),
            b("11 01"),
            b("11"),
        ]);
        let e = effective(&p, &masks, &layers);
        // fc1: h1's two weights reach out through g1 → kept. fc2: g0←h0 (h0 input-dead) and
        // g1←h0 removed, g1←h1 kept. fc3: out0←g0 removed (g0 input-dead), the rest kept.
        assert_eq!(e.masks.0[0], b("000 101"));
        assert_eq!(e.masks.0[2], b("00 01"));
        assert_eq!(e.masks.0[4], b("01 01"));
        assert_eq!(e.masks.0[1], b("11"), "biases untouched");
        assert_eq!(e.inputs_used, vec![true, false, true]);
        // nominal: 6 + 4 + 4 = 14 weights, 4 + 1 + 1 = 6 masked; effective: 4 + 3 + 2 = 9.
        assert!((masks.sparsity(&layers) - 6.0 / 14.0).abs() < 1e-12);
        assert!((effective_sparsity(&p, &masks, &layers) - 9.0 / 14.0).abs() < 1e-12);
    }

    #[test]
    fn output_dead_units_cut_their_inputs() {
        let mlp = testing::mlp(2, &[2], 1, Activation::Relu);
        let p = mlp.init(&mut Rng::new(1));
        let layers = mlp.layers();
        // fc2 reads only h0: h1's incoming weights and input x1 (only feeding h1) are dead.
        let masks = Masks(vec![b("10 11"), b("11"), b("10"), b("1")]);
        let e = effective(&p, &masks, &layers);
        assert_eq!(e.masks.0[0], b("10 00"));
        assert_eq!(e.masks.0[2], b("10"));
        assert_eq!(e.inputs_used, vec![true, false]);
        assert!((effective_sparsity(&p, &masks, &layers) - 4.0 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn dense_and_fully_connected_masks_are_unchanged() {
        let mlp = testing::mlp(4, &[3], 2, Activation::Relu);
        let p = mlp.init(&mut Rng::new(1));
        let dense = Masks::dense(&p);
        let e = effective(&p, &dense, &mlp.layers());
        assert_eq!(e.masks, dense);
        assert_eq!(e.inputs_used, vec![true; 4]);
    }

    /// LeNet-5: conv2 channel 3 keeps its filter but fc1 reads none of its 16 flattened
    /// columns, so its 20·25 conv2 weights are dead; conv1 channel 0 loses every filter
    /// weight, so conv2's 50·25 weights reading it are dead.
    #[test]
    fn lenet5_channels_through_the_flatten() {
        let net = testing::lenet5(20, 50, 500, 10);
        let p = net.init(&mut Rng::new(1));
        let layers = net.layers();
        let mut masks = Masks::dense(&p);
        masks.0[0][0..25].iter_mut().for_each(|k| *k = false); // conv1 channel 0: no inputs
        for j in 0..500 {
            let row = &mut masks.0[4][j * 800..(j + 1) * 800];
            row[3 * 16..4 * 16].iter_mut().for_each(|k| *k = false); // fc1 ignores channel 3
        }
        let e = effective(&p, &masks, &layers);
        let nominal = 25 + 500 * 16;
        // conv2 weights reading conv1 channel 0: 50 × 25; of channel 3's filter, the other 19
        // input channels' kernels (the one from channel 0 is already counted).
        let dead = 50 * 25 + 19 * 25;
        let total = 500 + 25_000 + 400_000 + 5_000;
        assert!((masks.sparsity(&layers) - nominal as f64 / total as f64).abs() < 1e-12);
        let got = effective_sparsity(&p, &masks, &layers);
        assert!((got - (nominal + dead) as f64 / total as f64).abs() < 1e-12);
        let conv2 = &e.masks.0[2];
        assert!(conv2[3 * 500..4 * 500].iter().all(|k| !k));
        assert!(conv2[4 * 500 + 25..5 * 500].iter().all(|k| *k));
        assert!(conv2[4 * 500..4 * 500 + 25].iter().all(|k| !k));
        assert_eq!(e.inputs_used, vec![true]);
    }
}
