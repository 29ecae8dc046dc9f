//! `prunecv bench`: speed measured in one process, reported as numbers and ratios (never asserted
//! in tests). Build with `--release`.
//!
//! (a) training throughput of LeNet-300-100 (784-300-100-10; SGD-momentum and AdamW) and LeNet-5
//!     (20-50-500-10; SGD-momentum), batch 128, on MNIST-shaped synthetic data: the host engine
//!     (MLP or LeNet-5) on 1 and 2 threads, and candle's autograd on 1 thread for comparison;
//! (b) a whole one-shot sweep (built-in digits, 5 folds, 5 methods, 26 τ) end to end;
//! (c) the same sweep with `--jobs 1` and `--jobs 2`, and the ceiling for that ratio on this
//!     machine: two independent one-job sweeps run at once.

use crate::config::{Activation, OptimizerKind, TrainSpec};
use crate::data::Table;
use crate::error::Result;
use crate::model::graph::{presets, Graph};
use crate::model::Architecture;
use crate::rng::Rng;
use crate::sweep::{self, RunOptions};
use crate::train::{self, Budget, HostData};
use serde::Serialize;
use std::time::Instant;

/// One measured number.
#[derive(Debug, Clone, Serialize)]
pub struct Measurement {
    pub name: String,
    pub value: f64,
    pub unit: String,
}

/// Synthetic MNIST-shaped data: `n` rows of 784 features in [0, 1), 10 classes.
fn synthetic(n: usize, seed: u64) -> Table {
    let mut rng = Rng::new(seed);
    Table {
        x: (0..n * 784).map(|_| rng.next_f32()).collect(),
        y: (0..n).map(|_| rng.below(10) as u32).collect(),
        n,
        d: 784,
        classes: 10,
    }
}

/// The model of a training measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// LeNet-300-100, 784-300-100-10, ReLU.
    LeNet300,
    /// LeNet-5 at Han's widths: conv 5×5 ×20 → pool → conv 5×5 ×50 → pool → fc 500 → ReLU → 10.
    LeNet5,
}

impl Model {
    fn name(self) -> &'static str {
        match self {
            Model::LeNet300 => "lenet300",
            Model::LeNet5 => "lenet5",
        }
    }

    fn arch(self) -> Box<dyn Architecture> {
        let g = match self {
            Model::LeNet300 => Graph::new(&[784], &presets::lenet300(Activation::Relu), 10),
            Model::LeNet5 => Graph::new(&presets::LENET_INPUT, &presets::lenet5(), 10),
        };
        Box::new(g.expect("a preset of 10 classes resolves"))
    }
}

/// Which engine computes the gradients in a training measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// What `prunecv run` uses: the model's hand-written host engine (MLP or LeNet-5).
    Host,
    /// candle's autograd (what any other model uses), for comparison.
    Candle,
}

/// Samples per second of `model`'s training, batch 128 (best of `reps` runs of `epochs` epochs
/// over `n` rows). The host engine runs its kernels on `threads` threads; candle's autograd
/// follows candle's own setting (`RAYON_NUM_THREADS`, which the `prunecv` binary pins to 1), so
/// measure it with `threads` 1.
pub fn training_throughput(
    model: Model,
    engine: Engine,
    opt: OptimizerKind,
    threads: usize,
    n: usize,
    epochs: usize,
    reps: usize,
) -> Result<f64> {
    // The engine's kernels run on the calling rayon pool: train inside a pool of `threads`.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| crate::error::Error::Environment(format!("thread pool: {e}")))?;
    pool.install(|| train_loop(model, engine, opt, threads, n, epochs, reps))
}

fn train_loop(
    model: Model,
    engine: Engine,
    opt: OptimizerKind,
    threads: usize,
    n: usize,
    epochs: usize,
    reps: usize,
) -> Result<f64> {
    let data = HostData::from(synthetic(n, 1));
    let arch = model.arch();
    let spec = TrainSpec {
        optimizer: opt,
        lr: if opt == OptimizerKind::Sgd {
            0.05
        } else {
            0.001
        },
        momentum: 0.9,
        weight_decay: 1e-4,
        betas: [0.9, 0.999],
        epochs,
        batch_size: 128,
        lr_schedule: crate::train::lr::LrSchedule::Constant,
    };
    let mut best = 0f64;
    for r in 0..reps {
        let mut rng = Rng::new(r as u64);
        let mut p = arch.init(&mut rng);
        let t0 = Instant::now();
        let eng: Box<dyn train::engine::Engine> = match engine {
            Engine::Host => train::engine::for_arch_threads(arch.as_ref(), threads),
            Engine::Candle => Box::new(train::engine::CandleEngine::new(arch.as_ref())),
        };
        train::fit_with(
            eng,
            &mut p,
            None,
            &data,
            &spec,
            Budget::new(epochs, spec.lr),
            &mut rng,
        )?;
        best = best.max((n * epochs) as f64 / t0.elapsed().as_secs_f64());
    }
    Ok(best)
}

/// The benchmark sweep: digits, 5 folds, all five methods, 26 τ, one-shot.
pub const SWEEP: &str = "name: bench-sweep
seed: 1
data: {source: builtin, name: digits, holdout: 0.2}
model: {kind: mlp, hidden: [128, 64]}
train: {optimizer: sgd, lr: 0.05, momentum: 0.9, weight_decay: 0.0001, epochs: 30, batch_size: 64}
prune:
  methods: [magnitude, taylor, importance, combined, random]
  tau: {unit: quantile, scope: layer, linspace: [0.0, 0.96, 26]}
cv: {folds: 5, select: [best, one_se]}
";

/// Wall seconds of the benchmark sweep with `jobs` workers (no cache, fresh directory): the best
/// of `reps` runs, as for training, so a stray scheduler hiccup does not decide a ratio.
pub fn sweep_seconds(jobs: usize, reps: usize) -> Result<f64> {
    sweep_seconds_in(jobs, reps, "")
}

fn sweep_seconds_in(jobs: usize, reps: usize, tag: &str) -> Result<f64> {
    let exp = crate::config::parse(SWEEP, "bench-sweep", &[])?;
    let dir =
        std::env::temp_dir().join(format!("prunecv-bench-{}-{jobs}{tag}", std::process::id()));
    let best = best_run_seconds(&exp, &dir, jobs, reps);
    let _ = std::fs::remove_dir_all(&dir);
    best
}

/// The best of `reps` wall times of `exp` with `jobs` workers, written like a CLI run (tables,
/// models, figures) under `out`, silently.
fn best_run_seconds(
    exp: &crate::config::Experiment,
    out: &std::path::Path,
    jobs: usize,
    reps: usize,
) -> Result<f64> {
    let opts = RunOptions {
        write: true,
        out_root: Some(out.to_path_buf()),
        jobs,
        force: true,
        experiment_file: exp.name.clone(),
        ..RunOptions::default()
    };
    let mut best = f64::INFINITY;
    for _ in 0..reps.max(1) {
        let t0 = Instant::now();
        sweep::run(exp, &opts)?;
        best = best.min(t0.elapsed().as_secs_f64());
    }
    Ok(best)
}

/// The CNN benchmark sweep: LeNet-5 on synthetic MNIST-shaped images (written by
/// [`write_synthetic_idx`]), 2 folds, 2 epochs, magnitude and random at three τ, fine-tuned.
pub const CNN_SWEEP: &str = "name: bench-cnn-sweep
seed: 1
data: {source: idx}
model: {kind: lenet5}
train: {optimizer: sgd, lr: 0.05, momentum: 0.9, epochs: 2, batch_size: 64}
prune:
  methods: [magnitude, random]
  tau: {unit: quantile, scope: global, values: [0.5, 0.8, 0.9]}
  schedule: {kind: finetune, epochs: 1, lr_scale: 0.2}
cv: {folds: 2, select: [best, one_se]}
";

/// Four IDX files of 28×28 greyscale images in `dir`: `train` training and `test` test images,
/// 10 classes, class k a bright 7×7 square at its own place on seeded noise.
pub fn write_synthetic_idx(dir: &std::path::Path, train: usize, test: usize) -> Result<()> {
    crate::fsio::create_dir_all(dir)?;
    let mut rng = crate::rng::Rng::stream(1, "bench-cnn-images", &[]);
    let mut files = |stem: &str, n: usize| -> Result<()> {
        let mut images = 0x0803u32.to_be_bytes().to_vec();
        for d in [n as u32, 28, 28] {
            images.extend(d.to_be_bytes());
        }
        let mut labels = 0x0801u32.to_be_bytes().to_vec();
        labels.extend((n as u32).to_be_bytes());
        for i in 0..n {
            let k = i % 10;
            let (r0, c0) = (2 + 9 * (k / 4), 2 + 6 * (k % 4));
            for r in 0..28 {
                for c in 0..28 {
                    let inside = (r0..r0 + 7).contains(&r) && (c0..c0 + 7).contains(&c);
                    let noise = rng.below(96) as u8;
                    images.push(if inside { 160 + noise } else { noise });
                }
            }
            labels.push(k as u8);
        }
        crate::fsio::write_atomic(&dir.join(format!("{stem}-images-idx3-ubyte")), &images)?;
        crate::fsio::write_atomic(&dir.join(format!("{stem}-labels-idx1-ubyte")), &labels)
    };
    files("train", train)?;
    files("t10k", test)
}

/// Wall seconds of the CNN benchmark sweep with `jobs` workers, best of `reps`.
pub fn cnn_sweep_seconds(jobs: usize, reps: usize, images: usize) -> Result<f64> {
    let root = std::env::temp_dir().join(format!("prunecv-bench-cnn-{}", std::process::id()));
    write_synthetic_idx(&root.join("data"), images, images / 4)?;
    let exp = crate::config::parse(
        CNN_SWEEP,
        "bench-cnn-sweep",
        &[format!("data.dir={}", root.join("data").display())],
    )?;
    let best = best_run_seconds(&exp, &root.join("out"), jobs, reps);
    let _ = std::fs::remove_dir_all(&root);
    best
}

/// Run every measurement; `quick` shrinks the training runs.
pub fn run_all(quick: bool) -> Result<Vec<Measurement>> {
    let (n, epochs, reps) = if quick { (2048, 1, 1) } else { (16384, 2, 3) };
    let mut out = Vec::new();
    let mut m = |name: String, value: f64, unit: &str| {
        eprintln!("  {name}: {value:.3} {unit}");
        out.push(Measurement {
            name,
            value,
            unit: unit.into(),
        });
    };
    let tput = |model, engine, opt, threads| {
        // LeNet-5 costs ~25 times LeNet-300-100's work per sample: fewer rows, one epoch.
        let (n, epochs) = match model {
            Model::LeNet300 => (n, epochs),
            Model::LeNet5 => (n / 4, 1),
        };
        training_throughput(model, engine, opt, threads, n, epochs, reps)
    };
    let name = |model: Model, opt: OptimizerKind, threads: usize| {
        format!("train_{}_{opt:?}_threads{threads}", model.name()).to_lowercase()
    };
    for (model, opts) in [
        (
            Model::LeNet300,
            &[OptimizerKind::Sgd, OptimizerKind::Adamw][..],
        ),
        (Model::LeNet5, &[OptimizerKind::Sgd][..]),
    ] {
        for &opt in opts {
            for threads in [1, 2] {
                let v = tput(model, Engine::Host, opt, threads)?;
                m(name(model, opt, threads), v, "samples/s");
            }
        }
        // The same training through candle's autograd: what the host engine gains.
        for &opt in opts {
            let v = tput(model, Engine::Candle, opt, 1)?;
            m(
                format!("{}_candle_autograd", name(model, opt, 1)),
                v,
                "samples/s",
            );
        }
    }
    let s1 = sweep_seconds(1, reps + 2)?;
    m("sweep_digits_jobs1".into(), s1, "s");
    let s2 = sweep_seconds(2, reps + 2)?;
    // The ceiling for (c): two independent one-job sweeps at once, each on its own core. Any
    // slowdown against one alone (shared caches, memory bandwidth, the VM's cores) bounds what
    // `--jobs 2` can reach: ceiling = 2 × alone / (time of each when two run at once).
    let pair: Vec<f64> = std::thread::scope(|sc| {
        let runs: Vec<_> = ["a", "b"]
            .iter()
            .map(|tag| sc.spawn(move || sweep_seconds_in(1, reps + 2, &format!("-pair-{tag}"))))
            .collect();
        runs.into_iter()
            .map(|h| h.join().expect("benchmark thread"))
            .collect::<Result<_>>()
    })?;
    let together = pair.iter().sum::<f64>() / pair.len() as f64;
    m("sweep_digits_jobs1_two_at_once".into(), together, "s");
    m(
        "sweep_scaling_ceiling_two_independent".into(),
        2.0 * s1 / together,
        "x",
    );
    m("sweep_digits_jobs2".into(), s2, "s");
    m("sweep_scaling_jobs1_over_jobs2".into(), s1 / s2, "x");
    // A small CNN sweep: LeNet-5 on synthetic 28×28 images.
    let images = if quick { 400 } else { 2000 };
    let c1 = cnn_sweep_seconds(1, reps, images)?;
    m("sweep_lenet5_jobs1".into(), c1, "s");
    let c2 = cnn_sweep_seconds(2, reps, images)?;
    m("sweep_lenet5_jobs2".into(), c2, "s");
    m("sweep_lenet5_scaling_jobs1_over_jobs2".into(), c1 / c2, "x");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The CNN benchmark sweep reads its synthetic images as MNIST-shaped IDX data, runs every
    /// job, and the squares are easy enough that the dense LeNet-5 beats chance by far.
    #[test]
    fn the_cnn_benchmark_sweep_runs_on_its_synthetic_images() {
        let dir = tempfile::tempdir().unwrap();
        write_synthetic_idx(dir.path(), 400, 100).unwrap();
        let exp = crate::config::parse(
            CNN_SWEEP,
            "bench-cnn-sweep",
            &[format!("data.dir={}", dir.path().display())],
        )
        .unwrap();
        let r = sweep::run(&exp, &RunOptions::default()).unwrap();
        // 2 dense fold models + 2 folds × 2 methods × 3 τ.
        assert_eq!(r.records.len(), 2 + 2 * 2 * 3);
        assert_eq!(r.folds.iter().filter(|f| f.role == "test").count(), 100);
        let dense = &r.selection[0];
        assert!(dense.method.is_dense());
        assert!(dense.test_acc > 0.5, "{dense:?}");
    }
}
