//! prunecv: reproducible neural-network pruning sweeps with threshold cross-validation.
//!
//! An experiment ([`config`]) names a data set ([`data`]), a model ([`model`]), training
//! settings ([`train`]), pruning methods and a τ grid ([`prune`]) and a cross-validation plan.
//! [`sweep`] runs it and [`report`] turns its records into CSV tables and a manifest.
//!
//! # Embedding
//!
//! [`sweep::run`] with [`sweep::RunOptions::default()`] sweeps in memory: nothing is written,
//! nothing is printed, and the returned [`sweep::SweepResult`] holds every table's rows. Set
//! `write: true` (and `out_root`) for the run directory the CLI writes; give an
//! [`sweep::Observer`] for progress and a [`sweep::CancelToken`] to stop it from another thread.
//!
//! ```
//! use prunecv::config::{MethodKind, SelectRule};
//! use prunecv::sweep::{self, RowRule, RunOptions};
//!
//! // The built-in digits (1,797 images, 8×8), a small MLP, three folds, magnitude and random
//! // pruning at three thresholds.
//! let exp = prunecv::config::parse(
//!     "name: doc
//! seed: 1
//! data: {source: builtin, name: digits}
//! model: {kind: mlp, hidden: [32]}
//! train: {optimizer: sgd, lr: 0.05, momentum: 0.9, epochs: 5, batch_size: 64}
//! prune:
//!   methods: [magnitude, random]
//!   tau: {unit: quantile, values: [0.0, 0.5, 0.9]}
//! cv: {folds: 3, select: [best, one_se]}
//! ",
//!     "doc.yaml",
//!     &[],
//! )?;
//! let result = sweep::run(&exp, &RunOptions::default())?;
//! assert!(result.dir.is_none()); // nothing was written
//! // One validation record per fold model (dense) and per (fold, method, τ).
//! assert_eq!(result.records.len(), 3 + 3 * 2 * 3);
//! // τ chosen on validation folds by each rule, then the test split touched once per choice.
//! let chosen = result
//!     .selection
//!     .iter()
//!     .find(|r| r.method == MethodKind::Magnitude && r.rule == RowRule::Rule(SelectRule::OneSe))
//!     .unwrap();
//! assert!(chosen.test_acc > 0.8, "{chosen:?}");
//! # Ok::<(), prunecv::Error>(())
//! ```

pub mod bench;
pub mod config;
pub mod data;
pub mod error;
pub mod fsio;
pub mod model;
pub mod par;
pub mod prune;
pub mod report;
pub mod rng;
pub mod slurm;
pub mod speed;
pub mod starter;
pub mod sweep;
pub mod train;

pub use error::{Error, Result};
