//! Sensitivity budgets (`tau.scope: sensitivity`): how a global sparsity target τ is split over
//! layers from each layer's measured sensitivity, in the spirit of Han et al. (2015) and
//! Distiller's sensitivity analysis, but chosen automatically.
//!
//! A [`Curve`] holds, for one layer, the increase of the training loss when that layer alone
//! loses a fraction f of its (live) entries — measured by the sweep on the model's own training
//! rows, never on validation or test rows. [`allocate`] treats the layers' losses as additive
//! and minimises their sum for the τ · Σ n_l entries to remove: each curve, as loss against
//! entries removed, is replaced by its lower convex hull, and the hull segments of all layers
//! are taken cheapest loss-per-entry first until the target is met (the last one in part) —
//! the exact optimum of the convexified problem, where every layer stops at the same marginal
//! cost. Robust layers give up more, sensitive layers less, and the overall fraction is τ as
//! with `global` or `erk`.

/// Fractions of a layer's live entries at which its sensitivity is measured (0 is implied).
pub const LEVELS: [f64; 13] = [
    0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 1.0,
];

/// One layer's sensitivity.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    /// Index into the architecture's layer list.
    pub layer: usize,
    /// `(fraction pruned, loss increase)` for every fraction of [`LEVELS`], ascending.
    pub points: Vec<(f64, f64)>,
}

impl Curve {
    /// The lower convex hull of (0, 0) and the points, as (entries removed, loss) for a layer
    /// of `n` entries; a non-finite loss counts as prohibitively large.
    fn hull(&self, n: usize) -> Vec<(f64, f64)> {
        let mut hull: Vec<(f64, f64)> = vec![(0.0, 0.0)];
        for &(f, l) in &self.points {
            let p = (f * n as f64, if l.is_finite() { l } else { 1e300 });
            if p.0 <= hull.last().expect("starts with (0, 0)").0 {
                continue;
            }
            // Drop the last point while it lies on or above the line from its predecessor to p.
            while hull.len() >= 2 {
                let (a, b) = (hull[hull.len() - 2], hull[hull.len() - 1]);
                if (b.1 - a.1) * (p.0 - a.0) >= (p.1 - a.1) * (b.0 - a.0) {
                    hull.pop();
                } else {
                    break;
                }
            }
            hull.push(p);
        }
        hull
    }
}

/// Per-layer fractions to prune so that a fraction τ of all `sizes` entries goes, at the least
/// total loss increase of the layers' `curves` (aligned with `sizes`, convexified). Segments of
/// equal cost go to the earlier layer first.
pub fn allocate(curves: &[&Curve], sizes: &[usize], tau: f64) -> Vec<f64> {
    let total: usize = sizes.iter().sum();
    let mut left = tau.clamp(0.0, 1.0) * total as f64;
    // (cost per entry, layer, entries) of every hull segment.
    let mut segments: Vec<(f64, usize, f64)> = Vec::new();
    for (l, (c, &n)) in curves.iter().zip(sizes).enumerate() {
        for w in c.hull(n).windows(2) {
            let dx = w[1].0 - w[0].0;
            segments.push(((w[1].1 - w[0].1) / dx, l, dx));
        }
    }
    // A layer's segments rise in cost, so a stable sort keeps each layer's in order.
    segments.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut removed = vec![0.0; sizes.len()];
    for (_, l, dx) in segments {
        if left <= 0.0 {
            break;
        }
        let take = dx.min(left);
        removed[l] += take;
        left -= take;
    }
    removed
        .iter()
        .zip(sizes)
        .map(|(&r, &n)| if n == 0 { 0.0 } else { (r / n as f64).min(1.0) })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(layer: usize, points: &[(f64, f64)]) -> Curve {
        Curve {
            layer,
            points: points.to_vec(),
        }
    }

    /// Layer A costs 0.1 at half and 1.0 when gone, layer B 0.4 and 2.0; 100 entries each.
    /// Per entry removed: A's halves cost 0.002 and 0.018, B's 0.008 and 0.032. Removing 60
    /// takes A's first half and 10 of B's; removing 120 both first halves and 20 of A's second.
    #[test]
    fn cheapest_segments_first_by_hand() {
        let a = curve(0, &[(0.5, 0.1), (1.0, 1.0)]);
        let b = curve(1, &[(0.5, 0.4), (1.0, 2.0)]);
        let f = allocate(&[&a, &b], &[100, 100], 0.3);
        assert!(
            (f[0] - 0.5).abs() < 1e-12 && (f[1] - 0.1).abs() < 1e-12,
            "{f:?}"
        );
        let f = allocate(&[&a, &b], &[100, 100], 0.6);
        assert!(
            (f[0] - 0.7).abs() < 1e-12 && (f[1] - 0.5).abs() < 1e-12,
            "{f:?}"
        );
        // Sizes weigh in: B four times as large makes its entries four times cheaper
        // (0.002 per entry for its first half, equal to A's: A, the earlier layer, goes first).
        let f = allocate(&[&a, &b], &[100, 400], 0.2);
        assert!(
            (f[0] - 0.5).abs() < 1e-12 && (f[1] - 0.125).abs() < 1e-12,
            "{f:?}"
        );
        assert_eq!(allocate(&[&a, &b], &[10, 10], 0.0), vec![0.0, 0.0]);
        assert_eq!(allocate(&[&a, &b], &[10, 10], 1.0), vec![1.0, 1.0]);
    }

    /// C dips (pruning 70 % costs less than 50 %): its hull runs straight from 0 to 70 %
    /// (0.1 / 70 per entry) and then to 100 % ((3.0 − 0.1) / 30). A free layer goes first.
    #[test]
    fn non_convex_curves_are_convexified() {
        let c = curve(0, &[(0.5, 0.2), (0.7, 0.1), (1.0, 3.0)]);
        assert_eq!(c.hull(100), vec![(0.0, 0.0), (70.0, 0.1), (100.0, 3.0)]);
        let free = curve(1, &[(0.5, 0.0), (1.0, 0.0)]);
        let f = allocate(&[&c, &free], &[100, 100], 0.5);
        assert_eq!(f, vec![0.0, 1.0]);
        let f = allocate(&[&c, &free], &[100, 100], 0.75);
        assert!((f[0] - 0.5).abs() < 1e-12 && f[1] == 1.0, "{f:?}");
        // A layer that gets better when pruned is pruned first.
        let helps = curve(0, &[(0.5, -0.1), (1.0, 0.5)]);
        let f = allocate(&[&free, &helps], &[100, 100], 0.25);
        assert_eq!(f, vec![0.0, 0.5]);
    }

    #[test]
    fn hits_the_target_for_any_tau() {
        let a = curve(0, &[(0.3, 0.0), (0.6, 0.05), (0.9, 0.3), (1.0, 2.3)]);
        let b = curve(1, &[(0.3, 0.01), (0.6, 0.02), (0.9, 0.03), (1.0, 0.5)]);
        let c = curve(2, &[(0.3, 0.5), (0.6, 0.9), (0.9, 1.2), (1.0, f64::NAN)]);
        let sizes = [1000, 300, 50];
        let mut last = vec![0.0; 3];
        for k in 0..=20 {
            let tau = k as f64 / 20.0;
            let f = allocate(&[&a, &b, &c], &sizes, tau);
            let got: f64 = f.iter().zip(sizes).map(|(f, n)| f * n as f64).sum();
            assert!((got - tau * 1350.0).abs() < 1e-6, "τ {tau}: {got}");
            // Raising τ never un-prunes a layer.
            assert!(
                f.iter().zip(&last).all(|(a, b)| a + 1e-12 >= *b),
                "{f:?} {last:?}"
            );
            last = f;
        }
    }
}
