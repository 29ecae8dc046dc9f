//! The Wilcoxon signed-rank test of paired differences (two-sided).
//!
//! Zero differences are dropped (Wilcoxon's convention); the absolute values of the rest are
//! ranked with tied values sharing their average rank. `W+` is the sum of the ranks of the
//! positive differences. Under the null hypothesis every sign pattern is equally likely, so for
//! up to [`EXACT_MAX_N`] non-zero differences the p-value is exact: the null distribution of `W+`
//! for *these* ranks (ties included) is enumerated by a dynamic programme over doubled ranks
//! (integers, since an average rank is a multiple of 1/2). Above that, the normal approximation
//! with the tie-corrected variance and a continuity correction of 1/2 is used.

use super::student::normal_cdf;

/// The largest number of non-zero differences whose p-value is computed exactly.
pub const EXACT_MAX_N: usize = 25;

/// The result of a signed-rank test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SignedRank {
    /// Non-zero differences (the n of the test).
    pub n: usize,
    /// Sum of the ranks of the positive differences.
    pub w_plus: f64,
    /// Sum of the ranks of the negative differences.
    pub w_minus: f64,
    /// Two-sided p-value; 1 when every difference is zero.
    pub p: f64,
    /// True when `p` comes from the exact null distribution.
    pub exact: bool,
}

/// Average ranks (1-based) of `values`, ties sharing the mean of their positions.
pub fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..values.len()).collect();
    idx.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && values[idx[j + 1]] == values[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            ranks[k] = avg;
        }
        i = j + 1;
    }
    ranks
}

/// The two-sided Wilcoxon signed-rank test of `diffs` (NaNs are ignored, as are zeros).
pub fn signed_rank(diffs: &[f64]) -> SignedRank {
    let nz: Vec<f64> = diffs
        .iter()
        .copied()
        .filter(|d| d.is_finite() && *d != 0.0)
        .collect();
    let n = nz.len();
    let abs: Vec<f64> = nz.iter().map(|d| d.abs()).collect();
    let ranks = average_ranks(&abs);
    let w_plus: f64 = nz
        .iter()
        .zip(&ranks)
        .filter(|(d, _)| **d > 0.0)
        .map(|(_, r)| r)
        .sum();
    let total = (n * (n + 1)) as f64 / 2.0;
    let w_minus = total - w_plus;
    if n == 0 {
        return SignedRank {
            n,
            w_plus,
            w_minus,
            p: 1.0,
            exact: true,
        };
    }
    if n <= EXACT_MAX_N {
        let doubled: Vec<usize> = ranks.iter().map(|r| (2.0 * r).round() as usize).collect();
        let p = exact_p(&doubled, (2.0 * w_plus).round() as usize);
        return SignedRank {
            n,
            w_plus,
            w_minus,
            p,
            exact: true,
        };
    }
    // Normal approximation: E[W+] = n(n+1)/4, Var[W+] = n(n+1)(2n+1)/24 − Σ(t³ − t)/48 over
    // groups of t tied absolute values.
    let nf = n as f64;
    let mean = nf * (nf + 1.0) / 4.0;
    let mut var = nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0;
    let mut sorted = abs.clone();
    sorted.sort_by(f64::total_cmp);
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j + 1 < sorted.len() && sorted[j + 1] == sorted[i] {
            j += 1;
        }
        let t = (j - i + 1) as f64;
        var -= (t * t * t - t) / 48.0;
        i = j + 1;
    }
    let z = ((w_plus - mean).abs() - 0.5).max(0.0) / var.sqrt();
    SignedRank {
        n,
        w_plus,
        w_minus,
        p: (2.0 * (1.0 - normal_cdf(z))).min(1.0),
        exact: false,
    }
}

/// Exact two-sided p-value of an observed doubled rank sum `w2` given the doubled ranks:
/// 2 · min(P(W ≤ w), P(W ≥ w)), capped at 1.
fn exact_p(doubled: &[usize], w2: usize) -> f64 {
    let max: usize = doubled.iter().sum();
    // counts[s] = number of sign patterns whose doubled positive-rank sum is s (as f64: exact up
    // to 2^53 patterns, far beyond EXACT_MAX_N = 25).
    let mut counts = vec![0.0f64; max + 1];
    counts[0] = 1.0;
    let mut reach = 0;
    for &r in doubled {
        for s in (0..=reach).rev() {
            if counts[s] != 0.0 {
                counts[s + r] += counts[s];
            }
        }
        reach += r;
    }
    let total = 2f64.powi(doubled.len() as i32);
    let le: f64 = counts[..=w2.min(max)].iter().sum();
    let ge: f64 = counts[w2.min(max + 1)..].iter().sum();
    (2.0 * le.min(ge) / total).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_average_ties() {
        assert_eq!(
            average_ranks(&[3.0, 1.0, 3.0, 2.0, 3.0]),
            [4.0, 1.0, 4.0, 2.0, 4.0]
        );
    }

    #[test]
    fn all_positive_differences_of_five_folds() {
        // Ranks 1..5 all positive: W+ = 15, and only 1 of 2^5 = 32 sign patterns reaches it, so
        // the two-sided p is 2/32 = 0.0625 — the smallest possible with five folds.
        let r = signed_rank(&[0.05, 0.02, 0.04, 0.01, 0.03]);
        assert_eq!((r.n, r.w_plus, r.w_minus), (5, 15.0, 0.0));
        assert!((r.p - 0.0625).abs() < 1e-15 && r.exact);
    }

    #[test]
    fn ties_and_zeros_by_hand() {
        // Differences 0.02, −0.01, 0.02, 0, 0.03: the zero is dropped; |d| = 0.02, 0.01, 0.02,
        // 0.03 get ranks 2.5, 1, 2.5, 4, so W+ = 2.5 + 2.5 + 4 = 9 and W− = 1.
        // Sign patterns of ranks {1, 2.5, 2.5, 4} (16 equally likely): W+ ≥ 9 happens for
        // {2.5, 2.5, 4} (9) and {1, 2.5, 2.5, 4} (10): 2 patterns, so p = 2 · 2/16 = 0.25.
        let r = signed_rank(&[0.02, -0.01, 0.02, 0.0, 0.03]);
        assert_eq!((r.n, r.w_plus, r.w_minus), (4, 9.0, 1.0));
        assert!((r.p - 0.25).abs() < 1e-15, "{r:?}");
        // Differences 1, −2, 3, −4, 5, 6: W+ = 1 + 3 + 5 + 6 = 15, W− = 6. By symmetry
        // P(W+ ≥ 15) = P(W+ ≤ 6) = 14/64 (subsets of {1, …, 6} by sum: 0:1, 1:1, 2:1, 3:2, 4:2,
        // 5:3, 6:4), so p = 28/64 = 0.4375.
        let r = signed_rank(&[1.0, -2.0, 3.0, -4.0, 5.0, 6.0]);
        assert_eq!(r.w_plus, 15.0);
        assert!((r.p - 0.4375).abs() < 1e-15, "{r:?}");
    }

    #[test]
    fn nothing_to_test_gives_one() {
        let r = signed_rank(&[0.0, 0.0, 0.0]);
        assert_eq!((r.n, r.p), (0, 1.0));
    }

    #[test]
    fn large_samples_use_the_tie_corrected_normal_approximation() {
        // 30 differences 1, 2, …, 30 with signs + except the ranks 1..5 negative:
        // W− = 15, W+ = 465 − 15 = 450, mean 232.5, var = 30·31·61/24 = 2363.75,
        // z = (450 − 232.5 − 0.5)/√2363.75 = 217/48.6184 = 4.46333, p = 2(1 − Φ(z)) ≈ 8.07e-6.
        let d: Vec<f64> = (1..=30)
            .map(|i| if i <= 5 { -(i as f64) } else { i as f64 })
            .collect();
        let r = signed_rank(&d);
        assert!(!r.exact);
        assert_eq!((r.w_plus, r.w_minus), (450.0, 15.0));
        let z: f64 = 217.0 / 2363.75f64.sqrt();
        assert!((z - 4.463_33).abs() < 1e-5);
        assert!((r.p - 2.0 * (1.0 - normal_cdf(z))).abs() < 1e-15);
        assert!((r.p - 8.07e-6).abs() < 0.05e-6, "{}", r.p);
    }
}
