//! Models written as layer lists in YAML: a custom CNN (padded and strided convolutions, average
//! pooling, GELU) trained through candle's autograd, pruned by channels and by weights; its
//! exported shrunk models are genuinely smaller, hold `shrunk_params` parameters, and reproduce
//! the recorded test accuracy; bad layer lists are refused by `check` with the layer and shapes.

use crate::common;
use common::*;

const CNN: &str = "name: cnn
seed: 3
data: {source: builtin, name: digits, holdout: 0.2}
model:
  input: [1, 8, 8]
  layers:
    - {kind: conv2d, out: 6, kernel: 3, padding: 1}
    - {kind: relu}
    - {kind: conv2d, out: 8, kernel: 3, stride: 2, padding: 1, name: squeeze}
    - {kind: gelu}
    - {kind: avg_pool, size: 2}
    - {kind: flatten}
    - {kind: linear, out: 16}
    - {kind: tanh}
    - {kind: linear}
train: {optimizer: sgd, lr: 0.1, momentum: 0.9, epochs: 3, batch_size: 32}
prune:
  methods: [importance, magnitude]
  tau: {unit: quantile, scope: layer, values: [0.25, 0.5]}
cv: {folds: 2, select: [best]}
output: {dir: results}
";

/// A small ResNet (batch normalisation, identity and projection shortcuts) on the digits.
const RESNET: &str = "name: res
seed: 4
data: {source: builtin, name: digits, holdout: 0.2}
model: {kind: resnet, input: [1, 8, 8], width: 4, stages: 2, blocks: 1}
train: {optimizer: sgd, lr: 0.05, momentum: 0.9, epochs: 2, batch_size: 32}
prune:
  methods: [importance, magnitude]
  tau: {unit: quantile, scope: layer, values: [0.3, 0.6]}
cv: {folds: 2, select: [best]}
output: {dir: results}
";

fn col(h: &[String], name: &str) -> usize {
    h.iter()
        .position(|c| c == name)
        .unwrap_or_else(|| panic!("no column {name}"))
}

#[test]
fn a_yaml_cnn_sweeps_and_its_shrunk_models_are_real() {
    let sb = Sandbox::new();
    sb.write("cnn.yaml", CNN);
    let plan = sb.ok(&["check", "cnn.yaml"]);
    assert!(plan.contains("custom"), "{plan}");
    sb.ok(&["run", "cnn.yaml", "--quiet"]);
    let (h, layers) = table(&sb.read("results/cnn/layers.csv"));
    let mut names: Vec<String> = layers.iter().map(|r| r[col(&h, "layer")].clone()).collect();
    names.dedup();
    names.sort();
    names.dedup();
    assert_eq!(names, ["conv1", "fc1", "fc2", "squeeze"]);
    shrunk_models_are_real(&sb, "cnn");
    // Deterministic whatever the job count (candle's autograd path included).
    sweep_twice_identically(&sb, "cnn.yaml", "cnn");
}

/// Every selected model of run `name` reproduces its recorded test accuracy through `eval`, and
/// so does its exported shrunk model when units were cut: a model whose tensors (running
/// statistics aside) hold `shrunk_params` parameters.
fn shrunk_models_are_real(sb: &Sandbox, name: &str) {
    let (h, sel) = table(&sb.read(&format!("results/{name}/selection.csv")));
    let mut shrunk_seen = 0;
    for r in &sel {
        let model = format!("results/{name}/{}", r[col(&h, "model")]);
        let out = sb.ok(&["eval", &model, "--data", &format!("{name}.yaml")]);
        let acc = format!("test_acc {} ", r[col(&h, "test_acc")]);
        assert!(out.contains(&acc), "{out} lacks {acc}");
        let stem = model.trim_end_matches(".safetensors");
        let shrunk = format!("{stem}.shrunk.json");
        let shrunk_params: usize = r[col(&h, "shrunk_params")].parse().unwrap();
        if sb.path().join(&shrunk).exists() {
            shrunk_seen += 1;
            // Its card lists smaller tensors, summing to shrunk_params, and it reproduces the
            // same test accuracy.
            let card: serde_json::Value = serde_json::from_str(&sb.read(&shrunk)).unwrap();
            let count: usize = card["params"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| {
                    let n = p[0].as_str().unwrap();
                    !n.ends_with(".running_mean") && !n.ends_with(".running_var")
                })
                .map(|p| {
                    p[1].as_array()
                        .unwrap()
                        .iter()
                        .map(|d| d.as_u64().unwrap() as usize)
                        .product::<usize>()
                })
                .sum();
            assert_eq!(count, shrunk_params, "{shrunk}");
            assert_eq!(card["model"]["kind"], "custom");
            let out = sb.ok(&["eval", &shrunk, "--data", &format!("{name}.yaml")]);
            assert!(out.contains(&acc), "{shrunk}: {out} lacks {acc}");
        } else {
            // Nothing was cut: the model keeps its full size.
            let tau: f64 = r[col(&h, "tau")].parse().unwrap_or(0.0);
            assert!(r[col(&h, "method")] != "importance" || tau == 0.0, "{r:?}");
        }
    }
    assert!(shrunk_seen >= 1, "no shrunk model exported");
}

/// A ResNet preset sweeps: channels pruned by `importance` through the residual groups, weights
/// by `magnitude`; shrunk models are smaller, count `shrunk_params`, and reproduce the test
/// accuracy; the run is deterministic whatever the job count.
#[test]
fn a_resnet_sweeps_and_its_shrunk_models_are_real() {
    let sb = Sandbox::new();
    sb.write("res.yaml", RESNET);
    let plan = sb.ok(&["check", "res.yaml"]);
    assert!(plan.contains("resnet"), "{plan}");
    sb.ok(&["run", "res.yaml", "--quiet"]);
    shrunk_models_are_real(&sb, "res");
    let (h, sel) = table(&sb.read("results/res/selection.csv"));
    let imp = sel
        .iter()
        .find(|r| r[col(&h, "method")] == "importance")
        .expect("importance selected");
    let shrunk: usize = imp[col(&h, "shrunk_params")].parse().unwrap();
    let left: usize = imp[col(&h, "params_left")].parse().unwrap();
    // Dense: stem 40 + bn 8; identity block 2·148 + 2·8; projection block 296 + 584 + 40
    // (1×1 shortcut) + 3·16; fc 90.
    let dense = 40 + 8 + 2 * 148 + 2 * 8 + 296 + 584 + 40 + 3 * 16 + 90;
    assert_eq!(dense, 1418);
    assert!(shrunk < dense && shrunk >= left, "{imp:?}");
    sweep_twice_identically(&sb, "res.yaml", "res");
}

/// `check` refuses a layer list that does not fit together or does not fit the data, naming the
/// file, the layer (`model.layers[i]`) and both shapes; exit code 2.
#[test]
fn bad_layer_lists_are_refused_with_layer_and_shapes() {
    let sb = Sandbox::new();
    let cases: [(&str, &str, &[&str]); 7] = [
        (
            "model: {input: [1, 8, 8], layers: [{kind: conv2d, out: 4, kernel: 3}, {kind: linear}]}",
            "model.layers[1]",
            &["layer 1 (linear) needs a flat input but gets [4, 6, 6]", "flatten"],
        ),
        (
            "model: {layers: [{kind: conv2d, out: 4, kernel: 3}, {kind: flatten}, {kind: linear}]}",
            "model.layers[0]",
            &["[channels, height, width]", "gets [64]"],
        ),
        (
            "model: {input: [1, 7, 7], layers: [{kind: flatten}, {kind: linear}]}",
            "model.input",
            &["[1, 7, 7] has 49 values per row", "64 features"],
        ),
        (
            "model: {input: [1, 8, 8], layers: [{kind: conv2d, out: 4, kernel: 9}, {kind: flatten}, {kind: linear}]}",
            "model.layers[0]",
            &["kernel 9", "[1, 8, 8]"],
        ),
        (
            "model: {layers: [{kind: linear, out: 8}, {kind: swish}, {kind: linear}]}",
            "model.layers",
            &["swish", "conv2d"],
        ),
        (
            "model: {input: [1, 8, 8], layers: [{kind: conv2d, out: 2, kernel: 3, padding: 1}, {kind: residual, body: [{kind: conv2d, out: 4, kernel: 3, padding: 1}]}, {kind: flatten}, {kind: linear}]}",
            "model.layers[1]",
            &["layer 1 (residual)", "[4, 8, 8]", "[2, 8, 8]"],
        ),
        (
            "model: {kind: lenet5, layers: [{kind: linear}]}",
            "model.layers",
            &["lenet5"],
        ),
    ];
    for (i, (model, field, wants)) in cases.iter().enumerate() {
        let file = format!("bad{i}.yaml");
        sb.write(
            &file,
            &format!("name: b\ndata: {{source: builtin, name: digits}}\n{model}\n"),
        );
        let out = sb.run(&["check", &file]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "case {i}: {err}");
        assert!(err.contains(field), "case {i}: {err} lacks {field}");
        for w in *wants {
            assert!(err.contains(w), "case {i}: {err} lacks {w}");
        }
    }
}
