//! A finished sweep held in memory: every table's rows. [`SweepResult::tables`] turns it into
//! the bytes of each CSV file (an exporter: no I/O); the runner writes them.

use super::records::*;
use super::sensitivity::SensitivityRow;
use crate::error::Result;
use crate::report::csv_bytes;
use crate::speed::measure::SpeedRow;
use std::path::PathBuf;

/// Every record of a run (a shard's result has only `dir`).
#[derive(Debug, Clone, Default)]
pub struct SweepResult {
    /// The run directory (`None`: the run wrote nothing).
    pub dir: Option<PathBuf>,
    /// Where every sample went (`folds.csv`).
    pub folds: Vec<FoldRow>,
    /// One row per (fold model, method, τ) and one per dense fold model.
    pub records: Vec<RunRecord>,
    /// Per-round sparsity and accuracy of iterative and gradual schedules.
    pub trajectory: Vec<TrajectoryRow>,
    /// Mean ± SE over the folds per (method, τ) (`summary.csv`).
    pub summary: Vec<SummaryRow>,
    /// Each layer pruned alone (`sensitivity.csv`).
    pub sensitivity: Vec<SensitivityRow>,
    /// The τ each rule chose per method, tested once on the test split (`selection.csv`).
    pub selection: Vec<SelectionRow>,
    /// Per-layer sparsity of each selected model (`layers.csv`).
    pub layers: Vec<LayerRow>,
    /// Forward-pass timings of the selected models (`speed.csv`; machine-dependent).
    pub speed: Vec<SpeedRow>,
    /// Wall time of every unit of work (`timings.csv`; machine-dependent).
    pub timings: Vec<TimingRow>,
}

impl SweepResult {
    /// File name and CSV bytes of every table (`trajectory.csv` only when a schedule has
    /// rounds), in the order a run writes them.
    pub fn tables(&self) -> Result<Vec<(&'static str, Vec<u8>)>> {
        let mut out = vec![("folds.csv", csv_bytes(&self.folds)?)];
        if !self.trajectory.is_empty() {
            out.push(("trajectory.csv", csv_bytes(&self.trajectory)?));
        }
        out.extend([
            ("runs.csv", csv_bytes(&self.records)?),
            ("summary.csv", csv_bytes(&self.summary)?),
            ("sensitivity.csv", csv_bytes(&self.sensitivity)?),
            ("selection.csv", csv_bytes(&self.selection)?),
            ("layers.csv", csv_bytes(&self.layers)?),
            ("speed.csv", csv_bytes(&self.speed)?),
            ("timings.csv", csv_bytes(&self.timings)?),
        ]);
        Ok(out)
    }
}
