//! The runner's guarantees through the real binary: resume after SIGKILL and after Ctrl-C gives
//! the same tables as an uninterrupted run; a lock stops a second writer; the dense-model cache
//! is reused.

use crate::common;

use common::{assert_same, assert_same_tables, Sandbox, TINY};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Slow enough (fine-tuning at every τ, one job at a time) to be interrupted mid-sweep.
pub(crate) const SLOW: &str = "name: slow
seed: 5
data: {source: builtin, name: digits, holdout: 0.2}
model: {kind: mlp, hidden: [32]}
train: {optimizer: sgd, lr: 0.05, epochs: 4, batch_size: 32}
prune:
  methods: [magnitude, random, taylor]
  schedule: {kind: finetune, epochs: 3}
  tau: {unit: quantile, linspace: [0.0, 0.9, 10]}
cv: {folds: 4}
";

fn spawn(sb: &Sandbox, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_prunecv"))
        .args(args)
        .current_dir(sb.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn prunecv")
}

/// Start `run slow.yaml -q --jobs 1 --out OUT` and return once its first job is journalled.
pub(crate) fn run_until_first_job(sb: &Sandbox, out: &str) -> Child {
    let mut child = spawn(sb, &["run", "slow.yaml", "-q", "--jobs", "1", "--out", out]);
    wait_for_first_job(sb, out, &mut child);
    child
}

/// Send SIGINT (what Ctrl-C sends) to process `pid`.
pub(crate) fn sigint(pid: &str) {
    assert!(Command::new("kill")
        .args(["-INT", pid])
        .status()
        .unwrap()
        .success());
}

fn journal_lines(sb: &Sandbox, dir: &str) -> usize {
    std::fs::read_to_string(sb.path().join(dir).join("slow/journal.jsonl"))
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

/// Wait until the child has journalled at least one job, then return (it is still running).
fn wait_for_first_job(sb: &Sandbox, dir: &str, child: &mut Child) {
    let t0 = Instant::now();
    while journal_lines(sb, dir) == 0 {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("run ended ({status}) before it could be interrupted");
        }
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "no job finished in 2 minutes"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "run finished before the interrupt"
    );
}

#[test]
fn sigkill_then_resume_matches_an_uninterrupted_run() {
    let sb = Sandbox::new();
    sb.write("slow.yaml", SLOW);
    sb.ok(&[
        "run",
        "slow.yaml",
        "-q",
        "--jobs",
        "1",
        "--out",
        "full",
        "--no-cache",
    ]);

    let mut child = run_until_first_job(&sb, "cut");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let journalled = journal_lines(&sb, "cut");
    assert!(
        (1..12).contains(&journalled),
        "{journalled} of 12 jobs journalled"
    );
    assert!(!sb.path().join("cut/slow/summary.csv").exists());

    // Without --resume the directory is protected.
    let out = sb.run(&["run", "slow.yaml", "-q", "--out", "cut"]);
    assert_eq!(out.status.code(), Some(2));
    sb.ok(&[
        "run",
        "slow.yaml",
        "-q",
        "--jobs",
        "2",
        "--out",
        "cut",
        "--resume",
    ]);
    let manifest: serde_json::Value =
        serde_json::from_str(&sb.read("cut/slow/manifest.json")).unwrap();
    assert_eq!(manifest["jobs_resumed"], journalled as u64);
    assert_same_tables(&sb, "full/slow", "cut/slow");
}

#[test]
fn ctrl_c_stops_cleanly_and_prints_the_resume_command() {
    let sb = Sandbox::new();
    sb.write("slow.yaml", SLOW);
    let child = run_until_first_job(&sb, "r");
    let pid = child.id().to_string();
    sigint(&pid);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(!sb.path().join("r/slow/.lock").exists(), "lock released");
    let before = journal_lines(&sb, "r");
    assert!(before >= 1);
    // The printed command is this one plus --resume, and running it finishes the run.
    let printed = err
        .lines()
        .find(|l| l.trim_end().ends_with("--resume"))
        .unwrap_or_else(|| panic!("no resume command in {err}"));
    let words: Vec<&str> = printed.split_whitespace().skip(1).collect();
    assert_eq!(
        words,
        [
            "run",
            "slow.yaml",
            "-q",
            "--jobs",
            "1",
            "--out",
            "r",
            "--resume"
        ],
        "{err}"
    );
    sb.ok(&words);
    let m: serde_json::Value = serde_json::from_str(&sb.read("r/slow/manifest.json")).unwrap();
    assert_eq!(m["jobs_resumed"], before as u64);
    sb.ok(&["run", "slow.yaml", "-q", "--out", "full"]);
    assert_same_tables(&sb, "full/slow", "r/slow");
}

#[test]
fn a_second_process_cannot_write_a_locked_run_directory() {
    let sb = Sandbox::new();
    sb.write("slow.yaml", SLOW);
    let mut first = run_until_first_job(&sb, "r");
    let out = sb.run(&["run", "slow.yaml", "-q", "--out", "r", "--resume"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("process {}", first.id())), "{err}");
    let journalled = journal_lines(&sb, "r");
    let out = sb.run(&["run", "slow.yaml", "-q", "--out", "r", "--force"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "--force must not remove a directory in use"
    );
    assert!(
        journal_lines(&sb, "r") >= journalled,
        "the journal survived"
    );
    assert!(sb.path().join("r/slow/resolved.yaml").exists());
    first.kill().unwrap();
    first.wait().unwrap();
    // The dead process left a stale lock: it is taken over, and the resume keeps its jobs.
    assert!(sb.path().join("r/slow/.lock").exists());
    let kept = journal_lines(&sb, "r");
    sb.ok(&["run", "slow.yaml", "-q", "--out", "r", "--resume"]);
    assert!(!sb.path().join("r/slow/.lock").exists());
    let m: serde_json::Value = serde_json::from_str(&sb.read("r/slow/manifest.json")).unwrap();
    assert_eq!(m["jobs_resumed"], kept as u64);
    assert!(sb.path().join("r/slow/summary.csv").exists());
}

#[test]
fn dense_models_come_from_the_cache_when_only_pruning_changes() {
    let sb = Sandbox::new();
    sb.write("tiny.yaml", common::TINY);
    sb.ok(&["run", "tiny.yaml", "-q"]);
    let m: serde_json::Value =
        serde_json::from_str(&sb.read("results/tiny/manifest.json")).unwrap();
    assert_eq!(
        (
            m["dense_models_trained"].as_u64(),
            m["dense_models_from_cache"].as_u64()
        ),
        (Some(4), Some(0))
    );
    let first = sb.read("results/tiny/runs.csv");
    // A different τ grid and method list: no dense model is retrained.
    sb.ok(&[
        "run",
        "tiny.yaml",
        "-q",
        "--force",
        "--set",
        "prune.tau.linspace=[0, 1, 3]",
        "--set",
        "prune.methods=[random]",
    ]);
    let m: serde_json::Value =
        serde_json::from_str(&sb.read("results/tiny/manifest.json")).unwrap();
    assert_eq!(
        (
            m["dense_models_trained"].as_u64(),
            m["dense_models_from_cache"].as_u64()
        ),
        (Some(0), Some(4))
    );
    // Back to the original grid: byte-identical to the trained run.
    sb.ok(&["run", "tiny.yaml", "-q", "--force"]);
    assert_same(&sb.read("results/tiny/runs.csv"), &first, "runs.csv");
    // A training change misses the cache.
    sb.ok(&[
        "run",
        "tiny.yaml",
        "-q",
        "--force",
        "--set",
        "train.epochs=21",
    ]);
    let m: serde_json::Value =
        serde_json::from_str(&sb.read("results/tiny/manifest.json")).unwrap();
    assert_eq!(m["dense_models_from_cache"].as_u64(), Some(0));
}

#[test]
fn shards_merge_into_the_same_tables_as_a_single_run() {
    let sb = Sandbox::new();
    sb.write("tiny.yaml", common::TINY);
    sb.ok(&["run", "tiny.yaml", "-q", "--out", "single", "--no-cache"]);
    // Shards 0 and 2 of 3; the merge must name the missing shard 1.
    sb.ok(&["run", "tiny.yaml", "-q", "--out", "sh", "--shard", "0/3"]);
    sb.ok(&["run", "tiny.yaml", "-q", "--out", "sh", "--shard", "2/3"]);
    let out = sb.run(&["merge", "sh/tiny", "-q"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("shard 1/3 is missing"), "{err}");
    assert!(
        !sb.path().join("sh/tiny/summary.csv").exists(),
        "no partial table"
    );
    // A shard that started but did not finish is named too.
    std::fs::create_dir_all(sb.path().join("sh/tiny/shards/1-of-3")).unwrap();
    let err = String::from_utf8_lossy(&sb.run(&["merge", "sh/tiny", "-q"]).stderr).into_owned();
    assert!(err.contains("shard 1/3 did not finish"), "{err}");
    sb.ok(&[
        "run",
        "tiny.yaml",
        "-q",
        "--out",
        "sh",
        "--shard",
        "1/3",
        "--resume",
    ]);
    sb.ok(&["merge", "sh/tiny", "-q"]);
    assert_same_tables(&sb, "single/tiny", "sh/tiny");
}

#[test]
fn a_second_ctrl_c_exits_at_once_keeping_the_journal() {
    let sb = Sandbox::new();
    // Jobs long enough (fine-tuning 120 epochs per τ, dense models 200 epochs: the job after
    // the first journalled one may be the refit's dense model) that the second signal always
    // arrives while a job is still running (40 epochs was once not enough on a loaded machine).
    sb.write(
        "slow.yaml",
        &SLOW
            .replace("epochs: 3}", "epochs: 120}")
            .replace("epochs: 4,", "epochs: 200,"),
    );
    let mut child = run_until_first_job(&sb, "r");
    let pid = child.id().to_string();
    // The second signal goes only once the first was handled: two SIGINTs sent before the
    // process runs its handler are one pending signal (on a loaded machine, 50 ms apart was not
    // always enough).
    sigint(&pid);
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("Ctrl-C again to exit now") {
        let mut line = String::new();
        if std::io::BufRead::read_line(&mut err, &mut line).unwrap() == 0 {
            break;
        }
        seen.push_str(&line);
    }
    sigint(&pid);
    std::io::Read::read_to_string(&mut err, &mut seen).unwrap();
    let out = child.wait_with_output().unwrap();
    let err = seen;
    assert_eq!(out.status.code(), Some(130), "{err}");
    // A job still running when the second signal lands: the run exits at once. On a loaded
    // machine the running job may end first; the run then ends the graceful way (both 130).
    assert!(
        err.contains("second interrupt: exiting now")
            || err.contains("finished jobs are saved. Resume with"),
        "{err}"
    );
    let kept = journal_lines(&sb, "r");
    assert!(kept >= 1);
    // What was journalled is reused: the resumed run reports it.
    sb.ok(&["run", "slow.yaml", "-q", "--out", "r", "--resume"]);
    let m: serde_json::Value = serde_json::from_str(&sb.read("r/slow/manifest.json")).unwrap();
    assert_eq!(m["jobs_resumed"], kept as u64);
}

/// The library's default run writes nothing and returns the very tables the CLI writes.
#[test]
fn an_in_memory_run_writes_nothing_and_returns_the_cli_tables() {
    let sb = Sandbox::new();
    sb.write("tiny.yaml", TINY);
    sb.ok(&["run", "tiny.yaml", "-q", "--no-cache", "--jobs", "2"]);
    let exp = prunecv::config::load(&sb.path().join("tiny.yaml"), &[]).unwrap();
    let cwd = std::env::current_dir().unwrap();
    let result = prunecv::sweep::run(&exp, &prunecv::sweep::RunOptions::default()).unwrap();
    assert_eq!(result.dir, None);
    assert!(
        !cwd.join("results").join("tiny").exists(),
        "nothing written"
    );
    let mut compared = 0;
    for (name, bytes) in result.tables().unwrap() {
        if name == "timings.csv" || name == "speed.csv" {
            continue; // wall times
        }
        let on_disk = sb.read(&format!("results/tiny/{name}"));
        assert_same(&String::from_utf8(bytes).unwrap(), &on_disk, name);
        compared += 1;
    }
    assert_eq!(
        compared, 6,
        "folds, runs, summary, sensitivity, selection, layers"
    );
}

/// A cancelled token stops a library run before any job: it fails as interrupted.
#[test]
fn a_cancelled_token_stops_a_library_run() {
    let exp = prunecv::config::parse(TINY, "tiny.yaml", &[]).unwrap();
    let opts = prunecv::sweep::RunOptions::default();
    opts.cancel.cancel();
    let err = prunecv::sweep::run(&exp, &opts).unwrap_err();
    assert!(
        matches!(err, prunecv::Error::Interrupted { done: 0, .. }),
        "{err}"
    );
    // A shard needs a run directory.
    let shard = prunecv::sweep::RunOptions {
        mode: prunecv::sweep::Mode::Shard("0/2".parse().unwrap()),
        ..Default::default()
    };
    let err = prunecv::sweep::run(&exp, &shard).unwrap_err().to_string();
    assert!(err.contains("RunOptions::write"), "{err}");
}

/// A run directory as versions before structured journal keys and the tagged configuration
/// layout wrote it — job keys as text (`"repeat 0 fold 1 random"`), `resolved.yaml` in the first
/// layout (`tests/fixtures/v1/tiny.resolved.yaml`, written by such a version for `TINY`) —
/// resumes: its jobs count as done and the tables match an uninterrupted run.
#[test]
fn a_run_directory_of_an_older_version_resumes() {
    let sb = Sandbox::new();
    sb.write("tiny.yaml", TINY);
    sb.ok(&["run", "tiny.yaml", "-q", "--out", "full", "--no-cache"]);
    sb.ok(&["run", "tiny.yaml", "-q", "--out", "old", "--no-cache"]);
    // Rewrite every key as text, and drop the last job as if the run had been killed.
    let path = sb.path().join("old/tiny/journal.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            let k = &v["job"];
            let old = format!(
                "repeat {} fold {} {}",
                k["repeat"],
                k["fold"],
                k["method"].as_str().unwrap()
            );
            v["job"] = old.into();
            serde_json::to_string(&v).unwrap()
        })
        .collect();
    assert_eq!(lines.len(), 6, "3 folds × 2 methods");
    assert!(
        lines
            .iter()
            .any(|l| l.contains(r#""job":"repeat 0 fold 0 magnitude""#)),
        "{lines:?}"
    );
    lines.pop();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let old_resolved = std::fs::read_to_string(format!(
        "{}/tests/fixtures/v1/tiny.resolved.yaml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    assert_ne!(
        old_resolved,
        sb.read("old/tiny/resolved.yaml"),
        "the layout changed"
    );
    std::fs::write(sb.path().join("old/tiny/resolved.yaml"), old_resolved).unwrap();
    sb.ok(&[
        "run",
        "tiny.yaml",
        "-q",
        "--out",
        "old",
        "--resume",
        "--no-cache",
    ]);
    let manifest: serde_json::Value =
        serde_json::from_str(&sb.read("old/tiny/manifest.json")).unwrap();
    assert_eq!(manifest["jobs_resumed"], 5);
    assert_same_tables(&sb, "full/tiny", "old/tiny");
}
