//! Feature standardisation (z-scores) whose statistics come from training rows only.

use super::Table;
use crate::config::Standardize;
use serde::{Deserialize, Serialize};

/// Per-feature mean and standard deviation (the same pair repeated for every feature under
/// `standardize: global`, 0 and 1 under `none`). Constant features get std 1 (they map to 0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Standardizer {
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
}

impl Standardizer {
    /// Fit on the rows of `t` (pass only training rows) as `mode` says.
    pub fn fit_with(t: &Table, mode: Standardize) -> Self {
        match mode {
            Standardize::Feature => Self::fit(t),
            Standardize::Global => Self::fit_global(t),
            Standardize::None => Standardizer {
                mean: vec![0.0; t.d],
                std: vec![1.0; t.d],
            },
        }
    }

    /// One mean and one standard deviation over every value of `t`, repeated for each feature.
    fn fit_global(t: &Table) -> Self {
        let values = &t.x[..t.n * t.d];
        let count = values.len().max(1) as f64;
        let mean = values.iter().map(|&v| v as f64).sum::<f64>() / count;
        let var = values
            .iter()
            .map(|&v| (v as f64 - mean).powi(2))
            .sum::<f64>()
            / count;
        let sd = var.sqrt();
        Standardizer {
            mean: vec![mean as f32; t.d],
            std: vec![if sd < 1e-8 { 1.0 } else { sd as f32 }; t.d],
        }
    }

    /// Fit a z-score per feature on the rows of `t` (pass only training rows).
    pub fn fit(t: &Table) -> Self {
        let d = t.d;
        let n = t.n.max(1) as f64;
        let mut sum = vec![0f64; d];
        for i in 0..t.n {
            for (s, &v) in sum.iter_mut().zip(t.row(i)) {
                *s += v as f64;
            }
        }
        let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
        let mut ss = vec![0f64; d];
        for i in 0..t.n {
            for ((s, &v), m) in ss.iter_mut().zip(t.row(i)).zip(&mean) {
                *s += (v as f64 - m).powi(2);
            }
        }
        let std = ss
            .iter()
            .map(|s| {
                let sd = (s / n).sqrt();
                if sd < 1e-8 {
                    1.0
                } else {
                    sd as f32
                }
            })
            .collect();
        Standardizer {
            mean: mean.iter().map(|&m| m as f32).collect(),
            std,
        }
    }

    /// Standardise a table with these statistics.
    pub fn apply(&self, t: &Table) -> Table {
        let mut out = t.clone();
        for row in out.x.chunks_mut(t.d) {
            for ((v, m), s) in row.iter_mut().zip(&self.mean).zip(&self.std) {
                *v = (*v - m) / s;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_come_only_from_the_fitted_rows() {
        let all = Table {
            x: vec![1.0, 5.0, 5.0, 5.0, 100.0, 5.0],
            y: vec![0, 1, 0],
            n: 3,
            d: 2,
            classes: 2,
        };
        let train = all.select(&[0, 1]);
        let s = Standardizer::fit(&train);
        // Feature 0: mean 3, population std 2; feature 1 is constant, so its std is 1.
        assert_eq!(s.mean, vec![3.0, 5.0]);
        assert_eq!(s.std, vec![2.0, 1.0]);
        // The held-out row (100) moved neither; it is scaled by them: (100 − 3) / 2.
        let z = s.apply(&all);
        assert_eq!(z.row(0), &[-1.0, 0.0]);
        assert_eq!(z.row(2), &[48.5, 0.0]);
        // Changing a held-out row changes nothing fitted on training rows.
        let mut other = all.clone();
        other.x[4] = -7.0;
        assert_eq!(Standardizer::fit(&other.select(&[0, 1])), s);
    }

    #[test]
    fn global_scaling_uses_one_mean_and_spread_over_all_training_values() {
        let all = Table {
            x: vec![0.0, 2.0, 4.0, 2.0, 9.0, 9.0],
            y: vec![0, 1, 0],
            n: 3,
            d: 2,
            classes: 2,
        };
        let train = all.select(&[0, 1]);
        // Training values 0, 2, 4, 2: mean 2, population variance (4 + 0 + 4 + 0) / 4 = 2.
        let s = Standardizer::fit_with(&train, Standardize::Global);
        assert_eq!(s.mean, vec![2.0, 2.0]);
        assert_eq!(s.std, vec![2f32.sqrt(); 2]);
        let z = s.apply(&all);
        assert_eq!(z.row(2), &[7.0 / 2f32.sqrt(), 7.0 / 2f32.sqrt()]);
        // The held-out row moved nothing.
        let mut other = all.clone();
        other.x[4] = -7.0;
        assert_eq!(
            Standardizer::fit_with(&other.select(&[0, 1]), Standardize::Global),
            s
        );
        // `feature` is the per-feature fit; `none` leaves values as read.
        assert_eq!(
            Standardizer::fit_with(&train, Standardize::Feature),
            Standardizer::fit(&train)
        );
        let none = Standardizer::fit_with(&train, Standardize::None);
        assert_eq!(none.apply(&all).x, all.x);
    }
}
