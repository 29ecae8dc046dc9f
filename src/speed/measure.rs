//! Timing every selected model of a run (`speed.csv`): each model with every kernel that
//! applies, at batch 1 and 256, one thread, after the tables are written and while nothing else
//! of the run executes. Times vary from run to run and machine to machine, so they live in
//! `speed.csv` only, never in the deterministic tables.

use super::forward::{feature_major, Forward, Kernel};
use super::timing::{time, Protocol, Timing};
use crate::error::Result;
use crate::model::lenet::LeNet5;
use crate::model::{Architecture, Masks, Params};
use candle_core::{Device, Tensor};
use serde::Serialize;

/// Batch sizes timed.
pub const BATCHES: [usize; 2] = [1, 256];

/// One timed (model, kernel, batch).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpeedRow {
    pub method: String,
    pub rule: String,
    pub tau: Option<f64>,
    /// Nominal sparsity of the model's masks.
    pub sparsity: f64,
    /// `dense` (masked model stored dense), `shrunk` (removed units cut out) or `csr`.
    pub kernel: String,
    pub batch: usize,
    /// Weights the kernel multiplies (stored entries for CSR).
    pub weights: usize,
    /// Per forward pass of the whole batch, microseconds.
    pub median_us: f64,
    pub p25_us: f64,
    pub p75_us: f64,
    pub min_us: f64,
    pub samples: usize,
    /// Forward passes per timed sample.
    pub inner: usize,
    /// Median of the dense (unpruned) model's dense kernel at this batch ÷ this median.
    pub speedup: f64,
}

/// One model to time.
pub struct Subject<'a> {
    pub method: &'a str,
    pub rule: &'a str,
    pub tau: Option<f64>,
    pub params: &'a Params,
    pub masks: &'a Masks,
}

/// `batch` rows of `rows` (row-major, `d` features), cycling when there are fewer.
fn batch_rows(rows: &[f32], d: usize, batch: usize) -> Vec<f32> {
    let n = (rows.len() / d.max(1)).max(1);
    (0..batch)
        .flat_map(|i| {
            let r = i % n;
            rows.get(r * d..(r + 1) * d)
                .map_or_else(|| vec![0.0; d], <[f32]>::to_vec)
        })
        .collect()
}

/// Time one kernel of one model at one batch; `None` where the kernel does not apply.
fn time_kernel(
    arch: &dyn Architecture,
    s: &Subject,
    kernel: Kernel,
    x: &[f32],
    batch: usize,
    p: Protocol,
) -> Result<Option<(usize, Timing)>> {
    if let Some(mlp) = arch.as_mlp() {
        let f = Forward::build(mlp, s.params, s.masks, kernel);
        let xf = feature_major(x, batch, mlp.widths[0]);
        let mut bufs = f.buffers(batch);
        let t = time(p, || {
            std::hint::black_box(f.run(std::hint::black_box(&xf), batch, &mut bufs));
        });
        return Ok(Some((f.weights(), t)));
    }
    // Other models (LeNet-5) run through candle: the dense and the shrunk network; there is no
    // sparse convolution kernel here.
    let d = x.len() / batch;
    let xt = Tensor::from_slice(x, (batch, d), &Device::Cpu)?;
    let (net, params): (Box<dyn Architecture>, Params) = match kernel {
        Kernel::Csr => return Ok(None),
        Kernel::Dense => {
            let Some(l5) = lenet5_of(arch) else {
                return Ok(None);
            };
            (Box::new(l5), s.masks.apply(s.params))
        }
        Kernel::Shrunk => {
            let Some(l5) = lenet5_of(arch) else {
                return Ok(None);
            };
            let (n, p) = crate::model::shrink::shrink_lenet5(&l5, s.params, s.masks);
            (Box::new(n), p)
        }
    };
    let ts = params.tensors()?;
    let mut err = None;
    let t = time(p, || {
        if let Err(e) = net.forward(&ts, &xt) {
            err = Some(e);
        }
    });
    if let Some(e) = err {
        return Err(e.into());
    }
    Ok(Some((params.count(), t)))
}

/// The LeNet-5 an architecture is, recovered from its description of widths.
fn lenet5_of(arch: &dyn Architecture) -> Option<LeNet5> {
    let layers = arch.layers();
    (layers.len() == 4 && layers[0].name == "conv1").then(|| LeNet5 {
        conv1: layers[0].units,
        conv2: layers[1].units,
        fc1: layers[2].units,
        classes: layers[3].units,
    })
}

/// Time every subject (the first must be the dense model: it is the speed-up reference) with
/// the dense kernel, the shrunk model when pruning removed units, and CSR when weights were
/// pruned, at each of [`BATCHES`]. `rows` are row-major input rows of `d` features.
pub fn measure(
    arch: &dyn Architecture,
    subjects: &[Subject],
    rows: &[f32],
    d: usize,
    p: Protocol,
) -> Result<Vec<SpeedRow>> {
    let layers = arch.layers();
    let mut out = Vec::new();
    for &batch in &BATCHES {
        let x = batch_rows(rows, d, batch);
        let mut reference = None;
        for s in subjects {
            let sparsity = s.masks.sparsity(&layers);
            let shrinks = arch.shrunk_param_count(s.params, s.masks) < s.params.count();
            let mut kernels = vec![Kernel::Dense];
            if shrinks {
                kernels.push(Kernel::Shrunk);
            }
            if sparsity > 0.0 {
                kernels.push(Kernel::Csr);
            }
            for k in kernels {
                let Some((weights, t)) = time_kernel(arch, s, k, &x, batch, p)? else {
                    continue;
                };
                let base = *reference.get_or_insert(t.median);
                out.push(SpeedRow {
                    method: s.method.into(),
                    rule: s.rule.into(),
                    tau: s.tau,
                    sparsity,
                    kernel: k.as_str().into(),
                    batch,
                    weights,
                    median_us: t.median * 1e6,
                    p25_us: t.p25 * 1e6,
                    p75_us: t.p75 * 1e6,
                    min_us: t.min * 1e6,
                    samples: t.samples,
                    inner: t.inner,
                    speedup: base / t.median,
                });
            }
        }
    }
    Ok(out)
}
