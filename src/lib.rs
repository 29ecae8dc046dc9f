//! prunecv: reproducible neural-network pruning sweeps with threshold cross-validation.
//!
//! An experiment names a data set, a model, training settings, pruning methods with a τ grid and
//! a cross-validation plan. A sweep trains one dense model per fold, prunes and evaluates it at
//! every (method, τ), chooses τ per method by each selection rule on the validation folds only,
//! and evaluates the model refitted on the whole training pool once on the test split per
//! choice.
//!
//! # Public API
//!
//! The library's surface is small; everything else is internal to the crate. (The `prunecv`
//! binary reaches the internals through a hidden `cli` module that is not part of the API.)
//!
//! - [`config`]: [`config::parse`] and [`config::load`] make an [`config::Experiment`] (what
//!   to run); [`config::MethodKind`] and [`config::SelectRule`] name the pruning methods and the
//!   τ-selection rules.
//! - [`sweep`]: [`sweep::run`] runs an experiment under [`sweep::RunOptions`] and returns a
//!   [`sweep::SweepResult`] holding every table's rows ([`sweep::RunRecord`],
//!   [`sweep::SummaryRow`], [`sweep::SelectionRow`], [`sweep::LayerRow`], …), whose methods and
//!   rules are [`sweep::RowMethod`] and [`sweep::RowRule`]. An [`sweep::Observer`] receives
//!   progress, a [`sweep::CancelToken`] stops a run from another thread, and [`sweep::Mode`]
//!   with [`sweep::Shard`] splits a written run over machines.
//! - Your own model: [`UserModel::candle`] wraps a `candle_nn` module described by its
//!   [`Prunable`] layers (see `examples/candle_module.rs`), [`UserModel::graph`] a layer graph
//!   built with the [`LayerSpec`] builders; [`config::parse_with_model`] reads an experiment
//!   file for it and [`config::Experiment::with_model`] sets it on an experiment.
//! - [`Error`] and [`Result`]: every failure, typed; [`Error::exit_code`] is the binary's
//!   exit-code table.
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

#![warn(missing_docs)]

pub(crate) mod bench;
#[doc(hidden)]
pub mod cli;
pub mod config;
pub(crate) mod data;
pub(crate) mod error;
pub(crate) mod fsio;
pub(crate) mod model;
pub(crate) mod par;
pub(crate) mod prune;
pub(crate) mod report;
pub(crate) mod rng;
pub(crate) mod slurm;
pub(crate) mod speed;
pub(crate) mod starter;
pub mod sweep;
pub(crate) mod train;

pub use error::{Error, Result};
pub use model::candle_module::{Prunable, UserModel};
pub use model::graph::LayerSpec;
