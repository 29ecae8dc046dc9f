//! `residual`: `body(x) + shortcut(x)`, two branches reading the same input and giving the
//! same shape (an empty shortcut is the identity). The add joins the unit spaces its branches
//! give, so their channels are one group for structured pruning, as in DepGraph: a channel is
//! removed from every layer that writes it, or from none.

use super::{Layer, LayerSpec, Resolved, Shrunk};
use crate::model::graph::forward::{Pass, H};
use crate::model::graph::shape::{fmt_shape, Node, ShapeError, Site, Walk};
use crate::model::graph::shrink::Cut;
use crate::model::graph::structure;
use serde::{Deserialize, Serialize};

/// `body(x) + shortcut(x)`: the two branches read the same input and must give the same
/// shape. An empty `shortcut` (the default) is the identity. The channels the add joins
/// are one group for structured pruning: a channel is removed from every layer that
/// writes it, or from none.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Residual {
    pub body: Vec<LayerSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shortcut: Vec<LayerSpec>,
}

impl Layer for Residual {
    fn branches(&self) -> Vec<&[LayerSpec]> {
        vec![&self.body, &self.shortcut]
    }

    fn resolve(
        &self,
        input: &[usize],
        site: &Site,
        walk: &mut Walk,
    ) -> Result<Resolved, ShapeError> {
        if self.body.is_empty() {
            return Err(site.err(
                "needs a `body` of at least one layer (the shortcut alone is the identity)".into(),
            ));
        }
        let (body, b) = walk.list(input.to_vec(), &self.body, &format!("{}.body", site.at))?;
        let (shortcut, s) = walk.list(
            input.to_vec(),
            &self.shortcut,
            &format!("{}.shortcut", site.at),
        )?;
        if b != s {
            let what = if shortcut.is_empty() {
                "the identity shortcut gives its input"
            } else {
                "its shortcut gives"
            };
            return Err(site.err(format!(
                "adds branches of different shapes: its body gives {} but {what} {}; the body \
                 must keep the shape, or the shortcut must change it the same way (e.g. a 1×1 \
                 `conv2d` with the body's stride and channels)",
                fmt_shape(&b),
                fmt_shape(&s)
            )));
        }
        Ok(Resolved {
            // The resolved lists are the node's branches.
            spec: LayerSpec::Residual(Residual {
                body: Vec::new(),
                shortcut: Vec::new(),
            }),
            output: b,
            branches: vec![body, shortcut],
        })
    }

    fn forward(&self, node: &Node, pass: &mut Pass, h: H) -> candle_core::Result<H> {
        let input = match &h {
            H::Maps(t) => H::Maps(t.clone()),
            H::Flat(t) => H::Flat(t.clone()),
        };
        let b = pass.list(&node.branches[0], input)?;
        match (b, pass.list(&node.branches[1], h)?) {
            (H::Maps(a), H::Maps(c)) => Ok(H::Maps((a + c)?)),
            (H::Flat(a), H::Flat(c)) => Ok(H::Flat((a + c)?)),
            _ => candle_core::bail!("a residual's branches give different layouts"),
        }
    }

    fn structure<'a>(&self, node: &'a Node, space: usize, walk: &mut structure::Walk<'a>) -> usize {
        let b = walk.list(&node.branches[0], space);
        let s = walk.list(&node.branches[1], space);
        walk.join(b, s);
        b
    }

    fn shrink(&self, node: &Node, cut: &mut Cut, space: usize, shape: Vec<usize>) -> Shrunk {
        let (body, s, out) = cut.list(&node.branches[0], space, shape.clone());
        let (shortcut, _, _) = cut.list(&node.branches[1], space, shape);
        Shrunk {
            spec: node.spec.clone(),
            branches: vec![body, shortcut],
            space: s,
            shape: out,
        }
    }

    fn to_spec(&self, node: &Node) -> LayerSpec {
        LayerSpec::Residual(Residual {
            body: crate::model::graph::to_specs(&node.branches[0]),
            shortcut: crate::model::graph::to_specs(&node.branches[1]),
        })
    }

    fn describe(&self, node: &Node) -> String {
        let short = if node.branches[1].is_empty() {
            "id".to_string()
        } else {
            crate::model::graph::describe_nodes(&node.branches[1]).join("-")
        };
        format!(
            "res({}|{short})",
            crate::model::graph::describe_nodes(&node.branches[0]).join("-")
        )
    }

    /// The sum is kept for the backward pass.
    fn footprint(&self, node: &Node) -> (usize, usize) {
        (0, node.output.iter().product())
    }
}
