//! `flatten`: `[c, h, w]` maps to `[c·h·w]` features, channel-major, so channel `c` becomes
//! the block of `h·w` features from `c·h·w`; it keeps the unit space (a channel removed before
//! it removes its block of the next linear layer's inputs).

use super::{Layer, Resolved, Shrunk};
use crate::model::graph::forward::{Pass, H};
use crate::model::graph::shape::{Node, ShapeError, Site, Walk};
use crate::model::graph::shrink::Cut;
use serde::{Deserialize, Serialize};

/// `[c, h, w]` → `[c·h·w]`, channel-major.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Flatten {}

impl Layer for Flatten {
    fn resolve(&self, input: &[usize], site: &Site, _: &mut Walk) -> Result<Resolved, ShapeError> {
        let (c, h, w) = site.spatial(input, " (it is already flat)")?;
        Ok(Resolved {
            spec: super::LayerSpec::Flatten(Flatten {}),
            output: vec![c * h * w],
            branches: Vec::new(),
        })
    }

    fn forward(&self, _: &Node, _: &mut Pass, h: H) -> candle_core::Result<H> {
        let H::Maps(t) = h else {
            candle_core::bail!("a flatten got flat rows")
        };
        Ok(H::Flat(t.t()?.contiguous()?))
    }

    fn shrink(&self, node: &Node, _: &mut Cut, space: usize, shape: Vec<usize>) -> Shrunk {
        Shrunk {
            spec: node.spec.clone(),
            branches: Vec::new(),
            space,
            shape: vec![shape.iter().product()],
        }
    }

    fn describe(&self, _: &Node) -> String {
        "flatten".into()
    }
}
