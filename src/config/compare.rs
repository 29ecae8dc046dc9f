//! A comparison file: `prunecv compare FILE.yaml` with a `compare:` section (the run
//! directories, the output directory, whether different data is allowed) and an optional
//! `plots:` section (the figure size, as in an experiment). Paths are relative to the file.
//!
//! ```yaml
//! compare:
//!   runs: [results/digits-mlp, results/digits-finetune]
//!   out: results/compare-schedules
//!   allow_different_data: false
//!   methods: [magnitude, random]     # optional: only these (dense baselines kept)
//! plots: {width_in: 3.3, font_pt: 8}
//! ```

use super::plots::{PlotsSpec, RawPlots};
use crate::error::{Error, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCompareFile {
    compare: RawCompare,
    #[serde(default)]
    plots: Option<RawPlots>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCompare {
    runs: Vec<String>,
    out: String,
    #[serde(default)]
    allow_different_data: bool,
    #[serde(default)]
    methods: Vec<super::MethodKind>,
}

/// A resolved comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareSpec {
    pub runs: Vec<PathBuf>,
    pub out: PathBuf,
    pub allow_different_data: bool,
    /// Methods to keep (all when empty).
    pub methods: Vec<super::MethodKind>,
    pub plots: PlotsSpec,
}

/// Read and resolve a comparison file.
pub fn load(path: &Path) -> Result<CompareSpec> {
    let file = path.display().to_string();
    let bytes =
        std::fs::read(path).map_err(|e| Error::config(&file, format!("cannot read it: {e}")))?;
    let text =
        String::from_utf8(bytes).map_err(|_| Error::config(&file, "not valid UTF-8 text"))?;
    let raw: RawCompareFile =
        serde_yaml_ng::from_str(&text).map_err(|e| Error::config(&file, e.to_string()))?;
    if raw.compare.runs.is_empty() {
        return Err(Error::config(
            &file,
            "field `compare.runs`: expected at least one run directory, found an empty list",
        ));
    }
    let base = path.parent().unwrap_or(Path::new(""));
    let rel = |p: &str| {
        if Path::new(p).is_relative() {
            base.join(p)
        } else {
            PathBuf::from(p)
        }
    };
    Ok(CompareSpec {
        runs: raw.compare.runs.iter().map(|r| rel(r)).collect(),
        out: rel(&raw.compare.out),
        allow_different_data: raw.compare.allow_different_data,
        methods: raw.compare.methods,
        plots: super::plots::resolve(raw.plots, &file)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_relative_to_the_file_and_typos_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("cmp.yaml");
        std::fs::write(
            &p,
            "compare: {runs: [r/a, /abs/b], out: figs}\nplots: {width_in: 3.3}\n",
        )
        .unwrap();
        let c = load(&p).unwrap();
        assert_eq!(c.runs, [dir.path().join("r/a"), PathBuf::from("/abs/b")]);
        assert_eq!(c.out, dir.path().join("figs"));
        assert!(!c.allow_different_data);
        assert_eq!(c.plots.width_in, 3.3);
        std::fs::write(
            &p,
            "compare: {runs: [a], out: o, allow_diferent_data: true}\n",
        )
        .unwrap();
        let e = load(&p).unwrap_err().to_string();
        assert!(
            e.contains("cmp.yaml") && e.contains("allow_diferent_data"),
            "{e}"
        );
    }
}
