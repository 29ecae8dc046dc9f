//! `linear`: a fully connected layer `y = W x + b` on a flat input; its units are neurons.

use super::{uniform_weight_and_bias, Init, Layer, ParamLayout, Resolved, Shrunk};
use crate::model::graph::forward::{Pass, H};
use crate::model::graph::shape::{fmt_shape, Node, ShapeError, Site, Walk};
use crate::model::graph::shrink::Cut;
use crate::model::graph::structure;
use crate::rng::Rng;
use candle_core::Module;
use serde::{Deserialize, Serialize};

/// A fully connected layer `y = W x + b` on a flat input. `out` omitted: as many units as
/// the data has classes (only for the last linear layer).
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Linear {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out: Option<usize>,
    /// Name used in `prune.ignore` and `layers.csv` (default `fc1`, `fc2`, … in order).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Layer for Linear {
    fn params(&self) -> Option<ParamLayout> {
        Some(ParamLayout {
            prefix: "fc",
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
        walk: &mut Walk,
    ) -> Result<Resolved, ShapeError> {
        let [_] = input[..] else {
            return Err(site.err(format!(
                "needs a flat input but gets {}; add a `flatten` layer before it",
                fmt_shape(input)
            )));
        };
        let out =
            match (self.out, site.last_linear, walk.classes) {
                (Some(o), _, _) => o,
                (None, true, Some(c)) => c,
                (None, true, None) => 1,
                (None, false, _) => return Err(site.err(
                    "needs `out` (only the last linear layer may leave it out: it then has one \
                     unit per class)"
                        .into(),
                )),
            };
        site.at_least_1("out", out)?;
        Ok(Resolved {
            spec: super::LayerSpec::Linear(Linear {
                out: Some(out),
                ..self.clone()
            }),
            output: vec![out],
            branches: Vec::new(),
        })
    }

    fn init(&self, node: &Node, rng: &mut Rng) -> Vec<Init> {
        let (inputs, out) = (node.input[0], node.output[0]);
        uniform_weight_and_bias(vec![out, inputs], inputs, rng)
    }

    fn forward(&self, node: &Node, pass: &mut Pass, h: H) -> candle_core::Result<H> {
        let H::Flat(t) = h else {
            candle_core::bail!("a linear layer got maps")
        };
        let p = node.param.as_ref().expect("linear has weights").1;
        pass.seen(&t, false)?;
        let lin = candle_nn::Linear::new(pass.params[p].clone(), Some(pass.params[p + 1].clone()));
        Ok(H::Flat(lin.forward(&t)?))
    }

    fn structure<'a>(&self, node: &'a Node, space: usize, walk: &mut structure::Walk<'a>) -> usize {
        walk.weighted(node, space)
    }

    fn shrink(&self, node: &Node, cut: &mut Cut, _space: usize, _shape: Vec<usize>) -> Shrunk {
        let (out, space) = cut.weighted(node);
        Shrunk {
            spec: super::LayerSpec::Linear(Linear {
                out: Some(out),
                ..self.clone()
            }),
            branches: Vec::new(),
            space,
            shape: vec![out],
        }
    }

    fn describe(&self, node: &Node) -> String {
        format!("fc:{}", node.output[0])
    }

    fn footprint(&self, node: &Node) -> (usize, usize) {
        let (inputs, out) = (node.input[0], node.output[0]);
        (inputs.saturating_mul(out).saturating_add(out), out)
    }
}
