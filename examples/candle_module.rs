//! Sweep a model written with `candle_nn` through the library: a small CNN built from a
//! `VarBuilder` (parameter names as candle gives them: `conv1.weight`, `fc1.bias`, …), described
//! to prunecv by its prunable layers, pruned by channels (`importance`) and by weights
//! (`magnitude`, the output layer `fc2` left dense by `prune.ignore`) on the built-in digits, in
//! memory.
//!
//!     cargo run --release --example candle_module
//!
//! `cargo test --release` runs it too, shortened (its test at the end).

use candle_core::{Module, Tensor};
use candle_nn::{Conv2d, Conv2dConfig, Linear, VarBuilder};
use prunecv::sweep::{self, RunOptions, SweepResult};
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
  ignore: [fc2]
  tau: {unit: quantile, values: [0.25, 0.5, 0.75]}
cv: {folds: 3, select: [best, one_se]}
";

/// The experiment for the module (the file leaves `model` out; `prune.ignore` names the
/// module's layers), swept in memory with `overrides` (`key=value`, as `--set` takes them).
pub fn sweep(overrides: &[String]) -> prunecv::Result<SweepResult> {
    let model = UserModel::candle("digits-cnn-v1", build, structure());
    let exp = prunecv::config::parse_with_model(EXPERIMENT, "example", overrides, model)?;
    sweep::run(
        &exp,
        &RunOptions {
            jobs: 2,
            ..RunOptions::default()
        },
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let result = sweep(&[])?;
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

#[cfg(test)]
mod tests {
    use prunecv::config::MethodKind;

    /// The example end to end, with 5 epochs: the dense CNN learns the digits, `importance`
    /// cuts whole channels and neurons, and `magnitude` leaves the ignored `fc2` dense while
    /// pruning the other layers.
    #[test]
    fn the_example_sweeps_its_candle_module() {
        let r = super::sweep(&["train.epochs=5".into()]).unwrap();
        let dense = r.selection.iter().find(|s| s.method.is_dense()).unwrap();
        assert!(dense.test_acc > 0.8, "{}", dense.test_acc);
        let importance = r
            .selection
            .iter()
            .find(|s| s.method == MethodKind::Importance)
            .unwrap();
        assert!(importance.neurons_removed > 0);
        assert!(importance.shrunk_params < dense.shrunk_params);
        let magnitude: Vec<_> = r
            .layers
            .iter()
            .filter(|l| l.method == MethodKind::Magnitude)
            .collect();
        assert!(!magnitude.is_empty());
        for l in &magnitude {
            match l.layer.as_str() {
                "fc2" => assert_eq!(l.weights_left, l.weights, "fc2 is ignored"),
                _ => assert!(l.weights_left < l.weights, "{} is pruned", l.layer),
            }
        }
    }
}
