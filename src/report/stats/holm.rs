//! Holm's step-down adjustment of a family of p-values (controls the family-wise error rate).

/// Holm-adjusted p-values, in the input order. With the m finite p-values sorted ascending,
/// p(1) ≤ … ≤ p(m), the adjusted value of p(i) is max over j ≤ i of min(1, (m − j + 1) · p(j)).
/// NaN p-values (nothing to test) stay NaN and do not count towards m. Ties keep input order.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..p.len()).filter(|&i| !p[i].is_nan()).collect();
    idx.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let m = idx.len();
    let mut out = vec![f64::NAN; p.len()];
    let mut running = 0.0f64;
    for (j, &i) in idx.iter().enumerate() {
        running = running.max(((m - j) as f64 * p[i]).min(1.0));
        out[i] = running;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holm_by_hand() {
        // Sorted: 0.01 (×4 = 0.04), 0.02 (×3 = 0.06), 0.03 (×2 = 0.06), 0.04 (×1 = 0.04 → the
        // running maximum keeps 0.06).
        let adj = holm(&[0.03, 0.01, 0.04, 0.02]);
        let want = [0.06, 0.04, 0.06, 0.06];
        for (a, w) in adj.iter().zip(want) {
            assert!((a - w).abs() < 1e-15, "{adj:?}");
        }
        // NaN left out of m (m = 2) and capped at 1: 0.55 × 2 = 1.1 → 1, then 0.6 × 1 = 0.6 is
        // lifted to the running maximum 1.
        let adj = holm(&[0.6, f64::NAN, 0.55]);
        assert_eq!(adj[0], 1.0);
        assert!(adj[1].is_nan());
        assert_eq!(adj[2], 1.0);
        let adj = holm(&[0.001, f64::NAN, 0.3]);
        assert!((adj[0] - 0.002).abs() < 1e-15 && (adj[2] - 0.3).abs() < 1e-15);
    }
}
