//! prunecv: reproducible neural-network pruning sweeps with threshold cross-validation.
//!
//! An experiment ([`config`]) names a data set ([`data`]), a model ([`model`]), training
//! settings ([`train`]), pruning methods and a τ grid ([`prune`]) and a cross-validation plan.
//! [`sweep`] runs it and [`report`] turns its records into CSV tables and a manifest.

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
