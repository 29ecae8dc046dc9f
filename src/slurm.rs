//! `prunecv slurm`: sbatch scripts for a sharded run — a job array whose task i runs
//! `prunecv run --shard i/n`, and a merge job that depends on the array with `afterany` (an
//! `afterok` dependency would never start if one task failed; the merge itself checks that every
//! shard finished and names the ones that did not).

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// What the scripts need to know.
#[derive(Debug, Clone)]
pub struct SlurmPlan {
    /// The prunecv binary to call on the nodes (absolute).
    pub binary: PathBuf,
    /// The experiment file (absolute).
    pub experiment: PathBuf,
    /// `--set` overrides, passed through.
    pub overrides: Vec<String>,
    /// The results root (absolute); the run directory is `<out>/<name>`.
    pub out: PathBuf,
    pub run_dir: PathBuf,
    pub array_size: usize,
    pub partition: Option<String>,
    pub time: Option<String>,
    pub cpus: usize,
}

/// `s` as one shell word: as is when it is plain, else single-quoted.
pub(crate) fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./=:,".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

fn header(p: &SlurmPlan, name: &str, log: &str) -> String {
    let mut h = format!(
        "#!/bin/bash\n#SBATCH --job-name={name}\n#SBATCH --cpus-per-task={}\n#SBATCH --output={}\n",
        p.cpus,
        shell_quote(&p.run_dir.join("slurm").join(log).display().to_string())
    );
    if let Some(part) = &p.partition {
        h.push_str(&format!("#SBATCH --partition={}\n", shell_quote(part)));
    }
    if let Some(t) = &p.time {
        h.push_str(&format!("#SBATCH --time={}\n", shell_quote(t)));
    }
    h
}

/// The array script and the merge script.
pub fn scripts(p: &SlurmPlan) -> (String, String) {
    let sets: String = p
        .overrides
        .iter()
        .map(|s| format!(" --set {}", shell_quote(s)))
        .collect();
    let mut array = header(p, "prunecv-shards", "shard-%a.log");
    array.push_str(&format!("#SBATCH --array=0-{}\n", p.array_size - 1));
    array.push_str(&format!(
        "set -euo pipefail\nexec {bin} run {exp}{sets} --out {out} --shard \"$SLURM_ARRAY_TASK_ID/{n}\" --jobs \"${{SLURM_CPUS_PER_TASK:-{cpus}}}\" --resume\n",
        bin = shell_quote(&p.binary.display().to_string()),
        exp = shell_quote(&p.experiment.display().to_string()),
        out = shell_quote(&p.out.display().to_string()),
        n = p.array_size,
        cpus = p.cpus,
    ));
    let mut merge = header(p, "prunecv-merge", "merge.log");
    merge.push_str(&format!(
        "set -euo pipefail\nexec {bin} merge {dir} --jobs \"${{SLURM_CPUS_PER_TASK:-{cpus}}}\"\n",
        bin = shell_quote(&p.binary.display().to_string()),
        dir = shell_quote(&p.run_dir.display().to_string()),
        cpus = p.cpus,
    ));
    (array, merge)
}

/// Write both scripts to `<run dir>/slurm/` and return their paths.
pub fn write(p: &SlurmPlan) -> Result<(PathBuf, PathBuf)> {
    let dir = p.run_dir.join("slurm");
    crate::fsio::create_dir_all(&dir)?;
    let (a, m) = scripts(p);
    let (pa, pm) = (dir.join("array.sbatch"), dir.join("merge.sbatch"));
    crate::fsio::write_atomic(&pa, a.as_bytes())?;
    crate::fsio::write_atomic(&pm, m.as_bytes())?;
    Ok((pa, pm))
}

/// `sbatch --parsable [extra] script` → the job id.
pub fn sbatch(script: &Path, extra: &[String]) -> Result<String> {
    let out = std::process::Command::new("sbatch")
        .arg("--parsable")
        .args(extra)
        .arg(script)
        .output()
        .map_err(|e| Error::io("run sbatch for", script, e))?;
    if !out.status.success() {
        return Err(Error::Environment(format!(
            "sbatch {} failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text.trim().split(';').next().unwrap_or("").to_string())
}

/// Submit the array, then the merge with an `afterany` dependency; returns both job ids.
pub fn submit(array: &Path, merge: &Path) -> Result<(String, String)> {
    let a = sbatch(array, &[])?;
    let m = sbatch(merge, &[format!("--dependency=afterany:{a}")])?;
    Ok((a, m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_run_every_shard_and_merge_after_any() {
        let p = SlurmPlan {
            binary: "/opt/prunecv".into(),
            experiment: "/exp/a b.yaml".into(),
            overrides: vec!["cv.folds=3".into()],
            out: "/res".into(),
            run_dir: "/res/x".into(),
            array_size: 4,
            partition: Some("gpu".into()),
            time: Some("01:00:00".into()),
            cpus: 2,
        };
        let (a, m) = scripts(&p);
        assert!(a.contains("#SBATCH --array=0-3\n"), "{a}");
        assert!(a.contains("#SBATCH --partition=gpu\n") && a.contains("#SBATCH --time=01:00:00\n"));
        assert!(a.contains("exec /opt/prunecv run '/exp/a b.yaml' --set cv.folds=3 --out /res --shard \"$SLURM_ARRAY_TASK_ID/4\""), "{a}");
        assert!(m.contains("exec /opt/prunecv merge /res/x"), "{m}");
    }
}
