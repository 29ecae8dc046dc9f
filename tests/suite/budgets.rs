//! Layer budgets from measured sensitivity (`tau.scope: sensitivity`) through the binary: sweeps
//! with it are reproducible and the overall fraction is τ; settings where it means nothing are
//! refused. (The allocation on one fold model: `src/sweep/tests/budgets.rs`.)

use crate::common;
use common::*;

const BUDGET: &str = "name: sb
seed: 5
data: {source: builtin, name: digits}
model: {kind: mlp, hidden: [32, 16]}
train: {optimizer: sgd, lr: 0.05, epochs: 6, batch_size: 32}
prune:
  methods: [magnitude, importance]
  tau: {unit: quantile, scope: {sensitivity: {rows: 300}}, values: [0.5, 0.8]}
cv: {folds: 2, select: [best]}
";

#[test]
fn sensitivity_budget_sweeps_reproducibly_with_iterative_rounds() {
    let sb = Sandbox::new();
    let exp = BUDGET.replace(
        "cv: {",
        "  schedule: {kind: iterative, rounds: 2, epochs_per_round: 1}\ncv: {",
    );
    sb.write("sb.yaml", &exp);
    sweep_twice_identically(&sb, "sb.yaml", "sb");
    let resolved = sb.read("a/sb/resolved.yaml");
    assert!(
        resolved.contains("scope:\n      sensitivity:\n        rows: 300"),
        "{resolved}"
    );
    // Magnitude rows: two rounds of τ of the survivors, 1 − (1 − τ)² overall (within rounding).
    let (h, rows) = table(&sb.read("a/sb/runs.csv"));
    let col = |n: &str| h.iter().position(|c| c == n).unwrap();
    for r in rows.iter().filter(|r| r[col("method")] == "magnitude") {
        let tau: f64 = r[col("tau")].parse().unwrap();
        let s: f64 = r[col("sparsity")].parse().unwrap();
        let want = 1.0 - (1.0 - tau).powi(2);
        assert!((s - want).abs() < 0.005, "{r:?}");
    }
}

#[test]
fn sensitivity_budget_is_refused_where_it_means_nothing() {
    let cases = [
        (
            "unit: quantile",
            "unit: std",
            "prune.tau.scope",
            "use `unit: quantile`",
        ),
        (
            "cv: {",
            "  schedule: {kind: at_init, epochs: 2}\ncv: {",
            "prune.tau.scope",
            "an untrained model",
        ),
        (
            "[magnitude, importance]",
            "[magnitude, synflow]",
            "prune.methods[1]",
            "SynFlow",
        ),
        (
            "rows: 300",
            "rows: 0",
            "prune.tau.scope.sensitivity.rows",
            "at least 1",
        ),
    ];
    for (from, to, field, want) in cases {
        let err = prunecv::config::parse(&BUDGET.replace(from, to), "sb.yaml", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("sb.yaml") && err.contains(field), "{err}");
        assert!(err.contains(want), "{want}: {err}");
    }
}
