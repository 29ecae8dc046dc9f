//! A newcomer's inputs through the binary: real-world CSV files (class names, a description
//! line, `;` separators), and input the run cannot take — a model too large for the machine,
//! more folds than a class has rows, a missing file — refused with one clear line and exit 2
//! before anything is allocated or written.

use crate::common;
use common::*;

/// scikit-learn's iris as a European spreadsheet exports it: a description line, a header,
/// `;` separators and class names as labels.
fn iris_named() -> String {
    let names = ["setosa", "versicolor", "virginica"];
    let text = include_str!("../../src/data/builtin/iris.csv");
    let mut out = String::from(
        "Iris plants data set, 150 rows; from scikit-learn\n\
         sepal length (cm);sepal width (cm);petal length (cm);petal width (cm);species\n",
    );
    for line in text.lines().skip(1) {
        let (x, y) = line.rsplit_once(',').unwrap();
        out.push_str(&format!(
            "{};{}\n",
            x.replace(',', ";"),
            names[y.parse::<usize>().unwrap()]
        ));
    }
    out
}

fn exp_with_data(data: &str) -> String {
    TINY.replace("{source: builtin, name: iris, holdout: 0.2}", data)
}

#[test]
fn a_csv_with_class_names_a_description_line_and_semicolons_sweeps_end_to_end() {
    let sb = Sandbox::new();
    sb.write("iris.csv", &iris_named());
    sb.write(
        "exp.yaml",
        &exp_with_data("{source: csv, path: iris.csv, skip_rows: 1, label: species}"),
    );
    sb.ok(&["run", "exp.yaml", "-q", "--out", "named"]);
    // The same data with class indices and commas gives the same tables, byte for byte.
    sb.ok(&[
        "run",
        "exp.yaml",
        "-q",
        "--out",
        "builtin",
        "--set",
        "data={source: builtin, name: iris}",
    ]);
    assert_same_tables(&sb, "named/tiny", "builtin/tiny");
    // The class order is recorded where predictions are decoded: resolved.yaml, model cards.
    let resolved = sb.read("named/tiny/resolved.yaml");
    assert!(
        resolved.contains("classes:\n  - setosa\n  - versicolor\n  - virginica\n"),
        "{resolved}"
    );
    assert!(resolved.contains("delimiter: auto") && resolved.contains("skip_rows: 1"));
    let card: serde_json::Value =
        serde_json::from_str(&sb.read("named/tiny/models/magnitude_best.json")).unwrap();
    assert_eq!(
        card["class_names"],
        serde_json::json!(["setosa", "versicolor", "virginica"])
    );
    let plain: serde_json::Value =
        serde_json::from_str(&sb.read("builtin/tiny/models/magnitude_best.json")).unwrap();
    assert!(plain.get("class_names").is_none());
    // …and the report states them.
    let report = sb.read("named/tiny/report.md");
    assert!(
        report.contains("## Classes\n\nPredictions are class indices: 0 = setosa, 1 = versicolor, 2 = virginica.\n"),
        "{report}"
    );
    assert!(!sb.read("builtin/tiny/report.md").contains("## Classes"));
    // resolved.yaml is itself an experiment that reproduces the run.
    std::fs::copy(
        sb.path().join("named/tiny/resolved.yaml"),
        sb.path().join("again.yaml"),
    )
    .unwrap();
    sb.ok(&["run", "again.yaml", "-q", "--out", "again"]);
    assert_same_tables(&sb, "named/tiny", "again/tiny");
    // A test file's labels are decoded with the training file's classes; an unknown one is
    // named with its row and column.
    let text = iris_named();
    let test: String = text.lines().take(12).map(|l| format!("{l}\n")).collect();
    sb.write("test.csv", &test.replacen(";setosa\n", ";rosa\n", 1));
    sb.write(
        "fixed.yaml",
        &exp_with_data(
            "{source: csv, path: iris.csv, test_path: test.csv, skip_rows: 1, label: species}",
        ),
    );
    let out = sb.run(&["check", "fixed.yaml"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(
        err.trim_end(),
        "error: test.csv: row 3, column 5: label \"rosa\" is not one of the classes setosa, \
         versicolor, virginica"
    );
}

#[test]
fn a_model_too_large_for_the_machine_is_refused_before_anything_is_allocated() {
    let sb = Sandbox::new();
    sb.write(
        "huge.yaml",
        &TINY.replace("hidden: [16]", "hidden: [100000000]"),
    );
    // `check` prints the estimate and says what `run` would do.
    let plan = sb.ok(&["check", "huge.yaml", "--jobs", "2"]);
    let line = plan.lines().find(|l| l.starts_with("  memory:")).unwrap();
    assert!(
        line.contains("at --jobs 2 (800000003 parameters;"),
        "{line}"
    );
    assert!(line.ends_with("too much: `run` would refuse it"), "{line}");
    // `run` refuses with one line and exit 2, creating nothing (a 24 GiB machine would
    // otherwise be killed by the kernel).
    let out = sb.run(&["run", "huge.yaml", "--jobs", "2"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: this run needs an estimated "),
        "{err}"
    );
    assert!(err.contains("available; make the model"), "{err}");
    assert!(!sb.path().join("results/tiny").exists());
}

#[test]
fn jobs_are_lowered_when_only_concurrency_does_not_fit() {
    let sb = Sandbox::new();
    sb.write("tiny.yaml", TINY);
    // The estimate as `run` computes it, for 1 and 2 jobs (each run's manifest records it for
    // the jobs it ran); allow 1.5 jobs' worth.
    let estimate = |jobs: &str, out: &str| {
        sb.ok(&["run", "tiny.yaml", "--jobs", jobs, "-q", "--out", out]);
        let m: serde_json::Value =
            serde_json::from_str(&sb.read(&format!("{out}/tiny/manifest.json"))).unwrap();
        assert_eq!(m["jobs"].to_string(), jobs);
        m["memory_estimate_bytes"].as_u64().unwrap()
    };
    let (one, two) = (estimate("1", "one"), estimate("2", "two"));
    assert!(one < two, "{one} {two}");
    let limit = (one + two) / 2;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_prunecv"))
        .args(["run", "tiny.yaml", "--jobs", "2"])
        .env("PRUNECV_MEMORY_LIMIT", format!("{limit}"))
        .current_dir(sb.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("notice: lowering --jobs from 2 to 1"), "{err}");
    let m: serde_json::Value =
        serde_json::from_str(&sb.read("results/tiny/manifest.json")).unwrap();
    assert_eq!(m["jobs"], 1);
    assert_eq!(m["memory_estimate_bytes"], one);
    // Peak resident memory is recorded, and the estimate bounds it from above.
    let peak = m["peak_resident_bytes"].as_u64().unwrap();
    assert!(peak > 1 << 20 && peak < one, "{peak}");
    // Nothing is lost by lowering: the tables equal a run with one job.
    assert_same_tables(&sb, "results/tiny", "one/tiny");
}

#[test]
fn more_folds_than_rows_of_a_class_is_an_error_and_small_folds_a_warning() {
    let sb = Sandbox::new();
    // Iris keeps 40 rows of each class in the training pool.
    sb.write("tiny.yaml", &TINY.replace("folds: 3", "folds: 60"));
    for cmd in ["check", "run"] {
        let out = sb.run(&[cmd, "tiny.yaml"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(
            err.trim_end(),
            "error: tiny.yaml: cv.folds: 60 folds, but class 0 has only 40 rows in the \
             training pool; stratified CV needs at least as many rows of every class as folds"
        );
    }
    // 10 folds leave 4 validation rows of a class: a warning from check and run alike.
    sb.write("ten.yaml", &TINY.replace("folds: 3", "folds: 10"));
    let warning = "warning: cv.folds = 10 leaves validation folds with as few as 4 rows of \
                   class 0 (40 in the training pool)";
    assert!(sb.ok(&["check", "ten.yaml"]).contains(warning));
    let out = sb.run(&["run", "ten.yaml"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(warning));
}

#[test]
fn a_missing_experiment_and_a_missing_data_file_both_exit_2() {
    let sb = Sandbox::new();
    let out = sb.run(&["run", "nowhere.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    sb.write(
        "csv.yaml",
        &exp_with_data("{source: csv, path: nowhere.csv}"),
    );
    for cmd in ["check", "run"] {
        let out = sb.run(&[cmd, "csv.yaml"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(
            err.trim_end(),
            "error: nowhere.csv: cannot read it: No such file or directory (os error 2)"
        );
    }
    // CSV fields under another source are refused, naming the field.
    sb.write(
        "mixed.yaml",
        &exp_with_data("{source: builtin, name: iris, delimiter: ';'}"),
    );
    let out = sb.run(&["check", "mixed.yaml"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("data.delimiter") && err.contains("belongs to `source: csv`"),
        "{err}"
    );
}
