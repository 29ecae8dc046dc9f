//! The pruning structure of a graph, read off its layers as DepGraph (Fang et al. 2023) does:
//! which *unit space* (the features or channels of a tensor) each layer with weights reads and
//! writes, which batch normalisations act on a space, and which spaces a residual add joins.
//!
//! Every layer with weights opens a new space (its output units); activations, pooling,
//! dropout and `flatten` keep the space they read (after a `flatten`, a channel is a block of
//! `h·w` features); a batch normalisation's scale and shift belong to the space it reads; a
//! residual add makes the spaces its two branches give one space (an identity shortcut joins
//! the body's output to the block's input space). Space 0 is the network's input.
//!
//! A space is a *group* for structured pruning: removing unit `u` removes row `u` (and bias
//! `u`) of every layer writing the space, entry `u` of its normalisations, and the inputs from
//! `u` of every layer reading it. The output space and any space joined to the input keep
//! their units.

use super::shape::{Node, Op};

/// A layer with weights, in parameter order.
#[derive(Debug, Clone, PartialEq)]
pub struct Weighted<'a> {
    pub node: &'a Node,
    /// Root space read and written.
    pub reads: usize,
    pub writes: usize,
}

/// The structure of a graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Structure<'a> {
    pub weighted: Vec<Weighted<'a>>,
    /// Batch normalisations as (root space, index of the scale in the parameters).
    pub norms: Vec<(usize, usize)>,
    /// The root space of the network's output.
    pub output: usize,
}

impl Structure<'_> {
    /// Whether units of `space` may be removed: not the output's, not joined to the input.
    pub fn removable(&self, space: usize) -> bool {
        space != self.output && space != 0
    }
}

/// Union-find over spaces; a root is the smallest id of its set (the input stays 0).
struct Spaces(Vec<usize>);

impl Spaces {
    fn open(&mut self) -> usize {
        self.0.push(self.0.len());
        self.0.len() - 1
    }

    fn root(&self, mut s: usize) -> usize {
        while self.0[s] != s {
            s = self.0[s];
        }
        s
    }

    fn join(&mut self, a: usize, b: usize) {
        let (a, b) = (self.root(a), self.root(b));
        let (lo, hi) = (a.min(b), a.max(b));
        self.0[hi] = lo;
    }
}

/// The structure of `nodes` (a graph's top-level layers).
pub fn of(nodes: &[Node]) -> Structure<'_> {
    let mut spaces = Spaces(vec![0]);
    let mut weighted = Vec::new();
    let mut norms = Vec::new();
    let out = walk(nodes, 0, &mut spaces, &mut weighted, &mut norms);
    Structure {
        weighted: weighted
            .into_iter()
            .map(|w| Weighted {
                reads: spaces.root(w.reads),
                writes: spaces.root(w.writes),
                ..w
            })
            .collect(),
        norms: norms
            .into_iter()
            .map(|(s, p)| (spaces.root(s), p))
            .collect(),
        output: spaces.root(out),
    }
}

/// Walk `nodes` from space `space`; the space of their output.
fn walk<'a>(
    nodes: &'a [Node],
    mut space: usize,
    spaces: &mut Spaces,
    weighted: &mut Vec<Weighted<'a>>,
    norms: &mut Vec<(usize, usize)>,
) -> usize {
    for n in nodes {
        match &n.op {
            Op::Linear { .. } | Op::Conv2d { .. } => {
                let writes = spaces.open();
                weighted.push(Weighted {
                    node: n,
                    reads: space,
                    writes,
                });
                space = writes;
            }
            Op::BatchNorm { .. } => norms.push((
                space,
                n.param.as_ref().expect("batch_norm has parameters").1,
            )),
            Op::Residual { body, shortcut } => {
                let b = walk(body, space, spaces, weighted, norms);
                let s = walk(shortcut, space, spaces, weighted, norms);
                spaces.join(b, s);
                space = b;
            }
            Op::MaxPool { .. }
            | Op::AvgPool { .. }
            | Op::Flatten
            | Op::Act(_)
            | Op::Dropout { .. } => {}
        }
    }
    space
}

/// Every node of `nodes`, residual branches included (body before shortcut), in order.
pub fn all_nodes(nodes: &[Node]) -> Vec<&Node> {
    let mut out = Vec::new();
    fn go<'a>(nodes: &'a [Node], out: &mut Vec<&'a Node>) {
        for n in nodes {
            out.push(n);
            if let Op::Residual { body, shortcut } = &n.op {
                go(body, out);
                go(shortcut, out);
            }
        }
    }
    go(nodes, &mut out);
    out
}
