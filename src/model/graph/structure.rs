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

use super::shape::Node;

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
    let mut walk = Walk {
        spaces: Spaces(vec![0]),
        weighted: Vec::new(),
        norms: Vec::new(),
    };
    let out = walk.list(nodes, 0);
    let Walk {
        spaces,
        weighted,
        norms,
    } = walk;
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

/// The walk that reads the structure, as the layers see it
/// ([`super::layers::Layer::structure`]).
pub struct Walk<'a> {
    spaces: Spaces,
    weighted: Vec<Weighted<'a>>,
    norms: Vec<(usize, usize)>,
}

impl<'a> Walk<'a> {
    /// Walk `nodes` from space `space`; the space of their output.
    pub fn list(&mut self, nodes: &'a [Node], mut space: usize) -> usize {
        for n in nodes {
            space = n.spec.layer().structure(n, space, self);
        }
        space
    }

    /// A layer with weights reads `space` and writes a new space, which it returns.
    pub fn weighted(&mut self, node: &'a Node, space: usize) -> usize {
        let writes = self.spaces.open();
        self.weighted.push(Weighted {
            node,
            reads: space,
            writes,
        });
        writes
    }

    /// A normalisation whose parameters start at index `param` acts on `space`.
    pub fn norm(&mut self, space: usize, param: usize) {
        self.norms.push((space, param));
    }

    /// Two spaces become one (a residual add).
    pub fn join(&mut self, a: usize, b: usize) {
        self.spaces.join(a, b);
    }
}

/// Every node of `nodes`, nested branches included (a residual's body before its shortcut),
/// in order.
pub fn all_nodes(nodes: &[Node]) -> Vec<&Node> {
    let mut out = Vec::new();
    fn go<'a>(nodes: &'a [Node], out: &mut Vec<&'a Node>) {
        for n in nodes {
            out.push(n);
            for b in &n.branches {
                go(b, out);
            }
        }
    }
    go(nodes, &mut out);
    out
}
