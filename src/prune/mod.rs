//! Pruning: the [`PruningMethod`] trait, its registry, and the turning of scores and a threshold
//! τ into keep-masks.
//!
//! A method only scores; [`tau`] decides what falls below the threshold; [`expand`] turns the
//! pruned scores into masks (single weights, or whole units with their bias and the next layer's
//! inputs).

pub mod budget;
pub mod combined;
pub mod importance;
pub mod lamp;
pub mod magnitude;
pub mod nm;
pub mod random;
pub mod synflow;
pub mod tau;
pub mod taylor;
pub mod wanda;

use crate::config::{MethodKind, NmSpec, PruneSpec, Scope, TauUnit};
use crate::error::Result;
use crate::model::{Architecture, LayerInfo, Masks, Params};
use crate::rng::Rng;

/// What one score stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    /// One score per weight.
    Weight,
    /// One score per output unit (neuron or channel) of a layer.
    Unit,
}

/// The scores of one prunable layer.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerScores {
    /// Index into the architecture's layer list.
    pub layer: usize,
    pub scores: Vec<f32>,
}

/// What a method may look at when scoring.
pub struct ScoreContext<'a> {
    pub arch: &'a dyn Architecture,
    pub params: &'a Params,
    pub layers: &'a [LayerInfo],
    /// Layers to leave dense (`prune.ignore`).
    pub ignore: &'a [String],
    /// A stream reserved for this (repeat, fold) and method, for methods that draw randomness.
    pub rng: Rng,
    /// Mean training-loss gradients, for methods whose `needs_gradients` is true.
    pub grads: Option<&'a Params>,
    /// For methods whose `needs_input_norms` is true, per entry of `layers`: the ℓ2 norm, over
    /// the training rows (and, for a convolution, every output position), of the input each
    /// weight of a row multiplies — one value per column of the layer's weight row
    /// (`in` for a linear layer, `in·kh·kw` for a convolution).
    pub input_norms: Option<&'a [Vec<f32>]>,
}

/// What turning scores into masks needs besides the scores.
#[derive(Clone, Copy)]
pub struct MaskContext<'a> {
    /// The model (methods that rescore while pruning, such as SynFlow, run it).
    pub arch: &'a dyn Architecture,
    pub params: &'a Params,
    pub layers: &'a [LayerInfo],
    pub unit: TauUnit,
    pub scope: Scope,
    /// Masks from earlier rounds (iterative schedules): what they removed stays removed, and
    /// thresholds are computed on the survivors only.
    pub prior: Option<&'a Masks>,
    /// N:M semi-structured sparsity applied on top of τ to weight-level scores.
    pub n_m: Option<NmSpec>,
    /// `Scope::Sensitivity`: each scored layer's measured sensitivity ([`budget`]).
    pub sensitivity: Option<&'a [budget::Curve]>,
}

impl<'a> MaskContext<'a> {
    /// One-shot thresholds of `params` in `unit` and `scope`: no earlier masks, no N:M pattern.
    pub fn one_shot(
        arch: &'a dyn Architecture,
        params: &'a Params,
        layers: &'a [LayerInfo],
        unit: TauUnit,
        scope: Scope,
    ) -> Self {
        MaskContext {
            arch,
            params,
            layers,
            unit,
            scope,
            prior: None,
            n_m: None,
            sensitivity: None,
        }
    }
}

impl MaskContext<'_> {
    /// Which scores of `s` are still alive under `prior` (all when there is none).
    fn alive(&self, g: Granularity, s: &LayerScores) -> Vec<bool> {
        let Some(prior) = self.prior else {
            return vec![true; s.scores.len()];
        };
        let l = &self.layers[s.layer];
        match g {
            Granularity::Weight => prior.0[l.weight].clone(),
            Granularity::Unit => prior.0[l.bias].clone(),
        }
    }

    /// Threshold `scores` at τ among the live entries.
    pub fn prune_sets(
        &self,
        g: Granularity,
        scores: &[LayerScores],
        tau: f64,
    ) -> Result<Vec<Vec<bool>>> {
        let slices: Vec<&[f32]> = scores.iter().map(|s| s.scores.as_slice()).collect();
        match self.scope {
            Scope::Erk => {
                let factors: Vec<f64> = scores
                    .iter()
                    .map(|s| tau::erk_factor(&self.params.0[self.layers[s.layer].weight].shape))
                    .collect();
                return Ok(self.prune_sets_split(g, scores, &slices, |sizes| {
                    tau::erk_fractions(sizes, &factors, tau)
                }));
            }
            Scope::Sensitivity => {
                let curves = self.curves(scores)?;
                return Ok(self.prune_sets_split(g, scores, &slices, |sizes| {
                    budget::allocate(&curves, sizes, tau)
                }));
            }
            Scope::Row if g == Granularity::Weight => return Ok(self.prune_sets_rows(scores, tau)),
            _ => {}
        }
        if self.prior.is_none() {
            // Everything is alive (one-shot): no live-entry copies per τ.
            return Ok(tau::prune_sets(&slices, self.unit, self.scope, tau));
        }
        let alive: Vec<Vec<bool>> = scores.iter().map(|s| self.alive(g, s)).collect();
        let alive_refs: Vec<&[bool]> = alive.iter().map(|v| v.as_slice()).collect();
        Ok(tau::prune_sets_among(
            &slices,
            &alive_refs,
            self.unit,
            self.scope,
            tau,
        ))
    }

    /// The sensitivity curve of every scored layer, in the order of `scores`.
    fn curves(&self, scores: &[LayerScores]) -> Result<Vec<&budget::Curve>> {
        let all = self.sensitivity.ok_or_else(|| {
            crate::error::Error::Internal(
                "`scope: sensitivity` without measured sensitivity curves".into(),
            )
        })?;
        scores
            .iter()
            .map(|s| {
                all.iter().find(|c| c.layer == s.layer).ok_or_else(|| {
                    crate::error::Error::Internal(format!(
                        "no sensitivity curve for layer {}",
                        self.layers[s.layer].name
                    ))
                })
            })
            .collect()
    }

    /// Layer budgets (`erk`, `sensitivity`): `fractions` maps the layers' live sizes to the
    /// fraction of each to prune; each layer then prunes its lowest live scores.
    fn prune_sets_split(
        &self,
        g: Granularity,
        scores: &[LayerScores],
        slices: &[&[f32]],
        fractions: impl FnOnce(&[usize]) -> Vec<f64>,
    ) -> Vec<Vec<bool>> {
        let alive: Vec<Vec<bool>> = scores.iter().map(|s| self.alive(g, s)).collect();
        let sizes: Vec<usize> = alive
            .iter()
            .map(|a| a.iter().filter(|&&k| k).count())
            .collect();
        slices
            .iter()
            .zip(&alive)
            .zip(fractions(&sizes))
            .map(|((s, a), f)| {
                tau::prune_sets_among(&[s], &[a], self.unit, Scope::Layer, f)
                    .pop()
                    .expect("one layer")
            })
            .collect()
    }

    /// `Scope::Row`: every output row of every layer (a unit's incoming weights) is its own
    /// group, thresholded among its live entries.
    fn prune_sets_rows(&self, scores: &[LayerScores], tau: f64) -> Vec<Vec<bool>> {
        scores
            .iter()
            .map(|s| {
                let alive = self.alive(Granularity::Weight, s);
                let row = s.scores.len() / self.layers[s.layer].units.max(1);
                s.scores
                    .chunks(row.max(1))
                    .zip(alive.chunks(row.max(1)))
                    .flat_map(|(r, a)| {
                        tau::prune_sets_among(&[r], &[a], self.unit, Scope::Layer, tau)
                            .pop()
                            .expect("one row")
                    })
                    .collect()
            })
            .collect()
    }

    /// Add to `pruned` (one set per entry of `scores`) what the N:M pattern removes.
    fn add_n_m(&self, scores: &[LayerScores], pruned: &mut [Vec<bool>]) {
        let Some(nm) = self.n_m else { return };
        for (s, p) in scores.iter().zip(pruned) {
            let alive = self.alive(Granularity::Weight, s);
            let row = s.scores.len() / self.layers[s.layer].units.max(1);
            let out = nm::pruned(&s.scores, &alive, row, nm);
            p.iter_mut().zip(out).for_each(|(a, b)| *a |= b);
        }
    }

    /// Dense masks, or the prior ones.
    pub fn start(&self) -> Masks {
        self.prior
            .cloned()
            .unwrap_or_else(|| Masks::dense(self.params))
    }
}

impl<'a> ScoreContext<'a> {
    /// Scoring `params` with every layer prunable, no gradients and no input norms.
    pub fn plain(
        arch: &'a dyn Architecture,
        params: &'a Params,
        layers: &'a [LayerInfo],
        rng: Rng,
    ) -> Self {
        ScoreContext {
            arch,
            params,
            layers,
            ignore: &[],
            rng,
            grads: None,
            input_norms: None,
        }
    }
}

impl ScoreContext<'_> {
    /// One score per weight of every prunable layer, `f` mapping a layer's weights to scores.
    pub fn weight_scores(&self, f: impl Fn(&[f32]) -> Vec<f32>) -> Vec<LayerScores> {
        self.prunable(Granularity::Weight)
            .into_iter()
            .map(|i| LayerScores {
                layer: i,
                scores: f(&self.params.0[self.layers[i].weight].data),
            })
            .collect()
    }

    /// The layers a method of this granularity may prune, as indices into `layers`.
    pub fn prunable(&self, g: Granularity) -> Vec<usize> {
        self.layers
            .iter()
            .enumerate()
            .filter(|(_, l)| !self.ignore.contains(&l.name))
            .filter(|(_, l)| {
                g == Granularity::Weight
                    || !(l.is_output
                        || l.unit_leader.is_some()
                        || l.coupled.iter().any(|c| self.ignore.contains(&c.name)))
            })
            .map(|(i, _)| i)
            .collect()
    }
}

/// A pruning criterion. Scores are computed once per model; each τ then costs one mask.
pub trait PruningMethod: Send + Sync {
    fn name(&self) -> &'static str;
    fn granularity(&self) -> Granularity;
    /// Whether [`ScoreContext::grads`] must be filled in.
    fn needs_gradients(&self) -> bool {
        false
    }
    /// Whether [`ScoreContext::input_norms`] must be filled in.
    fn needs_input_norms(&self) -> bool {
        false
    }
    /// Scores of every prunable layer; lower is pruned first.
    fn scores(&self, ctx: &mut ScoreContext) -> Result<Vec<LayerScores>>;
    /// Keep-masks at τ. The default thresholds `scores` in the configured unit and scope.
    fn masks(&self, m: &MaskContext, scores: &[LayerScores], tau: f64) -> Result<Masks> {
        masks_for(self.granularity(), scores, m, tau)
    }
}

/// The registry: one match arm per method.
pub fn build(kind: MethodKind, spec: &PruneSpec) -> Box<dyn PruningMethod> {
    match kind {
        MethodKind::Magnitude => Box::new(magnitude::Magnitude),
        MethodKind::Taylor => Box::new(taylor::Taylor),
        MethodKind::Importance => Box::new(importance::Importance {
            norm: spec.settings.importance_norm,
        }),
        MethodKind::Combined => Box::new(combined::Combined {
            norm: spec.settings.combined_norm,
        }),
        MethodKind::Random => Box::new(random::Random),
        MethodKind::Lamp => Box::new(lamp::Lamp),
        MethodKind::Wanda => Box::new(wanda::Wanda),
        MethodKind::Synflow => Box::new(synflow::Synflow {
            rounds: spec.settings.synflow_rounds,
        }),
    }
}

/// Keep-masks for one τ: threshold the scores (and, for weight scores, apply the N:M pattern),
/// then expand what falls below.
pub fn masks_for(
    g: Granularity,
    scores: &[LayerScores],
    m: &MaskContext,
    tau: f64,
) -> Result<Masks> {
    let mut pruned = m.prune_sets(g, scores, tau)?;
    if g == Granularity::Weight {
        m.add_n_m(scores, &mut pruned);
    }
    let mut masks = m.start();
    for (s, p) in scores.iter().zip(&pruned) {
        expand(g, &m.layers[s.layer], p, m.params, &mut masks);
    }
    Ok(masks)
}

/// Mark what `pruned` removes from one layer in `masks`.
///
/// Removing unit `u` zeroes row `u` and bias `u` of the layer and of every layer coupled to it
/// by a residual add, entry `u` of its batch normalisation's scale and shift, and every weight
/// of the layers that read unit `u` (for a next weight of shape `[out, units, rest...]`, the
/// `rest`-sized block at `[o, u]` for every `o`).
pub fn expand(
    g: Granularity,
    layer: &LayerInfo,
    pruned: &[bool],
    params: &Params,
    masks: &mut Masks,
) {
    match g {
        Granularity::Weight => {
            for (k, &p) in masks.0[layer.weight].iter_mut().zip(pruned) {
                if p {
                    *k = false;
                }
            }
        }
        Granularity::Unit => {
            for (u, _) in pruned.iter().enumerate().filter(|(_, p)| **p) {
                for (w, b) in layer.producers() {
                    let row = masks.0[w].len() / layer.units;
                    masks.0[w][u * row..(u + 1) * row].fill(false);
                    masks.0[b][u] = false;
                }
                for &q in &layer.unit_params {
                    masks.0[q][u] = false;
                }
                for &next in &layer.next {
                    let m = &mut masks.0[next];
                    let out = params.0[next].shape[0];
                    let inner = m.len() / (out * layer.units);
                    for o in 0..out {
                        let start = o * layer.units * inner + u * inner;
                        m[start..start + inner].fill(false);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
