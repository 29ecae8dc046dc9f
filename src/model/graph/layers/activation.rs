//! `relu`, `tanh` and `gelu`: elementwise activations. Each maps 0 to 0, so a removed unit
//! stays zero through them; they keep shape and unit space, and hold no parameters.

use super::{Layer, Resolved};
use crate::model::graph::forward::{Pass, H};
use crate::model::graph::shape::{Node, ShapeError, Site, Walk};
use candle_core::Tensor;
use serde::{Deserialize, Serialize};

/// `max(x, 0)`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Relu {}

/// `tanh(x)`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tanh {}

/// GELU, tanh approximation.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Gelu {}

/// One [`Layer`] impl per activation: its name and function.
macro_rules! activation {
    ($ty:ident, $name:literal, $f:expr) => {
        impl Layer for $ty {
            fn resolve(
                &self,
                input: &[usize],
                _: &Site,
                _: &mut Walk,
            ) -> Result<Resolved, ShapeError> {
                Ok(Resolved {
                    spec: super::LayerSpec::$ty($ty {}),
                    output: input.to_vec(),
                    branches: Vec::new(),
                })
            }

            fn forward(&self, _: &Node, _: &mut Pass, h: H) -> candle_core::Result<H> {
                let f: fn(&Tensor) -> candle_core::Result<Tensor> = $f;
                h.map(f)
            }

            fn describe(&self, _: &Node) -> String {
                $name.into()
            }
        }
    };
}

activation!(Relu, "relu", |t| t.relu());
activation!(Tanh, "tanh", |t| t.tanh());
activation!(Gelu, "gelu", |t| t.gelu());
