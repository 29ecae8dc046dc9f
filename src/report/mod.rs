//! Reporting: CSV tables and the manifest as bytes ([`csv_bytes`], [`manifest`]), the Markdown
//! report ([`markdown`]) and the figures ([`plot`]), all derived from a run's CSV files. Only
//! `plot::render_all` writes (atomically, into `<run dir>/plots/`); the rest return bytes.

pub mod effects;
pub mod manifest;
pub mod markdown;
pub mod plot;
pub mod speed_report;

use crate::error::Result;
use serde::Serialize;

/// Serialise rows as CSV with a header (floats in shortest round-trip form).
pub fn csv_bytes<T: Serialize>(rows: &[T]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r)?;
    }
    w.into_inner()
        .map_err(|e| crate::error::Error::Invalid(format!("csv buffer: {e}")))
}
