//! Models for tests, built as every model is: a [`Graph`] of a preset's layer list.

use super::graph::{presets, Graph, LayerSpec};
use super::lenet::LeNet5;
use crate::config::Activation;

/// The `mlp` preset: `input` features, linear layers of the `hidden` widths with `activation`
/// between them, then `classes` outputs (`fc1`, …, `fc{L}`).
pub fn mlp(input: usize, hidden: &[usize], classes: usize, activation: Activation) -> Graph {
    Graph::new(&[input], &presets::mlp(hidden, activation), classes).expect("an MLP")
}

/// LeNet-5 ([`presets::lenet5`]) with conv1, conv2 and fc1 of the given widths: a graph the
/// LeNet-5 engine trains.
pub fn lenet5(conv1: usize, conv2: usize, fc1: usize, classes: usize) -> Graph {
    let conv = |out| LayerSpec::conv2d(out, 5, None, None);
    let layers = [
        conv(conv1),
        LayerSpec::max_pool(2),
        conv(conv2),
        LayerSpec::max_pool(2),
        LayerSpec::flatten(),
        LayerSpec::linear(Some(fc1)),
        LayerSpec::relu(),
        LayerSpec::linear(None),
    ];
    let g = Graph::new(&presets::LENET_INPUT, &layers, classes).expect("a LeNet-5");
    let shape = LeNet5 {
        conv1,
        conv2,
        fc1,
        classes,
    };
    assert_eq!(g.as_lenet5(), Some(&shape), "recognised as LeNet-5");
    g
}
