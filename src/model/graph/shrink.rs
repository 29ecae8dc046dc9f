//! Physical shrinking of a structurally pruned graph: units (neurons or channels) whose incoming
//! weights and bias are all masked — in every layer that writes them, with their batch
//! normalisations' scale and shift — output 0: every activation here maps 0 to 0, pooling and
//! dropout keep zeros, padding reads zeros, and a residual add of two zeros is zero. So they are
//! cut out of every layer that writes them ([`super::structure`]'s groups), with the inputs of
//! every layer that reads them (a channel's block of `h·w` columns after a `flatten`). The
//! result is a smaller graph, with smaller tensors, computing the same function as the masked
//! model.

use super::layers::Shrunk;
use super::shape::Node;
use super::structure::{self, Structure};
use super::Graph;
use crate::model::{Masks, Param, Params};
use std::collections::HashMap;

/// Units of a layer that survive: those with a kept bias or any kept incoming weight.
pub fn kept_units(masks: &Masks, weight: usize, units: usize) -> Vec<usize> {
    let (w, b) = (&masks.0[weight], &masks.0[weight + 1]);
    let row = w.len() / units.max(1);
    (0..units)
        .filter(|&u| b[u] || w[u * row..(u + 1) * row].iter().any(|k| *k))
        .collect()
}

/// The sub-tensor of a weight `[out, n_in, inner]` (row-major) holding outputs `outs` and input
/// blocks `ins`.
fn gather(w: &[f32], n_in: usize, inner: usize, outs: &[usize], ins: &[usize]) -> Vec<f32> {
    let mut v = Vec::with_capacity(outs.len() * ins.len() * inner);
    for &o in outs {
        for &i in ins {
            let start = (o * n_in + i) * inner;
            v.extend_from_slice(&w[start..start + inner]);
        }
    }
    v
}

/// Per space: its full unit count and the units that survive.
fn spaces(g: &Graph, st: &Structure, masks: &Masks) -> HashMap<usize, (usize, Vec<usize>)> {
    let mut out = HashMap::new();
    out.insert(0, (g.input[0], (0..g.input[0]).collect()));
    for w in &st.weighted {
        let p = w.node.param.as_ref().expect("weighted").1;
        let units = w.node.units().expect("weighted");
        let (_, kept) = out.entry(w.writes).or_insert_with(|| (units, Vec::new()));
        if st.removable(w.writes) {
            kept.extend(kept_units(masks, p, units));
        } else {
            kept.extend(0..units);
        }
    }
    for &(s, q) in &st.norms {
        if let Some((units, kept)) = out.get_mut(&s) {
            let scale_or_shift = |u: usize| masks.0[q][u] || masks.0[q + 1][u];
            kept.extend((0..*units).filter(|&u| scale_or_shift(u)));
        }
    }
    for (_, kept) in out.values_mut() {
        kept.sort_unstable();
        kept.dedup();
    }
    out
}

/// The walk that rebuilds the nodes with the kept units, as the layers see it
/// ([`super::layers::Layer::shrink`]).
pub struct Cut<'a> {
    spaces: HashMap<usize, (usize, Vec<usize>)>,
    /// The structure's layers with weights and normalisations, consumed in walk order.
    weighted: std::slice::Iter<'a, structure::Weighted<'a>>,
    norms: std::slice::Iter<'a, (usize, usize)>,
    pruned: &'a Params,
    out: Vec<Param>,
}

impl Cut<'_> {
    /// `nodes` read from `shape` (kept units counted) in `space`: the new nodes, and the space
    /// and shape they give.
    pub fn list(
        &mut self,
        nodes: &[Node],
        mut space: usize,
        mut shape: Vec<usize>,
    ) -> (Vec<Node>, usize, Vec<usize>) {
        let mut new = Vec::with_capacity(nodes.len());
        for n in nodes {
            let input = shape.clone();
            let Shrunk {
                spec,
                branches,
                space: s,
                shape: out,
            } = n.spec.layer().shrink(n, self, space, shape);
            (space, shape) = (s, out);
            new.push(Node {
                spec,
                input,
                output: shape.clone(),
                param: n.param.clone(),
                branches,
            });
        }
        (new, space, shape)
    }

    /// The next layer with weights (`node`): its weight and bias cut to the kept units of the
    /// spaces it reads and writes. The kept output units and the space written.
    pub fn weighted(&mut self, node: &Node) -> (usize, usize) {
        let w = self.weighted.next().expect("walk order");
        let (n_in, ins) = self.spaces[&w.reads].clone();
        let (units, outs) = self.spaces[&w.writes].clone();
        let p = node.param.as_ref().expect("weighted").1;
        let (wt, b) = (&self.pruned.0[p], &self.pruned.0[p + 1]);
        let inner = wt.data.len() / (units * n_in).max(1);
        let mut wshape = wt.shape.clone();
        wshape[0] = outs.len();
        wshape[1] = ins.len() * (wt.shape[1] / n_in.max(1));
        self.out.push(Param {
            data: gather(&wt.data, n_in, inner, &outs, &ins),
            shape: wshape,
            ..wt.clone()
        });
        self.out.push(Param {
            data: outs.iter().map(|&o| b.data[o]).collect(),
            shape: vec![outs.len()],
            ..b.clone()
        });
        (outs.len(), w.writes)
    }

    /// The next normalisation: its 4 tensors cut to the kept units of its space; how many.
    pub fn norm(&mut self) -> usize {
        let &(s, q) = self.norms.next().expect("walk order");
        let kept = &self.spaces[&s].1;
        for t in &self.pruned.0[q..q + 4] {
            self.out.push(Param {
                data: kept.iter().map(|&u| t.data[u]).collect(),
                shape: vec![kept.len()],
                ..t.clone()
            });
        }
        kept.len()
    }
}

/// The shrunk graph and its parameters (masked weights that remain are kept as zeros).
pub fn shrink(g: &Graph, params: &Params, masks: &Masks) -> (Graph, Params) {
    let pruned = masks.apply(params);
    let st = structure::of(&g.nodes);
    let spaces = spaces(g, &st, masks);
    let mut shape = g.input.clone();
    shape[0] = spaces[&0].1.len();
    let mut cut = Cut {
        spaces,
        weighted: st.weighted.iter(),
        norms: st.norms.iter(),
        pruned: &pruned,
        out: Vec::new(),
    };
    // Every tensor is kept, only smaller: the nodes' parameter positions still hold.
    let (nodes, _, _) = cut.list(&g.nodes, 0, shape);
    (Graph::from_nodes(g.input.clone(), nodes), Params(cut.out))
}
