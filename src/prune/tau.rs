//! Thresholds: which scores fall below τ, in a given unit and scope.
//!
//! | unit | a score s is pruned when |
//! |---|---|
//! | `abs` | s < τ |
//! | `std` | s < τ · std(S) (population standard deviation) |
//! | `mean` | s < τ · mean(S) |
//! | `quantile` | s is among the round(τ · \|S\|) lowest of S (ties broken by position) |
//!
//! S is the layer's scores (`scope: layer`) or all prunable layers' scores pooled
//! (`scope: global`), restricted to entries still alive: in an iterative schedule, every round
//! recomputes the statistics on the surviving weights' current scores, and `quantile` prunes
//! that fraction of the survivors. Entries already dead are always reported as pruned.

use crate::config::{Scope, TauUnit};

fn mean_std(xs: &[&[f32]]) -> (f64, f64) {
    let n: usize = xs.iter().map(|s| s.len()).sum();
    if n == 0 {
        return (0.0, 0.0);
    }
    let sum: f64 = xs.iter().flat_map(|s| s.iter()).map(|&x| x as f64).sum();
    let mean = sum / n as f64;
    let ss: f64 = xs
        .iter()
        .flat_map(|s| s.iter())
        .map(|&x| (x as f64 - mean).powi(2))
        .sum();
    (mean, (ss / n as f64).sqrt())
}

/// Prune sets for a group of layers sharing one set of statistics.
fn group(scores: &[&[f32]], unit: TauUnit, tau: f64) -> Vec<Vec<bool>> {
    let cut = match unit {
        TauUnit::Abs => tau,
        TauUnit::Std => tau * mean_std(scores).1,
        TauUnit::Mean => tau * mean_std(scores).0,
        TauUnit::Quantile => return lowest_fraction(scores, tau),
    };
    scores
        .iter()
        .map(|s| s.iter().map(|&x| (x as f64) < cut).collect())
        .collect()
}

/// Mark the round(τ · n) lowest scores of the group (ties: earlier layer, then earlier index).
fn lowest_fraction(scores: &[&[f32]], tau: f64) -> Vec<Vec<bool>> {
    let mut all: Vec<(f32, usize, usize)> = scores
        .iter()
        .enumerate()
        .flat_map(|(l, s)| s.iter().enumerate().map(move |(i, &x)| (x, l, i)))
        .collect();
    let k = ((tau.clamp(0.0, 1.0) * all.len() as f64).round() as usize).min(all.len());
    let mut out: Vec<Vec<bool>> = scores.iter().map(|s| vec![false; s.len()]).collect();
    if k == 0 {
        return out;
    }
    let cmp = |a: &(f32, usize, usize), b: &(f32, usize, usize)| {
        a.0.total_cmp(&b.0).then((a.1, a.2).cmp(&(b.1, b.2)))
    };
    if k < all.len() {
        all.select_nth_unstable_by(k - 1, cmp);
    }
    for &(_, l, i) in &all[..k] {
        out[l][i] = true;
    }
    out
}

/// Like [`prune_sets`], but only entries with `alive[l][i]` take part (in statistics and
/// quantiles); dead entries come back pruned.
pub fn prune_sets_among(
    scores: &[&[f32]],
    alive: &[&[bool]],
    unit: TauUnit,
    scope: Scope,
    tau: f64,
) -> Vec<Vec<bool>> {
    let live: Vec<Vec<f32>> = scores
        .iter()
        .zip(alive)
        .map(|(s, a)| {
            s.iter()
                .zip(*a)
                .filter(|(_, k)| **k)
                .map(|(x, _)| *x)
                .collect()
        })
        .collect();
    let live_refs: Vec<&[f32]> = live.iter().map(|v| v.as_slice()).collect();
    let sub = prune_sets(&live_refs, unit, scope, tau);
    alive
        .iter()
        .zip(sub)
        .map(|(a, p)| {
            let mut it = p.into_iter();
            a.iter().map(|&k| !k || it.next().unwrap_or(true)).collect()
        })
        .collect()
}

/// For each layer's scores, which entries are pruned (`true`) at threshold τ. `Scope::Erk`
/// needs the layers' shapes ([`prune_sets_erk`]); without them every layer has the same ERK
/// factor, which is the uniform split of `Scope::Layer`.
///
/// `Scope::Row` needs the layers' row lengths and `Scope::Sensitivity` the layers' measured
/// curves, which [`crate::prune::MaskContext`] knows (it passes one row at a time, or each
/// layer's fraction). Here every slice is thresholded on its own, as with `Layer`.
pub fn prune_sets(scores: &[&[f32]], unit: TauUnit, scope: Scope, tau: f64) -> Vec<Vec<bool>> {
    match scope {
        Scope::Layer | Scope::Row | Scope::Sensitivity => scores
            .iter()
            .map(|s| group(&[s], unit, tau).pop().expect("one layer"))
            .collect(),
        Scope::Global => group(scores, unit, tau),
        Scope::Erk => prune_sets_erk(scores, &vec![1.0; scores.len()], unit, tau),
    }
}

/// `Scope::Erk`: each layer prunes its lowest fraction from [`erk_fractions`].
pub fn prune_sets_erk(
    scores: &[&[f32]],
    factors: &[f64],
    unit: TauUnit,
    tau: f64,
) -> Vec<Vec<bool>> {
    let sizes: Vec<usize> = scores.iter().map(|s| s.len()).collect();
    let fractions = erk_fractions(&sizes, factors, tau);
    scores
        .iter()
        .zip(fractions)
        .map(|(s, f)| group(&[s], unit, f).pop().expect("one layer"))
        .collect()
}

/// The ERK factor of a weight of shape `[out, in, kernel…]`:
/// (out + in + Σ kernel dims) / (out · in · Π kernel dims).
pub fn erk_factor(shape: &[usize]) -> f64 {
    let sum: usize = shape.iter().sum();
    let prod: f64 = shape.iter().map(|&d| d as f64).product();
    if prod == 0.0 {
        0.0
    } else {
        sum as f64 / prod
    }
}

/// Per-layer fractions to prune so that a fraction `tau` of all `sizes` entries goes, each
/// layer's density proportional to its factor: density_l = min(1, ε · factor_l), ε solved so the
/// kept total is (1 − τ) · Σ sizes, layers that would exceed density 1 kept whole and the rest
/// of the budget spread over the others.
pub fn erk_fractions(sizes: &[usize], factors: &[f64], tau: f64) -> Vec<f64> {
    let keep = (1.0 - tau.clamp(0.0, 1.0)) * sizes.iter().sum::<usize>() as f64;
    let mut dense = vec![false; sizes.len()];
    let mut eps = 0.0;
    loop {
        let fixed: f64 = (0..sizes.len())
            .filter(|&l| dense[l])
            .map(|l| sizes[l] as f64)
            .sum();
        let denom: f64 = (0..sizes.len())
            .filter(|&l| !dense[l])
            .map(|l| sizes[l] as f64 * factors[l])
            .sum();
        if denom <= 0.0 {
            break;
        }
        eps = ((keep - fixed) / denom).max(0.0);
        let over: Vec<usize> = (0..sizes.len())
            .filter(|&l| !dense[l] && eps * factors[l] > 1.0)
            .collect();
        if over.is_empty() {
            break;
        }
        for l in over {
            dense[l] = true;
        }
    }
    (0..sizes.len())
        .map(|l| {
            if dense[l] {
                0.0
            } else {
                (1.0 - eps * factors[l]).clamp(0.0, 1.0)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two Linear layers, 4×8 (factor 12/32 = 0.375) and 2×4 (factor 6/8 = 0.75); 40 weights.
    /// Keeping 50 %: ε (32·0.375 + 8·0.75) = 20 → ε = 10/9, densities 0.41667 and 0.83333.
    /// Keeping 80 %: ε = 32/18 would give the small layer density 1.33: it stays whole and the
    /// big one keeps 24 of 32 (density 0.75).
    #[test]
    fn erk_fractions_by_hand() {
        let f = [erk_factor(&[4, 8]), erk_factor(&[2, 4])];
        assert_eq!(f, [0.375, 0.75]);
        let fr = erk_fractions(&[32, 8], &f, 0.5);
        assert!((fr[0] - (1.0 - 10.0 / 9.0 * 0.375)).abs() < 1e-12, "{fr:?}");
        assert!((fr[1] - (1.0 - 10.0 / 9.0 * 0.75)).abs() < 1e-12, "{fr:?}");
        let fr = erk_fractions(&[32, 8], &f, 0.2);
        assert_eq!(fr[1], 0.0);
        assert!((fr[0] - 0.25).abs() < 1e-12, "{fr:?}");
        // A conv weight [20, 1, 5, 5]: (20 + 1 + 5 + 5) / (20 · 1 · 25) = 31 / 500.
        assert_eq!(erk_factor(&[20, 1, 5, 5]), 31.0 / 500.0);
        // Equal factors split uniformly.
        let fr = erk_fractions(&[10, 30], &[1.0, 1.0], 0.3);
        assert!(fr.iter().all(|f| (f - 0.3).abs() < 1e-12), "{fr:?}");
        // Quantile masks at those fractions: 8 of 32 and 0 of 8 pruned.
        let a: Vec<f32> = (0..32).map(|i| i as f32).collect();
        let b = [0.5f32; 8];
        let sets = prune_sets_erk(&[&a, &b], &f, TauUnit::Quantile, 0.2);
        assert_eq!(sets[0].iter().filter(|&&p| p).count(), 8);
        assert!(sets[0][..8].iter().all(|&p| p));
        assert_eq!(sets[1], vec![false; 8]);
    }

    #[test]
    fn abs_std_mean_cutoffs_by_hand() {
        let s: &[f32] = &[0.1, 0.4, 0.2, 0.8];
        let l = Scope::Layer;
        assert_eq!(
            prune_sets(&[s], TauUnit::Abs, l, 0.3),
            vec![vec![true, false, true, false]]
        );
        // mean 0.375, population std 0.26810: τ = 1 cuts at 0.2681, τ = 1.5 at 0.4022.
        assert_eq!(
            prune_sets(&[s], TauUnit::Std, l, 1.0),
            vec![vec![true, false, true, false]]
        );
        assert_eq!(
            prune_sets(&[s], TauUnit::Std, l, 1.5),
            vec![vec![true, true, true, false]]
        );
        // mean units: τ = 1.1 cuts at 0.4125.
        assert_eq!(
            prune_sets(&[s], TauUnit::Mean, l, 1.1),
            vec![vec![true, true, true, false]]
        );
        assert_eq!(prune_sets(&[s], TauUnit::Abs, l, 0.0), vec![vec![false; 4]]);
    }

    #[test]
    fn quantile_prunes_exact_counts_with_ties_by_position() {
        let s: &[f32] = &[0.5, 0.1, 0.5, 0.3, 0.5];
        let q = |t| prune_sets(&[s], TauUnit::Quantile, Scope::Layer, t);
        assert_eq!(q(0.0), vec![vec![false; 5]]);
        assert_eq!(q(0.4), vec![vec![false, true, false, true, false]]);
        // 3 of 5: the tie among the 0.5s goes to the earliest.
        assert_eq!(q(0.6), vec![vec![true, true, false, true, false]]);
        assert_eq!(q(1.0), vec![vec![true; 5]]);
    }

    #[test]
    fn dead_entries_stay_pruned_and_leave_the_statistics() {
        let s: &[f32] = &[0.0, 0.5, 0.0, 0.3, 0.9, 0.1];
        let alive: &[bool] = &[false, true, false, true, true, true];
        // Quantile 0.5 of the 4 survivors: the two lowest (0.1, 0.3).
        assert_eq!(
            prune_sets_among(&[s], &[alive], TauUnit::Quantile, Scope::Layer, 0.5),
            vec![vec![true, false, true, true, false, true]]
        );
        // Mean of survivors = 0.45: prunes 0.3 and 0.1 (the zeros are not averaged in).
        assert_eq!(
            prune_sets_among(&[s], &[alive], TauUnit::Mean, Scope::Layer, 1.0),
            vec![vec![true, false, true, true, false, true]]
        );
    }

    #[test]
    fn global_pools_statistics_across_layers() {
        let a: &[f32] = &[1.0, 2.0];
        let b: &[f32] = &[10.0, 20.0, 30.0];
        // Layer-wise quantile 0.5: round(1) of a, round(1.5) = 2 of b.
        assert_eq!(
            prune_sets(&[a, b], TauUnit::Quantile, Scope::Layer, 0.5),
            vec![vec![true, false], vec![true, true, false]]
        );
        // Global quantile 0.4 of 5 scores: the two lowest overall, both in a.
        assert_eq!(
            prune_sets(&[a, b], TauUnit::Quantile, Scope::Global, 0.4),
            vec![vec![true, true], vec![false, false, false]]
        );
        // Global mean = 12.6: prunes 1, 2, 10.
        assert_eq!(
            prune_sets(&[a, b], TauUnit::Mean, Scope::Global, 1.0),
            vec![vec![true, true], vec![true, false, false]]
        );
    }
}
