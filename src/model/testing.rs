//! Models for tests, built as every model is: a [`Graph`] of a preset's layer list.

use super::graph::{presets, Graph};
use super::lenet::LeNet5;
use crate::config::Activation;

/// The `mlp` preset: `input` features, linear layers of the `hidden` widths with `activation`
/// between them, then `classes` outputs (`fc1`, …, `fc{L}`).
pub fn mlp(input: usize, hidden: &[usize], classes: usize, activation: Activation) -> Graph {
    Graph::new(&[input], &presets::mlp(hidden, activation), classes).expect("an MLP")
}

/// LeNet-5 ([`presets::lenet5`]) with conv1, conv2 and fc1 of the given widths, written as an
/// experiment's layer list: a graph the LeNet-5 engine trains.
pub fn lenet5(conv1: usize, conv2: usize, fc1: usize, classes: usize) -> Graph {
    let layers = [
        format!("{{kind: conv2d, out: {conv1}, kernel: 5}}"),
        "{kind: max_pool, size: 2}".into(),
        format!("{{kind: conv2d, out: {conv2}, kernel: 5}}"),
        "{kind: max_pool, size: 2}".into(),
        "{kind: flatten}".into(),
        format!("{{kind: linear, out: {fc1}}}"),
        "{kind: relu}".into(),
        "{kind: linear}".into(),
    ];
    let text = format!(
        "name: t\nmodel: {{input: [1, 28, 28], layers: [{}]}}\n",
        layers.join(", ")
    );
    let spec = crate::config::parse(&text, "t", &[])
        .expect("a layer list")
        .model;
    let g = Graph::new(&presets::LENET_INPUT, &spec.layers, classes).expect("a LeNet-5");
    let shape = LeNet5 {
        conv1,
        conv2,
        fc1,
        classes,
    };
    assert_eq!(g.as_lenet5(), Some(&shape), "recognised as LeNet-5");
    g
}
