//! The memory a run will need, estimated from shapes alone before anything is allocated or
//! trained, what the machine has available, and the peak a finished run actually used.
//!
//! The estimate is deliberately an upper bound of what the run holds at once:
//! - **data**: the loaded table and its training-pool / test copies;
//! - **per dense model** (every fold model and the refit stay alive until the run ends): its
//!   parameters (and the rewind snapshot) and its standardised training and held-out rows;
//! - **per running job** (`--jobs` of them at once): a working copy of the parameters, masks,
//!   scores, gradients, optimizer state and the activations of one training batch (and their
//!   gradients; candle's autograd keeps more intermediates: ×3) and of one evaluation chunk;
//! - 25 % on top for what the allocator holds beyond live data.
//!
//! Measured against the peak resident memory in `manifest.json` (2 jobs, release build):
//! digits default 89 MiB estimated / 63 MiB peak; MLP 64-2048-2048-10 fine-tuned with SGD
//! 628 / 515 MiB, with AdamW 669 / 537 MiB; LeNet-5 on 13,000 MNIST rows 1,252 / 608 MiB.

use crate::config::{Experiment, OptimizerKind, Schedule};
use crate::model::Architecture;

/// Bytes of one `f32`.
const F: f64 = 4.0;
/// Rows evaluated at once (`train::evaluate`).
const EVAL_CHUNK: f64 = 1024.0;
/// The process itself: binary, allocator arenas, thread stacks, candle's state.
const BASE: f64 = 64.0 * 1024.0 * 1024.0;
/// Memory the allocator holds beyond what is live (freed blocks it keeps for reuse).
const SLACK: f64 = 1.25;

/// Shapes of a model as far as memory is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footprint {
    /// Scalars in all parameter tensors.
    pub params: usize,
    /// Activation values one sample keeps for the backward pass.
    pub activations_per_sample: usize,
    /// Trained through candle's autograd (which keeps more intermediates than the MLP engine).
    pub autograd: bool,
}

/// A run's estimated memory, in bytes, by part.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// Data tables shared by every job, plus the process itself.
    pub shared: f64,
    /// One dense model kept for the whole run.
    pub per_model: f64,
    /// Dense models kept at once (fold models and the refit).
    pub models: usize,
    /// One running job's working memory.
    pub per_job: f64,
    /// Parameters of the model.
    pub params: usize,
}

impl Estimate {
    /// Total bytes with `jobs` jobs running at once.
    pub fn total(&self, jobs: usize) -> f64 {
        SLACK * (self.shared + self.per_model * self.models as f64 + self.per_job * jobs as f64)
    }

    /// The largest job count (≤ `jobs`) whose total fits in `available`; `None` if not even one.
    pub fn jobs_that_fit(&self, jobs: usize, available: f64) -> Option<usize> {
        (1..=jobs.max(1))
            .rev()
            .find(|&j| self.total(j) <= available)
    }

    /// One line: the total and its parts.
    pub fn describe(&self, jobs: usize) -> String {
        format!(
            "{} at --jobs {jobs} ({} parameters; data {}, {} dense models × {}, {jobs} running \
             jobs × {})",
            bytes(self.total(jobs)),
            self.params,
            bytes(self.shared),
            self.models,
            bytes(self.per_model),
            bytes(self.per_job),
        )
    }
}

/// Estimate the memory of `exp` on data of `pool_rows` + `test_rows` rows of `features` values.
pub fn estimate(
    exp: &Experiment,
    arch: &dyn Architecture,
    pool_rows: usize,
    test_rows: usize,
    features: usize,
) -> Estimate {
    let fp = arch.footprint();
    let p = fp.params as f64;
    let rows = (pool_rows + test_rows) as f64;
    let d = features as f64;
    let shared = BASE + 2.0 * rows * d * F + rows * 8.0;
    let rewind = matches!(exp.prune.schedule, Schedule::Rewind { .. });
    let per_model = p * F * if rewind { 2.0 } else { 1.0 } + rows * d * F;
    let opt_state = match exp.train.optimizer {
        OptimizerKind::Sgd if exp.train.momentum == 0.0 => 0.0,
        OptimizerKind::Sgd => 1.0,
        OptimizerKind::Adamw => 2.0,
    };
    // Working parameters, masks, scores, gradients, the masked copy evaluation runs on, the
    // mean-gradient and cache/snapshot copies, retraining's own copy, plus optimizer state.
    let param_copies = 8.0 + opt_state;
    let batch = exp.train.batch_size as f64;
    let act = fp.activations_per_sample as f64;
    // Training keeps activations and their gradients (autograd: several intermediates per
    // layer); evaluation holds one chunk's forward activations.
    let train_act = act * if fp.autograd { 3.0 } else { 2.0 };
    let per_job = p * F * param_copies + (batch * (train_act + d) + EVAL_CHUNK * (act + d)) * F;
    Estimate {
        shared,
        per_model,
        models: exp.cv.repeats * exp.cv.folds + 1,
        per_job,
        params: fp.params,
    }
}

/// How many of `jobs` jobs can run at once in the memory available, with a notice when that is
/// fewer; an error naming the estimate and the available memory when not even one fits.
pub fn fit_jobs(
    exp: &Experiment,
    prep: &super::Prepared,
    jobs: usize,
) -> crate::error::Result<(usize, Option<String>)> {
    let e = estimate(
        exp,
        prep.arch.as_ref(),
        prep.pool.n,
        prep.test.n,
        prep.pool.d,
    );
    let Some(avail) = available().map_err(crate::error::Error::Memory)? else {
        return Ok((jobs, None));
    };
    match e.jobs_that_fit(jobs, avail) {
        Some(j) if j == jobs => Ok((jobs, None)),
        Some(j) => Ok((
            j,
            Some(format!(
                "notice: lowering --jobs from {jobs} to {j}: {jobs} jobs at once need an \
                 estimated {}, but {} is available",
                bytes(e.total(jobs)),
                bytes(avail)
            )),
        )),
        None => Err(crate::error::Error::Memory(format!(
            "this run needs an estimated {}, but {} is available; make the model, \
             train.batch_size or the data smaller (data.limit), or use fewer folds",
            e.describe(1),
            bytes(avail)
        ))),
    }
}

/// Bytes as a short human-readable size (binary units).
pub fn bytes(b: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{v:.0} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Parse a size such as `512MiB`, `2GiB`, `1.5G` or a plain byte count.
pub fn parse_size(s: &str) -> Option<f64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let v: f64 = num.parse().ok()?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0_f64.powi(2),
        "g" | "gb" | "gib" => 1024.0_f64.powi(3),
        "t" | "tb" | "tib" => 1024.0_f64.powi(4),
        _ => return None,
    };
    (v.is_finite() && v >= 0.0).then_some(v * mult)
}

/// The environment variable that overrides the available memory (a size, e.g. `8GiB`): for
/// schedulers that know the job's share better than the kernel does, and for tests.
pub const LIMIT_VAR: &str = "PRUNECV_MEMORY_LIMIT";

/// Memory this process may use: `PRUNECV_MEMORY_LIMIT` if set, else the smaller of the kernel's
/// `MemAvailable` and the cgroup's limit less its usage. `None` where neither can be read.
pub fn available() -> Result<Option<f64>, String> {
    if let Ok(v) = std::env::var(LIMIT_VAR) {
        return parse_size(&v).map(Some).ok_or_else(|| {
            format!("{LIMIT_VAR}={v:?} is not a size (expected e.g. 8GiB, 512MiB or bytes)")
        });
    }
    let meminfo = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| field_kib(&t, "MemAvailable:"));
    let cgroup = cgroup_free();
    Ok(match (meminfo, cgroup) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    })
}

/// Free room under a cgroup v2 memory limit, if one is set.
fn cgroup_free() -> Option<f64> {
    let read = |f: &str| std::fs::read_to_string(format!("/sys/fs/cgroup/{f}")).ok();
    let max: f64 = read("memory.max")?.trim().parse().ok()?;
    let used: f64 = read("memory.current")
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0.0);
    Some((max - used).max(0.0))
}

/// A `Name:   123 kB` field of a /proc file, in bytes.
fn field_kib(text: &str, name: &str) -> Option<f64> {
    let line = text.lines().find(|l| l.starts_with(name))?;
    let kib: f64 = line[name.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024.0)
}

/// Peak resident memory of this process so far (Linux `VmHWM`), in bytes.
pub fn peak_resident() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    field_kib(&status, "VmHWM:").map(|b| b as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_print() {
        assert_eq!(parse_size("512MiB"), Some(512.0 * 1048576.0));
        assert_eq!(parse_size("2G"), Some(2.0 * 1073741824.0));
        assert_eq!(parse_size(" 1.5 gib "), Some(1.5 * 1073741824.0));
        assert_eq!(parse_size("4096"), Some(4096.0));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("3 parsecs"), None);
        assert_eq!(bytes(512.0), "512 B");
        assert_eq!(bytes(1536.0), "1.5 KiB");
        assert_eq!(bytes(3.0 * 1073741824.0), "3.0 GiB");
        assert_eq!(
            field_kib("VmPeak:\t  10 kB\nVmHWM:\t    2048 kB\n", "VmHWM:"),
            Some(2048.0 * 1024.0)
        );
    }

    /// The MLP 64-128-64-10 of the default experiment, counted by hand.
    #[test]
    fn estimate_counts_every_part() {
        let exp = crate::config::parse(
            "name: t\nmodel: {kind: mlp, hidden: [128, 64]}\n\
             train: {optimizer: sgd, momentum: 0.9, batch_size: 64}\ncv: {folds: 5}\n",
            "t.yaml",
            &[],
        )
        .unwrap();
        let arch = crate::model::build(&exp.model, 64, 10).unwrap();
        let e = estimate(&exp, arch.as_ref(), 1438, 359, 64);
        let p = 64 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10;
        assert_eq!(e.params, p);
        assert_eq!(e.models, 6);
        let rows = 1797.0;
        assert_eq!(e.shared, BASE + 2.0 * rows * 64.0 * 4.0 + rows * 8.0);
        assert_eq!(e.per_model, p as f64 * 4.0 + rows * 64.0 * 4.0);
        // 9 parameter copies (momentum), activations 128 + 64 + 10 kept twice, input row 64.
        let act = 2.0 * (128.0 + 64.0 + 10.0);
        assert_eq!(
            e.per_job,
            9.0 * p as f64 * 4.0 + (64.0 * (act + 64.0) + 1024.0 * (act / 2.0 + 64.0)) * 4.0
        );
        assert_eq!(
            e.total(2),
            1.25 * (e.shared + 6.0 * e.per_model + 2.0 * e.per_job)
        );
        assert_eq!(e.jobs_that_fit(4, e.total(2) + 1.0), Some(2));
        assert_eq!(e.jobs_that_fit(4, e.total(1) - 1.0), None);
    }

    /// Absurd widths must not overflow or allocate: the estimate is arithmetic on shapes.
    #[test]
    fn huge_models_are_estimated_not_built() {
        let exp = crate::config::parse(
            "name: t\nmodel: {kind: mlp, hidden: [100000000]}\n",
            "t.yaml",
            &[],
        )
        .unwrap();
        let arch = crate::model::build(&exp.model, 64, 10).unwrap();
        let e = estimate(&exp, arch.as_ref(), 1438, 359, 64);
        assert_eq!(
            e.params,
            64 * 100_000_000 + 100_000_000 + 100_000_000 * 10 + 10
        );
        assert!(e.total(1) > 24.0 * 1073741824.0);
    }
}
