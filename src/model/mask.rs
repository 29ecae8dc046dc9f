//! Keep-masks over a model's parameters and the counts reported for a pruned model.

use super::{LayerInfo, Params};

/// One boolean per parameter scalar, `true` = kept. Same layout as [`Params`].
#[derive(Debug, Clone, PartialEq)]
pub struct Masks(pub Vec<Vec<bool>>);

impl Masks {
    /// Keep everything.
    pub fn dense(params: &Params) -> Self {
        Masks(params.0.iter().map(|p| vec![true; p.data.len()]).collect())
    }

    /// A copy of `params` with masked entries set to exactly 0.0.
    pub fn apply(&self, params: &Params) -> Params {
        let mut out = params.clone();
        for (p, m) in out.0.iter_mut().zip(&self.0) {
            for (v, &k) in p.data.iter_mut().zip(m) {
                if !k {
                    *v = 0.0;
                }
            }
        }
        out
    }

    /// Element-wise AND.
    #[cfg(test)]
    pub fn and(&self, other: &Masks) -> Masks {
        Masks(
            self.0
                .iter()
                .zip(&other.0)
                .map(|(a, b)| a.iter().zip(b).map(|(x, y)| *x && *y).collect())
                .collect(),
        )
    }

    /// Fraction of the prunable weights (all layers' weight tensors) that are masked.
    pub fn sparsity(&self, layers: &[LayerInfo]) -> f64 {
        let (mut total, mut pruned) = (0usize, 0usize);
        for l in layers {
            let m = &self.0[l.weight];
            total += m.len();
            pruned += m.iter().filter(|k| !**k).count();
        }
        if total == 0 {
            0.0
        } else {
            pruned as f64 / total as f64
        }
    }

    /// Fraction masked within one layer's weight.
    pub fn layer_sparsity(&self, layer: &LayerInfo) -> f64 {
        let m = &self.0[layer.weight];
        m.iter().filter(|k| !**k).count() as f64 / m.len().max(1) as f64
    }

    /// Parameters left: kept weights plus kept biases (a removed unit's bias is masked);
    /// buffers (running statistics) are not parameters ([`Params::count`]).
    pub fn params_left(&self, params: &Params) -> usize {
        self.0
            .iter()
            .zip(&params.0)
            .filter(|(_, p)| p.kind != super::ParamKind::Buffer)
            .map(|(m, _)| m.iter().filter(|k| **k).count())
            .sum()
    }

    /// Multiply-adds of one forward pass for one sample, skipping masked weights.
    pub fn flops_left(&self, layers: &[LayerInfo]) -> usize {
        layers
            .iter()
            .map(|l| self.0[l.weight].iter().filter(|k| **k).count() * l.macs_per_weight)
            .sum()
    }

    /// Units (neurons/channels) whose whole weight row and bias are masked, excluding outputs;
    /// a unit shared by layers joined by a residual add counts once, when masked in all of them.
    pub fn neurons_removed(&self, layers: &[LayerInfo]) -> usize {
        layers
            .iter()
            .filter(|l| !l.is_output && l.unit_leader.is_none())
            .map(|l| {
                (0..l.units)
                    .filter(|&u| {
                        l.producers().all(|(w, b)| {
                            let w = &self.0[w];
                            let row = w.len() / l.units;
                            !self.0[b][u] && w[u * row..(u + 1) * row].iter().all(|k| !*k)
                        })
                    })
                    .count()
            })
            .sum()
    }
}
