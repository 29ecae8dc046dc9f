//! `prunecv compare`: several finished runs on one figure and in one tidy table.
//!
//! Reads each run directory's `summary.csv` (and `resolved.yaml` for its name), checks that the
//! runs used the same data — the same `data.sha256` fingerprint (data content and test split)
//! and the same test rows in `folds.csv` — unless told otherwise, and returns
//! `comparison.csv` (one row per run × method × τ, dense baselines included) and the overlay
//! chart of every run's methods (series "run · method": a method keeps its colour and marker in
//! every run, each run has its own line dash). [`write`] writes the table and the figure (SVG,
//! PNG, PDF) into the output directory, atomically.

use crate::config::MethodKind;
use crate::error::{Error, Result};
use crate::fsio;
use crate::report::plot::data::{parse_rows, Compared, RunData};
use crate::report::plot::{self, Figure};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One run directory, loaded.
#[derive(Debug, Clone)]
pub struct Run {
    pub dir: PathBuf,
    /// The run's label: its experiment name, made unique among the compared runs.
    pub label: String,
    pub data: RunData,
    /// `data.sha256`, trimmed; `None` when the file is absent.
    pub fingerprint: Option<String>,
    /// `(sample, label)` of `folds.csv`'s test rows, sorted; `None` when the file is absent.
    pub test_rows: Option<Vec<(u64, u64)>>,
}

#[derive(Deserialize)]
struct FoldsRow {
    sample: u64,
    label: u64,
    role: String,
}

/// One row of `comparison.csv` (tidy: one observation per row).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComparisonRow {
    pub run: String,
    pub method: crate::sweep::ids::RowMethod,
    /// Empty for the dense baseline.
    pub tau: Option<f64>,
    pub tau_unit: String,
    /// Mean sparsity over folds.
    pub sparsity: f64,
    pub mean_val_acc: f64,
    pub se_val_acc: f64,
    /// Folds averaged.
    pub n: usize,
}

fn read_optional(p: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(p) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::data(
            p.display().to_string(),
            format!("cannot read it: {e}"),
        )),
    }
}

/// Load the run directories, in the order given; labels are the run names, with `#2`, `#3`, …
/// appended to repeats.
pub fn load(dirs: &[PathBuf]) -> Result<Vec<Run>> {
    let mut runs: Vec<Run> = Vec::new();
    for dir in dirs {
        let data = RunData::load(dir)?;
        let fingerprint = read_optional(&dir.join("data.sha256"))?.map(|t| t.trim().to_string());
        let folds_path = dir.join("folds.csv");
        let test_rows = match read_optional(&folds_path)? {
            Some(t) => {
                let rows: Vec<FoldsRow> = parse_rows(&t, &folds_path.display().to_string())?;
                let mut v: Vec<(u64, u64)> = rows
                    .into_iter()
                    .filter(|r| r.role == "test")
                    .map(|r| (r.sample, r.label))
                    .collect();
                v.sort_unstable();
                v.dedup();
                Some(v)
            }
            None => None,
        };
        let mut label = data.name.clone();
        let mut k = 2;
        while runs.iter().any(|r| r.label == label) {
            label = format!("{}#{k}", data.name);
            k += 1;
        }
        runs.push(Run {
            dir: dir.clone(),
            label,
            data,
            fingerprint,
            test_rows,
        });
    }
    Ok(runs)
}

/// Refuse runs whose data or test split differ from the first run's (or cannot be checked).
pub fn check_same_data(runs: &[Run]) -> Result<()> {
    let Some(first) = runs.first() else {
        return Ok(());
    };
    let hint =
        "pass --allow-different-data (or `allow_different_data: true`) to compare them anyway";
    for r in runs {
        for (what, file, missing) in [
            ("data fingerprint", "data.sha256", r.fingerprint.is_none()),
            ("test split", "folds.csv", r.test_rows.is_none()),
        ] {
            if missing {
                return Err(Error::data(
                    r.dir.join(file).display().to_string(),
                    format!("missing, so the run's {what} cannot be checked; {hint}"),
                ));
            }
        }
    }
    for r in &runs[1..] {
        if r.fingerprint != first.fingerprint {
            return Err(Error::Usage(format!(
                "{} and {} were run on different data (data.sha256 {} vs {}); {hint}",
                first.dir.display(),
                r.dir.display(),
                short(first.fingerprint.as_deref()),
                short(r.fingerprint.as_deref()),
            )));
        }
        if r.test_rows != first.test_rows {
            return Err(Error::Usage(format!(
                "{} and {} have different test splits (test rows of folds.csv differ); {hint}",
                first.dir.display(),
                r.dir.display(),
            )));
        }
    }
    Ok(())
}

fn short(s: Option<&str>) -> String {
    s.map_or("?".into(), |s| s.chars().take(12).collect())
}

/// The tidy rows of every run's `summary.csv`, runs in the given order, rows in file order.
pub fn rows(runs: &[Run]) -> Vec<ComparisonRow> {
    runs.iter()
        .flat_map(|r| {
            r.data.summary.iter().map(|s| ComparisonRow {
                run: r.label.clone(),
                method: s.method,
                tau: s.tau,
                tau_unit: s.tau_unit.clone(),
                sparsity: s.mean_sparsity,
                mean_val_acc: s.mean_val_acc,
                se_val_acc: s.se_val_acc,
                n: s.n,
            })
        })
        .collect()
}

/// The runs as one [`RunData`] for the overlay chart: every run's label and summary in
/// [`RunData::compared`], nothing else.
pub fn overlay(runs: &[Run]) -> RunData {
    let names: Vec<&str> = runs.iter().map(|r| r.label.as_str()).collect();
    RunData {
        name: names.join(" vs "),
        summary: Vec::new(),
        selection: Vec::new(),
        layers: Vec::new(),
        trajectory: None,
        compared: runs
            .iter()
            .map(|r| Compared {
                label: r.label.clone(),
                summary: r.data.summary.clone(),
            })
            .collect(),
    }
}

/// Load, check and write `out/comparison.csv` and `out/comparison.{svg,png,pdf}`. Returns the
/// written paths.
///
/// `methods`, when not empty, keeps only those methods (and the dense baselines); a name that no
/// run has is an error.
pub fn write(
    dirs: &[PathBuf],
    out: &Path,
    allow_different_data: bool,
    methods: &[MethodKind],
    fig: &Figure,
) -> Result<Vec<PathBuf>> {
    if dirs.is_empty() {
        return Err(Error::Usage("compare: no run directory given".into()));
    }
    let mut runs = load(dirs)?;
    for &m in methods {
        if !runs
            .iter()
            .any(|r| r.data.summary.iter().any(|s| s.method == m))
        {
            return Err(Error::Usage(format!(
                "compare: no run has the method `{m}` (in its summary.csv)"
            )));
        }
    }
    if !methods.is_empty() {
        for r in &mut runs {
            r.data.summary.retain(|s| match s.method.method() {
                None => true,
                Some(m) => methods.contains(&m),
            });
        }
    }
    if !allow_different_data {
        check_same_data(&runs)?;
    }
    fsio::create_dir_all(out)?;
    let mut written = Vec::new();
    let csv = out.join("comparison.csv");
    fsio::write_atomic(&csv, &crate::report::csv_bytes(&rows(&runs))?)?;
    written.push(csv);
    let data = overlay(&runs);
    let chart = plot::Plot::Comparison;
    for (ext, bytes) in plot::render_formats(&chart, &data, fig)? {
        let p = out.join(format!("comparison.{ext}"));
        fsio::write_atomic(&p, &bytes)?;
        written.push(p);
    }
    // Accuracy against measured speed-up, from each run's speed.csv (when the runs have one).
    let labelled: Vec<(String, PathBuf)> = runs
        .iter()
        .map(|r| (r.label.clone(), r.dir.clone()))
        .collect();
    written.extend(plot::effects::render_speed_comparison(
        &labelled, methods, out,
    )?);
    Ok(written)
}
