//! Every score, layer budget, granularity and schedule on the convolutional preset too: LeNet-5
//! sweeps from YAML on a small synthetic 28×28 data set (a bright square whose position is the
//! class), with τ chosen by CV, and every run's masks hold (nothing regrows).

use crate::common;
use common::*;

/// 90 images of 28×28 pixels in [0, 1], three classes: a 6×6 square at the top left, centre or
/// bottom right over low seeded noise; label last.
fn squares_csv() -> String {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f64 / (1u64 << 24) as f64 * 0.2
    };
    let mut out = String::new();
    for i in 0..90 {
        let class = i % 3;
        let at = [2, 11, 20][class];
        let px: Vec<String> = (0..784)
            .map(|k| {
                let (r, c) = (k / 28, k % 28);
                let on = (at..at + 6).contains(&r) && (at..at + 6).contains(&c);
                format!("{:.3}", if on { 1.0 } else { noise() })
            })
            .collect();
        out.push_str(&format!("{},{class}\n", px.join(",")));
    }
    out
}

const LENET5: &str = "name: l5
seed: 2
data: {source: csv, path: squares.csv, header: no, holdout: 0.2}
model: {kind: lenet5}
train: {optimizer: sgd, lr: 0.05, epochs: 2, batch_size: 16}
prune:
  methods: METHODS
  tau: {unit: quantile, scope: SCOPE, values: [0.5, 0.9]}
  EXTRA
cv: {folds: 2, select: [{target_sparsity: 0.9}]}
";

#[test]
fn every_method_budget_pattern_and_schedule_sweeps_lenet5() {
    let cases = [
        // Trained-model scores under the measured budget, one shot.
        (
            "[magnitude, taylor, importance, combined, random]",
            "{sensitivity: {rows: 40}}",
            "",
        ),
        // LAMP and magnitude pruned gradually under ERK.
        (
            "[lamp, magnitude]",
            "erk",
            "schedule: {kind: gradual, rounds: 2, epochs_per_round: 1}",
        ),
        // Wanda within rows with a 2:4 pattern, fine-tuned.
        (
            "[wanda, magnitude]",
            "row",
            "n_m: {n: 2, m: 4}\n  schedule: {kind: finetune, epochs: 1}",
        ),
        // SNIP (taylor at init) and SynFlow, pruned at initialisation.
        (
            "[taylor, {synflow: {rounds: 5}}, random]",
            "global",
            "schedule: {kind: at_init, epochs: 1}",
        ),
    ];
    for (methods, scope, extra) in cases {
        let sb = Sandbox::new();
        sb.write("squares.csv", &squares_csv());
        let exp = LENET5
            .replace("METHODS", methods)
            .replace("SCOPE", scope)
            .replace("EXTRA", extra);
        sb.write("l5.yaml", &exp);
        sb.ok(&["run", "l5.yaml", "-q", "--out", "a", "--jobs", "2"]);
        let (h, rows) = table(&sb.read("a/l5/runs.csv"));
        let col = |n: &str| h.iter().position(|c| c == n).unwrap();
        // Each entry a name or `{name: {settings}}`.
        let names: Vec<&str> = methods
            .trim_matches(['[', ']'])
            .split(", ")
            .map(|m| m.trim_start_matches('{').split(':').next().unwrap())
            .collect();
        for m in &names {
            let mine: Vec<&Vec<String>> = rows.iter().filter(|r| r[col("method")] == *m).collect();
            assert_eq!(mine.len(), 4, "{scope} {m}: 2 folds × 2 τ");
            for r in mine {
                assert_eq!(r[col("regrown")], "0", "{scope} {m}: {r:?}");
                let s: f64 = r[col("sparsity")].parse().unwrap();
                let tau: f64 = r[col("tau")].parse().unwrap();
                // Unit methods remove more than τ (a removed channel takes the next layer's
                // inputs); weight-level ones reach τ up to rounding (N:M adds to it).
                assert!(s >= tau - 0.01, "{scope} {m}: {r:?}");
            }
        }
        let sel = sb.read("a/l5/selection.csv");
        for m in &names {
            assert!(
                sel.contains(&format!("{m},target_sparsity=0.9,")),
                "{scope} {m}: {sel}"
            );
        }
    }
}

/// LeNet-5 (trained on the host engine) sweeps to byte-identical tables with `--jobs 1` and
/// `--jobs 2`, where the last jobs and the refits split their kernels over both workers
/// (batches of 36 rows: three chunks of images, and products big enough for gemm to split).
#[test]
fn lenet5_sweeps_identically_with_one_and_two_jobs() {
    let sb = Sandbox::new();
    sb.write("squares.csv", &squares_csv());
    let exp = LENET5
        .replace("batch_size: 16", "batch_size: 36")
        .replace("METHODS", "[magnitude, importance]")
        .replace("SCOPE", "layer")
        .replace("EXTRA", "schedule: {kind: finetune, epochs: 1}");
    sb.write("l5.yaml", &exp);
    sweep_twice_identically(&sb, "l5.yaml", "l5");
}
