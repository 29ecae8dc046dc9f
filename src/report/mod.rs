//! Turning records into bytes: CSV tables and the run manifest. Nothing here touches the file
//! system; the sweep writes what these functions return.

pub mod manifest;

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
