//! Sweep an experiment through the library, not the CLI: in memory, with a progress observer
//! and a cancellation token, then print the τ each rule chose.
//!
//!     cargo run --release --example sweep_in_memory [experiment.yaml]
//!
//! Without an argument it sweeps the built-in digits with `experiments/digits-mlp.yaml`'s model
//! and training, at three thresholds.

use prunecv::sweep::{self, CancelToken, Observer, RunOptions};
use std::sync::Arc;

/// Prints every tenth finished task.
struct Every10;

impl Observer for Every10 {
    fn progress(&self, done: usize, total: usize, what: &str) {
        if done % 10 == 0 || done == total {
            eprintln!("{done}/{total} ({what})");
        }
    }
    fn message(&self, line: &str) {
        eprintln!("{line}");
    }
}

const DEFAULT: &str = "name: library-sweep
seed: 7
data: {source: builtin, name: digits}
model: {kind: mlp, hidden: [128, 64]}
train: {optimizer: sgd, lr: 0.05, momentum: 0.9, weight_decay: 0.0001, epochs: 30, batch_size: 64}
prune:
  methods: [magnitude, random]
  tau: {unit: quantile, values: [0.5, 0.8, 0.9]}
cv: {folds: 5, select: [best, one_se]}
";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let exp = match std::env::args().nth(1) {
        Some(path) => prunecv::config::load(std::path::Path::new(&path), &[])?,
        None => prunecv::config::parse(DEFAULT, "built-in example", &[])?,
    };
    let cancel = CancelToken::new();
    // Another thread could call `cancel.cancel()`: no new job would start, and `run` would
    // return Error::Interrupted.
    let opts = RunOptions {
        jobs: 2,
        observer: Arc::new(Every10),
        cancel: cancel.clone(),
        ..RunOptions::default()
    };
    let result = sweep::run(&exp, &opts)?;
    print!("{}", sweep::text_summary(&result));
    Ok(())
}
