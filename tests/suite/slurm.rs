//! Sharded runs through a real Slurm: `prunecv slurm --submit` on a local single-node cluster
//! (brought up by `scripts/slurm/up.sh`, which `.ci/run` runs), merged results byte-identical to
//! a local run, and a deliberately failing shard reported by name. Skipped, with the reason
//! printed, when `SLURM_CONF` is not set.

use crate::common;

use common::{assert_same_tables, table, Sandbox, TINY};
use std::process::Command;
use std::time::{Duration, Instant};

fn slurm_available() -> bool {
    if std::env::var_os("SLURM_CONF").is_none() {
        eprintln!("skipping: SLURM_CONF is not set (start a cluster with scripts/slurm/up.sh)");
        return false;
    }
    true
}

fn wait_for(ids: &[&str]) {
    let t0 = Instant::now();
    loop {
        let out = Command::new("squeue")
            .args(["-h", "-o", "%i", "-j", &ids.join(",")])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if out.status.success() && text.is_empty() {
            return;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "jobs {ids:?} still queued: {text}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// "submitted array job A (...) and merge job M (...)" → (A, M)
fn job_ids(stdout: &str) -> (String, String) {
    let words: Vec<&str> = stdout.split_whitespace().collect();
    let a = words[words.iter().position(|x| *x == "job").unwrap() + 1].to_string();
    let m = words[words.iter().rposition(|x| *x == "job").unwrap() + 1].to_string();
    (a, m)
}

#[test]
fn slurm_array_and_merge_match_a_local_run_and_name_a_failed_shard() {
    if !slurm_available() {
        return;
    }
    let sb = Sandbox::new();
    sb.write("tiny.yaml", TINY);
    sb.ok(&["run", "tiny.yaml", "-q", "--out", "local", "--no-cache"]);
    let cluster = sb.path().join("cluster");
    let out = sb.ok(&[
        "slurm",
        "tiny.yaml",
        "--array-size",
        "3",
        "--out",
        cluster.to_str().unwrap(),
        "--submit",
    ]);
    let (a, m) = job_ids(&out);
    wait_for(&[&a, &m]);
    let log = std::fs::read_to_string(cluster.join("tiny/slurm/merge.log")).unwrap_or_default();
    assert!(
        cluster.join("tiny/summary.csv").exists(),
        "merge did not finish; merge.log:\n{log}"
    );
    assert_same_tables(&sb, "local/tiny", "cluster/tiny");
    let (_, shards) = table(&sb.read("cluster/tiny/folds.csv"));
    assert_eq!(shards.len(), 150);

    // Shard 1 of 3 fails: the merge (afterany) still runs and names it; no table is written.
    let broken = sb.path().join("broken");
    sb.ok(&[
        "slurm",
        "tiny.yaml",
        "--array-size",
        "3",
        "--out",
        broken.to_str().unwrap(),
    ]);
    let script = broken.join("tiny/slurm/array.sbatch");
    let text = std::fs::read_to_string(&script).unwrap();
    let text = text.replace(
        "exec ",
        "if [ \"$SLURM_ARRAY_TASK_ID\" = 1 ]; then echo deliberate failure; exit 3; fi\nexec ",
    );
    std::fs::write(&script, text).unwrap();
    let sbatch = |args: &[&str]| {
        let o = Command::new("sbatch")
            .arg("--parsable")
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout)
            .trim()
            .split(';')
            .next()
            .unwrap()
            .to_string()
    };
    let a = sbatch(&[script.to_str().unwrap()]);
    let merge = broken.join("tiny/slurm/merge.sbatch");
    let m = sbatch(&[
        &format!("--dependency=afterany:{a}"),
        merge.to_str().unwrap(),
    ]);
    wait_for(&[&a, &m]);
    let log = std::fs::read_to_string(broken.join("tiny/slurm/merge.log")).unwrap();
    assert!(log.contains("shard 1/3"), "merge.log:\n{log}");
    assert!(
        !broken.join("tiny/summary.csv").exists(),
        "no partial table"
    );
}
