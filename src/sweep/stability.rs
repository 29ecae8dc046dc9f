//! Mask stability across folds, where it means something.
//!
//! Hidden units of independently initialised fold models are not aligned (unit 7 of one fold
//! has nothing to do with unit 7 of another), so a raw overlap of their masks measures nothing.
//! Two comparisons do mean something:
//!
//! - **input features** (always): the first layer's inputs are the data's own features (or
//!   input channels), the same in every fold; a feature survives when an effective weight
//!   ([`crate::model::effective`]) leaves it. Mean pairwise Jaccard over the fold models.
//! - **whole masks** (with `cv.shared_init: true`): fold models that start from one
//!   initialisation share their units' identities, as in lottery-ticket stability studies;
//!   mean pairwise Jaccard of the kept prunable weights.
//!
//! Each is reported next to its chance level: the expected Jaccard of two uniformly random
//! subsets of the same sizes (exact, from the hypergeometric law of their intersection),
//! averaged over the same pairs. A value near chance means the surviving sets are as different
//! as random ones; 1 means every fold keeps the same set.
//!
//! The feature sets come from the journal (each job records them, [`to_hex`], [`journalled`]);
//! whole masks are too large for it, so with a shared initialisation [`measure`] prunes the fold
//! models again at each choice (deterministically: the masks the jobs produced).

use super::schedule::{self, score, Scored};
use super::{Prepared, Trained};
use crate::config::{Experiment, MethodKind};
use crate::error::Result;
use crate::model::effective::effective;
use rayon::prelude::*;

/// Jaccard index |A ∩ B| / |A ∪ B| of two sets given as flags (two empty sets: 1).
pub fn jaccard(a: &[bool], b: &[bool]) -> f64 {
    let (mut inter, mut union) = (0usize, 0usize);
    for (x, y) in a.iter().zip(b) {
        inter += usize::from(*x && *y);
        union += usize::from(*x || *y);
    }
    if union == 0 {
        1.0
    } else {
        inter as f64 / union as f64
    }
}

/// ln k! for k = 0..=n.
fn log_factorials(n: usize) -> Vec<f64> {
    let mut t = Vec::with_capacity(n + 1);
    t.push(0.0);
    let mut acc = 0.0f64;
    for k in 1..=n {
        acc += (k as f64).ln();
        t.push(acc);
    }
    t
}

/// Expected Jaccard of a uniformly random `a`-subset and an independent uniformly random
/// `b`-subset of `n` items: Σ_k P(|A∩B| = k) · k / (a + b − k), k hypergeometric.
#[cfg(test)]
pub fn chance_jaccard(n: usize, a: usize, b: usize) -> f64 {
    chance_with(&log_factorials(n), n, a, b)
}

fn chance_with(lf: &[f64], n: usize, a: usize, b: usize) -> f64 {
    if a + b == 0 {
        return 1.0;
    }
    let ln_c = |n: usize, k: usize| lf[n] - lf[k] - lf[n - k];
    let total = ln_c(n, b);
    let lo = (a + b).saturating_sub(n);
    let mut e = 0.0;
    for k in lo..=a.min(b) {
        let lp = ln_c(a, k) + ln_c(n - a, b - k) - total;
        if lp > -745.0 {
            e += lp.exp() * k as f64 / (a + b - k) as f64;
        }
    }
    e
}

/// Mean pairwise Jaccard of `sets` (all of one length) and the mean chance level of the same
/// pairs; `None` with fewer than two sets.
pub fn pairwise(sets: &[Vec<bool>]) -> Option<(f64, f64)> {
    if sets.len() < 2 {
        return None;
    }
    let n = sets[0].len();
    let lf = log_factorials(n);
    let sizes: Vec<usize> = sets
        .iter()
        .map(|s| s.iter().filter(|k| **k).count())
        .collect();
    let (mut j, mut c, mut pairs) = (0.0, 0.0, 0usize);
    for x in 0..sets.len() {
        for y in x + 1..sets.len() {
            j += jaccard(&sets[x], &sets[y]);
            c += chance_with(&lf, n, sizes[x], sizes[y]);
            pairs += 1;
        }
    }
    Some((j / pairs as f64, c / pairs as f64))
}

/// Flags as a hex string, 4 flags per digit, first flag in the lowest bit.
pub fn to_hex(bits: &[bool]) -> String {
    bits.chunks(4)
        .map(|c| {
            let v = c
                .iter()
                .enumerate()
                .fold(0u32, |a, (i, b)| a | (u32::from(*b) << i));
            char::from_digit(v, 16).expect("a nibble")
        })
        .collect()
}

/// The `n` flags of [`to_hex`]'s output; `None` if it is not that.
pub fn from_hex(s: &str, n: usize) -> Option<Vec<bool>> {
    if s.len() != n.div_ceil(4) {
        return None;
    }
    let mut out = Vec::with_capacity(n);
    for ch in s.chars() {
        let v = ch.to_digit(16)?;
        for i in 0..4 {
            if out.len() < n {
                out.push((v >> i) & 1 == 1);
            }
        }
    }
    Some(out)
}

/// Mean pairwise Jaccard of input-feature sets and its chance level; `None` with fewer than two
/// sets or a single input (one channel: nothing to compare).
pub fn feature_pairwise(sets: &[Vec<bool>]) -> Option<(f64, f64)> {
    if sets.first().is_some_and(|f| f.len() > 1) {
        pairwise(sets)
    } else {
        None
    }
}

/// The journalled input-feature sets (`n_inputs` flags each) of every fold at each
/// `(method, τ)` of `choices`, diverged runs left out; `None` when an entry lacks them (a journal
/// of an older version).
pub fn journalled<'a>(
    entries: impl Iterator<Item = &'a super::journal::Entry>,
    choices: &[(MethodKind, f64)],
    n_inputs: usize,
) -> Option<Vec<Vec<Vec<bool>>>> {
    let mut out: Vec<Vec<Vec<bool>>> = vec![Vec::new(); choices.len()];
    for e in entries {
        for (k, r) in e.records.iter().enumerate() {
            let Some(c) = choices
                .iter()
                .position(|&(m, t)| r.method == m && Some(t) == r.tau)
            else {
                continue;
            };
            let bits = from_hex(e.features.get(k)?, n_inputs)?;
            if !r.diverged {
                out[c].push(bits);
            }
        }
    }
    Some(out)
}

/// Stability of one (method, τ) choice across the fold models.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Stability {
    /// Mean pairwise Jaccard of the surviving input features, and its chance level.
    pub features: Option<(f64, f64)>,
    /// Mean pairwise Jaccard of the whole kept-weight masks (shared initialisation only).
    pub masks: Option<(f64, f64)>,
}

/// What one fold model keeps at one τ: surviving inputs and (with shared init) kept weights.
struct Kept {
    inputs: Vec<bool>,
    weights: Option<Vec<bool>>,
}

/// Prune every fold model at each chosen `(method, τ)` again (deterministically: the same
/// masks the sweep's jobs produced) and measure the stability of what survives. Diverged runs
/// are left out. `choices` index `exp.prune.methods`.
pub fn measure(
    exp: &Experiment,
    prep: &Prepared,
    trained: &[Trained],
    choices: &[(usize, f64)],
) -> Result<Vec<Stability>> {
    let layers = prep.arch.layers();
    let methods: Vec<usize> = {
        let mut m: Vec<usize> = choices.iter().map(|c| c.0).collect();
        m.sort_unstable();
        m.dedup();
        m
    };
    let pairs: Vec<(usize, usize)> = (0..trained.len())
        .flat_map(|t| methods.iter().map(move |&m| (t, m)))
        .collect();
    // Per (fold model, method): what survives at each of the method's chosen τ.
    let kept: Vec<Vec<(f64, Option<Kept>)>> = pairs
        .par_iter()
        .map(|&(ti, mi)| {
            let t = &trained[ti];
            let kind: MethodKind = exp.prune.methods[mi];
            let sc: Scored = score(
                exp,
                prep,
                &t.params,
                &t.train_data,
                kind,
                &schedule::model_ids(t.which),
            )?;
            let mut out = Vec::new();
            for &(_, tau) in choices.iter().filter(|c| c.0 == mi) {
                let o = schedule::run(exp, prep, t, kind, &sc, tau)?;
                let k = (!(o.diverged || t.diverged)).then(|| Kept {
                    inputs: effective(&t.params, &o.masks, &layers).inputs_used,
                    weights: exp.cv.shared_init.then(|| {
                        layers
                            .iter()
                            .flat_map(|l| o.masks.0[l.weight].iter().copied())
                            .collect()
                    }),
                });
                out.push((tau, k));
            }
            Ok(out)
        })
        .collect::<Result<_>>()?;
    Ok(choices
        .iter()
        .map(|&(mi, tau)| {
            let found: Vec<&Kept> = pairs
                .iter()
                .zip(&kept)
                .filter(|((_, m), _)| *m == mi)
                .filter_map(|(_, ks)| ks.iter().find(|(t, _)| *t == tau)?.1.as_ref())
                .collect();
            let inputs: Vec<Vec<bool>> = found.iter().map(|k| k.inputs.clone()).collect();
            let weights: Vec<Vec<bool>> = found.iter().filter_map(|k| k.weights.clone()).collect();
            Stability {
                features: feature_pairwise(&inputs),
                masks: pairwise(&weights),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(bits: &str) -> Vec<bool> {
        bits.chars().map(|c| c == '1').collect()
    }

    #[test]
    fn hex_round_trip() {
        let b = s("1101001");
        assert_eq!(to_hex(&b), "b4");
        assert_eq!(from_hex("b4", 7), Some(b));
        assert_eq!(from_hex("b4", 9), None);
        assert_eq!(from_hex("zz", 8), None);
    }

    #[test]
    fn jaccard_by_hand() {
        assert_eq!(jaccard(&s("1100"), &s("0110")), 1.0 / 3.0);
        assert_eq!(jaccard(&s("1111"), &s("1111")), 1.0);
        assert_eq!(jaccard(&s("1000"), &s("0100")), 0.0);
        assert_eq!(jaccard(&s("0000"), &s("0000")), 1.0);
        assert_eq!(jaccard(&s("11100"), &s("01111")), 2.0 / 5.0);
    }

    #[test]
    fn chance_level_by_hand() {
        // n = 4, |A| = |B| = 2: P(k=0) = 1/6, P(1) = 4/6, P(2) = 1/6;
        // E[J] = 4/6 · 1/3 + 1/6 · 1 = 7/18.
        assert!((chance_jaccard(4, 2, 2) - 7.0 / 18.0).abs() < 1e-12);
        // n = 3, |A| = 1, |B| = 2: k = 1 w.p. 2/3 (J = 1/2), k = 0 w.p. 1/3 (J = 0) → 1/3.
        assert!((chance_jaccard(3, 1, 2) - 1.0 / 3.0).abs() < 1e-12);
        // Full sets always coincide; empty sets count as identical.
        assert!((chance_jaccard(10, 10, 10) - 1.0).abs() < 1e-12);
        assert_eq!(chance_jaccard(5, 0, 0), 1.0);
        assert_eq!(chance_jaccard(5, 0, 3), 0.0);
    }

    #[test]
    fn pairwise_means_by_hand() {
        let sets = vec![s("1100"), s("0110"), s("1100")];
        // pairs: 1/3, 1, 1/3 → 5/9; every pair has sizes (2, 2) → chance 7/18.
        let (j, c) = pairwise(&sets).unwrap();
        assert!((j - 5.0 / 9.0).abs() < 1e-12);
        assert!((c - 7.0 / 18.0).abs() < 1e-12);
        assert_eq!(pairwise(&sets[..1]), None);
    }

    #[test]
    fn chance_is_a_probability_weighted_mean_for_large_n() {
        // Large sets: E[J] ≈ p²/(2p − p²) for density p (here 0.5 → 1/3).
        let c = chance_jaccard(100_000, 50_000, 50_000);
        assert!((c - 1.0 / 3.0).abs() < 1e-3, "{c}");
    }
}
