//! The LeNet-5 engine: forward and backward passes of a small convolutional network written out
//! over `matmul` (crate-private) on reusable host buffers, as [`super::mlp_engine`] does for MLPs.
//!
//! This module owns the network as a sequence of layer operations ([`LayerOp`]: conv2d, pool,
//! flatten, linear, activation, built from the [`LeNet5`] description by [`lenet5_ops`]) and
//! their execution: a convolutional stage of (conv → max-pool) blocks, then the fully connected
//! head ([`DenseStack`], the MLP engine's layers) with cross-entropy fused with its gradient.
//! It supports that pattern only — it is not a general graph.
//!
//! The convolutional stage runs on chunks of [`CHUNK`] images, whose column matrices stay in the
//! caches: each convolution is an im2col gather ([`super::im2col`]) and one product with the
//! weights — except the first, on single-channel images, which [`super::direct_conv`] computes
//! in registers; the bias is added to the pooled maxima ([`super::pool`]), since LeNet-5 has no
//! activation after its convolutions. The backward pass re-gathers each chunk's column matrix
//! rather than keeping them all; it computes no gradient for the input batch (conv1's d/dx).
//! Each chunk computes its own conv weight and bias gradients, and the chunks' gradients are
//! summed in chunk order, so the result is the same float operations whatever the number of
//! threads; chunks are spread over `threads` workers of the current rayon pool, and the head's
//! products split their output over the same threads (never a reduction). Buffers grow to the
//! largest batch and are reused.

use super::direct_conv;
use super::engine::Engine;
use super::im2col::{col2im, im2col, padded};
use super::matmul::{matmul, View};
use super::mlp_engine::{check_labels, DenseStack};
use super::pool::{max_pool, max_unpool, Strides};
use crate::config::Activation;
use crate::error::{Error, Result};
use crate::model::lenet::{LeNet5, K, POOL, SIDE};
use crate::model::Params;
use rayon::prelude::*;

/// Images whose convolutions run together.
pub const CHUNK: usize = 16;

/// One operation of a network, input to output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerOp {
    /// `cout` filters `K × K` over `cin` maps of side `side` (stride 1, no padding), plus bias:
    /// weight `[cout, cin, K, K]` is parameter `param`, the bias `param + 1`.
    Conv2d {
        cin: usize,
        cout: usize,
        side: usize,
        param: usize,
    },
    /// `POOL × POOL` max-pooling, stride `POOL`, of `channels` maps of side `side`.
    MaxPool {
        channels: usize,
        side: usize,
    },
    /// Each image's maps `(c, h, w)` as one row of `c·h·w` features, channel-major.
    Flatten,
    /// `y = W x + b`, weight `[out, inp]` parameter `param`, bias `param + 1`.
    Linear {
        inp: usize,
        out: usize,
        param: usize,
    },
    Relu,
}

/// LeNet-5 as layer operations (see [`crate::model::lenet`]).
pub fn lenet5_ops(net: &LeNet5) -> Vec<LayerOp> {
    let (o1, q1) = (SIDE - K + 1, (SIDE - K + 1) / POOL);
    let o2 = q1 - K + 1;
    vec![
        LayerOp::Conv2d {
            cin: 1,
            cout: net.conv1,
            side: SIDE,
            param: 0,
        },
        LayerOp::MaxPool {
            channels: net.conv1,
            side: o1,
        },
        LayerOp::Conv2d {
            cin: net.conv1,
            cout: net.conv2,
            side: q1,
            param: 2,
        },
        LayerOp::MaxPool {
            channels: net.conv2,
            side: o2,
        },
        LayerOp::Flatten,
        LayerOp::Linear {
            inp: net.flat(),
            out: net.fc1,
            param: 4,
        },
        LayerOp::Relu,
        LayerOp::Linear {
            inp: net.fc1,
            out: net.classes,
            param: 6,
        },
    ]
}

/// A convolution followed by its max-pooling.
#[derive(Debug, Clone, Copy)]
struct ConvBlock {
    cin: usize,
    cout: usize,
    /// Input side, convolution output side, pooled side.
    side: usize,
    o: usize,
    q: usize,
    param: usize,
    /// Computed directly ([`direct_conv`]: the first convolution, single-channel input), not as
    /// im2col and a product.
    direct: bool,
}

impl ConvBlock {
    /// Rows of the column matrix (`cin·K·K`) and its columns for `g` images.
    fn patch(&self) -> usize {
        self.cin * K * K
    }
    fn cols(&self, g: usize) -> usize {
        g * self.o * self.o
    }
}

/// What one chunk of images keeps between the forward and the backward pass.
#[derive(Default)]
struct ChunkState {
    /// Pooled maps `(c, g, q, q)` of every block but the last (the next block's input).
    maps: Vec<Vec<f32>>,
    /// Every block's pooling ties (the last block's indexed as its rows of features).
    ties: Vec<Vec<u8>>,
    /// This chunk's gradients of every block's weight and bias.
    grads: Vec<Vec<f32>>,
}

/// Per-worker scratch buffers.
#[derive(Default)]
struct Scratch {
    /// A column matrix, rows padded ([`padded`]).
    cols: Vec<f32>,
    /// A convolution's output (without bias), then its gradient.
    conv: Vec<f32>,
    /// The gradient of a column matrix (rows unpadded), and of the maps it was gathered from.
    dcols: Vec<f32>,
    dmaps: Vec<f32>,
}

/// Buffers and shape of one LeNet-5; reused across batches.
pub struct ConvEngine {
    blocks: Vec<ConvBlock>,
    head: DenseStack,
    threads: usize,
    params: usize,
    chunks: Vec<ChunkState>,
    scratch: Vec<Scratch>,
    /// The flattened features (`rows × features`) and their gradient.
    flat: Vec<f32>,
    dflat: Vec<f32>,
}

impl ConvEngine {
    /// LeNet-5's engine, its products on `threads` threads.
    pub fn new(net: &LeNet5, threads: usize) -> Self {
        Self::from_ops(&lenet5_ops(net), threads).expect("LeNet-5's ops fit the engine")
    }

    /// The engine of `ops`: (Conv2d, MaxPool)+ blocks, Flatten, then Linear layers with one
    /// activation kind between them, parameters numbered in that order; an error otherwise.
    pub fn from_ops(ops: &[LayerOp], threads: usize) -> Result<Self> {
        let bad = |why: &str| Error::Internal(format!("conv engine: {why} in {ops:?}"));
        let mut blocks: Vec<ConvBlock> = Vec::new();
        let mut it = ops.iter().peekable();
        while let Some(&&LayerOp::Conv2d {
            cin,
            cout,
            side,
            param,
        }) = it.peek()
        {
            it.next();
            let o = side.checked_sub(K - 1).filter(|&o| o > 0 && o % POOL == 0);
            let o = o.ok_or_else(|| bad("a convolution's output does not pool evenly"))?;
            if it.next()
                != Some(&LayerOp::MaxPool {
                    channels: cout,
                    side: o,
                })
            {
                return Err(bad("a convolution not followed by its max-pooling"));
            }
            let q = o / POOL;
            let chained = blocks.last().map_or(param == 0, |b| {
                b.cout == cin && b.q == side && b.param + 2 == param
            });
            if !chained {
                return Err(bad("blocks that do not chain"));
            }
            blocks.push(ConvBlock {
                cin,
                cout,
                side,
                o,
                q,
                param,
                direct: blocks.is_empty() && cin == 1 && direct_conv::supports(o),
            });
        }
        let last = *blocks.last().ok_or_else(|| bad("no convolution"))?;
        if it.next() != Some(&LayerOp::Flatten) {
            return Err(bad("no flatten after the convolutions"));
        }
        let mut widths = vec![last.cout * last.q * last.q];
        let mut act = None;
        let first = last.param + 2;
        for (i, op) in it.enumerate() {
            match (i % 2, *op) {
                (0, LayerOp::Linear { inp, out, param })
                    if inp == *widths.last().expect("input width") && param == first + i =>
                {
                    widths.push(out)
                }
                (1, LayerOp::Relu) if act.is_none_or(|a| a == Activation::Relu) => {
                    act = Some(Activation::Relu)
                }
                _ => return Err(bad("not Linear layers with ReLU between them")),
            }
        }
        if widths.len() < 2 || ops.last() == Some(&LayerOp::Relu) {
            return Err(bad("no Linear output layer"));
        }
        let params = first + 2 * (widths.len() - 1);
        let threads = threads.max(1);
        Ok(ConvEngine {
            blocks,
            head: DenseStack::new(widths, act.unwrap_or(Activation::Relu), first, threads),
            threads,
            params,
            chunks: Vec::new(),
            scratch: Vec::new(),
            flat: Vec::new(),
            dflat: Vec::new(),
        })
    }

    fn input_dim(&self) -> usize {
        let b = self.blocks[0];
        b.cin * b.side * b.side
    }

    fn check(&self, params: &Params, x: &[f32], y: &[u32]) -> Result<()> {
        let convs_fit = || {
            self.blocks.iter().all(|b| {
                params.0[b.param].data.len() == b.cout * b.patch()
                    && params.0[b.param + 1].data.len() == b.cout
            })
        };
        if params.0.len() != self.params
            || !convs_fit()
            || !self.head.fits(params)
            || x.len() != y.len() * self.input_dim()
        {
            return Err(Error::Internal(format!(
                "conv engine: parameters or a batch of {} values for {} rows do not fit {:?}",
                x.len(),
                y.len(),
                self.blocks
            )));
        }
        check_labels(y, self.head.classes(), "conv engine")
    }

    /// Size every buffer for `rows` rows (growing only; no allocation once grown).
    fn prepare(&mut self, rows: usize) {
        let n_chunks = rows.div_ceil(CHUNK);
        let nb = self.blocks.len();
        if self.chunks.len() < n_chunks {
            self.chunks.resize_with(n_chunks, ChunkState::default);
        }
        for (c, st) in self.chunks[..n_chunks].iter_mut().enumerate() {
            let g = CHUNK.min(rows - c * CHUNK);
            st.maps.resize_with(nb - 1, Vec::new);
            st.ties.resize_with(nb, Vec::new);
            st.grads.resize_with(2 * nb, Vec::new);
            for (j, b) in self.blocks.iter().enumerate() {
                let pooled = b.cout * g * b.q * b.q;
                if j + 1 < nb {
                    st.maps[j].resize(pooled, 0.0);
                }
                st.ties[j].resize(pooled, 0);
                st.grads[2 * j].resize(b.cout * b.patch(), 0.0);
                st.grads[2 * j + 1].resize(b.cout, 0.0);
            }
        }
        let workers = self.threads.min(n_chunks).max(1);
        if self.scratch.len() < workers {
            self.scratch.resize_with(workers, Scratch::default);
        }
        let g = CHUNK.min(rows);
        let max = |f: &dyn Fn(&ConvBlock) -> usize| self.blocks.iter().map(f).max().unwrap_or(0);
        let cols = max(&|b| b.patch() * padded(b.cols(g)));
        let conv = max(&|b| b.cout * b.cols(g));
        let dcols = max(&|b| b.patch() * b.cols(g));
        let dmaps = max(&|b| b.cin * g * b.side * b.side);
        for s in &mut self.scratch[..workers] {
            grow(&mut s.cols, cols);
            grow(&mut s.conv, conv);
            grow(&mut s.dcols, dcols);
            grow(&mut s.dmaps, dmaps);
        }
        let features = self.head.inputs();
        self.flat.resize(rows * features, 0.0);
    }

    /// Run `f(blocks, images, input rows, feature rows, state, scratch)` on every chunk of the
    /// `rows` rows of `x`, the chunks spread over the workers in contiguous runs.
    fn each_chunk<F>(&mut self, x: &[f32], rows: usize, features: ChunkRows, f: F)
    where
        F: Fn(&[ConvBlock], usize, &[f32], &mut [f32], &mut ChunkState, &mut Scratch) + Sync,
    {
        let n_chunks = rows.div_ceil(CHUNK);
        if n_chunks == 0 {
            return;
        }
        let (d, width) = (self.input_dim(), self.head.inputs());
        let ConvEngine {
            blocks,
            threads,
            chunks,
            scratch,
            flat,
            dflat,
            ..
        } = self;
        let fbuf: &mut [f32] = match features {
            ChunkRows::Flat => &mut flat[..rows * width],
            ChunkRows::Grad => &mut dflat[..rows * width],
        };
        let blocks: &[ConvBlock] = blocks;
        let workers = (*threads).min(n_chunks).max(1);
        let per = n_chunks.div_ceil(workers);
        let run =
            |first: usize, x: &[f32], fr: &mut [f32], sts: &mut [ChunkState], s: &mut Scratch| {
                for (i, st) in sts.iter_mut().enumerate() {
                    let g = CHUNK.min(rows - (first + i) * CHUNK);
                    let xs = &x[i * CHUNK * d..][..g * d];
                    let fs = &mut fr[i * CHUNK * width..][..g * width];
                    f(blocks, g, xs, fs, st, s);
                }
            };
        let chunks = &mut chunks[..n_chunks];
        if workers == 1 {
            run(0, x, fbuf, chunks, &mut scratch[0]);
            return;
        }
        x.par_chunks(per * CHUNK * d)
            .zip(fbuf.par_chunks_mut(per * CHUNK * width))
            .zip(chunks.par_chunks_mut(per))
            .zip(scratch[..workers].par_iter_mut())
            .enumerate()
            .for_each(|(w, (((x, fr), sts), s))| run(w * per, x, fr, sts, s));
    }

    /// The convolutional stage: `flat` for the `rows` rows of `x`; with `record`, the pooling
    /// ties for the backward pass.
    fn forward_conv(&mut self, params: &Params, x: &[f32], rows: usize, record: bool) {
        self.prepare(rows);
        self.each_chunk(x, rows, ChunkRows::Flat, |blocks, g, x, flat, st, s| {
            forward_chunk(blocks, params, x, g, flat, st, s, record)
        });
    }

    /// The convolutional stage's gradients from `dflat`, each chunk's summed in chunk order.
    fn backward_conv(&mut self, params: &Params, x: &[f32], rows: usize, grads: &mut [Vec<f32>]) {
        self.each_chunk(x, rows, ChunkRows::Grad, |blocks, g, x, dflat, st, s| {
            backward_chunk(blocks, params, x, g, dflat, st, s)
        });
        let n_chunks = rows.div_ceil(CHUNK);
        for (j, b) in self.blocks.iter().enumerate() {
            for k in 0..2 {
                let g = &mut grads[b.param + k];
                let Some(first) = self.chunks[..n_chunks].first() else {
                    g.fill(0.0); // no rows
                    continue;
                };
                g.copy_from_slice(&first.grads[2 * j + k]);
                for st in &self.chunks[1..n_chunks] {
                    g.iter_mut()
                        .zip(&st.grads[2 * j + k])
                        .for_each(|(a, b)| *a += b);
                }
            }
        }
    }
}

/// Which feature rows a chunk pass writes or reads.
#[derive(Clone, Copy)]
enum ChunkRows {
    Flat,
    Grad,
}

/// `v` at least `n` long (never shrunk: its length is only a capacity here).
fn grow(v: &mut Vec<f32>, n: usize) {
    if v.len() < n {
        v.resize(n, 0.0);
    }
}

/// The column matrix of block `j`'s input for the chunk: `x` for the first block, the previous
/// block's pooled maps otherwise.
fn gather(blocks: &[ConvBlock], j: usize, x: &[f32], g: usize, st: &ChunkState, cols: &mut [f32]) {
    let b = blocks[j];
    let input: &[f32] = if j == 0 { x } else { &st.maps[j - 1] };
    im2col(input, b.cin, g, b.side, padded(b.cols(g)), cols);
}

/// The forward pass of the conv blocks for one chunk of `g` images `x`, into its feature rows.
#[allow(clippy::too_many_arguments)]
fn forward_chunk(
    blocks: &[ConvBlock],
    params: &Params,
    x: &[f32],
    g: usize,
    flat: &mut [f32],
    st: &mut ChunkState,
    s: &mut Scratch,
    record: bool,
) {
    let nb = blocks.len();
    for (j, b) in blocks.iter().enumerate() {
        let (n, kk) = (b.cols(g), b.patch());
        let ld = padded(n);
        let w = &params.0[b.param].data;
        let conv = &mut s.conv[..b.cout * n];
        if b.direct {
            direct_conv::forward(x, g, b.side, w, b.cout, conv);
        } else {
            gather(blocks, j, x, g, st, &mut s.cols);
            let cols = View::padded(&s.cols[..kk * ld], kk, n, ld);
            matmul(conv, View::row_major(w, b.cout, kk), cols, false, 1);
        }
        let bias = Some(params.0[b.param + 1].data.as_slice());
        let ties = record.then_some(st.ties[j].as_mut_slice());
        if j + 1 == nb {
            max_pool(
                conv,
                b.cout,
                g,
                b.o,
                bias,
                flat,
                Strides::rows(b.cout, b.q),
                ties,
            );
        } else {
            let to = Strides::maps(g, b.q);
            max_pool(conv, b.cout, g, b.o, bias, &mut st.maps[j], to, ties);
        }
    }
}

/// The backward pass of the conv blocks for one chunk, from its feature rows' gradient `dflat`,
/// into the chunk's weight and bias gradients.
fn backward_chunk(
    blocks: &[ConvBlock],
    params: &Params,
    x: &[f32],
    g: usize,
    dflat: &[f32],
    st: &mut ChunkState,
    s: &mut Scratch,
) {
    let nb = blocks.len();
    for j in (0..nb).rev() {
        let b = blocks[j];
        let (n, kk) = (b.cols(g), b.patch());
        let ld = padded(n);
        let dy = &mut s.conv[..b.cout * n];
        if j + 1 == nb {
            let from = Strides::rows(b.cout, b.q);
            max_unpool(dflat, &st.ties[j], b.cout, g, b.o, from, dy);
        } else {
            let from = Strides::maps(g, b.q);
            max_unpool(&s.dmaps, &st.ties[j], b.cout, g, b.o, from, dy);
        }
        for (db, row) in st.grads[2 * j + 1].iter_mut().zip(dy.chunks_exact(n)) {
            *db = row_sum(row);
        }
        if b.direct {
            direct_conv::weight_grad(x, g, b.side, dy, b.cout, &mut st.grads[2 * j]);
        } else {
            gather(blocks, j, x, g, st, &mut s.cols);
            let cols = View::padded(&s.cols[..kk * ld], kk, n, ld);
            let dyv = View::row_major(dy, b.cout, n);
            matmul(&mut st.grads[2 * j], dyv, cols.t(), false, 1);
        }
        let dy = View::row_major(dy, b.cout, n);
        if j > 0 {
            let w = View::row_major(&params.0[b.param].data, b.cout, kk);
            matmul(&mut s.dcols[..kk * n], w.t(), dy, false, 1);
            col2im(&s.dcols, b.cin, g, b.side, n, &mut s.dmaps);
        }
    }
}

/// The sum of `v` over eight interleaved partial sums (so it vectorises), added in a fixed order.
fn row_sum(v: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let mut it = v.chunks_exact(8);
    for c in &mut it {
        acc.iter_mut().zip(c).for_each(|(a, x)| *a += x);
    }
    let tail: f32 = it.remainder().iter().sum();
    acc.iter().sum::<f32>() + tail
}

impl Engine for ConvEngine {
    fn loss_and_grads(
        &mut self,
        params: &Params,
        x: &[f32],
        y: &[u32],
        grads: &mut [Vec<f32>],
    ) -> Result<f32> {
        self.check(params, x, y)?;
        let rows = y.len();
        self.forward_conv(params, x, rows, true);
        self.head.forward(params, &self.flat, rows);
        let (sum, _) = self.head.cross_entropy(y, true);
        let loss = (sum / rows.max(1) as f64) as f32;
        if loss.is_finite() {
            self.head
                .backward(params, &self.flat, rows, grads, Some(&mut self.dflat));
            self.backward_conv(params, x, rows, grads);
        } else {
            grads.iter_mut().for_each(|g| g.fill(f32::NAN));
        }
        Ok(loss)
    }

    fn eval(&mut self, params: &Params, x: &[f32], y: &[u32]) -> Result<(f64, usize)> {
        self.check(params, x, y)?;
        let rows = y.len();
        self.forward_conv(params, x, rows, false);
        self.head.forward(params, &self.flat, rows);
        Ok(self.head.cross_entropy(y, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{OptimizerKind, TrainSpec};
    use crate::model::lenet::INPUT_DIM;
    use crate::model::{testing, Architecture, Masks};
    use crate::rng::Rng;
    use crate::train::engine::CandleEngine;
    use crate::train::{optim, zeros_like};

    /// `rows` images: uniform noise, except every third image is blank outside a bright square
    /// (as MNIST digits are), so that pooling windows hold equal values (ties).
    fn batch(rows: usize, classes: usize, seed: u64) -> (Vec<f32>, Vec<u32>) {
        let mut rng = Rng::new(seed);
        let mut x = Vec::with_capacity(rows * INPUT_DIM);
        for i in 0..rows {
            for p in 0..INPUT_DIM {
                let (r, c) = (p / SIDE, p % SIDE);
                let v = rng.uniform_f32(-1.0, 2.0);
                let inside = (6..18).contains(&r) && (9..21).contains(&c);
                x.push(if i % 3 == 2 && !inside { 0.0 } else { v });
            }
        }
        let y = (0..rows).map(|_| rng.below(classes) as u32).collect();
        (x, y)
    }

    /// Gradients of every parameter, the mean loss and the evaluation (summed loss, correct
    /// count) of the engine of a LeNet-5 graph's shape equal candle's autograd through the
    /// graph's forward, at Han's widths and reduced ones, at batch 1, an odd batch that leaves a
    /// partial chunk, and two whole chunks.
    #[test]
    fn conv_engine_matches_candle_autograd() {
        let cases = [
            (testing::lenet5(4, 6, 12, 5), 5, &[1, 7, 2 * CHUNK + 3][..]),
            (testing::lenet5(20, 50, 500, 10), 10, &[1, 19][..]),
        ];
        for (net, classes, batches) in cases {
            let shape = net.as_lenet5().unwrap();
            for (k, &rows) in batches.iter().enumerate() {
                let p = net.init(&mut Rng::new(30 + k as u64));
                let (x, y) = batch(rows, classes, 40 + k as u64);
                let (mut g_host, mut g_candle) = (zeros_like(&p), zeros_like(&p));
                // Odd cases split the chunks and products over 3 threads.
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(3)
                    .build()
                    .unwrap();
                let mut fast = ConvEngine::new(shape, 1 + 2 * (k % 2));
                let mut slow = CandleEngine::new(&net);
                let what = format!("{} batch {rows}", net.describe());
                let l_host = pool
                    .install(|| fast.loss_and_grads(&p, &x, &y, &mut g_host))
                    .unwrap();
                let l_candle = slow.loss_and_grads(&p, &x, &y, &mut g_candle).unwrap();
                assert!((l_host - l_candle).abs() <= 1e-5 * l_candle.abs(), "{what}");
                for ((a, b), q) in g_host.iter().zip(&g_candle).zip(&p.0) {
                    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs()));
                    assert!(scale > 0.0, "{what}: {} has a gradient", q.name);
                    for (u, v) in a.iter().zip(b) {
                        assert!(
                            (u - v).abs() <= 1e-5 * scale + 1e-4 * v.abs(),
                            "{what}: {} {u} vs {v} (largest {scale})",
                            q.name
                        );
                    }
                }
                let (e_host, e_candle) = (
                    fast.eval(&p, &x, &y).unwrap(),
                    slow.eval(&p, &x, &y).unwrap(),
                );
                assert!((e_host.0 - e_candle.0).abs() <= 1e-5 * e_candle.0, "{what}");
                assert_eq!(e_host.1, e_candle.1, "{what}");
            }
        }
    }

    /// The gradients are bit-identical on 1, 2 and 3 threads (chunks and products split, never a
    /// sum), and a second batch through the same buffers gives what a fresh engine gives.
    #[test]
    fn conv_engine_is_bit_identical_on_any_thread_count() {
        let net = testing::lenet5(5, 7, 33, 4);
        let shape = net.as_lenet5().unwrap();
        let p = net.init(&mut Rng::new(2));
        let (x, y) = batch(3 * CHUNK + 5, 4, 3);
        let (x2, y2) = batch(CHUNK - 1, 4, 4);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let run = |threads: usize| {
            let mut e = ConvEngine::new(shape, threads);
            let mut g = zeros_like(&p);
            let loss = pool
                .install(|| e.loss_and_grads(&p, &x, &y, &mut g))
                .unwrap();
            let mut g2 = zeros_like(&p);
            pool.install(|| e.loss_and_grads(&p, &x2, &y2, &mut g2))
                .unwrap();
            let ev = pool.install(|| e.eval(&p, &x, &y)).unwrap();
            (loss.to_bits(), g, g2, ev.0.to_bits(), ev.1)
        };
        let one = run(1);
        assert_eq!(one, run(2));
        assert_eq!(one, run(3));
        let mut fresh = ConvEngine::new(shape, 1);
        let mut g2 = zeros_like(&p);
        fresh.loss_and_grads(&p, &x2, &y2, &mut g2).unwrap();
        assert_eq!(g2, one.2);
    }

    /// Training steps through the engine with masks on a conv and a linear weight: masked
    /// weights and their optimizer state (momentum; AdamW's moments) stay exactly zero, the rest
    /// move; a non-finite loss gives NaN gradients; a wrong label or width is an error; an empty
    /// batch gives zeros.
    #[test]
    fn conv_engine_training_holds_masks_and_optimizer_state() {
        let net = testing::lenet5(3, 4, 10, 3);
        let shape = net.as_lenet5().unwrap();
        let p0 = net.init(&mut Rng::new(8));
        let mut masks = Masks::dense(&p0);
        for i in [0, 2, 4] {
            masks.0[i].iter_mut().step_by(3).for_each(|k| *k = false);
        }
        for opt in [OptimizerKind::Sgd, OptimizerKind::Adamw] {
            let spec = TrainSpec {
                optimizer: opt,
                lr: 0.01,
                momentum: 0.9,
                weight_decay: 1e-4,
                betas: [0.9, 0.999],
                epochs: 1,
                batch_size: 8,
                lr_schedule: crate::train::lr::LrSchedule::Constant,
            };
            let mut p = masks.apply(&p0);
            let mut g = zeros_like(&p);
            let sizes: Vec<usize> = g.iter().map(Vec::len).collect();
            let mut o = optim::Optimizer::new(&spec, spec.lr, &sizes);
            let mut e = ConvEngine::new(shape, 1);
            for step in 0..6 {
                let (x, y) = batch(8 + step % 2, 3, 50 + step as u64);
                let loss = e.loss_and_grads(&p, &x, &y, &mut g).unwrap();
                assert!(loss.is_finite());
                o.step(&mut p, &g, Some(&masks.0)).unwrap();
            }
            for (i, (q, q0)) in p.0.iter().zip(&p0.0).enumerate() {
                for (j, &keep) in masks.0[i].iter().enumerate() {
                    if keep {
                        assert_ne!(q.data[j], q0.data[j], "{opt:?} {} moved", q.name);
                    } else {
                        assert_eq!(q.data[j].to_bits(), 0, "{opt:?} {} regrew", q.name);
                        assert_eq!(o.first_moments()[i][j].to_bits(), 0, "{opt:?} state");
                    }
                }
            }
        }
        let mut e = ConvEngine::new(shape, 1);
        let (x, y) = batch(2, 3, 1);
        let mut g = zeros_like(&p0);
        let mut nan = p0.clone();
        nan.0[0].data[0] = f32::NAN;
        assert!(e.loss_and_grads(&nan, &x, &y, &mut g).unwrap().is_nan());
        assert!(g.iter().flatten().all(|v| v.is_nan()));
        assert!(e.loss_and_grads(&p0, &x, &[0, 3], &mut g).is_err());
        assert!(e.loss_and_grads(&p0, &x[1..], &y, &mut g).is_err());
        assert!(e.eval(&p0, &x, &y[..1]).is_err());
        // An empty batch has zero loss and zero gradients.
        assert_eq!(e.loss_and_grads(&p0, &[], &[], &mut g).unwrap(), 0.0);
        assert!(g.iter().flatten().all(|v| *v == 0.0));
    }

    /// The op list is read as (conv, pool)+ flatten (linear, relu)* linear; other shapes are
    /// refused, not run wrongly.
    #[test]
    fn only_conv_pool_blocks_then_linear_layers_are_accepted() {
        let ops = lenet5_ops(&LeNet5::new(10));
        assert!(ConvEngine::from_ops(&ops, 1).is_ok());
        let refused = [
            ops[1..].to_vec(),               // no convolution first
            [&ops[..1], &ops[2..]].concat(), // conv without its pooling
            [&ops[..4], &ops[5..]].concat(), // no flatten
            [&ops[..6], &ops[7..]].concat(), // linear after linear
            ops[..7].to_vec(),               // ends with an activation
            [&ops[..2], &ops[4..]].concat(), // fc1's input width is wrong
        ];
        for bad in refused {
            assert!(ConvEngine::from_ops(&bad, 1).is_err(), "{bad:?}");
        }
    }

    /// Why max-pooling does not use candle's `max_pool2d` (the graph's forward,
    /// [`crate::model::graph::forward`], and [`super::super::pool`] route the gradient to the
    /// maximum instead): its backward gives a unique maximum a quarter of the pooled gradient and
    /// each of four equal entries all of it. If a candle upgrade fixes this, this test fails and
    /// the graph's forward can pool with it again.
    #[test]
    fn candle_max_pool_gradient_scales_by_the_share_of_maxima() {
        use candle_core::{Device, Tensor, Var};
        let v = Var::from_slice(
            &[1f32, 4., 2., 3., 5., 5., 5., 5.],
            (1, 2, 2, 2),
            &Device::Cpu,
        )
        .unwrap();
        let pooled = v.as_tensor().max_pool2d(2).unwrap();
        let weights = Tensor::from_slice(&[1f32, 2.], (1, 2, 1, 1), &Device::Cpu).unwrap();
        let loss = (pooled * weights).unwrap().sum_all().unwrap();
        let g = loss.backward().unwrap();
        let g = g.get(v.as_tensor()).unwrap().flatten_all().unwrap();
        assert_eq!(
            g.to_vec1::<f32>().unwrap(),
            vec![0.0, 0.25, 0.0, 0.0, 2.0, 2.0, 2.0, 2.0]
        );
    }
}
