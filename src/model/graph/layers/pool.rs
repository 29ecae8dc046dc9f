//! `max_pool` and `avg_pool`: pooling over `size × size` windows of `[c, h, w]` maps (no
//! padding), as a gather of the windows and a reduction. They keep the channels, so a channel
//! removed before a pooling is removed after it.

use super::{Layer, LayerSpec, Resolved, Shrunk};
use crate::model::graph::forward::{max_routed, windows, Pass, H};
use crate::model::graph::shape::{fmt_shape, slide, Node, ShapeError, Site, Walk};
use crate::model::graph::shrink::Cut;
use candle_core::Tensor;
use serde::{Deserialize, Serialize};

/// Max-pooling over `size × size` windows (stride defaults to `size`; no padding).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MaxPool {
    pub size: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stride: Option<usize>,
}

/// Average-pooling over `size × size` windows (stride defaults to `size`; no padding).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AvgPool {
    pub size: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stride: Option<usize>,
}

/// The shape rule both poolings share: `(size, stride)` filled in and the output shape.
fn resolve(
    size: usize,
    stride: Option<usize>,
    input: &[usize],
    site: &Site,
) -> Result<(usize, usize, Vec<usize>), ShapeError> {
    let (c, h, w) = site.spatial(input, "; pooling must come before the flatten")?;
    let stride = stride.unwrap_or(size);
    site.at_least_1("size", size)?;
    site.at_least_1("stride", stride)?;
    let (Some(oh), Some(ow)) = (slide(h, size, stride, 0), slide(w, size, stride, 0)) else {
        return Err(site.err(format!(
            "with size {size} needs maps of at least {size}×{size}, but gets {}",
            fmt_shape(input)
        )));
    };
    Ok((size, stride, vec![c, oh, ow]))
}

/// One [`Layer`] impl per pooling: its description prefix and the reduction of its windows
/// `(c·oh·ow, size², batch)` over dimension 1.
macro_rules! pooling {
    ($ty:ident, $name:literal, $reduce:expr) => {
        impl Layer for $ty {
            fn resolve(
                &self,
                input: &[usize],
                site: &Site,
                _: &mut Walk,
            ) -> Result<Resolved, ShapeError> {
                let (size, stride, output) = resolve(self.size, self.stride, input, site)?;
                Ok(Resolved {
                    spec: LayerSpec::$ty($ty {
                        size,
                        stride: Some(stride),
                    }),
                    output,
                    branches: Vec::new(),
                })
            }

            fn forward(&self, node: &Node, _: &mut Pass, h: H) -> candle_core::Result<H> {
                let H::Maps(t) = h else {
                    candle_core::bail!("a pooling got flat rows")
                };
                let reduce: fn(&Tensor) -> candle_core::Result<Tensor> = $reduce;
                let stride = self.stride.unwrap_or(self.size);
                Ok(H::Maps(reduce(&windows(&t, node, self.size, stride)?)?))
            }

            /// A pooling keeps the channels it reads.
            fn shrink(&self, node: &Node, _: &mut Cut, space: usize, shape: Vec<usize>) -> Shrunk {
                let mut out = node.output.clone();
                out[0] = shape[0];
                Shrunk {
                    spec: node.spec.clone(),
                    branches: Vec::new(),
                    space,
                    shape: out,
                }
            }

            fn describe(&self, _: &Node) -> String {
                format!(concat!($name, "{}"), self.size)
            }

            /// The pooled maps are kept for the backward pass.
            fn footprint(&self, node: &Node) -> (usize, usize) {
                (0, node.output.iter().product())
            }
        }
    };
}

// The maximum's gradient is routed to the maximum ([`max_routed`]).
pooling!(MaxPool, "maxpool", max_routed);
pooling!(AvgPool, "avgpool", |w| w.mean(1));
