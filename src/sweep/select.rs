//! Selection rules: choose τ per method from the cross-validation summary. Only validation
//! numbers enter; the test split is never looked at here.
//!
//! "Sparser" means higher mean sparsity; among equal sparsity, the larger τ. Every tie goes to
//! the sparser τ.

use super::records::SummaryRow;
use crate::config::SelectRule;
use std::cmp::Ordering;

/// How far below its target a `target_sparsity` pick may land: 0.05 percentage points. Quantile
/// thresholds round per layer, per row or per ERK share (τ = 0.95 under ERK leaves 94.99962 %
/// pruned on LeNet-300-100; τ = 0.98 per row keeps 16 of 784, 97.96 %), and a τ that meant the
/// target should not lose to the next, far sparser one.
pub const TARGET_SLACK: f64 = 5e-4;

fn sparser(a: &SummaryRow, b: &SummaryRow) -> Ordering {
    a.mean_sparsity
        .total_cmp(&b.mean_sparsity)
        .then(a.tau.unwrap_or(0.0).total_cmp(&b.tau.unwrap_or(0.0)))
}

/// Pick one row of `rows` (one method's summary over its τ grid) by `rule`. `dense_mean` is the
/// dense baseline's mean validation accuracy (used by `max_drop`). `None` when no τ qualifies.
pub fn choose<'a>(
    rule: &SelectRule,
    rows: &[&'a SummaryRow],
    dense_mean: f64,
) -> Option<&'a SummaryRow> {
    // A τ with no finished (non-diverged) run has no estimate and is never chosen.
    let rows: Vec<&SummaryRow> = rows
        .iter()
        .copied()
        .filter(|r| r.n > 0 && r.mean_val_acc.is_finite())
        .collect();
    let best = rows.iter().copied().max_by(|a, b| {
        a.mean_val_acc
            .total_cmp(&b.mean_val_acc)
            .then(sparser(a, b))
    })?;
    let sparsest_at_least = |floor: f64| {
        rows.iter()
            .copied()
            .filter(|r| r.mean_val_acc >= floor)
            .max_by(|a, b| sparser(a, b))
    };
    match *rule {
        SelectRule::Best => Some(best),
        SelectRule::OneSe => sparsest_at_least(best.mean_val_acc - best.se_val_acc),
        SelectRule::MaxDrop(x) => sparsest_at_least(dense_mean - x - 1e-12),
        SelectRule::TargetSparsity(s) => rows
            .iter()
            .copied()
            .filter(|r| r.mean_sparsity >= s - TARGET_SLACK)
            .min_by(|a, b| sparser(a, b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(tau: f64, acc: f64, se: f64, sp: f64) -> SummaryRow {
        SummaryRow {
            method: crate::config::MethodKind::Magnitude.into(),
            tau: Some(tau),
            tau_unit: "std".into(),
            n: 5,
            n_diverged: 0,
            mean_val_acc: acc,
            std_val_acc: se * 5f64.sqrt(),
            se_val_acc: se,
            mean_val_loss: 0.0,
            mean_sparsity: sp,
            mean_neurons_removed: 0.0,
            mean_params_left: 0.0,
            mean_flops_left: 0.0,
            rank_val_acc: 0,
            mean_effective_sparsity: sp,
        }
    }

    fn table() -> Vec<SummaryRow> {
        vec![
            row(0.0, 0.950, 0.010, 0.00),
            row(0.5, 0.960, 0.010, 0.30),
            row(1.0, 0.955, 0.010, 0.55),
            row(1.5, 0.951, 0.010, 0.75),
            row(2.0, 0.940, 0.010, 0.85),
            row(2.5, 0.700, 0.020, 0.95),
        ]
    }

    fn pick(rule: SelectRule, dense: f64) -> Option<f64> {
        let t = table();
        let rows: Vec<&SummaryRow> = t.iter().collect();
        choose(&rule, &rows, dense).and_then(|r| r.tau)
    }

    #[test]
    fn best_and_one_se_differ() {
        assert_eq!(pick(SelectRule::Best, 0.95), Some(0.5));
        // best 0.960 - se 0.010 = 0.950: τ 1.5 (0.951) qualifies, τ 2.0 (0.940) does not.
        assert_eq!(pick(SelectRule::OneSe, 0.95), Some(1.5));
    }

    #[test]
    fn max_drop_and_target_sparsity() {
        // dense 0.96: floor 0.94 -> τ 2.0 (0.940 exactly) qualifies.
        assert_eq!(pick(SelectRule::MaxDrop(0.02), 0.96), Some(2.0));
        assert_eq!(pick(SelectRule::MaxDrop(0.0), 0.96), Some(0.5));
        assert_eq!(pick(SelectRule::TargetSparsity(0.5), 0.96), Some(1.0));
        assert_eq!(pick(SelectRule::TargetSparsity(0.75), 0.96), Some(1.5));
        assert_eq!(pick(SelectRule::TargetSparsity(0.99), 0.96), None);
        // Rounding slack: 0.75 − 0.0004 still reaches the 0.75 target, 0.75 − 0.0006 does not.
        assert_eq!(pick(SelectRule::TargetSparsity(0.7504), 0.96), Some(1.5));
        assert_eq!(pick(SelectRule::TargetSparsity(0.7506), 0.96), Some(2.0));
    }

    #[test]
    fn ties_go_to_the_sparser_tau() {
        let t = [
            row(0.0, 0.9, 0.01, 0.0),
            row(1.0, 0.9, 0.01, 0.4),
            row(2.0, 0.9, 0.01, 0.4),
            row(3.0, 0.5, 0.01, 0.9),
        ];
        let rows: Vec<&SummaryRow> = t.iter().collect();
        assert_eq!(
            choose(&SelectRule::Best, &rows, 0.9).unwrap().tau,
            Some(2.0)
        );
    }
}
