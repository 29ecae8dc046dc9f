//! The τ grid of each method. Explicit grids are shared by all methods; `auto: n` finds, per
//! method, n thresholds spanning 0 % to 99 % sparsity (or the most the method can reach) on the
//! refit model — the whole training pool, never the test split — as glmnet computes its λ path
//! once on the full data and reuses it in every fold.

use crate::config::{Grid, TauUnit};
use crate::error::Result;
use crate::prune::{LayerScores, MaskContext, PruningMethod};

/// Round to 6 significant digits so auto grids print compactly.
fn round_sig(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let mag = 10f64.powi(5 - v.abs().log10().floor() as i32);
    (v * mag).round() / mag
}

/// The τ values of one method.
pub fn method_grid(
    grid: &Grid,
    method: &dyn PruningMethod,
    m: &MaskContext,
    scores: &[LayerScores],
) -> Result<Vec<f64>> {
    let n = match grid {
        Grid::Values(v) => return Ok(v.clone()),
        Grid::Auto(n) => *n,
    };
    let frac = |i: usize| i as f64 / (n - 1) as f64;
    if m.unit == TauUnit::Quantile {
        return Ok((0..n).map(|i| round_sig(0.99 * frac(i))).collect());
    }
    let sparsity =
        |tau: f64| -> Result<f64> { Ok(method.masks(m, scores, tau)?.sparsity(m.layers)) };
    // Grow an upper bound until 99 % sparsity, or until sparsity stops growing.
    let mut hi = 1e-6f64;
    let mut s_hi = sparsity(hi)?;
    let mut stalls = 0;
    while s_hi < 0.99 && hi < 1e12 && stalls < 8 {
        let next = sparsity(hi * 2.0)?;
        // Only a plateau above zero counts as the method's ceiling.
        stalls = if next > s_hi || next == 0.0 {
            0
        } else {
            stalls + 1
        };
        hi *= 2.0;
        s_hi = next;
    }
    let s_max = s_hi.min(0.99);
    let mut out = vec![0.0];
    for i in 1..n {
        let target = s_max * frac(i);
        let (mut lo, mut up) = (0.0, hi);
        for _ in 0..60 {
            let mid = 0.5 * (lo + up);
            if sparsity(mid)? >= target {
                up = mid;
            } else {
                lo = mid;
            }
        }
        out.push(round_sig(up));
    }
    out.sort_by(f64::total_cmp);
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding() {
        assert_eq!(round_sig(0.123456789), 0.123457);
        assert_eq!(round_sig(1234.5678), 1234.57);
        assert_eq!(round_sig(0.0), 0.0);
    }
}
