//! Inference of a pruned LeNet-5 with one of the three kernels of [`super::forward`] (dense,
//! shrunk, CSR), one thread, so that `speed.csv` and `prunecv bench --speedup` compare the
//! kernels on convolutional models too — on the same footing: every kernel runs this same code,
//! only the weight product differs.
//!
//! This module owns the convolutional part: each convolution is an im2col gather into a column
//! matrix `(cin·K·K) × (g·oh·ow)` (images outer, output positions inner; rows padded apart; one
//! buffer reused across calls; the layout and the pooling are [`crate::train::im2col`] and
//! [`crate::train::pool`], shared with the LeNet-5 training engine) multiplied by the weights
//! `cout × (cin·K·K)` — dense `gemm` through `train::matmul` (dense and shrunk) or our CSR kernel walking
//! the column matrix in cache-sized panels ([`super::csr::Csr::matmul_cols`]) — with the bias
//! added per output row (LeNet-5 has no activation after its convolutions); then 2×2
//! max-pooling. The convolutions run on chunks of `g ≤` [`CHUNK`] images of the batch, so that
//! the column matrices stay in the caches. Conv maps are held `(channels, images, height,
//! width)`; the second pooling writes the features feature-major, `(conv2·16) × batch` with row
//! `c·16 + y·4 + x` (channel-major per image, as candle's model flattens), and fc1 → ReLU → fc2
//! run on the whole batch as [`super::forward::Forward`].

use super::forward::{layer, Forward, Kernel, Layer, Net};
use crate::config::Activation;
use crate::model::lenet::{INPUT_DIM, K, POOL, POOLED, SIDE};
use crate::model::{Architecture, Masks, Params};
use crate::train::im2col::{im2col, padded};
use crate::train::pool::{max_pool, Strides};

/// Spatial sides: conv1's output (24), pool1's (12), conv2's (8), pool2's (4).
const O1: usize = SIDE - K + 1;
const Q1: usize = O1 / POOL;
const O2: usize = Q1 - K + 1;
const Q2: usize = O2 / POOL;
const _: () = assert!(Q2 * Q2 == POOLED && O1 % POOL == 0 && O2 % POOL == 0);

/// Images whose convolutions run together: their column matrices (conv2's is 2 MB at Han's
/// widths) stay in the caches instead of streaming through memory, as a whole batch's would
/// (conv2's is 33 MB at batch 256).
const CHUNK: usize = 16;

/// A LeNet-5 ready to run with one kernel.
pub struct ConvForward {
    /// conv1 (`c1 × 1·K·K`) and conv2 (`c2 × c1·K·K`) as matrices over the column matrix.
    conv: [Layer; 2],
    /// fc1 → ReLU → fc2 on the flattened pooled conv2 maps.
    fc: Forward,
}

/// Scratch buffers of a [`ConvForward`] for one batch size.
pub struct ConvBuffers {
    batch: usize,
    /// The im2col column matrix of a chunk of `g` images (conv1's, then conv2's).
    cols: Vec<f32>,
    /// A convolution's output `cout × (g·oh·ow)`.
    conv: Vec<f32>,
    /// pool1's output `(c1, g, 12, 12)`.
    pooled: Vec<f32>,
    /// pool2's output, feature-major `(c2·16) × batch`.
    flat: Vec<f32>,
    fc: [Vec<f32>; 2],
}

impl ConvForward {
    /// The LeNet-5 `arch` with `params` pruned by `masks`, laid out for `kernel`; `None` when
    /// `arch` is not LeNet-5 ([`Architecture::as_lenet5`]) or, for the shrunk kernel, cannot
    /// shrink.
    pub fn build(
        arch: &dyn Architecture,
        params: &Params,
        masks: &Masks,
        kernel: Kernel,
    ) -> Option<ConvForward> {
        arch.as_lenet5()?;
        let (ps, keep) = match kernel {
            Kernel::Shrunk => (arch.shrink(params, masks)?.params, None),
            Kernel::Dense => (masks.apply(params), None),
            Kernel::Csr => (masks.apply(params), Some(masks)),
        };
        let [conv1, conv2, fc1, fc2] = [0, 1, 2, 3].map(|l| layer(&ps, l, keep));
        let flat = ps.0[4].shape[1];
        Some(ConvForward {
            conv: [conv1, conv2],
            fc: Forward::from_layers(vec![fc1, fc2], Activation::Relu, flat),
        })
    }

    /// Output channels of conv1 and conv2.
    fn channels(&self) -> [usize; 2] {
        [self.conv[0].out(), self.conv[1].out()]
    }
}

impl Net for ConvForward {
    type Buffers = ConvBuffers;

    fn weights(&self) -> usize {
        self.conv.iter().map(Layer::weights).sum::<usize>() + self.fc.weights()
    }

    fn buffers(&self, batch: usize) -> ConvBuffers {
        let [c1, c2] = self.channels();
        let g = batch.min(CHUNK);
        let (ld1, ld2) = (padded(g * O1 * O1), padded(g * O2 * O2));
        ConvBuffers {
            batch,
            cols: vec![0.0; (K * K * ld1).max(c1 * K * K * ld2)],
            conv: vec![0.0; (c1 * O1 * O1).max(c2 * O2 * O2) * g],
            pooled: vec![0.0; c1 * Q1 * Q1 * g],
            flat: vec![0.0; c2 * POOLED * batch],
            fc: self.fc.buffers(batch),
        }
    }

    /// Row-major `(batch × 784)` rows are already `(1, batch, 28, 28)` maps.
    fn input(&self, rows: &[f32], batch: usize) -> Vec<f32> {
        assert_eq!(
            rows.len(),
            INPUT_DIM * batch,
            "lenet5: input is not batch × 784"
        );
        rows.to_vec()
    }

    fn run<'b>(&self, x: &[f32], batch: usize, bufs: &'b mut ConvBuffers) -> &'b [f32] {
        assert_eq!(
            x.len(),
            INPUT_DIM * batch,
            "lenet5: input is not batch × 784"
        );
        assert_eq!(
            bufs.batch, batch,
            "lenet5: buffers are for another batch size"
        );
        let [c1, c2] = self.channels();
        for b0 in (0..batch).step_by(CHUNK) {
            let g = CHUNK.min(batch - b0);
            let (n1, n2) = (g * O1 * O1, g * O2 * O2);
            let (ld1, ld2) = (padded(n1), padded(n2));
            let x = &x[b0 * INPUT_DIM..(b0 + g) * INPUT_DIM];
            im2col(x, 1, g, SIDE, ld1, &mut bufs.cols);
            self.conv[0].apply_cols(&bufs.cols, ld1, n1, &mut bufs.conv);
            let to = Strides::maps(g, Q1);
            max_pool(&bufs.conv, c1, g, O1, None, &mut bufs.pooled, to, None);
            im2col(&bufs.pooled, c1, g, Q1, ld2, &mut bufs.cols);
            self.conv[1].apply_cols(&bufs.cols, ld2, n2, &mut bufs.conv);
            let to = Strides::feature_major(batch, b0, Q2);
            max_pool(&bufs.conv, c2, g, O2, None, &mut bufs.flat, to, None);
        }
        self.fc.run(&bufs.flat, batch, &mut bufs.fc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{MethodKind, Scope, TauUnit};
    use crate::model::graph::{shrink::shrink, Graph};
    use crate::model::testing;
    use crate::prune::{self, Granularity, MaskContext, ScoreContext};
    use crate::rng::Rng;
    use candle_core::{Device, Tensor};

    /// Masks of `net`: magnitude (per weight, per layer) or importance (whole channels and
    /// units) at `tau`.
    fn masks(net: &Graph, params: &Params, kind: MethodKind, tau: f64) -> Masks {
        let layers = net.layers();
        let spec = crate::config::parse("name: t\n", "t", &[]).unwrap().prune;
        let method = prune::build(kind, &spec);
        let scores = method
            .scores(&mut ScoreContext::plain(net, params, &layers, Rng::new(1)))
            .unwrap();
        let ctx = MaskContext::one_shot(net, params, &layers, TauUnit::Quantile, Scope::Layer);
        method.masks(&ctx, &scores, tau).unwrap()
    }

    /// Every kernel's logits against candle's forward of the masked model at each of `batches`.
    fn check(net: &Graph, params: &Params, masks: &Masks, what: &str, batches: &[usize]) {
        let classes = net.layers()[3].units;
        let pruned = masks.apply(params).tensors().unwrap();
        for &batch in batches {
            let mut rng = Rng::new(batch as u64 + 10);
            let x: Vec<f32> = (0..batch * INPUT_DIM).map(|_| rng.next_f32()).collect();
            let xt = Tensor::from_slice(&x, (batch, INPUT_DIM), &Device::Cpu).unwrap();
            let want = net.forward(&pruned, &xt).unwrap().to_vec2::<f32>().unwrap();
            for k in [Kernel::Dense, Kernel::Shrunk, Kernel::Csr] {
                let f = ConvForward::build(net, params, masks, k).unwrap();
                let mut bufs = f.buffers(batch);
                let xin = f.input(&x, batch);
                // Twice through the same buffers: nothing of the first call leaks into the next.
                for _ in 0..2 {
                    let got = f.run(&xin, batch, &mut bufs);
                    assert_eq!(got.len(), classes * batch);
                    super::super::forward::assert_logits_match(
                        got,
                        &want,
                        &format!("{what} {k:?}"),
                    );
                }
            }
        }
    }

    /// At reduced widths, for unpruned, magnitude-pruned and unit-pruned masks (so the shrunk
    /// model is smaller), and with every conv1 channel removed (conv2 then has no inputs); at
    /// batch 1, 3 and, once, a batch of one full chunk of images and a part of one.
    #[test]
    fn conv_kernels_match_candle_at_reduced_widths() {
        let net = testing::lenet5(4, 6, 12, 5);
        let params = net.init(&mut Rng::new(3));
        let layers = net.layers();
        for (kind, tau) in [
            (MethodKind::Magnitude, 0.0),
            (MethodKind::Magnitude, 0.5),
            (MethodKind::Magnitude, 0.9),
            (MethodKind::Importance, 0.3),
            (MethodKind::Importance, 0.7),
        ] {
            let m = masks(&net, &params, kind, tau);
            if kind == MethodKind::Importance {
                let shrunk = shrink(&net, &params, &m).0;
                assert_ne!(shrunk, net, "τ {tau} removes units");
            }
            let batches: &[usize] = if tau == 0.5 {
                &[1, 3, CHUNK + 3]
            } else {
                &[1, 3]
            };
            check(&net, &params, &m, &format!("{kind:?} τ={tau}"), batches);
        }
        let mut m = masks(&net, &params, MethodKind::Magnitude, 0.5);
        prune::expand(Granularity::Unit, &layers[0], &[true; 4], &params, &mut m);
        assert_eq!(shrink(&net, &params, &m).0.layers()[0].units, 0);
        check(&net, &params, &m, "no conv1 channel", &[1, 3]);
    }

    /// Han's widths (20, 50, 500), magnitude-pruned to 90 % and with channels removed.
    #[test]
    fn conv_kernels_match_candle_at_full_width() {
        let net = testing::lenet5(20, 50, 500, 10);
        let params = net.init(&mut Rng::new(5));
        let mut m = masks(&net, &params, MethodKind::Magnitude, 0.9);
        let layers = net.layers();
        let every_third: Vec<bool> = (0..50).map(|u| u % 3 == 0).collect();
        prune::expand(Granularity::Unit, &layers[1], &every_third, &params, &mut m);
        check(&net, &params, &m, "full width", &[1, 3]);
    }
}
