//! `conv2d`: a 2-d convolution (groups = 1) with bias over `[channels, height, width]` maps,
//! computed as im2col and one matrix product; its units are output channels.

use super::{uniform_weight_and_bias, Init, Layer, LayerSpec, ParamLayout, Resolved, Shrunk};
use crate::model::graph::forward::{patches, Pass, H};
use crate::model::graph::shape::{fmt_shape, slide, Node, ShapeError, Site, Walk};
use crate::model::graph::shrink::Cut;
use crate::model::graph::structure;
use crate::rng::Rng;
use serde::{Deserialize, Serialize};

/// A 2-d convolution over a `[channels, height, width]` input (groups = 1), with bias.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Conv2d {
    pub out: usize,
    pub kernel: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stride: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub padding: Option<usize>,
    /// Default `conv1`, `conv2`, … in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Conv2d {
    /// A `kernel`×`kernel` convolution to `out` channels, stride 1, no padding.
    pub fn new(out: usize, kernel: usize) -> Conv2d {
        Conv2d {
            out,
            kernel,
            stride: None,
            padding: None,
            name: None,
        }
    }

    /// (kernel, stride, padding), defaults filled.
    pub fn geometry(&self) -> (usize, usize, usize) {
        (
            self.kernel,
            self.stride.unwrap_or(1),
            self.padding.unwrap_or(0),
        )
    }
}

impl Layer for Conv2d {
    fn params(&self) -> Option<ParamLayout> {
        Some(ParamLayout {
            prefix: "conv",
            tensors: 2,
            weighted: true,
        })
    }

    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn set_name(&mut self, name: String) {
        self.name = Some(name);
    }

    fn resolve(
        &self,
        input: &[usize],
        site: &Site,
        _walk: &mut Walk,
    ) -> Result<Resolved, ShapeError> {
        let (_, h, w) = site.spatial(
            input,
            "; give model.input as [channels, height, width], or put the convolutions before \
             the flatten",
        )?;
        let (kernel, stride, pad) = self.geometry();
        site.at_least_1("out", self.out)?;
        site.at_least_1("kernel", kernel)?;
        site.at_least_1("stride", stride)?;
        let (Some(oh), Some(ow)) = (slide(h, kernel, stride, pad), slide(w, kernel, stride, pad))
        else {
            return Err(site.err(format!(
                "with kernel {kernel} and padding {pad} needs maps of at least {kernel}×{kernel} \
                 after padding, but gets {}",
                fmt_shape(input)
            )));
        };
        Ok(Resolved {
            spec: LayerSpec::Conv2d(Conv2d {
                stride: Some(stride),
                padding: Some(pad),
                ..self.clone()
            }),
            output: vec![self.out, oh, ow],
            branches: Vec::new(),
        })
    }

    fn init(&self, node: &Node, rng: &mut Rng) -> Vec<Init> {
        let (cin, cout, k) = (node.input[0], node.output[0], self.kernel);
        uniform_weight_and_bias(vec![cout, cin, k, k], cin * k * k, rng)
    }

    fn forward(&self, node: &Node, pass: &mut Pass, h: H) -> candle_core::Result<H> {
        let H::Maps(t) = h else {
            candle_core::bail!("a convolution got flat rows")
        };
        let (k, stride, pad) = self.geometry();
        let cout = node.output[0];
        let p = node.param.as_ref().expect("conv2d has weights").1;
        let cols = patches(&t, node, k, stride, pad)?;
        pass.seen(&cols, true)?;
        let w = &pass.params[p];
        let batch = t.dim(1)?;
        let y = w
            .reshape((cout, w.dims()[1..].iter().product::<usize>()))?
            .matmul(&cols)?
            .broadcast_add(&pass.params[p + 1].reshape((cout, 1))?)?;
        Ok(H::Maps(
            y.reshape((node.output.iter().product::<usize>(), batch))?,
        ))
    }

    fn structure<'a>(&self, node: &'a Node, space: usize, walk: &mut structure::Walk<'a>) -> usize {
        walk.weighted(node, space)
    }

    fn shrink(&self, node: &Node, cut: &mut Cut, _space: usize, _shape: Vec<usize>) -> Shrunk {
        let (out, space) = cut.weighted(node);
        let mut shape = node.output.clone();
        shape[0] = out;
        Shrunk {
            spec: LayerSpec::Conv2d(Conv2d {
                out,
                ..self.clone()
            }),
            branches: Vec::new(),
            space,
            shape,
        }
    }

    fn describe(&self, node: &Node) -> String {
        let (k, stride, pad) = self.geometry();
        let mut s = format!("conv{k}x{k}:{}", node.output[0]);
        if stride != 1 {
            s += &format!("/s{stride}");
        }
        if pad != 0 {
            s += &format!("/p{pad}");
        }
        s
    }

    /// The patch matrix and the output are kept for the backward pass.
    fn footprint(&self, node: &Node) -> (usize, usize) {
        let (cin, cout, k) = (node.input[0], node.output[0], self.kernel);
        let kk = cin.saturating_mul(k * k);
        let positions = node.output[1] * node.output[2];
        let out: usize = node.output.iter().product();
        (
            kk.saturating_mul(cout).saturating_add(cout),
            kk.saturating_mul(positions).saturating_add(out),
        )
    }
}
