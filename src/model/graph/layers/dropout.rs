//! `dropout`: zeroes each value with probability `p` while training (survivors scaled by
//! 1/(1−p)), drawing from the pass's seeded dropout stream; the identity at evaluation and
//! when gradients are taken for scoring.

use super::{Layer, Resolved};
use crate::model::graph::forward::{Pass, H};
use crate::model::graph::shape::{Node, ShapeError, Site, Walk};
use candle_core::Tensor;
use serde::{Deserialize, Serialize};

/// Zeroes each value with probability `p` while training (survivors scaled by 1/(1−p));
/// the identity at evaluation.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Dropout {
    pub p: f64,
}

impl Layer for Dropout {
    fn resolve(&self, input: &[usize], site: &Site, _: &mut Walk) -> Result<Resolved, ShapeError> {
        let p = self.p;
        if !(0.0..1.0).contains(&p) {
            return Err(site.err(format!(
                "`p` is the probability of zeroing a value, in [0, 1), not {p}"
            )));
        }
        Ok(Resolved {
            spec: super::LayerSpec::Dropout(self.clone()),
            output: input.to_vec(),
            branches: Vec::new(),
        })
    }

    fn forward(&self, _: &Node, pass: &mut Pass, h: H) -> candle_core::Result<H> {
        let p = self.p;
        match pass.train.as_mut().and_then(|t| t.noise.as_mut()) {
            Some(rng) if p > 0.0 => h.map(|t| {
                let scale = (1.0 / (1.0 - p)) as f32;
                let keep: Vec<f32> = (0..t.elem_count())
                    .map(|_| if rng.next_f64() < p { 0.0 } else { scale })
                    .collect();
                t * Tensor::from_vec(keep, t.shape(), t.device())?
            }),
            _ => Ok(h),
        }
    }

    fn describe(&self, _: &Node) -> String {
        format!("dropout{}", self.p)
    }

    /// The mask is kept for the backward pass.
    fn footprint(&self, node: &Node) -> (usize, usize) {
        (0, node.output.iter().product())
    }
}
