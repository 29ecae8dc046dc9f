//! Timing every selected model of a run (`speed.csv`): each model with every kernel that
//! applies, at batch 1 and 256, one thread, after the tables are written and while nothing else
//! of the run executes. MLPs run on [`Forward`], LeNet-5 on [`ConvForward`]: the same dense,
//! shrunk and CSR kernels for both. Times vary from run to run and machine to machine, so they
//! live in `speed.csv` only, never in the deterministic tables.

use super::conv::ConvForward;
use super::forward::{Forward, Kernel, Net};
use super::timing::{time, Protocol, Timing};
use crate::error::Result;
use crate::model::{Architecture, Masks, Params};
use crate::sweep::ids::{RowMethod, RowRule};
use serde::Serialize;

/// Batch sizes timed.
pub const BATCHES: [usize; 2] = [1, 256];

/// One timed (model, kernel, batch).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpeedRow {
    /// The pruning method, or `dense`.
    pub method: RowMethod,
    /// The rule that chose `tau`.
    pub rule: RowRule,
    /// The chosen threshold (`None` for the dense model).
    pub tau: Option<f64>,
    /// Nominal sparsity of the model's masks.
    pub sparsity: f64,
    /// `dense` (masked model stored dense), `shrunk` (removed units cut out) or `csr`.
    pub kernel: String,
    /// Rows per forward pass.
    pub batch: usize,
    /// Weights the kernel multiplies (stored entries for CSR).
    pub weights: usize,
    /// Per forward pass of the whole batch, microseconds.
    pub median_us: f64,
    /// 25th percentile, microseconds.
    pub p25_us: f64,
    /// 75th percentile, microseconds.
    pub p75_us: f64,
    /// Fastest sample, microseconds.
    pub min_us: f64,
    /// Timed samples.
    pub samples: usize,
    /// Forward passes per timed sample.
    pub inner: usize,
    /// Median of the dense (unpruned) model's dense kernel at this batch ÷ this median.
    pub speedup: f64,
}

/// One model to time.
pub struct Subject<'a> {
    pub method: RowMethod,
    pub rule: RowRule,
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

/// Time one kernel of one model at one batch; `None` for an architecture that neither the MLP
/// path ([`Forward`]) nor the LeNet-5 path ([`ConvForward`]) runs.
fn time_kernel(
    arch: &dyn Architecture,
    s: &Subject,
    kernel: Kernel,
    x: &[f32],
    batch: usize,
    p: Protocol,
) -> Option<(usize, Timing)> {
    if let Some(f) = Forward::build(arch, s.params, s.masks, kernel) {
        return Some(time_net(&f, x, batch, p));
    }
    let f = ConvForward::build(arch, s.params, s.masks, kernel)?;
    Some(time_net(&f, x, batch, p))
}

/// Weights multiplied and the timing of `net` on row-major input rows `x`.
fn time_net<N: Net>(net: &N, x: &[f32], batch: usize, p: Protocol) -> (usize, Timing) {
    let xin = net.input(x, batch);
    let mut bufs = net.buffers(batch);
    let t = time(p, || {
        std::hint::black_box(net.run(std::hint::black_box(&xin), batch, &mut bufs));
    });
    (net.weights(), t)
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
                let Some((weights, t)) = time_kernel(arch, s, k, &x, batch, p) else {
                    continue;
                };
                let base = *reference.get_or_insert(t.median);
                out.push(SpeedRow {
                    method: s.method,
                    rule: s.rule,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::lenet::INPUT_DIM;
    use crate::prune::{expand, Granularity};
    use crate::rng::Rng;
    use std::time::Duration;

    /// A LeNet-5 with conv2 channels removed is timed with all three kernels (from the conv
    /// path), each counting the weights it multiplies; the dense model with the dense kernel.
    #[test]
    fn lenet5_subjects_get_dense_shrunk_and_csr() {
        let net = crate::model::testing::lenet5(3, 4, 8, 3);
        let params = net.init(&mut Rng::new(2));
        let dense = Masks::dense(&params);
        let mut pruned = dense.clone();
        let layers = net.layers();
        let gone = [true, false, false, true];
        expand(Granularity::Unit, &layers[1], &gone, &params, &mut pruned);
        let subject = |method, masks| Subject {
            method,
            rule: RowRule::Rule(crate::config::SelectRule::Best),
            tau: None,
            params: &params,
            masks,
        };
        let subjects = [
            subject(RowMethod::Dense, &dense),
            subject(crate::config::MethodKind::Importance.into(), &pruned),
        ];
        let rows: Vec<f32> = (0..2 * INPUT_DIM).map(|i| (i % 7) as f32 / 7.0).collect();
        let p = Protocol {
            warmup: Duration::ZERO,
            samples: 1,
            min_sample: Duration::ZERO,
        };
        let out = measure(&net, &subjects, &rows, INPUT_DIM, p).unwrap();
        let got: Vec<(&str, &str, usize, usize)> = out
            .iter()
            .map(|r| (r.method.as_str(), r.kernel.as_str(), r.batch, r.weights))
            .collect();
        // 3·25 + 4·3·25 + 8·64 + 3·8 = 911 weights; removing 2 conv2 channels takes 2·75 of
        // conv2 and 8·2·16 of fc1 with them.
        let mut want = Vec::new();
        for batch in BATCHES {
            want.extend([
                ("dense", "dense", batch, 911),
                ("importance", "dense", batch, 911),
                ("importance", "shrunk", batch, 505),
                ("importance", "csr", batch, 505),
            ]);
        }
        assert_eq!(got, want);
        assert!(out.iter().all(|r| r.median_us > 0.0 && r.speedup > 0.0));
    }
}
