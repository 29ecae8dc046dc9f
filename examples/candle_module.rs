//! Sweep a model written with `candle_nn` through the library: a small CNN built from a
//! `VarBuilder` (parameter names as candle gives them: `conv1.weight`, `fc1.bias`, …), described
//! to prunecv by its prunable layers, pruned by channels (`importance`) and by weights
//! (`magnitude`) on the built-in digits, in memory.
//!
//!     cargo run --release --example candle_module

use candle_core::{Module, Tensor};
use candle_nn::{Conv2d, Conv2dConfig, Linear, VarBuilder};
use prunecv::sweep::{self, RunOptions};
use prunecv::{Prunable, UserModel};

/// conv 3×3 (6 channels, padding 1) → ReLU → average-pool 2 → flatten → fc 32 → ReLU → fc 10,
/// on the digits' 64 features read as one 8×8 channel.
struct Net {
    conv1: Conv2d,
    fc1: Linear,
    fc2: Linear,
}

impl Module for Net {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let h = x.reshape((x.dim(0)?, 1, 8, 8))?;
        let h = self
            .conv1
            .forward(&h)?
            .relu()?
            .avg_pool2d(2)?
            .flatten_from(1)?;
        self.fc2.forward(&self.fc1.forward(&h)?.relu()?)
    }
}

pub fn build(vb: VarBuilder) -> candle_core::Result<Box<dyn Module + Send + Sync>> {
    let conv = Conv2dConfig {
        padding: 1,
        ..Default::default()
    };
    Ok(Box::new(Net {
        conv1: candle_nn::conv2d(1, 6, 3, conv, vb.pp("conv1"))?,
        fc1: candle_nn::linear(6 * 4 * 4, 32, vb.pp("fc1"))?,
        fc2: candle_nn::linear(32, 10, vb.pp("fc2"))?,
    }))
}

/// The prunable structure: each layer's weight and bias, and which weight reads its units.
pub fn structure() -> Vec<Prunable> {
    let layer = |name: &str, next: Option<&str>, positions| Prunable {
        name: name.into(),
        weight: format!("{name}.weight"),
        bias: format!("{name}.bias"),
        next: next.map(|n| format!("{n}.weight")),
        positions,
    };
    vec![
        layer("conv1", Some("fc1"), 64),
        layer("fc1", Some("fc2"), 1),
        layer("fc2", None, 1),
    ]
}

const EXPERIMENT: &str = "name: candle-module
seed: 7
data: {source: builtin, name: digits}
train: {optimizer: sgd, lr: 0.05, momentum: 0.9, epochs: 15, batch_size: 64}
prune:
  methods: [importance, magnitude]
  tau: {unit: quantile, values: [0.25, 0.5, 0.75]}
cv: {folds: 3, select: [best, one_se]}
";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let exp = prunecv::config::parse(EXPERIMENT, "example", &[])?.with_model(UserModel::candle(
        "digits-cnn-v1",
        build,
        structure(),
    ));
    let result = sweep::run(
        &exp,
        &RunOptions {
            jobs: 2,
            ..RunOptions::default()
        },
    )?;
    for s in &result.selection {
        println!(
            "{:<10} {:<7} tau {:<5} test accuracy {:.4}  sparsity {:.3}  units removed {}",
            s.method.as_str(),
            s.rule.to_string(),
            s.tau.map_or("-".into(), |t| t.to_string()),
            s.test_acc,
            s.test_sparsity,
            s.neurons_removed
        );
    }
    Ok(())
}
