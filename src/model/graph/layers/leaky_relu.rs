//! `leaky_relu`: `max(x, slope·x)` with `0 ≤ slope < 1` (PyTorch's default slope 0.01). It maps
//! 0 to 0, so a removed unit stays zero through it, as shrinking needs of every layer without
//! parameters; it keeps shape and unit space.

use super::{Layer, LayerSpec, Resolved};
use crate::model::graph::forward::{Pass, H};
use crate::model::graph::shape::{Node, ShapeError, Site, Walk};
use serde::{Deserialize, Serialize};

/// `max(x, slope·x)`: the identity for positive inputs, `slope·x` for negative ones.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LeakyRelu {
    /// The slope for negative inputs, in [0, 1) (default 0.01).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slope: Option<f64>,
}

impl LeakyRelu {
    fn slope(&self) -> f64 {
        self.slope.unwrap_or(0.01)
    }
}

impl Layer for LeakyRelu {
    fn resolve(&self, input: &[usize], site: &Site, _: &mut Walk) -> Result<Resolved, ShapeError> {
        let slope = self.slope();
        if !(0.0..1.0).contains(&slope) {
            return Err(site.err(format!("`slope` must be in [0, 1), not {slope}")));
        }
        Ok(Resolved {
            spec: LayerSpec::LeakyRelu(LeakyRelu { slope: Some(slope) }),
            output: input.to_vec(),
            branches: Vec::new(),
        })
    }

    fn forward(&self, _: &Node, _: &mut Pass, h: H) -> candle_core::Result<H> {
        let slope = self.slope();
        h.map(|t| t.maximum(&(t * slope)?))
    }

    fn describe(&self, _: &Node) -> String {
        format!("leaky{}", self.slope())
    }
}
