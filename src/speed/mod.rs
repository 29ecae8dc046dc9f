//! Measured inference speed of pruned models (issue 18): does pruning make the model faster?
//!
//! [`csr`] is our own CSR × dense kernel, [`forward`] runs an MLP with the dense, shrunk or CSR
//! kernel, [`conv`] runs LeNet-5 with the same three kernels (convolutions as im2col),
//! [`timing`] is the measurement protocol, [`measure`] times a run's selected models
//! (`speed.csv`) and [`bench`] produces the LeNet-300-100 and LeNet-5 speed-up tables of
//! `docs/benchmarks.md` (`prunecv bench --speedup`).

pub mod bench;
pub mod conv;
pub mod csr;
pub mod forward;
pub mod measure;
pub mod timing;
