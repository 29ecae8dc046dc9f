//! `batch_norm`: per-channel (or per-feature) normalisation with a learned scale and shift,
//! batch statistics while training (the running ones updated as PyTorch does: momentum 0.1,
//! unbiased variance) and the running statistics at evaluation. Its entries belong to the
//! unit space it reads: removing a channel removes its scale, shift and statistics.

use super::{Init, Layer, LayerSpec, ParamLayout, Resolved, Shrunk};
use crate::model::graph::forward::{Pass, H};
use crate::model::graph::shape::{Node, ShapeError, Site, Walk};
use crate::model::graph::shrink::Cut;
use crate::model::graph::structure;
use crate::model::ParamKind;
use crate::rng::Rng;
use candle_core::Tensor;
use serde::{Deserialize, Serialize};

/// PyTorch's batch-normalisation constants.
const BN_EPS: f64 = 1e-5;
const BN_MOMENTUM: f64 = 0.1;

/// Batch normalisation over the channels of `[c, h, w]` maps (or the features of a flat
/// input): a learned scale and shift per channel, batch statistics while training and the
/// running statistics (momentum 0.1, ε = 1e-5, as PyTorch) at evaluation.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchNorm {
    /// Default `bn1`, `bn2`, … in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Layer for BatchNorm {
    fn params(&self) -> Option<ParamLayout> {
        Some(ParamLayout {
            prefix: "bn",
            tensors: 4,
            weighted: false,
        })
    }

    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn set_name(&mut self, name: String) {
        self.name = Some(name);
    }

    fn resolve(&self, input: &[usize], _: &Site, _: &mut Walk) -> Result<Resolved, ShapeError> {
        Ok(Resolved {
            spec: LayerSpec::BatchNorm(self.clone()),
            output: input.to_vec(),
            branches: Vec::new(),
        })
    }

    /// Scale 1, shift 0, running mean 0, running variance 1 (PyTorch's); no draws.
    fn init(&self, node: &Node, _: &mut Rng) -> Vec<Init> {
        let c = node.input[0];
        vec![
            ("weight", vec![c], ParamKind::Bias, vec![1.0; c]),
            ("bias", vec![c], ParamKind::Bias, vec![0.0; c]),
            ("running_mean", vec![c], ParamKind::Buffer, vec![0.0; c]),
            ("running_var", vec![c], ParamKind::Buffer, vec![1.0; c]),
        ]
    }

    /// Batch statistics in training mode (and the new running statistics recorded in the
    /// pass), the running ones at evaluation.
    fn forward(&self, node: &Node, pass: &mut Pass, h: H) -> candle_core::Result<H> {
        let p = node.param.as_ref().expect("batch_norm has parameters").1;
        let bn = &pass.params[p..p + 4];
        let c = node.input[0];
        // Channels along dim 0 of (c, h·w·batch) maps, along dim 1 of (batch, c) rows.
        let (v, stat_dim, col, batch) = match &h {
            H::Maps(t) => {
                let batch = t.dim(1)?;
                (t.reshape((c, t.elem_count() / c))?, 1, (c, 1), batch)
            }
            H::Flat(t) => (t.clone(), 0, (1, c), 0),
        };
        let shape = |t: &Tensor| t.reshape(col);
        let (mean, var) = match pass.train.as_mut() {
            Some(train) => {
                let mean = v.mean_keepdim(stat_dim)?;
                let var = v.broadcast_sub(&mean)?.sqr()?.mean_keepdim(stat_dim)?;
                let n = v.dim(stat_dim)? as f64;
                let unbiased = if n > 1.0 { n / (n - 1.0) } else { 1.0 };
                let blend = |old: &Tensor, new: Tensor| -> candle_core::Result<Tensor> {
                    (old * (1.0 - BN_MOMENTUM))? + (new.detach().flatten_all()? * BN_MOMENTUM)?
                };
                train.updates.push((p + 2, blend(&bn[2], mean.clone())?));
                train
                    .updates
                    .push((p + 3, blend(&bn[3], (var.clone() * unbiased)?)?));
                (mean, var)
            }
            None => (shape(&bn[2])?, shape(&bn[3])?),
        };
        let y = v
            .broadcast_sub(&mean)?
            .broadcast_div(&(var + BN_EPS)?.sqrt()?)?
            .broadcast_mul(&shape(&bn[0])?)?
            .broadcast_add(&shape(&bn[1])?)?;
        Ok(match h {
            H::Maps(_) => H::Maps(y.reshape((y.elem_count() / batch, batch))?),
            H::Flat(_) => H::Flat(y),
        })
    }

    fn structure<'a>(&self, node: &'a Node, space: usize, walk: &mut structure::Walk<'a>) -> usize {
        walk.norm(
            space,
            node.param.as_ref().expect("batch_norm has parameters").1,
        );
        space
    }

    fn shrink(&self, node: &Node, cut: &mut Cut, space: usize, shape: Vec<usize>) -> Shrunk {
        cut.norm();
        Shrunk {
            spec: node.spec.clone(),
            branches: Vec::new(),
            space,
            shape,
        }
    }

    fn describe(&self, _: &Node) -> String {
        "bn".into()
    }

    /// Centred, normalised, scaled and shifted copies while training.
    fn footprint(&self, node: &Node) -> (usize, usize) {
        let out: usize = node.output.iter().product();
        (2 * node.input[0], out.saturating_mul(4))
    }
}
