//! `manifest.json`: what is needed to reproduce and audit a run.

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    pub prunecv_version: String,
    pub git_commit: Option<String>,
    pub experiment_file: String,
    pub config_hash: String,
    pub seed: u64,
    pub command: Vec<String>,
    pub jobs: usize,
    pub candle_threads_per_job: usize,
    pub started_unix: f64,
    pub finished_unix: f64,
    pub wall_seconds: f64,
    pub dense_models_trained: usize,
    pub dense_models_from_cache: usize,
    /// (fold, method) jobs taken from the journal of an interrupted run.
    pub jobs_resumed: usize,
    pub validation_evaluations: usize,
    pub test_evaluations: usize,
    /// The memory estimate the run was checked against, at its job count (bytes).
    pub memory_estimate_bytes: u64,
    /// Peak resident memory of the process (Linux `VmHWM`; bytes), when known.
    pub peak_resident_bytes: Option<u64>,
    pub os: String,
    pub arch: String,
}

impl Manifest {
    pub fn to_json(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).expect("manifest serialises");
        v.push(b'\n');
        v
    }
}

/// The commit of the git repository containing the current directory, if any.
pub fn git_commit() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}
