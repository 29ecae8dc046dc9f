//! Models written with `candle_nn`, swept through the library: a [`CandleModule`] wraps a
//! function that builds the user's module from a `VarBuilder` (parameter names as candle gives
//! them, e.g. `fc1.weight`) and a description of its prunable structure ([`Prunable`]: each
//! layer's weight and bias, and the next layer's weight that reads its units).
//!
//! Parameters are found by building the module once on a `VarMap`; each listed weight and bias
//! is initialised from the run's seeded generator (uniform in ±1/√fan_in, PyTorch's default),
//! so sweeps stay deterministic. The forward pass rebuilds the module over the current tensors
//! (`VarBuilder::from_tensors`), so candle's autograd trains it. Every method but `wanda` (which
//! needs each layer's inputs) works on it; shrunk models are counted, not exported.

use super::{Architecture, LayerInfo, Masks, Param, ParamKind, Params};
use crate::error::{Error, Result};
use crate::rng::Rng;
use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{VarBuilder, VarMap};
use std::collections::HashMap;
use std::sync::Arc;

/// Builds the user's module from a `VarBuilder`.
pub type BuildFn =
    dyn Fn(VarBuilder) -> candle_core::Result<Box<dyn Module + Send + Sync>> + Send + Sync;

/// One prunable layer of a candle module, by parameter name.
#[derive(Debug, Clone, PartialEq)]
pub struct Prunable {
    /// Name used in `prune.ignore` and `layers.csv`.
    pub name: String,
    /// The weight, first dimension the units (e.g. `fc1.weight`, `[out, in]` or
    /// `[out, in, kh, kw]`).
    pub weight: String,
    /// The bias (e.g. `fc1.bias`), first dimension the units.
    pub bias: String,
    /// The next prunable layer's weight, which reads this layer's units as its second
    /// dimension (after a flatten: blocks of positions); `None` for the output layer.
    pub next: Option<String>,
    /// Output positions one weight is applied at (1 for a linear layer, `h·w` for a
    /// convolution), for the multiply-add counts.
    pub positions: usize,
}

/// A `candle_nn` model as an [`Architecture`].
pub struct CandleModule {
    name: String,
    build: Arc<BuildFn>,
    input_dim: usize,
    /// Name, shape, kind of every parameter, prunable layers first (weight, bias).
    params: Vec<(String, Vec<usize>, ParamKind)>,
    layers: Vec<LayerInfo>,
    fan_in: Vec<usize>,
}

impl std::fmt::Debug for CandleModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CandleModule({})", self.name)
    }
}

impl CandleModule {
    /// Find the module's parameters, check `prunable` against them, and check that the module
    /// maps `input_dim` features to `classes` logits.
    pub fn new(
        name: &str,
        input_dim: usize,
        classes: usize,
        build: Arc<BuildFn>,
        prunable: &[Prunable],
    ) -> Result<CandleModule> {
        let bad = |m: String| Error::Mismatch {
            field: format!("model `{name}`"),
            message: m,
        };
        let vm = VarMap::new();
        let module = build(VarBuilder::from_varmap(&vm, DType::F32, &Device::Cpu))?;
        let y = module.forward(&Tensor::zeros((2, input_dim), DType::F32, &Device::Cpu)?)?;
        if y.dims() != [2, classes] {
            return Err(bad(format!(
                "maps a batch (2, {input_dim}) to {:?}, not (2, {classes}) logits",
                y.dims()
            )));
        }
        let found: HashMap<String, Vec<usize>> = vm
            .data()
            .lock()
            .expect("var map")
            .iter()
            .map(|(k, v)| (k.clone(), v.dims().to_vec()))
            .collect();
        let shape = |n: &str| {
            found
                .get(n)
                .cloned()
                .ok_or_else(|| bad(format!("has no parameter `{n}` (it has {})", names(&found))))
        };
        let mut params = Vec::new();
        let mut fan_in = Vec::new();
        for p in prunable {
            let w = shape(&p.weight)?;
            let b = shape(&p.bias)?;
            if w.len() < 2 || b != [w[0]] {
                return Err(bad(format!(
                    "layer {}: weight {:?} and bias {:?} do not describe {} units",
                    p.name,
                    w,
                    b,
                    w.first().copied().unwrap_or(0)
                )));
            }
            let fi: usize = w[1..].iter().product();
            params.push((p.weight.clone(), w, ParamKind::Weight));
            params.push((p.bias.clone(), b, ParamKind::Bias));
            fan_in.extend([fi, fi]);
        }
        let mut rest: Vec<&String> = found
            .keys()
            .filter(|k| !params.iter().any(|p| &p.0 == *k))
            .collect();
        rest.sort();
        if let Some(r) = rest.first() {
            return Err(bad(format!(
                "parameter `{r}` belongs to no listed layer: describe every weight and bias \
                 (only linear and convolution layers are supported)"
            )));
        }
        let index = |n: &str| params.iter().position(|p| p.0 == n);
        let mut layers = Vec::new();
        for (l, p) in prunable.iter().enumerate() {
            let units = params[2 * l].1[0];
            let next = match &p.next {
                Some(n) => {
                    let i = index(n).ok_or_else(|| {
                        bad(format!(
                            "layer {}: next weight `{n}` is not a listed weight",
                            p.name
                        ))
                    })?;
                    let nw = &params[i].1;
                    if nw.len() < 2 || nw[1] % units != 0 {
                        return Err(bad(format!(
                            "layer {}: its {units} units cannot be the inputs of `{n}` {nw:?}",
                            p.name
                        )));
                    }
                    Some(i)
                }
                None => None,
            };
            layers.push(LayerInfo::in_chain(
                p.name.clone(),
                (2 * l, 2 * l + 1),
                units,
                p.positions.max(1),
                next,
                (l, prunable.len()),
            ));
        }
        Ok(CandleModule {
            name: name.into(),
            build,
            input_dim,
            params,
            layers,
            fan_in,
        })
    }
}

fn names(found: &HashMap<String, Vec<usize>>) -> String {
    let mut v: Vec<&String> = found.keys().collect();
    v.sort();
    v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
}

impl Architecture for CandleModule {
    fn describe(&self) -> String {
        format!("candle module {}", self.name)
    }

    fn init(&self, rng: &mut Rng) -> Params {
        Params(
            self.params
                .iter()
                .zip(&self.fan_in)
                .map(|((name, shape, kind), &fi)| {
                    let bound = 1.0 / (fi as f32).sqrt();
                    Param {
                        name: name.clone(),
                        shape: shape.clone(),
                        kind: *kind,
                        data: (0..shape.iter().product())
                            .map(|_| rng.uniform_f32(-bound, bound))
                            .collect(),
                    }
                })
                .collect(),
        )
    }

    fn input_dim(&self) -> usize {
        self.input_dim
    }

    fn forward(&self, params: &[Tensor], x: &Tensor) -> candle_core::Result<Tensor> {
        let map: HashMap<String, Tensor> = self
            .params
            .iter()
            .zip(params)
            .map(|((n, _, _), t)| (n.clone(), t.clone()))
            .collect();
        (self.build)(VarBuilder::from_tensors(map, DType::F32, &Device::Cpu))?.forward(x)
    }

    fn input_sq_sums(&self, _: &[Tensor], _: &Tensor) -> candle_core::Result<Vec<Tensor>> {
        candle_core::bail!(
            "`wanda` needs each layer's inputs, which a candle module does not expose; \
             use another method or describe the model as layers"
        )
    }

    fn layers(&self) -> Vec<LayerInfo> {
        self.layers.clone()
    }

    /// Kept units of each layer times the kept units it reads (every input of the first).
    fn shrunk_param_count(&self, params: &Params, masks: &Masks) -> usize {
        let kept: Vec<usize> = self
            .layers
            .iter()
            .map(|l| {
                if l.is_output {
                    l.units
                } else {
                    super::graph::shrink::kept_units(masks, l.weight, l.units).len()
                }
            })
            .collect();
        let mut count = 0;
        for (l, info) in self.layers.iter().enumerate() {
            let w = &params.0[info.weight];
            let per_unit = w.data.len() / info.units;
            // Inputs from the layer whose `next` this is: keep its kept fraction of columns.
            let reads = self
                .layers
                .iter()
                .position(|p| p.next.contains(&info.weight));
            let cols = match reads {
                Some(p) => per_unit / self.layers[p].units * kept[p],
                None => per_unit,
            };
            count += kept[l] * cols + kept[l];
        }
        count
    }

    fn footprint(&self) -> crate::sweep::memory::Footprint {
        crate::sweep::memory::Footprint {
            params: self
                .params
                .iter()
                .map(|p| p.1.iter().product::<usize>())
                .sum(),
            activations_per_sample: self
                .layers
                .iter()
                .map(|l| l.units * l.macs_per_weight)
                .sum(),
            autograd: true,
        }
    }
}

/// A model built by the library user's code, for [`crate::config::parse_with_model`] or
/// [`crate::config::Experiment::with_model`]: a `candle_nn` module ([`UserModel::candle`]) or a
/// layer graph built in Rust ([`UserModel::graph`]).
#[derive(Clone, Debug)]
pub struct UserModel(pub(crate) UserSource);

#[derive(Clone, Debug)]
pub(crate) enum UserSource {
    Candle(UserModule),
    /// The same model as `model: {input, layers}` in a file.
    Graph {
        input: Vec<usize>,
        layers: Vec<crate::model::graph::LayerSpec>,
    },
}

/// A `candle_nn` module: its name (recorded in `resolved.yaml` and part of the configuration
/// hash, so change it when the code changes), its prunable layers' names, and a function from
/// the data's feature and class counts to the model.
#[derive(Clone)]
pub(crate) struct UserModule {
    /// The model's name (`model.module` in `resolved.yaml`).
    pub name: String,
    /// Names of its prunable layers (what `prune.ignore` may name).
    pub layers: Vec<String>,
    #[allow(clippy::type_complexity)]
    pub build: Arc<dyn Fn(usize, usize) -> Result<Box<dyn Architecture>> + Send + Sync>,
}

impl UserModel {
    /// A `candle_nn` module built by `build` from a `VarBuilder`, pruned as `prunable` says;
    /// `name` is recorded as `model.module` in `resolved.yaml` and the configuration hash.
    pub fn candle(
        name: &str,
        build: impl Fn(VarBuilder) -> candle_core::Result<Box<dyn Module + Send + Sync>>
            + Send
            + Sync
            + 'static,
        prunable: Vec<Prunable>,
    ) -> UserModel {
        let build: Arc<BuildFn> = Arc::new(build);
        let owned = name.to_string();
        UserModel(UserSource::Candle(UserModule {
            name: name.into(),
            layers: prunable.iter().map(|p| p.name.clone()).collect(),
            build: Arc::new(move |d, classes| {
                Ok(Box::new(CandleModule::new(
                    &owned,
                    d,
                    classes,
                    build.clone(),
                    &prunable,
                )?))
            }),
        }))
    }

    /// A layer graph built in Rust: per-sample `input` shape (`[features]` or `[channels,
    /// height, width]`) and `layers` from the [`crate::LayerSpec`] builders. It is the model
    /// `model: {input, layers}` in a file describes (same resolved YAML, same hash), checked
    /// the same way; it trains on a hand-written engine where one fits, is exported shrunk, and
    /// `prunecv eval` reloads it.
    ///
    /// ```no_run
    /// use prunecv::{config, sweep, LayerSpec as L, UserModel};
    /// let cnn = UserModel::graph(&[1, 8, 8], vec![
    ///     L::conv2d(8, 3, None, Some(1)), L::batch_norm(), L::relu(), L::max_pool(2),
    ///     L::flatten(), L::linear(Some(32)), L::relu(), L::linear(None),
    /// ]);
    /// let exp = config::parse_with_model("name: cnn\nprune: {ignore: [fc2]}\n", "cnn", &[], cnn)?;
    /// let result = sweep::run(&exp, &sweep::RunOptions::default())?;
    /// # Ok::<(), prunecv::Error>(())
    /// ```
    pub fn graph(input: &[usize], layers: Vec<crate::model::graph::LayerSpec>) -> UserModel {
        UserModel(UserSource::Graph {
            input: input.to_vec(),
            layers,
        })
    }

    /// The candle module (tests).
    #[cfg(test)]
    pub(crate) fn module(&self) -> &UserModule {
        match &self.0 {
            UserSource::Candle(m) => m,
            UserSource::Graph { .. } => panic!("not a candle module"),
        }
    }
}

impl std::fmt::Debug for UserModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UserModule({})", self.name)
    }
}

impl PartialEq for UserModule {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl serde::Serialize for UserModule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.name)
    }
}
