//! Thresholds: which scores fall below τ, in a given unit and scope.
//!
//! | unit | cut-off |
//! |---|---|
//! | `abs` | prune s < τ |
//! | `std` | prune s < τ · std(s) (population std of the scores) |
//!
//! With scope `layer` the statistics are those of each layer's scores.

use crate::config::{Scope, TauUnit};

fn std_of(xs: impl Iterator<Item = f32> + Clone) -> f64 {
    let (mut n, mut sum) = (0f64, 0f64);
    for x in xs.clone() {
        n += 1.0;
        sum += x as f64;
    }
    if n == 0.0 {
        return 0.0;
    }
    let mean = sum / n;
    let ss: f64 = xs.map(|x| (x as f64 - mean).powi(2)).sum();
    (ss / n).sqrt()
}

/// The cut-off below which scores are pruned.
fn cutoff(unit: TauUnit, tau: f64, scores: impl Iterator<Item = f32> + Clone) -> f64 {
    match unit {
        TauUnit::Abs => tau,
        TauUnit::Std => tau * std_of(scores),
    }
}

/// For each layer's scores, which entries are pruned (`true`) at threshold τ.
pub fn prune_sets(scores: &[&[f32]], unit: TauUnit, scope: Scope, tau: f64) -> Vec<Vec<bool>> {
    match scope {
        Scope::Layer => scores
            .iter()
            .map(|s| {
                let t = cutoff(unit, tau, s.iter().copied());
                s.iter().map(|&x| (x as f64) < t).collect()
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abs_and_std_cutoffs_by_hand() {
        let s: &[f32] = &[0.1, 0.4, 0.2, 0.8];
        assert_eq!(
            prune_sets(&[s], TauUnit::Abs, Scope::Layer, 0.3),
            vec![vec![true, false, true, false]]
        );
        // mean 0.375, population std = sqrt(((.275)^2+(.025)^2+(.175)^2+(.425)^2)/4) = 0.2681
        // τ = 1 -> cut 0.2681: prunes 0.1 and 0.2; τ = 1.5 -> 0.4022: also prunes 0.4 (0.4 < 0.4022)
        assert_eq!(
            prune_sets(&[s], TauUnit::Std, Scope::Layer, 1.0),
            vec![vec![true, false, true, false]]
        );
        assert_eq!(
            prune_sets(&[s], TauUnit::Std, Scope::Layer, 1.5),
            vec![vec![true, true, true, false]]
        );
        assert_eq!(
            prune_sets(&[s], TauUnit::Abs, Scope::Layer, 0.0),
            vec![vec![false; 4]]
        );
    }
}
