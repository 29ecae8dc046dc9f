//! Training and evaluation on CPU: seeded mini-batch order, an [`engine::Engine`] for the loss
//! and gradients (hand-written kernels for MLPs and LeNet-5, candle autograd for any other
//! model), the fused
//! optimizer of [`optim`], masks enforced after every step, and a divergence check on every loss.

pub mod conv_engine;
pub mod direct_conv;
pub mod engine;
pub mod im2col;
pub mod lr;
pub(crate) mod matmul;
pub mod mlp_engine;
pub mod optim;
pub mod pool;

use crate::config::TrainSpec;
use crate::data::Table;
use crate::error::Result;
use crate::model::{Architecture, Masks, Params};
use crate::rng::Rng;

/// Revision of the training numerics (engine, optimizer arithmetic, initialisation). Bump it with
/// any change that alters trained weights, even by rounding: it is part of the dense-model cache
/// key, so models cached by older code are retrained rather than reused. 2: the MLP engine.
/// 3: the LeNet-5 engine ([`conv_engine`]; MLP numerics unchanged). 4: max-pooling's gradient
/// goes to the maximum (split among ties), not candle's quarter of it (LeNet-5 only).
pub const NUMERICS: u32 = 4;

/// A standardised table held as contiguous host rows, from which batches are gathered and
/// evaluation chunks are sliced without copying.
pub struct HostData {
    x: Vec<f32>,
    y: Vec<u32>,
    pub n: usize,
    d: usize,
}

impl From<Table> for HostData {
    /// Takes the table's rows over (no copy).
    fn from(t: Table) -> Self {
        HostData {
            x: t.x,
            y: t.y,
            n: t.n,
            d: t.d,
        }
    }
}

impl HostData {
    /// Copy the rows `idx` into `xb` and `yb` (cleared first).
    fn gather(&self, idx: &[u32], xb: &mut Vec<f32>, yb: &mut Vec<u32>) {
        xb.clear();
        yb.clear();
        for &i in idx {
            let i = i as usize;
            xb.extend_from_slice(&self.x[i * self.d..(i + 1) * self.d]);
            yb.push(self.y[i]);
        }
    }

    /// The feature rows (row-major, `n × d`) and `d`, for speed measurements.
    pub fn features(&self) -> (&[f32], usize) {
        (&self.x, self.d)
    }

    /// At most `max` rows spread evenly over these (every ⌈n / max⌉-th row from the first), for
    /// measurements that need a sample of the rows rather than all of them.
    pub fn spread(&self, max: usize) -> HostData {
        let step = self.n.div_ceil(max.max(1)).max(1);
        let idx: Vec<u32> = (0..self.n).step_by(step).map(|i| i as u32).collect();
        let (mut x, mut y) = (Vec::new(), Vec::new());
        self.gather(&idx, &mut x, &mut y);
        HostData {
            x,
            y,
            n: idx.len(),
            d: self.d,
        }
    }

    /// Rows `start..start + len`, without copying.
    fn rows(&self, start: usize, len: usize) -> (&[f32], &[u32]) {
        (
            &self.x[start * self.d..(start + len) * self.d],
            &self.y[start..start + len],
        )
    }
}

/// Loss and accuracy on a data set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Eval {
    pub loss: f64,
    pub acc: f64,
    pub correct: usize,
    pub n: usize,
}

/// What a training run reports.
#[derive(Debug, Clone, PartialEq)]
pub struct FitLog {
    pub steps: usize,
    /// A loss became NaN or infinite; training stopped there.
    pub diverged: bool,
    /// Parameters after `Budget::snapshot_epoch` epochs, when asked for.
    pub snapshot: Option<Params>,
}

/// How long and how fast one training phase runs (dense training, fine-tuning, a round).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    pub epochs: usize,
    pub lr: f64,
    /// Keep a copy of the parameters after this many epochs (0 = before training), for rewinding.
    pub snapshot_epoch: Option<usize>,
}

impl Budget {
    /// The dense-training budget of an experiment.
    pub fn of(spec: &TrainSpec) -> Self {
        Budget {
            epochs: spec.epochs,
            lr: spec.lr,
            snapshot_epoch: None,
        }
    }

    /// `epochs` at `lr`, no snapshot.
    pub fn new(epochs: usize, lr: f64) -> Self {
        Budget {
            epochs,
            lr,
            snapshot_epoch: None,
        }
    }
}

/// Train `params` in place for `budget.epochs` epochs at `budget.lr`. When `masks` is given,
/// masked entries are zeroed before the first step and after every step (optimizer state too).
pub fn fit(
    arch: &dyn Architecture,
    params: &mut Params,
    masks: Option<&Masks>,
    data: &HostData,
    spec: &TrainSpec,
    budget: Budget,
    rng: &mut Rng,
) -> Result<FitLog> {
    fit_with(
        engine::for_arch(arch),
        params,
        masks,
        data,
        spec,
        budget,
        rng,
    )
}

/// [`fit`] through a given engine (the benchmark compares the MLP engine with candle's autograd).
pub fn fit_with(
    mut engine: Box<dyn engine::Engine + '_>,
    params: &mut Params,
    masks: Option<&Masks>,
    data: &HostData,
    spec: &TrainSpec,
    budget: Budget,
    rng: &mut Rng,
) -> Result<FitLog> {
    let Budget {
        epochs,
        lr,
        snapshot_epoch,
    } = budget;
    if let Some(m) = masks {
        *params = m.apply(params);
    }
    let mut grads = zeros_like(params);
    let sizes: Vec<usize> = grads.iter().map(Vec::len).collect();
    let mut opt = optim::Optimizer::new(spec, lr, &sizes);
    let mask_slices = masks.map(|m| m.0.as_slice());
    // Dropout's stream, seeded from a copy of the shuffling stream (which it leaves as is).
    engine.set_noise(Rng::stream(rng.clone().next_u64(), "dropout", &[]));
    let mut order: Vec<u32> = (0..data.n as u32).collect();
    let bs = spec.batch_size.min(data.n).max(1);
    let (mut xb, mut yb) = (Vec::new(), Vec::new());
    let mut steps = 0;
    let mut diverged = false;
    let mut snapshot = None;
    'outer: for epoch in 0..epochs {
        if snapshot_epoch == Some(epoch) {
            snapshot = Some(params.clone());
        }
        opt.lr = spec.lr_schedule.rate(lr, epoch, epochs) as f32;
        rng.shuffle(&mut order);
        for chunk in order.chunks(bs) {
            data.gather(chunk, &mut xb, &mut yb);
            let loss = engine.loss_and_grads(params, &xb, &yb, &mut grads)?;
            if !loss.is_finite() {
                diverged = true;
                break 'outer;
            }
            opt.step(params, &grads, mask_slices)?;
            for (i, v) in engine.take_buffer_updates() {
                params.0[i].data = v;
            }
            steps += 1;
        }
    }
    if snapshot_epoch == Some(epochs) {
        snapshot = Some(params.clone());
    }
    Ok(FitLog {
        steps,
        diverged,
        snapshot,
    })
}

/// One zero buffer per parameter, for gradients.
pub fn zeros_like(params: &Params) -> Vec<Vec<f32>> {
    params.0.iter().map(|p| vec![0.0; p.data.len()]).collect()
}

/// Mean cross-entropy and accuracy of `params` on `data`, in fixed-size chunks.
pub fn evaluate(arch: &dyn Architecture, params: &Params, data: &HostData) -> Result<Eval> {
    let mut engine = engine::for_arch(arch);
    // Fixed chunk size: results do not depend on how many rows are evaluated together, and
    // memory stays bounded (conv activations of 1024 rows are ~250 MB).
    let chunk = 1024;
    let (mut loss_sum, mut correct) = (0f64, 0usize);
    let mut start = 0;
    while start < data.n {
        let len = chunk.min(data.n - start);
        let (x, y) = data.rows(start, len);
        let (l, c) = engine.eval(params, x, y)?;
        loss_sum += l;
        correct += c;
        start += len;
    }
    let n = data.n.max(1);
    Ok(Eval {
        loss: loss_sum / n as f64,
        acc: correct as f64 / n as f64,
        correct,
        n: data.n,
    })
}

#[cfg(test)]
mod tests;

/// Wanda's input norms: for each prunable layer of `arch`, the ℓ2 norm over every row of `data`
/// of each input its weight rows multiply ([`Architecture::input_sq_sums`]), summed in f64 over
/// fixed 1024-row chunks so the result does not depend on threading.
pub fn input_norms(
    arch: &dyn Architecture,
    params: &Params,
    data: &HostData,
) -> Result<Vec<Vec<f32>>> {
    let ts = params.tensors()?;
    let mut sums: Vec<Vec<f64>> = Vec::new();
    let mut start = 0;
    while start < data.n {
        let len = 1024.min(data.n - start);
        let (x, _) = data.rows(start, len);
        let xt = candle_core::Tensor::from_slice(x, (len, data.d), &candle_core::Device::Cpu)?;
        for (l, t) in arch.input_sq_sums(&ts, &xt)?.iter().enumerate() {
            let v = t.to_vec1::<f32>()?;
            if sums.len() <= l {
                sums.push(vec![0.0; v.len()]);
            }
            sums[l]
                .iter_mut()
                .zip(v)
                .for_each(|(a, b)| *a += f64::from(b));
        }
        start += len;
    }
    Ok(sums
        .into_iter()
        .map(|s| s.into_iter().map(|v| v.sqrt() as f32).collect())
        .collect())
}

/// Mean gradient of the training loss with respect to every parameter, over the first `batches`
/// mini-batches of a seeded shuffle of `data` (used by Taylor saliency).
pub fn mean_gradients(
    arch: &dyn Architecture,
    params: &Params,
    data: &HostData,
    batch_size: usize,
    batches: usize,
    rng: &mut Rng,
) -> Result<Params> {
    let mut engine = engine::for_arch(arch);
    let mut grads = zeros_like(params);
    let mut order: Vec<u32> = (0..data.n as u32).collect();
    rng.shuffle(&mut order);
    let bs = batch_size.min(data.n).max(1);
    let mut sums: Vec<Vec<f64>> = grads.iter().map(|g| vec![0.0; g.len()]).collect();
    let (mut xb, mut yb) = (Vec::new(), Vec::new());
    let mut used = 0;
    for chunk in order.chunks(bs).take(batches) {
        data.gather(chunk, &mut xb, &mut yb);
        engine.loss_and_grads(params, &xb, &yb, &mut grads)?;
        for (s, g) in sums.iter_mut().zip(&grads) {
            s.iter_mut().zip(g).for_each(|(a, &b)| *a += b as f64);
        }
        used += 1;
    }
    let mut out = params.clone();
    for (p, s) in out.0.iter_mut().zip(sums) {
        p.data = s.iter().map(|v| (v / used.max(1) as f64) as f32).collect();
    }
    Ok(out)
}
