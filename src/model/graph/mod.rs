//! Models as layer graphs: every architecture — the built-in presets (`mlp`, `lenet300`,
//! `lenet5`, `vgg`, `resnet`) and any `model.layers` list written in YAML — is a [`Graph`], one
//! [`Architecture`] for all of them.
//!
//! - [`layers`]: the layer kinds, one file each behind the [`layers::Layer`] trait, and the
//!   registry that makes [`LayerSpec`] (the `kind`-tagged YAML entry) from them;
//! - [`spec`]: the layer list as written in YAML, its layers' names, builders for Rust;
//! - [`shape`]: shape inference and the errors that name a layer and both shapes;
//! - [`presets`]: the built-in models written in that description;
//! - [`forward`]: the candle forward pass (trained by candle's autograd when no engine fits);
//! - [`structure`]: the unit spaces and groups structured pruning removes together;
//! - [`shrink`]: removed units cut out, giving a smaller graph and its parameters.
//!
//! The pruning structure is read off the graph: each layer with weights is a prunable layer
//! whose units (neurons, channels) feed the next layer with weights, through activations,
//! pooling and `flatten` (a channel of a `[c, h, w]` map flattened channel-major is a block of
//! `h·w` columns of the next linear layer). The last layer with weights is the output layer,
//! whose units are never removed.
//!
//! Training runs on a hand-written engine when the graph contains only layers it implements
//! ([`Graph::host_engine`]): a chain of linear layers with one ReLU or tanh between them on
//! [`crate::train::mlp_engine`], LeNet-5's shape on [`crate::train::conv_engine`]; anything else
//! on candle's autograd.

pub mod forward;
pub mod layers;
pub mod presets;
pub mod shape;
pub mod shrink;
pub mod spec;
pub mod structure;

pub use shape::{Node, ShapeError};
pub use spec::LayerSpec;

use super::lenet::LeNet5;
use super::mlp::Mlp;
use super::{Architecture, LayerInfo, Masks, Param, Params};
use crate::config::Activation;
use crate::rng::Rng;
use candle_core::Tensor;

/// A model: its input shape and resolved layers.
#[derive(Debug, Clone, PartialEq)]
pub struct Graph {
    /// Per-sample input shape: `[features]` or `[channels, height, width]`.
    pub input: Vec<usize>,
    pub nodes: Vec<Node>,
    /// The hand-written engine whose layers this graph uses only, if any.
    engine: Option<EngineShape>,
}

/// The shapes a hand-written engine needs, read off a graph it can train.
#[derive(Debug, Clone, PartialEq)]
enum EngineShape {
    Mlp(Mlp),
    LeNet5(LeNet5),
}

impl Graph {
    /// Resolve `layers` over inputs of shape `input` for `classes` classes.
    pub fn new(input: &[usize], layers: &[LayerSpec], classes: usize) -> Result<Graph, ShapeError> {
        let nodes = shape::resolve(input, layers, Some(classes))?;
        Ok(Graph::from_nodes(input.to_vec(), nodes))
    }

    fn from_nodes(input: Vec<usize>, nodes: Vec<Node>) -> Graph {
        let engine = engine_shape(&input, &nodes);
        Graph {
            input,
            nodes,
            engine,
        }
    }

    /// The graph as a plain MLP, when it is one (linear layers with one ReLU or tanh between
    /// them, on flat inputs).
    pub fn as_mlp(&self) -> Option<&Mlp> {
        match &self.engine {
            Some(EngineShape::Mlp(m)) => Some(m),
            _ => None,
        }
    }

    /// The graph as LeNet-5 (of any widths), when it is one.
    pub fn as_lenet5(&self) -> Option<&LeNet5> {
        match &self.engine {
            Some(EngineShape::LeNet5(n)) => Some(n),
            _ => None,
        }
    }

    /// The layer list that builds this graph again (names kept, every `out` written).
    pub fn to_layers(&self) -> Vec<LayerSpec> {
        to_specs(&self.nodes)
    }

    /// The model section (`kind: custom`) that builds this graph.
    pub fn to_raw(&self) -> crate::config::raw::RawModel {
        crate::config::raw::RawModel {
            kind: Some(crate::config::ModelKind::Custom),
            input: Some(self.input.clone()),
            layers: Some(self.to_layers()),
            ..Default::default()
        }
    }
}

/// The layer list of resolved `nodes` (every layer with parameters named).
pub(crate) fn to_specs(nodes: &[Node]) -> Vec<LayerSpec> {
    nodes
        .iter()
        .map(|n| {
            let mut spec = n.spec.layer().to_spec(n);
            if let Some((name, _)) = &n.param {
                spec.layer_mut().set_name(name.clone());
            }
            spec
        })
        .collect()
}

/// Short descriptions of `nodes`, e.g. `conv3x3:16/p1`, `bn`, `res(conv3x3:16/p1-bn|id)`.
pub(crate) fn describe_nodes(nodes: &[Node]) -> Vec<String> {
    nodes.iter().map(|n| n.spec.layer().describe(n)).collect()
}

/// Which engine, if any, implements every layer of a graph.
fn engine_shape(input: &[usize], nodes: &[Node]) -> Option<EngineShape> {
    mlp_shape(input, nodes)
        .map(EngineShape::Mlp)
        .or_else(|| lenet5_shape(input, nodes).map(EngineShape::LeNet5))
}

/// linear (act linear)* with one activation (ReLU or tanh) throughout, on flat inputs.
fn mlp_shape(input: &[usize], nodes: &[Node]) -> Option<Mlp> {
    let [features] = *input else { return None };
    let mut widths = vec![features];
    let mut activation = None;
    for (i, n) in nodes.iter().enumerate() {
        let a = match (&n.spec, i % 2) {
            (LayerSpec::Linear(_), 0) => {
                widths.push(n.output[0]);
                continue;
            }
            (LayerSpec::Relu(_), 1) => Activation::Relu,
            (LayerSpec::Tanh(_), 1) => Activation::Tanh,
            _ => return None,
        };
        if *activation.get_or_insert(a) != a {
            return None;
        }
    }
    (nodes.len() % 2 == 1).then(|| Mlp {
        widths,
        activation: activation.unwrap_or(Activation::Relu),
    })
}

/// conv5 → max-pool 2 → conv5 → max-pool 2 → flatten → linear → ReLU → linear on 1×28×28.
fn lenet5_shape(input: &[usize], nodes: &[Node]) -> Option<LeNet5> {
    use super::lenet::{K, POOL, SIDE};
    if input != [1, SIDE, SIDE] || nodes.len() != 8 {
        return None;
    }
    let conv = |n: &Node| match &n.spec {
        LayerSpec::Conv2d(c) if c.geometry() == (K, 1, 0) => Some(n.output[0]),
        _ => None,
    };
    let pool = |n: &Node| match &n.spec {
        LayerSpec::MaxPool(p) => p.size == POOL && p.stride == Some(POOL),
        _ => false,
    };
    let linear = |n: &Node| match &n.spec {
        LayerSpec::Linear(_) => Some(n.output[0]),
        _ => None,
    };
    let shape_ok = pool(&nodes[1])
        && pool(&nodes[3])
        && matches!(nodes[4].spec, LayerSpec::Flatten(_))
        && matches!(nodes[6].spec, LayerSpec::Relu(_));
    shape_ok.then_some(())?;
    Some(LeNet5 {
        conv1: conv(&nodes[0])?,
        conv2: conv(&nodes[2])?,
        fc1: linear(&nodes[5])?,
        classes: linear(&nodes[7])?,
    })
}

impl Architecture for Graph {
    /// The built-in shapes keep their short descriptions (`mlp 64-128-64-10`, `lenet5 …`);
    /// any other graph lists its layers.
    fn describe(&self) -> String {
        if let Some(m) = self.as_mlp() {
            return m.describe();
        }
        if let Some(n) = self.as_lenet5() {
            return n.describe();
        }
        let parts = describe_nodes(&self.nodes);
        let input: Vec<String> = self.input.iter().map(|s| s.to_string()).collect();
        format!("graph {} {}", input.join("x"), parts.join("-"))
    }

    /// Weights and biases uniform in ±1/√fan_in (PyTorch's Linear and Conv2d default), layer by
    /// layer, weight before bias.
    fn init(&self, rng: &mut Rng) -> Params {
        let mut ps = Vec::new();
        for n in structure::all_nodes(&self.nodes) {
            let Some((name, _)) = &n.param else { continue };
            for (suffix, shape, kind, data) in n.spec.layer().init(n, rng) {
                ps.push(Param {
                    name: format!("{name}.{suffix}"),
                    shape,
                    kind,
                    data,
                });
            }
        }
        Params(ps)
    }

    fn input_dim(&self) -> usize {
        self.input.iter().product()
    }

    fn forward(&self, params: &[Tensor], x: &Tensor) -> candle_core::Result<Tensor> {
        if x.dim(1)? != self.input_dim() {
            candle_core::bail!(
                "the model reads {} features per row ({}), got {}",
                self.input_dim(),
                shape::fmt_shape(&self.input),
                x.dim(1)?
            );
        }
        forward::run(&self.nodes, params, x, |_, _| Ok(()))
    }

    fn forward_train(
        &self,
        params: &[Tensor],
        x: &Tensor,
        noise: Option<&mut Rng>,
    ) -> candle_core::Result<(Tensor, Vec<(usize, Tensor)>)> {
        let mut train = forward::Train {
            noise,
            updates: Vec::new(),
        };
        let y = forward::run_train(&self.nodes, params, x, &mut train)?;
        Ok((y, train.updates))
    }

    fn input_sq_sums(&self, params: &[Tensor], x: &Tensor) -> candle_core::Result<Vec<Tensor>> {
        let mut sums = Vec::new();
        forward::run(&self.nodes, params, x, |m, patches| {
            // A patch matrix is (c·k·k, positions·batch); a linear input (batch, in).
            sums.push(m.sqr()?.sum(if patches { 1 } else { 0 })?);
            Ok(())
        })?;
        Ok(sums)
    }

    fn layers(&self) -> Vec<LayerInfo> {
        let st = structure::of(&self.nodes);
        let param = |w: &structure::Weighted| w.node.param.clone().expect("weighted");
        let leader = |space: usize| st.weighted.iter().position(|w| w.writes == space);
        st.weighted
            .iter()
            .enumerate()
            .map(|(l, w)| {
                let (name, p) = param(w);
                let n = w.node;
                let positions = if n.output.len() == 3 {
                    n.output[1] * n.output[2]
                } else {
                    1
                };
                let first = leader(w.writes) == Some(l);
                LayerInfo {
                    name,
                    weight: p,
                    bias: p + 1,
                    units: n.units().expect("weighted"),
                    macs_per_weight: positions,
                    next: st
                        .weighted
                        .iter()
                        .filter(|r| r.reads == w.writes)
                        .map(|r| param(r).1)
                        .collect(),
                    is_output: !st.removable(w.writes),
                    unit_params: st
                        .norms
                        .iter()
                        .filter(|(s, _)| *s == w.writes)
                        .flat_map(|&(_, q)| [q, q + 1])
                        .collect(),
                    coupled: if first {
                        st.weighted
                            .iter()
                            .enumerate()
                            .filter(|(k, o)| *k != l && o.writes == w.writes)
                            .map(|(_, o)| {
                                let (name, q) = param(o);
                                super::Producer {
                                    name,
                                    weight: q,
                                    bias: q + 1,
                                }
                            })
                            .collect()
                    } else {
                        Vec::new()
                    },
                    unit_leader: (!first).then(|| leader(w.writes).expect("a writer")),
                    reads: w.reads,
                    writes: w.writes,
                }
            })
            .collect()
    }

    fn shrunk_param_count(&self, params: &Params, masks: &Masks) -> usize {
        shrink::shrink(self, params, masks).1.count()
    }

    fn shrink(&self, params: &Params, masks: &Masks) -> Option<super::Shrunk> {
        let (g, p) = shrink::shrink(self, params, masks);
        // The masks, cut the same way: ones where kept, zeros where masked.
        let ones = Params(
            params
                .0
                .iter()
                .map(|q| Param {
                    data: vec![1.0; q.data.len()],
                    ..q.clone()
                })
                .collect(),
        );
        let m = shrink::shrink(self, &ones, masks).1;
        Some(super::Shrunk {
            model: g.to_raw(),
            params: p,
            masks: Masks(
                m.0.iter()
                    .map(|q| q.data.iter().map(|v| *v != 0.0).collect())
                    .collect(),
            ),
        })
    }

    /// Activations per sample: each convolution's patch matrix and output, each pooled map,
    /// dropout, residual sum and linear output, a batch normalisation's intermediates
    /// (activations and flatten work in place).
    fn footprint(&self) -> crate::sweep::memory::Footprint {
        let mut params = 0usize;
        let mut acts = 0usize;
        for n in structure::all_nodes(&self.nodes) {
            let (p, a) = n.spec.layer().footprint(n);
            params = params.saturating_add(p);
            acts = acts.saturating_add(a);
        }
        crate::sweep::memory::Footprint {
            params,
            activations_per_sample: acts,
            autograd: self.engine.is_none(),
        }
    }

    fn as_mlp(&self) -> Option<&Mlp> {
        Graph::as_mlp(self)
    }

    fn as_lenet5(&self) -> Option<&LeNet5> {
        Graph::as_lenet5(self)
    }

    /// The engine whose layers this graph uses only: [`crate::train::mlp_engine`] or
    /// [`crate::train::conv_engine`]; `None` (candle's autograd) otherwise.
    fn host_engine(&self, threads: usize) -> Option<Box<dyn crate::train::engine::Engine + '_>> {
        match self.engine.as_ref()? {
            EngineShape::Mlp(m) => m.host_engine(threads),
            EngineShape::LeNet5(n) => n.host_engine(threads),
        }
    }
}

#[cfg(test)]
mod residual_tests;
#[cfg(test)]
pub(crate) mod tests;
