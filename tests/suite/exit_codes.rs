//! The README's exit-code table, row by row, through the real binary: each case asserts the
//! exit code and one line of what stderr says.

use crate::common::{table, Sandbox, TINY};
use crate::runner::{run_until_first_job, sigint, SLOW};
use std::process::Output;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Assert `out` exited with `code` and that one line of its stderr is exactly `line`.
fn assert_exit(out: &Output, code: i32, line: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "{err}");
    assert!(
        err.lines().any(|l| l == line),
        "no line {line:?} in stderr:\n{err}"
    );
}

#[test]
fn success_exits_0() {
    let sb = Sandbox::new();
    sb.write("tiny.yaml", TINY);
    let out = sb.run(&["run", "tiny.yaml", "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}

#[test]
fn a_missing_experiment_file_exits_2() {
    let sb = Sandbox::new();
    let out = sb.run(&["run", "nowhere.yaml", "-q"]);
    assert_exit(
        &out,
        2,
        "error: nowhere.yaml: cannot read it: No such file or directory (os error 2)",
    );
}

#[test]
fn a_missing_data_file_exits_2() {
    let sb = Sandbox::new();
    sb.write(
        "csv.yaml",
        &TINY.replace(
            "{source: builtin, name: iris, holdout: 0.2}",
            "{source: csv, path: nowhere.csv}",
        ),
    );
    // `check` and `run` alike: the line names the file and the operation.
    for cmd in [vec!["check", "csv.yaml"], vec!["run", "csv.yaml", "-q"]] {
        assert_exit(
            &sb.run(&cmd),
            2,
            "error: nowhere.csv: cannot read it: No such file or directory (os error 2)",
        );
    }
    assert!(!sb.path().join("results").exists(), "nothing written");
}

#[test]
fn an_unwritable_output_directory_exits_3() {
    let sb = Sandbox::new();
    sb.write("tiny.yaml", TINY);
    // A results root under a regular file cannot be created, even by root (who ignores
    // permission bits).
    sb.write("blocked", "not a directory");
    let out = sb.run(&["run", "tiny.yaml", "-q", "--out", "blocked/sub"]);
    assert_exit(
        &out,
        3,
        "error: cannot create directory blocked/sub/tiny/models: Not a directory (os error 20)",
    );
    // The OS reason is printed once, at the end of the chain.
    assert_eq!(stderr(&out).matches("(os error").count(), 1);
}

#[test]
fn a_locked_run_directory_exits_2() {
    let sb = Sandbox::new();
    sb.write("tiny.yaml", TINY);
    // A lock held by a live process: pid 1 always exists.
    sb.write("results/tiny/.lock", "1");
    let out = sb.run(&["run", "tiny.yaml", "-q", "--force"]);
    assert_exit(
        &out,
        2,
        "error: run directory results/tiny is in use by process 1 (lock file \
         results/tiny/.lock); wait for it or stop it",
    );
    assert!(sb.path().join("results/tiny/.lock").exists(), "lock kept");
}

#[test]
fn diverged_training_exits_0_and_is_recorded() {
    let sb = Sandbox::new();
    sb.write("tiny.yaml", TINY);
    // Every dense model diverges, so every job does; the run still completes.
    let out = sb.run(&["run", "tiny.yaml", "--set", "train.lr=1000000"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.lines().any(|l| l.starts_with(
            "warning: 33 run(s) diverged (non-finite loss) and are excluded from the summary \
             and selection: repeat 0 fold 0 dense;"
        )),
        "{err}"
    );
    let (h, runs) = table(&sb.read("results/tiny/runs.csv"));
    let diverged = h.iter().position(|c| c == "diverged").unwrap();
    assert!(runs.iter().all(|r| r[diverged] == "true"));
}

#[test]
fn an_interrupt_exits_130() {
    let sb = Sandbox::new();
    sb.write("slow.yaml", SLOW);
    let child = run_until_first_job(&sb, "r");
    sigint(&child.id().to_string());
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(
        err.lines()
            .any(|l| l.starts_with("error: interrupted after ")
                && l.ends_with(" jobs; finished jobs are saved. Resume with:")),
        "{err}"
    );
}
