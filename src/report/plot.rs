//! Paper-ready plots of a finished run, drawn from its CSV tables alone (no model is loaded and
//! nothing is retrained).
//!
//! [`render_all`] writes `plots/<stem>.svg`, `.png` and `.pdf` into a run directory for every
//! chart in [`planned`], at the size the run's `plots:` settings give (by default a 900 × 600 px
//! canvas, a 7.75 × 5.17 in PDF page; see [`crate::config::plots`]):
//!
//! - `accuracy_vs_sparsity`: mean CV accuracy (± 1 SE) against mean sparsity, every method on one
//!   chart, the dense baseline as a dashed line, compression ratio on the top axis, and an inset
//!   magnifying the region within three points of the dense accuracy (when it fits over empty
//!   space);
//! - `cv_<method>`: one per method, in the style of `cv.glmnet`: mean CV accuracy (± 1 SE) against
//!   τ (log10 τ for grids spanning orders of magnitude), dashed vertical lines at the τ the `best`
//!   and `one_se` rules chose, a dotted line at best − 1 SE, mean sparsity at τ on the top axis,
//!   and an inset magnifying the plateau around the chosen τ;
//! - `layer_sparsity`: per-layer sparsity of each method's selected model (rule `one_se` if
//!   present, else the first rule in `layers.csv`), when `layers.csv` has rows;
//! - `trajectory`: sparsity and accuracy by pruning round (mean over folds), when
//!   `trajectory.csv` exists.
//!
//! [`Plot::Comparison`] overlays several runs (see [`crate::report::compare`]); it is not part of
//! a run's plan.
//!
//! Every chart function draws into any plotters [`DrawingArea`], so callers can compose them
//! into their own figures. The PDF is the SVG converted by `svg2pdf` with the same embedded font
//! ([`pdf`]). Text uses the embedded DejaVu Sans (registered once as
//! `sans-serif`), so rendering needs no system font. Output is deterministic: the same tables
//! give byte-identical SVG and PNG files. Series are told apart by Okabe–Ito colours and by
//! marker shapes, so the charts survive greyscale printing.

mod charts;
pub mod data;
pub mod effects;
pub mod pdf;
mod png;
mod style;

pub use crate::config::plots::PlotsSpec as Figure;
pub use data::RunData;

use crate::config::MethodKind;
use crate::error::{Error, Result};
use crate::fsio;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// Width of every rendered chart, in pixels.
pub const WIDTH: u32 = 900;
/// Height of every rendered chart, in pixels.
pub const HEIGHT: u32 = 600;

/// One chart of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plot {
    AccuracyVsSparsity,
    /// The cv.glmnet-style curve of one method.
    Cv(MethodKind),
    LayerSparsity,
    Trajectory,
    /// Several runs' methods on one accuracy-vs-sparsity chart ([`RunData::compared`]).
    Comparison,
}

impl Plot {
    /// The file name without extension (`accuracy_vs_sparsity`, `cv_magnitude`, …).
    pub fn stem(&self) -> String {
        match self {
            Plot::AccuracyVsSparsity => "accuracy_vs_sparsity".into(),
            Plot::Cv(m) => format!("cv_{m}"),
            Plot::LayerSparsity => "layer_sparsity".into(),
            Plot::Trajectory => "trajectory".into(),
            Plot::Comparison => "comparison".into(),
        }
    }

    /// A short human description (used as alt text in the Markdown report).
    pub fn describe(&self) -> String {
        match self {
            Plot::AccuracyVsSparsity => "CV accuracy vs sparsity, all methods".into(),
            Plot::Cv(m) => format!("CV accuracy vs τ for {m}, with the chosen τ"),
            Plot::LayerSparsity => "per-layer sparsity of the selected models".into(),
            Plot::Trajectory => "sparsity and accuracy by pruning round".into(),
            Plot::Comparison => "CV accuracy vs sparsity, runs compared".into(),
        }
    }
}

/// The charts a run's tables support, in a fixed order.
pub fn planned(data: &RunData) -> Vec<Plot> {
    let mut out = vec![Plot::AccuracyVsSparsity];
    for m in data.methods() {
        if !data.curve(m).is_empty() {
            out.push(Plot::Cv(m));
        }
    }
    if !data.layers.is_empty() {
        out.push(Plot::LayerSparsity);
    }
    if !charts::trajectory_series(data).is_empty() {
        out.push(Plot::Trajectory);
    }
    out
}

/// Draw `plot` into `area` (any plotters backend; the chart is laid out for about 900 × 600 px).
pub fn draw<DB: DrawingBackend>(
    plot: &Plot,
    data: &RunData,
    area: &DrawingArea<DB, Shift>,
) -> Result<()> {
    style::ensure_font()?;
    match plot {
        Plot::AccuracyVsSparsity => charts::accuracy_vs_sparsity(area, data, "method"),
        Plot::Comparison => charts::comparison(area, data),
        Plot::Cv(m) => charts::cv_curve(area, data, *m),
        Plot::LayerSparsity => charts::layer_sparsity(area, data),
        Plot::Trajectory => charts::trajectory(area, data),
    }
}

/// Render `plot` as an SVG document of [`WIDTH`] × [`HEIGHT`].
#[cfg(test)]
pub fn render_svg(plot: &Plot, data: &RunData) -> Result<String> {
    render_svg_sized(plot, data, (WIDTH, HEIGHT))
}

/// Render `plot` as an SVG document of `size` pixels.
pub fn render_svg_sized(plot: &Plot, data: &RunData, size: (u32, u32)) -> Result<String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        draw(plot, data, &root)?;
        root.present().map_err(style::perr)?;
    }
    Ok(out)
}

/// Render `plot` as PNG bytes of [`WIDTH`] × [`HEIGHT`] pixels (8-bit RGB).
#[cfg(test)]
pub fn render_png(plot: &Plot, data: &RunData) -> Result<Vec<u8>> {
    render_png_sized(plot, data, (WIDTH, HEIGHT))
}

/// Render `plot` as PNG bytes of `size` pixels (8-bit RGB).
pub fn render_png_sized(plot: &Plot, data: &RunData, (w, h): (u32, u32)) -> Result<Vec<u8>> {
    let mut rgb = vec![0u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        draw(plot, data, &root)?;
        root.present().map_err(style::perr)?;
    }
    png::encode_rgb(&rgb, w, h)
}

/// Render `plot` as a one-page PDF of `fig`'s page size (the SVG on `fig`'s canvas, converted).
pub fn render_pdf(plot: &Plot, data: &RunData, fig: &Figure) -> Result<Vec<u8>> {
    pdf::svg_to_pdf(&render_svg_sized(plot, data, fig.canvas_px())?, fig)
}

/// The file formats every chart is written in, in the order of [`render_all`]'s list.
pub const FORMATS: [&str; 3] = ["svg", "png", "pdf"];

/// Render `plot` in one of [`FORMATS`] at `fig`'s size.
pub fn render_format(plot: &Plot, data: &RunData, fig: &Figure, ext: &str) -> Result<Vec<u8>> {
    let stem = plot.stem();
    let bytes = match ext {
        "svg" => render_svg_sized(plot, data, fig.canvas_px()).map(String::into_bytes),
        "png" => render_png_sized(plot, data, fig.canvas_px()),
        "pdf" => render_pdf(plot, data, fig),
        _ => return Err(Error::Usage(format!("unknown figure format {ext:?}"))),
    };
    // Name the figure in the message, keeping the kind of failure (and so the exit code).
    bytes.map_err(|e| match e {
        Error::Internal(m) => Error::Internal(format!("{stem}.{ext}: {m}")),
        Error::Data { file, message } => Error::Data {
            file: format!("{stem}.{ext}: {file}"),
            message,
        },
        Error::Usage(m) => Error::Usage(format!("{stem}.{ext}: {m}")),
        e => e,
    })
}

/// Render `plot` in every one of [`FORMATS`]: `(extension, bytes)`.
pub fn render_formats(
    plot: &Plot,
    data: &RunData,
    fig: &Figure,
) -> Result<Vec<(&'static str, Vec<u8>)>> {
    FORMATS
        .iter()
        .map(|&ext| Ok((ext, render_format(plot, data, fig, ext)?)))
        .collect()
}

/// Read `run_dir`'s tables and write every planned chart as `run_dir/plots/<stem>.svg`, `.png`
/// and `.pdf` (each written atomically), at the size of the run's `plots:` settings (from
/// `resolved.yaml`; defaults without one). Returns the written paths, SVG, PNG, PDF per chart.
pub fn render_all(run_dir: &Path) -> Result<Vec<PathBuf>> {
    render_all_with(run_dir, &RunData::load(run_dir)?)
}

/// [`render_all`] from tables already in memory (a run renders its own figures this way).
pub fn render_all_with(run_dir: &Path, data: &RunData) -> Result<Vec<PathBuf>> {
    let fig = data::run_plots(run_dir)?;
    let dir = run_dir.join("plots");
    fsio::create_dir_all(&dir)?;
    // Charts and their formats are independent: each file is its own task on the current
    // rayon pool (the run's `--jobs` pool when called from a run), pulled in order of cost —
    // PNGs (rasterise + deflate), then PDFs, then SVGs, the many-series chart first — so no
    // worker is left with the biggest files. The returned list keeps the plan's order.
    let plan = planned(data);
    let nf = FORMATS.len();
    let mut tasks: Vec<(usize, usize)> = (0..plan.len())
        .flat_map(|i| (0..nf).map(move |f| (i, f)))
        .collect();
    let rank = |f: usize| match FORMATS[f] {
        "png" => 0,
        "pdf" => 1,
        _ => 2,
    };
    let cost = |&(i, f): &(usize, usize)| (rank(f), !matches!(plan[i], Plot::AccuracyVsSparsity));
    tasks.sort_by_key(cost);
    let files = crate::par::pull(
        tasks.len(),
        || false,
        |t| -> Result<(usize, PathBuf)> {
            let (i, f) = tasks[t];
            let ext = FORMATS[f];
            let bytes = render_format(&plan[i], data, &fig, ext)?;
            let path = dir.join(format!("{}.{ext}", plan[i].stem()));
            fsio::write_atomic(&path, &bytes)?;
            Ok((nf * i + f, path))
        },
    );
    let mut files = files
        .into_iter()
        .map(|f| f.expect("no stop"))
        .collect::<Result<Vec<_>>>()?;
    files.sort();
    let mut files: Vec<PathBuf> = files.into_iter().map(|(_, p)| p).collect();
    files.extend(effects::render_all(run_dir)?);
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::data::*;
    use super::*;

    use crate::sweep::ids::{RowMethod, RowRule};

    fn row(method: &str, tau: Option<f64>, acc: f64, sp: f64) -> SummaryRow {
        SummaryRow {
            method: RowMethod::parse(method).unwrap(),
            tau,
            tau_unit: if tau.is_some() {
                "quantile".into()
            } else {
                String::new()
            },
            n: 3,
            mean_val_acc: acc,
            std_val_acc: 0.02,
            se_val_acc: 0.01,
            mean_sparsity: sp,
            mean_params_left: 100.0 * (1.0 - sp),
            mean_flops_left: 90.0 * (1.0 - sp),
            ..SummaryRow::default()
        }
    }

    fn selection(method: &str, rule: &str, tau: Option<f64>) -> SelectionRow {
        SelectionRow {
            method: RowMethod::parse(method).unwrap(),
            rule: RowRule::parse(rule).unwrap(),
            tau,
            tau_unit: "quantile".into(),
            cv_mean_val_acc: 0.9,
            cv_se_val_acc: 0.01,
            cv_mean_sparsity: tau.unwrap_or(0.0),
            test_acc: 0.91,
            test_sparsity: tau.unwrap_or(0.0),
            neurons_removed: 0,
            params_left: 50,
            shrunk_params: 100,
            flops_left: 45,
            ..SelectionRow::default()
        }
    }

    fn sample() -> RunData {
        let mut summary = vec![row("dense", None, 0.95, 0.0)];
        for m in ["magnitude", "random"] {
            for i in 0..5 {
                let t = i as f64 * 0.2;
                let acc = if m == "random" {
                    0.95 - 0.5 * t
                } else {
                    0.95 - 0.1 * t * t
                };
                summary.push(row(m, Some(t), acc, t));
            }
        }
        let selection = vec![
            selection("dense", "none", None),
            selection("magnitude", "best", Some(0.0)),
            selection("magnitude", "one_se", Some(0.4)),
            selection("random", "best", Some(0.0)),
            selection("random", "one_se", Some(0.0)),
        ];
        let layers = ["magnitude", "random"]
            .iter()
            .flat_map(|m| {
                ["fc1", "fc2"].map(|l| LayerRow {
                    method: MethodKind::from_name(m).unwrap(),
                    rule: RowRule::parse("one_se").unwrap(),
                    tau: Some(0.4),
                    layer: l.into(),
                    weights: 64,
                    weights_left: 40,
                    sparsity: 0.375,
                })
            })
            .collect();
        RunData {
            name: "sample".into(),
            summary,
            selection,
            layers,
            trajectory: None,
            compared: Vec::new(),
        }
    }

    #[test]
    fn plan_follows_the_tables() {
        let mut d = sample();
        let stems: Vec<String> = planned(&d).iter().map(Plot::stem).collect();
        assert_eq!(
            stems,
            [
                "accuracy_vs_sparsity",
                "cv_magnitude",
                "cv_random",
                "layer_sparsity"
            ]
        );
        d.layers.clear();
        d.trajectory = Some(vec![TrajectoryRow {
            repeat: 0,
            fold: 0,
            method: MethodKind::Magnitude,
            tau: 0.4,
            round: 1,
            sparsity: 0.2,
            val_acc: 0.9,
        }]);
        let stems: Vec<String> = planned(&d).iter().map(Plot::stem).collect();
        assert_eq!(stems.last().map(String::as_str), Some("trajectory"));
        assert!(!stems.contains(&"layer_sparsity".to_string()));
        assert_eq!(Plot::Cv(MethodKind::Taylor).stem(), "cv_taylor");
    }

    #[test]
    fn every_chart_renders_deterministically() {
        let mut d = sample();
        d.trajectory = Some(
            (0..2)
                .flat_map(|fold| {
                    (0..4).map(move |round| TrajectoryRow {
                        repeat: 0,
                        fold,
                        method: MethodKind::Magnitude,
                        tau: 0.4,
                        round,
                        sparsity: 0.1 * round as f64,
                        val_acc: 0.9 - 0.01 * round as f64 - 0.01 * fold as f64,
                    })
                })
                .collect(),
        );
        for plot in planned(&d) {
            let a = render_svg(&plot, &d).unwrap();
            assert_eq!(a, render_svg(&plot, &d).unwrap(), "{plot:?}");
            assert!(a.contains("<svg"), "{plot:?}");
            let png = render_png(&plot, &d).unwrap();
            assert!(png.starts_with(b"\x89PNG"));
        }
    }

    #[test]
    fn trajectory_is_averaged_over_folds() {
        let mut d = sample();
        d.trajectory = Some(
            [(0, 0.2, 0.9), (1, 0.4, 0.7)]
                .iter()
                .map(|&(fold, sp, acc)| TrajectoryRow {
                    repeat: 0,
                    fold,
                    method: MethodKind::Random,
                    tau: 0.4,
                    round: 2,
                    sparsity: sp,
                    val_acc: acc,
                })
                .collect(),
        );
        let s = charts::trajectory_series(&d);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].method, MethodKind::Random);
        let (round, sp, acc, n) = s[0].rounds[0];
        assert_eq!((round, n), (2, 2));
        assert!((sp - 0.3).abs() < 1e-12 && (acc - 0.8).abs() < 1e-12);
    }

    #[test]
    fn trajectory_keeps_the_selected_tau_of_long_grids() {
        let mut d = sample();
        d.trajectory = Some(
            (0..5)
                .map(|i| TrajectoryRow {
                    repeat: 0,
                    fold: 0,
                    method: MethodKind::Magnitude,
                    tau: i as f64 * 0.2,
                    round: 1,
                    sparsity: 0.1,
                    val_acc: 0.9,
                })
                .collect(),
        );
        let taus: Vec<f64> = charts::trajectory_series(&d)
            .iter()
            .map(|s| s.tau)
            .collect();
        assert_eq!(taus, [0.0, 0.4]);
    }
}
