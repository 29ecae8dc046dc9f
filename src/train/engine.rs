//! How a mini-batch's loss and gradients are computed: the [`Engine`] trait, the candle-autograd
//! engine that serves every architecture, and the choice between it and a model's hand-written
//! host engine ([`Architecture::host_engine`]: [`super::mlp_engine`] for MLPs,
//! [`super::conv_engine`] for LeNet-5).

use crate::error::Result;
use crate::model::{Architecture, Params};
use crate::rng::Rng;
use candle_core::{DType, Device, Tensor, Var};

/// Loss, gradients and evaluation of one model. `x` holds `y.len()` contiguous rows of features;
/// gradients come back as one buffer per parameter, in [`Params`] order.
pub trait Engine {
    /// Mean cross-entropy of the batch; writes d(loss)/d(param) into `grads` (all NaN when the
    /// loss is not finite).
    fn loss_and_grads(
        &mut self,
        params: &Params,
        x: &[f32],
        y: &[u32],
        grads: &mut [Vec<f32>],
    ) -> Result<f32>;

    /// Summed cross-entropy (f64) and number of correct arg-max predictions over the rows.
    fn eval(&mut self, params: &Params, x: &[f32], y: &[u32]) -> Result<(f64, usize)>;

    /// New values of the parameters training updates without the optimizer (batch
    /// normalisations' running statistics) from the last [`Engine::loss_and_grads`], as
    /// (parameter index, values); written after the optimizer step.
    fn take_buffer_updates(&mut self) -> Vec<(usize, Vec<f32>)> {
        Vec::new()
    }

    /// A random stream for training-mode noise (dropout); engines without noise ignore it.
    fn set_noise(&mut self, _rng: Rng) {}
}

/// The engine for `arch`: its host engine when it has one, candle otherwise. The host kernels use
/// the threads the sweep's scheduler gives the current task ([`crate::par::kernel_threads`]: 1
/// while other jobs wait, parallelism then coming from the job pool; every worker for the last
/// jobs and a lone refit), or one thread outside a sweep task ([`for_arch_threads`] takes the
/// count explicitly). No environment variable is read.
pub fn for_arch(arch: &dyn Architecture) -> Box<dyn Engine + '_> {
    let threads = crate::par::kernel_threads().unwrap_or(1);
    for_arch_threads(arch, threads)
}

/// [`for_arch`] with the host kernels on `threads` threads of the current rayon pool.
pub fn for_arch_threads(arch: &dyn Architecture, threads: usize) -> Box<dyn Engine + '_> {
    arch.host_engine(threads)
        .unwrap_or_else(|| Box::new(CandleEngine::new(arch)))
}

/// Forward pass and autograd through candle tensors: works for any [`Architecture`].
pub struct CandleEngine<'a> {
    arch: &'a dyn Architecture,
    noise: Option<Rng>,
    updates: Vec<(usize, Vec<f32>)>,
}

impl<'a> CandleEngine<'a> {
    pub fn new(arch: &'a dyn Architecture) -> Self {
        CandleEngine {
            arch,
            noise: None,
            updates: Vec::new(),
        }
    }

    fn inputs(&self, x: &[f32], y: &[u32]) -> Result<(Tensor, Tensor)> {
        let rows = y.len();
        let d = x.len().checked_div(rows).unwrap_or(0);
        Ok((
            Tensor::from_slice(x, (rows, d), &Device::Cpu)?,
            Tensor::from_slice(y, rows, &Device::Cpu)?,
        ))
    }
}

impl Engine for CandleEngine<'_> {
    fn loss_and_grads(
        &mut self,
        params: &Params,
        x: &[f32],
        y: &[u32],
        grads: &mut [Vec<f32>],
    ) -> Result<f32> {
        let vars: Vec<Var> = params
            .0
            .iter()
            .map(|p| Var::from_slice(&p.data, p.shape.as_slice(), &Device::Cpu))
            .collect::<candle_core::Result<_>>()?;
        let ts: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
        let (xb, yb) = self.inputs(x, y)?;
        let (logits, updates) = self.arch.forward_train(&ts, &xb, self.noise.as_mut())?;
        self.updates = updates
            .into_iter()
            .map(|(i, t)| Ok((i, t.flatten_all()?.to_vec1::<f32>()?)))
            .collect::<candle_core::Result<_>>()?;
        let loss = candle_nn::loss::cross_entropy(&logits, &yb)?;
        let lv = loss.to_scalar::<f32>()?;
        if !lv.is_finite() {
            grads.iter_mut().for_each(|g| g.fill(f32::NAN));
            return Ok(lv);
        }
        let gs = loss.backward()?;
        for (g, v) in grads.iter_mut().zip(&vars) {
            match gs.get(v.as_tensor()) {
                Some(t) => *g = t.flatten_all()?.to_vec1::<f32>()?,
                None => g.fill(0.0),
            }
        }
        Ok(lv)
    }

    fn take_buffer_updates(&mut self) -> Vec<(usize, Vec<f32>)> {
        std::mem::take(&mut self.updates)
    }

    fn set_noise(&mut self, rng: Rng) {
        self.noise = Some(rng);
    }

    fn eval(&mut self, params: &Params, x: &[f32], y: &[u32]) -> Result<(f64, usize)> {
        let ts = params.tensors()?;
        let (xb, yb) = self.inputs(x, y)?;
        let logits = self.arch.forward(&ts, &xb)?;
        let loss = candle_nn::loss::cross_entropy(&logits, &yb)?.to_scalar::<f32>()?;
        let correct = logits
            .argmax(1)?
            .eq(&yb)?
            .to_dtype(DType::U32)?
            .sum_all()?
            .to_scalar::<u32>()? as usize;
        Ok((loss as f64 * y.len() as f64, correct))
    }
}
