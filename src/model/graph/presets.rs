//! The built-in models, written as layer lists ([`LayerSpec`]) like any model of
//! `model.layers`: a preset is a function from its few settings to that list.

use super::spec::LayerSpec;
use crate::config::Activation;

fn act(a: Activation) -> LayerSpec {
    match a {
        Activation::Relu => LayerSpec::relu(),
        Activation::Tanh => LayerSpec::tanh(),
    }
}

/// `mlp`: linear layers of the `hidden` widths with `activation` between them, then one unit per
/// class (`fc1`, …, `fc{L}`).
pub fn mlp(hidden: &[usize], activation: Activation) -> Vec<LayerSpec> {
    let mut layers = Vec::with_capacity(2 * hidden.len() + 1);
    for &h in hidden {
        layers.push(LayerSpec::linear(Some(h)));
        layers.push(act(activation));
    }
    layers.push(LayerSpec::linear(None));
    layers
}

/// Hidden widths of LeNet-300-100.
pub const LENET300_HIDDEN: [usize; 2] = [300, 100];

/// `lenet300`: LeNet-300-100 (Han et al. 2015), an [`mlp`] 784-300-100-10 on 28×28 images
/// given as 784 features: 266,610 parameters.
pub fn lenet300(activation: Activation) -> Vec<LayerSpec> {
    mlp(&LENET300_HIDDEN, activation)
}

/// `lenet5`: Caffe's LeNet (Han et al. 2015) on `[1, 28, 28]`: conv1 20 filters 5×5 → max-pool
/// 2 → conv2 50 filters 5×5 → max-pool 2 → fc1 500 → ReLU → fc2 (no activation after the
/// convolutions): 431,080 parameters with 10 classes.
pub fn lenet5() -> Vec<LayerSpec> {
    let conv = |out| LayerSpec::conv2d(out, 5, None, None);
    let pool = || LayerSpec::max_pool(2);
    vec![
        conv(20),
        pool(),
        conv(50),
        pool(),
        LayerSpec::flatten(),
        LayerSpec::linear(Some(500)),
        LayerSpec::relu(),
        LayerSpec::linear(None),
    ]
}

/// Input of the LeNets: one 28×28 channel.
pub const LENET_INPUT: [usize; 3] = [1, 28, 28];

/// `vgg`: a VGG-style CNN for small images (Simonyan & Zisserman 2015, reduced): `stages`
/// stages of two 3×3 convolutions (padding 1) with ReLU and a 2×2 max-pool, with `width`,
/// `2·width`, `4·width`, … channels; then flatten → linear of `2^stages · width` units → ReLU →
/// one unit per class.
pub fn vgg(width: usize, stages: usize) -> Vec<LayerSpec> {
    let conv = |out| LayerSpec::conv2d(out, 3, None, Some(1));
    let mut layers = Vec::new();
    for s in 0..stages {
        let c = width << s;
        layers.extend([conv(c), LayerSpec::relu(), conv(c), LayerSpec::relu()]);
        layers.push(LayerSpec::max_pool(2));
    }
    layers.extend([
        LayerSpec::flatten(),
        LayerSpec::linear(Some(width << stages)),
        LayerSpec::relu(),
        LayerSpec::linear(None),
    ]);
    layers
}

/// `resnet`: a CIFAR-style ResNet (He et al. 2016, §4.2) for `input` = `[channels, h, w]`
/// images: a 3×3 convolution of `width` channels with batch normalisation and ReLU, then
/// `stages` stages of `blocks` basic blocks each — `width`, `2·width`, `4·width`, … channels, the
/// first block of every stage after the first halving the maps with stride 2 — then a global
/// average pool, `flatten` and one linear unit per class. A basic block is
/// `relu(bn(conv3×3(relu(bn(conv3×3(x))))) + shortcut(x))`, the shortcut the identity, or a 1×1
/// convolution with batch normalisation where the shape changes (option B). `width` 16,
/// `stages` 3, `blocks` 3 is ResNet-20 (0.27 M parameters on CIFAR-10).
pub fn resnet(width: usize, stages: usize, blocks: usize, input: &[usize]) -> Vec<LayerSpec> {
    let conv = |out, kernel, stride: usize| {
        LayerSpec::conv2d(
            out,
            kernel,
            (stride != 1).then_some(stride),
            (kernel == 3).then_some(1),
        )
    };
    let bn = LayerSpec::batch_norm;
    let mut layers = vec![conv(width, 3, 1), bn(), LayerSpec::relu()];
    let (mut channels, mut side) = (
        width,
        (
            input.get(1).copied().unwrap_or(1),
            input.get(2).copied().unwrap_or(1),
        ),
    );
    for s in 0..stages {
        let c = width << s;
        for b in 0..blocks {
            let stride = if s > 0 && b == 0 { 2 } else { 1 };
            let body = vec![
                conv(c, 3, stride),
                bn(),
                LayerSpec::relu(),
                conv(c, 3, 1),
                bn(),
            ];
            let shortcut = if stride != 1 || channels != c {
                vec![conv(c, 1, stride), bn()]
            } else {
                Vec::new()
            };
            layers.push(LayerSpec::residual(body, shortcut));
            layers.push(LayerSpec::relu());
            channels = c;
            if stride == 2 {
                side = (side.0.div_ceil(2), side.1.div_ceil(2));
            }
        }
    }
    layers.extend([
        LayerSpec::avg_pool(side.0.min(side.1).max(1)),
        LayerSpec::flatten(),
        LayerSpec::linear(None),
    ]);
    layers
}
