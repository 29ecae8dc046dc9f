//! From per-fold records to the per method × τ summary (sklearn `cv_results_` style).
//! Diverged runs (non-finite loss) are left out of every statistic and counted in
//! `n_diverged`; a τ whose runs all diverged has no mean and cannot be selected.

use super::ids::RowMethod;
use super::records::{RunRecord, SummaryRow};

/// Summarise records grouped by (method, τ), keeping the order of first appearance.
pub fn summarize(records: &[RunRecord]) -> Vec<SummaryRow> {
    let mut keys: Vec<(RowMethod, Option<f64>, String)> = Vec::new();
    for r in records {
        let k = (r.method, r.tau, r.tau_unit.clone());
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    let mut rows: Vec<SummaryRow> = keys
        .into_iter()
        .map(|(method, tau, tau_unit)| {
            let all: Vec<&RunRecord> = records
                .iter()
                .filter(|r| r.method == method && r.tau == tau)
                .collect();
            let g: Vec<&RunRecord> = all.iter().copied().filter(|r| !r.diverged).collect();
            let n = g.len();
            let mean =
                |f: &dyn Fn(&RunRecord) -> f64| g.iter().map(|r| f(r)).sum::<f64>() / n as f64;
            let m = mean(&|r| r.val_acc);
            let std = if n > 1 {
                (g.iter().map(|r| (r.val_acc - m).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
            } else {
                0.0
            };
            SummaryRow {
                method,
                tau,
                tau_unit,
                n,
                n_diverged: all.len() - n,
                mean_val_acc: m,
                std_val_acc: std,
                se_val_acc: std / (n as f64).sqrt(),
                mean_val_loss: mean(&|r| r.val_loss),
                mean_sparsity: mean(&|r| r.sparsity),
                mean_neurons_removed: mean(&|r| r.neurons_removed as f64),
                mean_params_left: mean(&|r| r.params_left as f64),
                mean_flops_left: mean(&|r| r.flops_left as f64),
                rank_val_acc: 0,
                mean_effective_sparsity: mean(&|r| r.effective_sparsity),
            }
        })
        .collect();
    let snapshot = rows.clone();
    for r in rows.iter_mut() {
        r.rank_val_acc = 1 + snapshot
            .iter()
            .filter(|o| o.method == r.method && o.mean_val_acc > r.mean_val_acc)
            .filter(|_| r.n > 0)
            .count();
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(fold: usize, method: &str, tau: Option<f64>, acc: f64, sp: f64) -> RunRecord {
        RunRecord {
            repeat: 0,
            fold,
            method: RowMethod::parse(method).unwrap(),
            tau,
            tau_unit: "std".into(),
            sparsity: sp,
            neurons_removed: 0,
            params_left: 10,
            flops_left: 8,
            val_loss: 1.0 - acc,
            val_acc: acc,
            regrown: 0,
            diverged: false,
            effective_sparsity: sp,
        }
    }

    #[test]
    fn mean_std_se_and_rank_by_hand() {
        let rs = vec![
            rec(0, "magnitude", Some(0.0), 0.9, 0.0),
            rec(1, "magnitude", Some(0.0), 0.8, 0.0),
            rec(2, "magnitude", Some(0.0), 1.0, 0.0),
            rec(0, "magnitude", Some(1.0), 0.95, 0.5),
            rec(1, "magnitude", Some(1.0), 0.95, 0.6),
            rec(2, "magnitude", Some(1.0), 0.95, 0.7),
        ];
        let s = summarize(&rs);
        assert_eq!(s.len(), 2);
        assert!((s[0].mean_val_acc - 0.9).abs() < 1e-12);
        assert!((s[0].std_val_acc - 0.1).abs() < 1e-12); // sample std of .9,.8,1.0
        assert!((s[0].se_val_acc - 0.1 / 3f64.sqrt()).abs() < 1e-12);
        assert!(s[1].std_val_acc < 1e-15);
        assert!((s[1].mean_sparsity - 0.6).abs() < 1e-12);
        assert_eq!((s[0].rank_val_acc, s[1].rank_val_acc), (2, 1));
        assert_eq!(s[0].n, 3);
    }

    #[test]
    fn diverged_runs_are_left_out() {
        let mut bad = rec(2, "magnitude", Some(0.0), 0.1, 0.0);
        bad.diverged = true;
        let rs = vec![
            rec(0, "magnitude", Some(0.0), 0.9, 0.0),
            rec(1, "magnitude", Some(0.0), 0.8, 0.0),
            bad,
        ];
        let s = summarize(&rs);
        assert_eq!((s[0].n, s[0].n_diverged), (2, 1));
        assert!((s[0].mean_val_acc - 0.85).abs() < 1e-12);
    }
}
