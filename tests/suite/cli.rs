//! End-to-end tests through the `prunecv` binary.

use crate::common;

use common::{assert_same_tables, table, Sandbox, TINY};
use std::collections::{BTreeMap, BTreeSet};

fn col(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name}"))
}

fn f(s: &str) -> f64 {
    s.parse().unwrap_or_else(|_| panic!("not a number: {s:?}"))
}

#[test]
fn run_writes_every_table_with_sane_values() {
    let sb = Sandbox::new();
    sb.write("tiny.yaml", TINY);
    sb.ok(&["run", "tiny.yaml", "--quiet"]);
    for file in [
        "resolved.yaml",
        "manifest.json",
        "folds.csv",
        "runs.csv",
        "summary.csv",
        "selection.csv",
        "layers.csv",
    ] {
        assert!(
            sb.path().join("results/tiny").join(file).is_file(),
            "{file} missing"
        );
    }

    // runs.csv: 3 folds × (dense + 2 methods × 5 τ) rows, values in range.
    let (h, rows) = table(&sb.read("results/tiny/runs.csv"));
    assert_eq!(
        h,
        [
            "repeat",
            "fold",
            "method",
            "tau",
            "tau_unit",
            "sparsity",
            "neurons_removed",
            "params_left",
            "flops_left",
            "val_loss",
            "val_acc",
            "regrown",
            "diverged",
            "effective_sparsity"
        ]
    );
    assert_eq!(rows.len(), 3 * (1 + 2 * 5));
    let total = 4 * 16 + 16 + 16 * 3 + 3;
    for r in &rows {
        assert_eq!(r[col(&h, "regrown")], "0");
        assert_eq!(r[col(&h, "diverged")], "false");
        let sp = f(&r[col(&h, "sparsity")]);
        let acc = f(&r[col(&h, "val_acc")]);
        assert!(
            (0.0..=1.0).contains(&sp) && (0.0..=1.0).contains(&acc),
            "{r:?}"
        );
        let left: usize = r[col(&h, "params_left")].parse().unwrap();
        assert!(left <= total);
        if r[2] == "dense" {
            assert_eq!(left, total);
            assert!(r[3].is_empty());
            assert!(acc > 0.8, "dense iris accuracy {acc}");
        }
    }
    // Sparsity never decreases as τ grows, per (fold, method).
    let mut last: BTreeMap<(String, String), f64> = BTreeMap::new();
    for r in rows.iter().filter(|r| r[2] != "dense") {
        let key = (r[1].clone(), r[2].clone());
        let sp = f(&r[col(&h, "sparsity")]);
        if let Some(prev) = last.insert(key, sp) {
            assert!(sp >= prev, "sparsity fell: {r:?}");
        }
    }

    // summary.csv: one row per method × τ plus dense, n = 3.
    let (h, rows) = table(&sb.read("results/tiny/summary.csv"));
    assert_eq!(rows.len(), 1 + 2 * 5);
    for r in &rows {
        assert_eq!(r[col(&h, "n")], "3");
        let (m, sd, se) = (
            f(&r[col(&h, "mean_val_acc")]),
            f(&r[col(&h, "std_val_acc")]),
            f(&r[col(&h, "se_val_acc")]),
        );
        assert!((0.0..=1.0).contains(&m));
        assert!((se - sd / 3f64.sqrt()).abs() < 1e-12);
    }

    // folds.csv: 150 samples, 30 test (10 per class), 120 in 3 folds of 40.
    let (h, rows) = table(&sb.read("results/tiny/folds.csv"));
    assert_eq!(h, ["sample", "label", "repeat", "role", "fold"]);
    assert_eq!(rows.len(), 150);
    let test: Vec<_> = rows.iter().filter(|r| r[3] == "test").collect();
    assert_eq!(test.len(), 30);
    assert!(test.iter().all(|r| r[4].is_empty()));
    let mut per_fold = BTreeMap::new();
    for r in rows.iter().filter(|r| r[3] == "cv") {
        *per_fold.entry(r[4].clone()).or_insert(0) += 1;
    }
    assert_eq!(
        per_fold.values().copied().collect::<Vec<_>>(),
        vec![40, 40, 40]
    );

    // selection.csv: dense + 2 methods × 2 rules, chosen τ from the grid.
    let (h, rows) = table(&sb.read("results/tiny/selection.csv"));
    assert_eq!(rows.len(), 1 + 2 * 2);
    let grid: BTreeSet<&str> = ["0.0", "0.5", "1.0", "1.5", "2.0"].into();
    for r in rows.iter().skip(1) {
        assert!(grid.contains(r[col(&h, "tau")].as_str()), "{r:?}");
        assert!((0.0..=1.0).contains(&f(&r[col(&h, "test_acc")])));
    }
    // The rules, recomputed from summary.csv: `best` = highest mean (ties → sparser, then larger
    // τ); `one_se` = the sparsest τ whose mean is at least the best mean − its SE.
    let (sh, summary) = table(&sb.read("results/tiny/summary.csv"));
    for method in ["magnitude", "random"] {
        // (τ, mean, se, sparsity) of every τ of the method.
        let cand: Vec<[f64; 4]> = summary
            .iter()
            .filter(|r| r[0] == method)
            .map(|r| {
                ["tau", "mean_val_acc", "se_val_acc", "mean_sparsity"].map(|c| f(&r[col(&sh, c)]))
            })
            .collect();
        assert_eq!(cand.len(), 5);
        let best = *cand
            .iter()
            .max_by(|a, b| (a[1], a[3], a[0]).partial_cmp(&(b[1], b[3], b[0])).unwrap())
            .unwrap();
        let one_se = *cand
            .iter()
            .filter(|c| c[1] >= best[1] - best[2])
            .max_by(|a, b| (a[3], a[0]).partial_cmp(&(b[3], b[0])).unwrap())
            .unwrap();
        for (rule, want) in [("best", best), ("one_se", one_se)] {
            let r = rows
                .iter()
                .find(|r| r[0] == method && r[1] == rule)
                .unwrap();
            assert_eq!(f(&r[col(&h, "tau")]), want[0], "{method} {rule}");
            assert_eq!(
                f(&r[col(&h, "cv_mean_val_acc")]),
                want[1],
                "{method} {rule}"
            );
        }
    }
    let manifest: serde_json::Value =
        serde_json::from_str(&sb.read("results/tiny/manifest.json")).unwrap();
    assert_eq!(manifest["seed"], 3);
    assert_eq!(manifest["dense_models_trained"], 4);
    // One test evaluation for the dense refit and one per distinct (method, τ) chosen: rules
    // that agree share it.
    let distinct: BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| (r[0].clone(), r[col(&h, "tau")].clone()))
        .collect();
    assert_eq!(manifest["test_evaluations"], distinct.len() as u64);
}

#[test]
fn same_seed_is_byte_identical_whatever_the_job_count() {
    let sb = Sandbox::new();
    sb.write("tiny.yaml", TINY);
    sb.ok(&["run", "tiny.yaml", "-q", "--jobs", "1", "--out", "a"]);
    sb.ok(&["run", "tiny.yaml", "-q", "--jobs", "2", "--out", "b"]);
    sb.ok(&["run", "tiny.yaml", "-q", "--jobs", "2", "--out", "c"]);
    for file in [
        "runs.csv",
        "summary.csv",
        "selection.csv",
        "folds.csv",
        "layers.csv",
        "resolved.yaml",
    ] {
        let a = sb.read(&format!("a/tiny/{file}"));
        assert_eq!(
            a,
            sb.read(&format!("b/tiny/{file}")),
            "{file} differs between --jobs 1 and 2"
        );
        assert_eq!(
            a,
            sb.read(&format!("c/tiny/{file}")),
            "{file} differs between reruns"
        );
    }
    // A different seed gives different folds.
    sb.ok(&["run", "tiny.yaml", "-q", "--out", "d", "--set", "seed=4"]);
    assert_ne!(sb.read("a/tiny/folds.csv"), sb.read("d/tiny/folds.csv"));
}

#[test]
fn existing_run_directory_is_not_overwritten_without_force() {
    let sb = Sandbox::new();
    sb.write("tiny.yaml", TINY);
    sb.ok(&["run", "tiny.yaml", "-q"]);
    let before = sb.read("results/tiny/runs.csv");
    let out = sb.run(&["run", "tiny.yaml", "-q", "--set", "seed=9"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("results/tiny") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(sb.read("results/tiny/runs.csv"), before);
    sb.ok(&["run", "tiny.yaml", "-q", "--set", "seed=9", "--force"]);
    assert_ne!(sb.read("results/tiny/runs.csv"), before);
}

#[test]
fn exported_model_reproduces_test_accuracy_exactly() {
    let sb = Sandbox::new();
    // Every rule, including the ones whose file stems hold a dot (`magnitude_max_drop-0.05`).
    let exp = TINY.replace(
        "select: [best, one_se]",
        "select: [best, one_se, {max_drop: 0.05}, {target_sparsity: 0.5}]",
    );
    sb.write("tiny.yaml", &exp);
    sb.ok(&["run", "tiny.yaml", "-q"]);
    let (h, rows) = table(&sb.read("results/tiny/selection.csv"));
    let stems: Vec<&str> = rows.iter().map(|r| r[col(&h, "model")].as_str()).collect();
    assert!(
        stems.contains(&"models/magnitude_max_drop-0.05.safetensors"),
        "{stems:?}"
    );
    assert_eq!(rows.len(), 1 + 2 * 4, "dense + 2 methods × 4 rules");
    for r in &rows {
        let model = format!("results/tiny/{}", r[col(&h, "model")]);
        let out = sb.ok(&["eval", &model, "--data", "tiny.yaml"]);
        let expect = format!("test_acc {} ", r[col(&h, "test_acc")]);
        assert!(out.contains(&expect), "{out} lacks {expect}");
    }
}

#[test]
fn bad_input_names_file_field_and_exits_2() {
    let sb = Sandbox::new();
    sb.write("bad.yaml", "name: x\ntrain:\n  epochs: 5\n  lr: fast\n");
    let out = sb.run(&["check", "bad.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.yaml") && err.contains("train.lr") && err.contains("line 4"),
        "{err}"
    );

    sb.write("typo.yaml", "name: x\nprune:\n  method: [magnitude]\n");
    let err = String::from_utf8_lossy(&sb.run(&["check", "typo.yaml"]).stderr).into_owned();
    assert!(
        err.contains("unknown field `method`") && err.contains("did you mean `methods`"),
        "{err}"
    );

    let out = sb.run(&["check", "missing.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.yaml"));
}

#[test]
fn check_prints_the_plan() {
    let sb = Sandbox::new();
    sb.write("tiny.yaml", TINY);
    let out = sb.ok(&["check", "tiny.yaml"]);
    assert!(
        out.contains("dense models: 3 (1 repeats × 3 folds) + 1 refit"),
        "{out}"
    );
    assert!(out.contains("pruning evaluations: 30"), "{out}");
    assert!(
        !sb.path().join("results").exists(),
        "check must not write results"
    );
    // TINY has a random baseline; without one, check says the figures will lack it.
    assert!(!out.contains("no `random`"), "{out}");
    sb.write(
        "norandom.yaml",
        &TINY.replace("[magnitude, random]", "[magnitude]"),
    );
    let out = sb.ok(&["check", "norandom.yaml"]);
    assert!(
        out.contains("note: prune.methods has no `random`: the figures and report will have no random baseline"),
        "{out}"
    );
}

#[test]
fn default_experiment_meets_its_accuracy_and_sparsity_promises() {
    let sb = Sandbox::new();
    let exp = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/digits-mlp.yaml");
    sb.ok(&["run", exp.to_str().unwrap(), "-q", "--out", "r"]);
    let (h, rows) = table(&sb.read("r/digits-mlp/summary.csv"));
    let dense = rows.iter().find(|r| r[0] == "dense").unwrap();
    let dense_acc = f(&dense[col(&h, "mean_val_acc")]);
    assert!(dense_acc >= 0.95, "dense CV accuracy {dense_acc}");
    let good = rows.iter().any(|r| {
        r[0] == "magnitude"
            && f(&r[col(&h, "mean_sparsity")]) >= 0.5
            && f(&r[col(&h, "mean_val_acc")]) >= dense_acc - 0.01
    });
    assert!(
        good,
        "no magnitude τ at ≥ 50 % sparsity within 1 point of dense"
    );
    // Accuracy at the largest τ is below the smallest τ's; sparsity rises.
    let mag: Vec<_> = rows.iter().filter(|r| r[0] == "magnitude").collect();
    let (first, last) = (mag.first().unwrap(), mag.last().unwrap());
    assert!(f(&last[col(&h, "mean_val_acc")]) < f(&first[col(&h, "mean_val_acc")]));
    assert!(f(&last[col(&h, "mean_sparsity")]) > 0.8);
    // At half the weights removed, magnitude and Taylor saliency beat the random baseline.
    let acc_at = |m: &str, tau: &str| {
        let r = rows
            .iter()
            .find(|r| r[0] == m && r[1] == tau)
            .unwrap_or_else(|| panic!("{m} {tau}"));
        f(&r[col(&h, "mean_val_acc")])
    };
    for m in ["magnitude", "taylor"] {
        assert!(
            acc_at(m, "0.5") > acc_at("random", "0.5") + 0.1,
            "{m} vs random at τ = 0.5"
        );
    }
    assert_eq!(rows.iter().filter(|r| r[0] == "importance").count(), 20);
}

/// The built-in iris data written out as a CSV file with a header.
fn iris_csv() -> String {
    let text = include_str!("../../src/data/builtin/iris.csv");
    let mut out = String::from("sepal_length,sepal_width,petal_length,petal_width,species\n");
    for line in text.lines().skip(1) {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Sample indices of `folds.csv` rows with the given role.
fn samples_with_role(folds: &[Vec<String>], role: &str) -> BTreeSet<usize> {
    folds
        .iter()
        .filter(|r| r[3] == role)
        .map(|r| r[0].parse().unwrap())
        .collect()
}

/// Rows `rows` of the iris CSV (with its header).
fn iris_rows(rows: impl Iterator<Item = usize>) -> String {
    let csv = iris_csv();
    let lines: Vec<&str> = csv.lines().collect();
    let mut out = format!("{}\n", lines[0]);
    for i in rows {
        out.push_str(lines[i + 1]);
        out.push('\n');
    }
    out
}

#[test]
fn test_split_never_influences_cross_validation_or_the_chosen_tau() {
    let sb = Sandbox::new();
    let exp = TINY.replace(
        "data: {source: builtin, name: iris, holdout: 0.2}",
        "data: {source: csv, path: train.csv, test_path: test.csv, label: species}",
    );
    sb.write("exp.yaml", &exp);
    // Every fifth row is a fixed test split.
    sb.write("train.csv", &iris_rows((0..150).filter(|i| i % 5 != 0)));
    sb.write("test.csv", &iris_rows((0..150).filter(|i| i % 5 == 0)));
    sb.ok(&["run", "exp.yaml", "-q", "--out", "a"]);

    // Test rows are in no fold.
    let (_, folds) = table(&sb.read("a/tiny/folds.csv"));
    let test = samples_with_role(&folds, "test");
    let cv = samples_with_role(&folds, "cv");
    assert_eq!((test.len(), cv.len()), (30, 120));
    assert!(test.is_disjoint(&cv));

    // Relabel every test row (rotate its class) and rerun.
    let relabelled: String = sb
        .read("test.csv")
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                return format!("{l}\n");
            }
            let (feat, lab) = l.rsplit_once(',').unwrap();
            format!("{feat},{}\n", (lab.parse::<u32>().unwrap() + 1) % 3)
        })
        .collect();
    sb.write("test.csv", &relabelled);
    sb.ok(&["run", "exp.yaml", "-q", "--out", "b"]);

    for file in ["runs.csv", "summary.csv"] {
        assert_eq!(
            sb.read(&format!("a/tiny/{file}")),
            sb.read(&format!("b/tiny/{file}")),
            "{file} changed"
        );
    }
    assert_only_test_columns_differ(
        &sb.read("a/tiny/selection.csv"),
        &sb.read("b/tiny/selection.csv"),
    );
}

/// Two `selection.csv` files agree on every column but the `test_*` ones (what was chosen, and
/// its CV numbers), and some `test_acc` differs: the test split reached only the test columns.
fn assert_only_test_columns_differ(a: &str, b: &str) {
    let (h, a) = table(a);
    let (_, b) = table(b);
    assert_eq!(a.len(), b.len());
    let test_col = col(&h, "test_acc");
    let mut differs = false;
    for (ra, rb) in a.iter().zip(&b) {
        for (j, name) in h.iter().enumerate() {
            if !name.starts_with("test_") {
                assert_eq!(ra[j], rb[j], "{name} changed for {} / {}", ra[0], ra[1]);
            }
        }
        differs |= ra[test_col] != rb[test_col];
    }
    assert!(differs, "changing the test split must change test accuracy");
}

#[test]
fn merge_reads_relative_data_paths_as_the_shards_did() {
    // Data in a subdirectory, named relative to the experiment file.
    let sb = Sandbox::new();
    let exp = TINY.replace(
        "data: {source: builtin, name: iris, holdout: 0.2}",
        "data: {source: csv, path: data/iris.csv, label: species, holdout: 0.2}",
    );
    sb.write("exp.yaml", &exp);
    std::fs::create_dir_all(sb.path().join("data")).unwrap();
    sb.write("data/iris.csv", &iris_csv());
    sb.ok(&["run", "exp.yaml", "-q", "--out", "one"]);
    sb.ok(&["run", "exp.yaml", "-q", "--out", "sh", "--shard", "0/2"]);
    sb.ok(&["run", "exp.yaml", "-q", "--out", "sh", "--shard", "1/2"]);
    sb.ok(&["merge", "sh/tiny", "-q"]);
    assert_same_tables(&sb, "one/tiny", "sh/tiny");
}

#[test]
fn bad_data_creates_no_run_directory_and_resume_refuses_changed_data() {
    let sb = Sandbox::new();
    let exp = TINY.replace(
        "data: {source: builtin, name: iris, holdout: 0.2}",
        "data: {source: csv, path: iris.csv, label: species, holdout: 0.2}",
    );
    sb.write("exp.yaml", &exp);
    let good = iris_csv();
    sb.write("iris.csv", &good.replacen(",0\n", ",x\n", 1));
    let out = sb.run(&["run", "exp.yaml", "-q"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!sb.path().join("results/tiny").exists(), "nothing created");
    // Fixed data runs; changed data cannot be resumed into the same directory.
    sb.write("iris.csv", &good);
    sb.ok(&["run", "exp.yaml", "-q"]);
    let runs = sb.read("results/tiny/runs.csv");
    sb.write("iris.csv", &good.replacen("5.1,", "5.3,", 1));
    let out = sb.run(&["run", "exp.yaml", "-q", "--resume"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("the data changed"), "{err}");
    assert_eq!(sb.read("results/tiny/runs.csv"), runs);
    sb.write("iris.csv", &good);
    sb.ok(&["run", "exp.yaml", "-q", "--resume"]);
    assert_eq!(sb.read("results/tiny/runs.csv"), runs);
}

#[test]
fn holdout_test_features_never_reach_cross_validation() {
    holdout_test_features_stay_out(TINY);
}

/// The same with a sensitivity budget, whose curves the refit model measures on its own
/// training rows: the test split must not reach them either.
#[test]
fn holdout_test_features_never_reach_a_sensitivity_budget() {
    holdout_test_features_stay_out(&TINY.replace(
        "tau: {unit: std, scope: layer, linspace: [0.0, 2.0, 5]}",
        "tau: {unit: quantile, scope: sensitivity, values: [0.3, 0.6, 0.9]}",
    ));
}

fn holdout_test_features_stay_out(tiny: &str) {
    // With a stratified holdout the split depends on labels, so perturb the test rows' features.
    let sb = Sandbox::new();
    let exp = tiny.replace(
        "data: {source: builtin, name: iris, holdout: 0.2}",
        "data: {source: csv, path: iris.csv, label: species, holdout: 0.2}",
    );
    sb.write("exp.yaml", &exp);
    sb.write("iris.csv", &iris_csv());
    sb.ok(&["run", "exp.yaml", "-q", "--out", "a"]);
    let (_, folds) = table(&sb.read("a/tiny/folds.csv"));
    let test = samples_with_role(&folds, "test");
    let csv = iris_csv();
    let perturbed: String = csv
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i > 0 && test.contains(&(i - 1)) {
                let (_, rest) = l.split_once(',').unwrap();
                format!("99.5,{rest}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    sb.write("iris.csv", &perturbed);
    sb.ok(&["run", "exp.yaml", "-q", "--out", "b"]);
    for file in ["folds.csv", "runs.csv", "summary.csv"] {
        assert_eq!(
            sb.read(&format!("a/tiny/{file}")),
            sb.read(&format!("b/tiny/{file}")),
            "{file} changed"
        );
    }
    assert_only_test_columns_differ(
        &sb.read("a/tiny/selection.csv"),
        &sb.read("b/tiny/selection.csv"),
    );
}

#[test]
fn auto_grids_span_sparsity_per_method_and_repeats_redraw_folds() {
    let sb = Sandbox::new();
    sb.write("tiny.yaml", TINY);
    sb.ok(&[
        "run",
        "tiny.yaml",
        "-q",
        "--set",
        "prune.methods=[magnitude, importance]",
        "--set",
        "prune.tau={unit: std, scope: global, auto: 6}",
        "--set",
        "cv.repeats=2",
    ]);
    let (h, rows) = table(&sb.read("results/tiny/summary.csv"));
    for m in ["magnitude", "importance"] {
        let g: Vec<_> = rows.iter().filter(|r| r[0] == m).collect();
        assert!(g.len() >= 5 && g.len() <= 6, "{m}: {} τ", g.len());
        assert_eq!(g[0][1], "0.0");
        assert!(
            g.iter().all(|r| r[col(&h, "n")] == "6"),
            "2 repeats × 3 folds"
        );
        let last = f(&g.last().unwrap()[col(&h, "mean_sparsity")]);
        let want = if m == "magnitude" { 0.9 } else { 0.5 };
        assert!(last >= want, "{m}: auto grid reaches only {last}");
    }
    // The τ grids differ between methods (std of weights vs std of neuron norms).
    let taus = |m: &str| {
        rows.iter()
            .filter(|r| r[0] == m)
            .map(|r| r[1].clone())
            .collect::<Vec<_>>()
    };
    assert_ne!(taus("magnitude"), taus("importance"));
    // Two repeats draw different folds.
    let (_, folds) = table(&sb.read("results/tiny/folds.csv"));
    assert_eq!(folds.len(), 300);
    let rep = |r: &str| {
        folds
            .iter()
            .filter(|x| x[2] == r)
            .map(|x| x[4].clone())
            .collect::<Vec<_>>()
    };
    assert_ne!(rep("0"), rep("1"));
}

#[test]
fn iterative_schedule_stops_at_its_target_and_records_rounds() {
    let sb = Sandbox::new();
    sb.write("tiny.yaml", TINY);
    // Each round prunes 30 % of the survivors: 30 %, 51 %, 65.7 % ... so a 0.5 target stops
    // after round 2 in every fold.
    sb.ok(&[
        "run",
        "tiny.yaml",
        "-q",
        "--set",
        "prune.methods=[magnitude]",
        "--set",
        "prune.tau={unit: quantile, values: [0.3]}",
        "--set",
        "prune.schedule={kind: iterative, rounds: 10, epochs_per_round: 2, target_sparsity: 0.5}",
    ]);
    let (h, rows) = table(&sb.read("results/tiny/trajectory.csv"));
    assert_eq!(
        h,
        ["repeat", "fold", "method", "tau", "round", "sparsity", "val_acc"]
    );
    assert_eq!(rows.len(), 3 * 3, "rounds 0, 1, 2 for each of 3 folds");
    for r in &rows {
        let sp = f(&r[5]);
        match r[4].as_str() {
            "0" => assert_eq!(sp, 0.0),
            "1" => assert!((sp - 0.3).abs() < 0.02, "{r:?}"),
            "2" => assert!((sp - 0.51).abs() < 0.02, "{r:?}"),
            other => panic!("round {other} ran past the target"),
        }
    }
    let (h, runs) = table(&sb.read("results/tiny/runs.csv"));
    for r in runs.iter().filter(|r| r[2] == "magnitude") {
        assert!((f(&r[col(&h, "sparsity")]) - 0.51).abs() < 0.02);
        assert_eq!(r[col(&h, "regrown")], "0");
    }
    // The refit's test accuracy is computed once, at the end: no trajectory rows for it.
    assert!(rows.iter().all(|r| r[1] != usize::MAX.to_string()));
}

#[test]
fn finetune_and_rewind_schedules_run_and_keep_masks() {
    let sb = Sandbox::new();
    sb.write("tiny.yaml", TINY);
    for (i, sch) in [
        "{kind: finetune, epochs: 3}",
        "{kind: rewind, rewind_epoch: 1, epochs: 5}",
    ]
    .iter()
    .enumerate()
    {
        let out = format!("o{i}");
        sb.ok(&[
            "run",
            "tiny.yaml",
            "-q",
            "--out",
            &out,
            "--set",
            &format!("prune.schedule={sch}"),
            "--set",
            "prune.tau={unit: quantile, values: [0.0, 0.7]}",
        ]);
        let (h, runs) = table(&sb.read(&format!("{out}/tiny/runs.csv")));
        assert!(runs.iter().all(|r| r[col(&h, "regrown")] == "0"));
        let (h, sel) = table(&sb.read(&format!("{out}/tiny/selection.csv")));
        // The exported (retrained) model reproduces its test accuracy.
        for r in &sel {
            let model = format!("{out}/tiny/{}", r[col(&h, "model")]);
            let o = sb.ok(&["eval", &model, "--data", "tiny.yaml"]);
            assert!(
                o.contains(&format!("test_acc {} ", r[col(&h, "test_acc")])),
                "{o}"
            );
        }
    }
    // A key that does not belong to the schedule kind is rejected with the allowed keys.
    let out = sb.run(&[
        "check",
        "tiny.yaml",
        "--set",
        "prune.schedule={kind: finetune, rounds: 3}",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("prune.schedule.rounds") && err.contains("epochs, lr_scale"),
        "{err}"
    );
}

#[test]
fn diverging_runs_are_recorded_and_excluded_while_the_sweep_continues() {
    let sb = Sandbox::new();
    sb.write("tiny.yaml", TINY);
    // Fine-tuning at 1e6 × lr blows up; the dense models (normal lr) are fine.
    let out = sb.run(&[
        "run",
        "tiny.yaml",
        "--set",
        "prune.schedule={kind: finetune, epochs: 2, lr_scale: 1000000}",
        "--set",
        "prune.methods=[magnitude]",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("diverged"), "{err}");
    let (h, runs) = table(&sb.read("results/tiny/runs.csv"));
    let div = runs
        .iter()
        .filter(|r| r[col(&h, "diverged")] == "true")
        .count();
    assert!(div > 0, "expected diverged rows");
    assert!(runs
        .iter()
        .filter(|r| r[2] == "dense")
        .all(|r| r[col(&h, "diverged")] == "false"));
    let (h, summary) = table(&sb.read("results/tiny/summary.csv"));
    let total: usize = summary
        .iter()
        .filter(|r| r[0] == "magnitude")
        .map(|r| r[col(&h, "n_diverged")].parse::<usize>().unwrap())
        .sum();
    assert_eq!(total, div);
    for r in summary.iter().filter(|r| r[0] == "magnitude") {
        let n: usize = r[col(&h, "n")].parse().unwrap();
        let nd: usize = r[col(&h, "n_diverged")].parse().unwrap();
        assert_eq!(n + nd, 3);
    }
}

#[test]
fn jobs_pruned_from_a_diverged_dense_model_are_diverged_too() {
    let sb = Sandbox::new();
    sb.write("tiny.yaml", TINY);
    let out = sb.run(&["run", "tiny.yaml", "--set", "train.lr=1000000"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("dense model repeat 0 fold 0 diverged"),
        "{err}"
    );
    let (h, runs) = table(&sb.read("results/tiny/runs.csv"));
    assert_eq!(
        runs.len(),
        3 + 3 * 2 * 5,
        "3 dense + 3 folds × 2 methods × 5 τ"
    );
    assert!(
        runs.iter().all(|r| r[col(&h, "diverged")] == "true"),
        "every row comes from a diverged dense model"
    );
    let (h, summary) = table(&sb.read("results/tiny/summary.csv"));
    assert!(summary.iter().all(|r| r[col(&h, "n")] == "0"));
}

#[test]
fn init_writes_a_starter_that_runs_as_is_and_never_overwrites() {
    let sb = Sandbox::new();
    let out = sb.ok(&["init", "mine"]);
    assert!(out.contains("mine.yaml"));
    let text = sb.read("mine.yaml");
    assert!(
        text.contains("name: mine") && text.contains("# "),
        "commented starter"
    );
    sb.ok(&["check", "mine.yaml"]);
    sb.ok(&[
        "run",
        "mine.yaml",
        "-q",
        "--set",
        "train.epochs=3",
        "--set",
        "cv.folds=2",
    ]);
    assert!(sb.path().join("results/mine/summary.csv").exists());
    let again = sb.run(&["init", "mine"]);
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(sb.read("mine.yaml"), text);
    assert_eq!(sb.run(&["init", "bad name"]).status.code(), Some(2));
}
