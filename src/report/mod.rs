//! Reporting: CSV tables and the manifest as bytes ([`csv_bytes`], [`manifest`]), the Markdown
//! and LaTeX reports ([`markdown`], [`latex`]), paired comparisons of methods ([`pairwise`], on
//! [`stats`]), the figures ([`plot`]) and comparisons of several runs ([`compare`]), all derived
//! from runs' CSV files. Only [`write_reports`], `plot::render_all` and `compare::write` write
//! (atomically); the rest return bytes.

pub mod compare;
pub mod effects;
pub mod latex;
pub mod manifest;
pub mod markdown;
pub mod pairwise;
pub mod plot;
pub mod speed_report;
pub mod stats;

#[cfg(test)]
pub(crate) mod run_dir_tests;

use crate::error::Result;
use serde::Serialize;

/// Serialise rows as CSV with a header (floats in shortest round-trip form).
pub fn csv_bytes<T: Serialize>(rows: &[T]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r)?;
    }
    w.into_inner()
        .map_err(|e| crate::error::Error::Internal(format!("csv buffer: {e}")))
}

/// Write `pairwise.csv`, `report.md` and `report.tex` into `run_dir` (each atomically), from its
/// tables; returns the Markdown report.
pub fn write_reports(run_dir: &std::path::Path) -> Result<String> {
    write_reports_with(run_dir, &plot::RunData::load(run_dir)?)
}

/// [`write_reports`] from tables already in memory.
pub fn write_reports_with(run_dir: &std::path::Path, data: &plot::RunData) -> Result<String> {
    let pairs = pairwise::load_if_present(run_dir)?;
    crate::fsio::write_atomic(&run_dir.join("pairwise.csv"), &pairwise::csv(&pairs)?)?;
    let md = markdown::render_with(data, &pairs) + &markdown::appendix(run_dir)?;
    crate::fsio::write_atomic(&run_dir.join("report.md"), md.as_bytes())?;
    let tex = latex::render(data, &pairs);
    crate::fsio::write_atomic(&run_dir.join("report.tex"), tex.as_bytes())?;
    Ok(md)
}
