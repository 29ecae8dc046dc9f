//! Training and evaluation on CPU with candle: seeded mini-batch order, the fused optimizer of
//! [`optim`], masks enforced after every step, and a divergence check on every loss.

pub mod optim;

use crate::config::TrainSpec;
use crate::data::Table;
use crate::error::Result;
use crate::model::{Architecture, Masks, Params};
use crate::rng::Rng;
use candle_core::{DType, Device, Tensor, Var};

/// A table moved into tensors once, so batches are gathered without re-converting.
pub struct TensorData {
    pub x: Tensor,
    pub y: Tensor,
    pub n: usize,
}

impl TensorData {
    pub fn new(t: &Table) -> Result<Self> {
        Ok(TensorData {
            x: Tensor::from_slice(&t.x, (t.n, t.d), &Device::Cpu)?,
            y: Tensor::from_slice(&t.y, t.n, &Device::Cpu)?,
            n: t.n,
        })
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
    data: &TensorData,
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
    let vars: Vec<Var> = params
        .tensors()?
        .iter()
        .map(Var::from_tensor)
        .collect::<candle_core::Result<_>>()?;
    let sizes: Vec<usize> = params.0.iter().map(|p| p.data.len()).collect();
    let mut opt = optim::Optimizer::new(spec, lr, &sizes);
    let mask_slices = masks.map(|m| m.0.as_slice());
    let mut order: Vec<u32> = (0..data.n as u32).collect();
    let bs = spec.batch_size.min(data.n).max(1);
    let mut steps = 0;
    let mut diverged = false;
    let mut snapshot = None;
    let take = |vars: &[Var], like: &Params| -> Result<Params> {
        let mut p = like.clone();
        for (q, v) in p.0.iter_mut().zip(vars) {
            q.data = v.as_tensor().flatten_all()?.to_vec1::<f32>()?;
        }
        Ok(p)
    };
    'outer: for epoch in 0..epochs {
        if snapshot_epoch == Some(epoch) {
            snapshot = Some(take(&vars, params)?);
        }
        rng.shuffle(&mut order);
        for chunk in order.chunks(bs) {
            let idx = Tensor::from_slice(chunk, chunk.len(), &Device::Cpu)?;
            let xb = data.x.index_select(&idx, 0)?;
            let yb = data.y.index_select(&idx, 0)?;
            let ts: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
            let logits = arch.forward(&ts, &xb)?;
            let loss = candle_nn::loss::cross_entropy(&logits, &yb)?;
            let lv = loss.to_scalar::<f32>()?;
            if !lv.is_finite() {
                diverged = true;
                break 'outer;
            }
            let grads = loss.backward()?;
            let gs: Vec<Tensor> = vars
                .iter()
                .map(|v| {
                    grads
                        .get(v.as_tensor())
                        .cloned()
                        .unwrap_or_else(|| v.as_tensor().zeros_like().expect("zeros"))
                })
                .collect();
            opt.step(&vars, &gs, mask_slices)?;
            steps += 1;
        }
    }
    *params = take(&vars, params)?;
    if snapshot_epoch == Some(epochs) {
        snapshot = Some(params.clone());
    }
    Ok(FitLog {
        steps,
        diverged,
        snapshot,
    })
}

/// Mean cross-entropy and accuracy of `params` on `data`, in fixed-size chunks.
pub fn evaluate(arch: &dyn Architecture, params: &Params, data: &TensorData) -> Result<Eval> {
    let ts = params.tensors()?;
    // Fixed chunk size: results do not depend on how many rows are evaluated together, and
    // memory stays bounded (conv activations of 1024 rows are ~250 MB).
    let chunk = 1024;
    let (mut loss_sum, mut correct) = (0f64, 0usize);
    let mut start = 0;
    while start < data.n {
        let len = chunk.min(data.n - start);
        let xb = data.x.narrow(0, start, len)?;
        let yb = data.y.narrow(0, start, len)?;
        let logits = arch.forward(&ts, &xb)?;
        let loss = candle_nn::loss::cross_entropy(&logits, &yb)?.to_scalar::<f32>()?;
        loss_sum += loss as f64 * len as f64;
        let pred = logits.argmax(1)?;
        correct += pred
            .eq(&yb)?
            .to_dtype(DType::U32)?
            .sum_all()?
            .to_scalar::<u32>()? as usize;
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

/// Mean gradient of the training loss with respect to every parameter, over the first `batches`
/// mini-batches of a seeded shuffle of `data` (used by Taylor saliency).
pub fn mean_gradients(
    arch: &dyn Architecture,
    params: &Params,
    data: &TensorData,
    batch_size: usize,
    batches: usize,
    rng: &mut Rng,
) -> Result<Params> {
    let vars: Vec<Var> = params
        .tensors()?
        .iter()
        .map(Var::from_tensor)
        .collect::<candle_core::Result<_>>()?;
    let ts: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
    let mut order: Vec<u32> = (0..data.n as u32).collect();
    rng.shuffle(&mut order);
    let bs = batch_size.min(data.n).max(1);
    let mut sums: Vec<Vec<f64>> = params.0.iter().map(|p| vec![0.0; p.data.len()]).collect();
    let mut used = 0;
    for chunk in order.chunks(bs).take(batches) {
        let idx = Tensor::from_slice(chunk, chunk.len(), &Device::Cpu)?;
        let logits = arch.forward(&ts, &data.x.index_select(&idx, 0)?)?;
        let loss = candle_nn::loss::cross_entropy(&logits, &data.y.index_select(&idx, 0)?)?;
        let grads = loss.backward()?;
        for (s, v) in sums.iter_mut().zip(&vars) {
            if let Some(g) = grads.get(v.as_tensor()) {
                for (a, b) in s.iter_mut().zip(g.flatten_all()?.to_vec1::<f32>()?) {
                    *a += b as f64;
                }
            }
        }
        used += 1;
    }
    let mut out = params.clone();
    for (p, s) in out.0.iter_mut().zip(sums) {
        p.data = s.iter().map(|v| (v / used.max(1) as f64) as f32).collect();
    }
    Ok(out)
}
