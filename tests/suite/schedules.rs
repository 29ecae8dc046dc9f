//! The schedules of pruning-at-initialisation and gradual pruning, and the newer methods, through
//! the binary: runs are deterministic. (Masks from the initial weights and the cubic ramp on one
//! fold model: `src/sweep/tests/schedules.rs`.)

use crate::common;
use common::*;

const AT_INIT: &str = "name: ai
seed: 5
data: {source: builtin, name: iris, holdout: 0.2}
model: {kind: mlp, hidden: [16]}
train: {optimizer: sgd, lr: 0.05, epochs: 8, batch_size: 16}
prune:
  methods: [magnitude, taylor, random]
  tau: {unit: quantile, scope: layer, values: [0.0, 0.5, 0.8]}
  schedule: {kind: at_init, epochs: 6}
cv: {folds: 3, select: [best]}
";

#[test]
fn at_init_sweeps_through_the_binary_reproducibly() {
    let sb = Sandbox::new();
    sb.write("ai.yaml", AT_INIT);
    sweep_twice_identically(&sb, "ai.yaml", "ai");
    let resolved = sb.read("a/ai/resolved.yaml");
    assert!(resolved.contains("kind: at_init"), "{resolved}");
    // Every pruned job trained from its masked initialisation: nothing regrew.
    let (h, rows) = table(&sb.read("a/ai/runs.csv"));
    let regrown = h.iter().position(|c| c == "regrown").unwrap();
    assert!(rows.iter().all(|r| r[regrown] == "0"));
}

/// Wanda, SynFlow and LAMP with a 2:4 pattern, compared within rows, pruned at initialisation.
const NEW_METHODS: &str = "name: nm
seed: 5
data: {source: builtin, name: digits}
model: {kind: mlp, hidden: [16]}
train: {optimizer: sgd, lr: 0.05, epochs: 3, batch_size: 32}
prune:
  methods: [wanda, {synflow: {rounds: 10}}, lamp, random]
  n_m: {n: 2, m: 4}
  tau: {unit: quantile, scope: row, values: [0.0, 0.75]}
  schedule: {kind: at_init, epochs: 3}
cv: {folds: 2, select: [best]}
";

#[test]
fn wanda_synflow_and_n_m_sweep_from_yaml_reproducibly() {
    let sb = Sandbox::new();
    sb.write("nm.yaml", NEW_METHODS);
    sweep_twice_identically(&sb, "nm.yaml", "nm");
    let (h, rows) = table(&sb.read("a/nm/runs.csv"));
    let col = |n: &str| h.iter().position(|c| c == n).unwrap();
    let (method, tau, sparsity) = (col("method"), col("tau"), col("sparsity"));
    for m in ["wanda", "synflow", "lamp", "random"] {
        let mine: Vec<&Vec<String>> = rows.iter().filter(|r| r[method] == m).collect();
        assert_eq!(mine.len(), 4, "{m}: 2 folds × 2 τ");
        for r in mine {
            let s: f64 = r[sparsity].parse().unwrap();
            // Every row (64 and 16 inputs) splits into runs of 4 that keep 2: τ = 0 is the
            // pattern alone, exactly half; τ = 0.75 cuts 3/4 of each row, plus whatever of the
            // pattern lies above that cut.
            if r[tau] == "0.0" || r[tau] == "0" {
                assert_eq!(s, 0.5, "{m}: {r:?}");
            } else {
                assert!((0.75..=0.875).contains(&s), "{m}: {r:?}");
            }
        }
    }
    let sel = sb.read("a/nm/selection.csv");
    for m in ["wanda", "synflow", "lamp"] {
        assert!(sel.contains(m), "{sel}");
    }
    // Row scope in the resolved file, and the options that were used.
    let resolved = sb.read("a/nm/resolved.yaml");
    for want in ["scope: row", "n: 2", "m: 4", "synflow:\n      rounds: 10"] {
        assert!(resolved.contains(want), "{want}: {resolved}");
    }
}
