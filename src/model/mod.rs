//! Models: host-side parameters ([`Params`]), the [`Architecture`] trait (initialisation, forward
//! pass, prunable-layer listing, shrinking, training engine) and [`build`], which makes one from
//! the experiment's `model` section. Every built-in or layer-list model is a [`graph::Graph`]; a
//! user's `candle_nn` module is a [`candle_module::CandleModule`]. [`mlp`] and [`lenet`] hold the
//! shapes the hand-written training engines run, which a graph recognises in its layers.

pub mod candle_module;
pub mod effective;
pub mod export;
pub mod graph;
pub mod lenet;
pub mod mask;
pub mod mlp;
#[cfg(test)]
pub(crate) mod testing;

pub use mask::Masks;

use crate::config::{ModelKind, ModelSpec};
use crate::rng::Rng;
use candle_core::Tensor;

/// What a parameter tensor is to training and pruning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// A weight: trained, prunable.
    Weight,
    /// A bias, or a normalisation's scale or shift: trained, never pruned on its own (it goes
    /// with its unit).
    Bias,
    /// State that is not trained (a normalisation's running statistics): the optimizer leaves
    /// it alone, training updates it from batch statistics, and parameter counts leave it out.
    Buffer,
}

/// One named parameter tensor held on the host.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: String,
    pub shape: Vec<usize>,
    pub kind: ParamKind,
    pub data: Vec<f32>,
}

/// All parameters of a model, in the architecture's order.
#[derive(Debug, Clone, PartialEq)]
pub struct Params(pub Vec<Param>);

impl Params {
    /// Number of parameters: every scalar but the buffers (running statistics), as PyTorch's
    /// `sum(p.numel() for p in model.parameters())`.
    pub fn count(&self) -> usize {
        self.0
            .iter()
            .filter(|p| p.kind != ParamKind::Buffer)
            .map(|p| p.data.len())
            .sum()
    }

    /// Candle tensors (CPU) of every parameter, in order.
    pub fn tensors(&self) -> candle_core::Result<Vec<Tensor>> {
        self.0.iter().map(Param::tensor).collect()
    }
}

impl Param {
    /// The parameter as a CPU tensor of its shape.
    pub fn tensor(&self) -> candle_core::Result<Tensor> {
        Tensor::from_slice(&self.data, self.shape.as_slice(), &candle_core::Device::Cpu)
    }
}

/// A layer whose weight can be pruned, described for the pruning methods.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerInfo {
    /// Layer name used in `prune.ignore` and `layers.csv` (e.g. `fc1`).
    pub name: String,
    /// Index of the weight tensor in [`Params`]; its first dimension indexes output units.
    pub weight: usize,
    /// Index of the bias tensor.
    pub bias: usize,
    /// Number of output units (neurons or channels).
    pub units: usize,
    /// Multiply-adds one weight costs per sample (1 for Linear).
    pub macs_per_weight: usize,
    /// Weights (indices in [`Params`]) that read this layer's units as inputs: their dimension
    /// 1 indexes the units, in blocks of `h·w` columns after a `flatten`.
    pub next: Vec<usize>,
    /// The units are never removed: the network's output, or units a residual add joins to the
    /// network's input.
    pub is_output: bool,
    /// Other per-unit tensors (indices in [`Params`]) that go with a removed unit, besides its
    /// bias: the scale and shift of a batch normalisation of these units.
    pub unit_params: Vec<usize>,
    /// Other layers that write the same units, joined to this one by a residual add: a unit is
    /// removed from all of them or from none. Set on the group's first layer (its leader).
    pub coupled: Vec<Producer>,
    /// For a layer whose units belong to an earlier layer's group: that layer's index in the
    /// layer list. Unit-level methods score and remove the group through its leader.
    pub unit_leader: Option<usize>,
    /// The unit space this layer's weight reads (0: the network's input) and the one its
    /// units belong to. In a chain, layer `l` reads space `l` and writes `l + 1`; layers
    /// joined by a residual add write the same space.
    pub reads: usize,
    pub writes: usize,
}

/// A layer writing units of another layer's group ([`LayerInfo::coupled`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Producer {
    pub name: String,
    pub weight: usize,
    pub bias: usize,
}

impl LayerInfo {
    /// Layer `l` of a chain of `n` prunable layers (each one's units read by the next alone).
    pub fn in_chain(
        name: String,
        (weight, bias): (usize, usize),
        units: usize,
        macs_per_weight: usize,
        next: Option<usize>,
        (l, n): (usize, usize),
    ) -> LayerInfo {
        LayerInfo {
            name,
            weight,
            bias,
            units,
            macs_per_weight,
            next: next.into_iter().collect(),
            is_output: l + 1 == n,
            unit_params: Vec::new(),
            coupled: Vec::new(),
            unit_leader: None,
            reads: l,
            writes: l + 1,
        }
    }

    /// Every weight and bias (indices in [`Params`]) that writes this layer's units: its own and
    /// its coupled layers'.
    pub fn producers(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        std::iter::once((self.weight, self.bias))
            .chain(self.coupled.iter().map(|p| (p.weight, p.bias)))
    }
}

/// A shrunk model: what [`Architecture::shrink`] returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Shrunk {
    /// The model section that builds the shrunk architecture (`kind: custom`).
    pub model: crate::config::raw::RawModel,
    pub params: Params,
    pub masks: Masks,
}

/// A model family: how to initialise, run and describe it.
pub trait Architecture: Send + Sync {
    /// A short description, e.g. `mlp 64-128-64-10`.
    fn describe(&self) -> String;
    /// Fresh parameters drawn from `rng`.
    fn init(&self, rng: &mut Rng) -> Params;
    /// Features of one input row.
    fn input_dim(&self) -> usize;
    /// Logits for a batch `x` of shape `(batch, features)`, given tensors in [`Params`] order.
    fn forward(&self, params: &[Tensor], x: &Tensor) -> candle_core::Result<Tensor>;
    /// Logits in training mode: batch normalisations use batch statistics and return their new
    /// running statistics as (parameter index, values), to be written after the step; dropout
    /// draws from `noise` (off when `None`). Models without such layers: [`Self::forward`].
    fn forward_train(
        &self,
        params: &[Tensor],
        x: &Tensor,
        _noise: Option<&mut Rng>,
    ) -> candle_core::Result<(Tensor, Vec<(usize, Tensor)>)> {
        Ok((self.forward(params, x)?, Vec::new()))
    }
    /// For each prunable layer (in [`Architecture::layers`] order), the sum over the batch `x`
    /// of the squared inputs each column of the layer's weight row multiplies: a vector of
    /// length `in` for a linear layer, `in·kh·kw` for a convolution (summed over every output
    /// position too). Wanda's activation norms.
    fn input_sq_sums(&self, params: &[Tensor], x: &Tensor) -> candle_core::Result<Vec<Tensor>>;
    /// The prunable layers, input to output.
    fn layers(&self) -> Vec<LayerInfo>;
    /// Parameter count of the physically shrunk model (removed units cut out).
    fn shrunk_param_count(&self, params: &Params, masks: &Masks) -> usize;
    /// The physically shrunk model (removed units cut out, smaller tensors) as a model section
    /// that rebuilds it, its parameters and their masks; `None` when this model cannot say.
    fn shrink(&self, _params: &Params, _masks: &Masks) -> Option<Shrunk> {
        None
    }
    /// Shapes that decide memory use, computed without allocating (see [`crate::sweep::memory`]).
    fn footprint(&self) -> crate::sweep::memory::Footprint;
    /// The model as a plain MLP, when it is one (for the inference kernels of
    /// [`crate::speed`]).
    fn as_mlp(&self) -> Option<&mlp::Mlp> {
        None
    }
    /// The model as LeNet-5 (of any widths), when it is one (for the inference kernels of
    /// [`crate::speed`]).
    fn as_lenet5(&self) -> Option<&lenet::LeNet5> {
        None
    }
    /// A hand-written training engine for this model, its products on `threads` threads of the
    /// current rayon pool, when it has one; training then runs on it instead of candle's
    /// autograd ([`crate::train::engine::for_arch`]). Its results must not depend on `threads`.
    fn host_engine(&self, _threads: usize) -> Option<Box<dyn crate::train::engine::Engine + '_>> {
        None
    }
}

/// Build the model an experiment describes, for rows of `input_dim` features and `classes`
/// classes: every model is a [`graph::Graph`] (presets are layer lists too). Refuses a model
/// whose input shape does not match the data or whose layers do not fit together, naming the
/// layer and both shapes.
pub fn build(
    spec: &ModelSpec,
    input_dim: usize,
    classes: usize,
) -> crate::error::Result<Box<dyn Architecture>> {
    if let Some(user) = &spec.user {
        return (user.build)(input_dim, classes);
    }
    let mismatch =
        |field: String, message: String| crate::error::Error::Mismatch { field, message };
    let input = spec.input.clone().unwrap_or_else(|| vec![input_dim]);
    let values: usize = input.iter().product();
    if values != input_dim {
        let field = match spec.kind {
            ModelKind::Lenet300 | ModelKind::Lenet5 => "model.kind",
            _ => "model.input",
        };
        let what = match spec.kind {
            ModelKind::Lenet300 | ModelKind::Lenet5 => format!(
                "`{}` expects {values} input features (1×28×28 images such as MNIST)",
                spec.kind.as_str()
            ),
            _ => format!(
                "model.input {} has {values} values per row",
                graph::shape::fmt_shape(&input)
            ),
        };
        return Err(mismatch(
            field.into(),
            format!("{what}, but the data has {input_dim} features per row"),
        ));
    }
    let g = graph::Graph::new(&input, &spec.layers, classes)
        .map_err(|e| mismatch(e.field(), e.message))?;
    Ok(Box::new(g))
}

/// Names of the prunable layers a model spec will have (for validating `prune.ignore`).
pub fn layer_names(spec: &ModelSpec) -> Vec<String> {
    if let Some(user) = &spec.user {
        return user.layers.clone();
    }
    graph::spec::weight_layer_names(&spec.layers)
}
