//! Figures of issue 18, drawn from the CSV files alone in the style of the other charts
//! (Okabe–Ito colours, one marker per method, embedded DejaVu Sans):
//!
//! - `speed_vs_accuracy` (when `speed.csv` exists): CV validation accuracy of every selected
//!   model against its measured speed-up over the dense model, with the fastest kernel, at
//!   batch 1 (hollow) and 256 (filled); a dashed line at 1× (no gain);
//! - `sensitivity_<method>` (when `sensitivity.csv` exists): validation accuracy ± SE against τ
//!   with one layer pruned at a time, one line per layer.
//!
//! `speed_vs_accuracy` shows measured times, so it differs between reruns; the others do not.

use super::data::parse_rows;
use super::style::*;
use super::{HEIGHT, WIDTH};
use crate::config::MethodKind;
use crate::error::Result;
use crate::fsio;
use crate::sweep::ids::{RowMethod, RowRule};
use plotters::prelude::*;
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize)]
struct SpeedRow {
    method: RowMethod,
    rule: RowRule,
    batch: usize,
    speedup: f64,
}

#[derive(Debug, Clone, Deserialize)]
struct SelRow {
    method: RowMethod,
    rule: RowRule,
    cv_mean_val_acc: f64,
}

#[derive(Debug, Clone, Deserialize)]
struct SensRow {
    method: MethodKind,
    layer: String,
    tau: f64,
    mean_val_acc: f64,
    se_val_acc: f64,
}

/// One point of the speed figure: method index, batch, speed-up, accuracy.
type SpeedPoint = (usize, usize, f64, f64);

fn read<T: serde::de::DeserializeOwned>(dir: &Path, file: &str) -> Option<Vec<T>> {
    let text = std::fs::read_to_string(dir.join(file)).ok()?;
    parse_rows(&text, file).ok()
}

/// The points of the speed figure: per selected pruned model and batch, the fastest kernel.
fn speed_points(speed: &[SpeedRow], sel: &[SelRow]) -> (Vec<String>, Vec<SpeedPoint>) {
    let mut methods: Vec<String> = Vec::new();
    let mut pts = Vec::new();
    for s in sel.iter().filter(|s| !s.method.is_dense()) {
        let name = s.method.to_string();
        if !methods.contains(&name) {
            methods.push(name.clone());
        }
        let mi = methods.iter().position(|m| *m == name).unwrap_or(0);
        for batch in [1usize, 256] {
            let best = speed
                .iter()
                .filter(|r| r.method == s.method && r.rule == s.rule && r.batch == batch)
                .map(|r| r.speedup)
                .fold(f64::NAN, f64::max);
            if best.is_finite() {
                pts.push((mi, batch, best, s.cv_mean_val_acc));
            }
        }
    }
    (methods, pts)
}

fn legend_entries(names: &[String], with_marker: bool) -> Vec<LegendEntry> {
    names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let (color, m) = series_style(i);
            LegendEntry {
                label: n.clone(),
                sub: None,
                color,
                marker: with_marker.then_some(m),
                line: if with_marker {
                    LineKind::None
                } else {
                    LineKind::Solid
                },
            }
        })
        .collect()
}

fn draw_speed<DB: DrawingBackend>(
    area: &Area<DB>,
    methods: &[String],
    pts: &[SpeedPoint],
) -> Result<()> {
    area.fill(&WHITE).map_err(perr)?;
    let top = title(
        area,
        (0, 0, WIDTH as i32),
        "Validation accuracy against measured speed-up",
        Some("fastest kernel per model; filled: batch 256, hollow: batch 1; 1 thread"),
    )?;
    let xs: Vec<f64> = pts.iter().map(|p| p.2.max(1e-3).log10()).collect();
    let ys: Vec<f64> = pts.iter().map(|p| p.3).collect();
    let (x0, x1) = (
        xs.iter().copied().fold(0.0f64, f64::min) - 0.1,
        xs.iter().copied().fold(0.0f64, f64::max) + 0.1,
    );
    let (y0, y1) = (
        ys.iter().copied().fold(f64::INFINITY, f64::min),
        ys.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    );
    let pad = ((y1 - y0) * 0.1).max(0.005);
    let body = area.margin(top, 0, 0, 190);
    let mut chart = ChartBuilder::on(&body)
        .margin(12)
        .x_label_area_size(60)
        .y_label_area_size(80)
        .build_cartesian_2d(x0..x1, (y0 - pad)..(y1 + pad))
        .map_err(perr)?;
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .bold_line_style(GRID)
        .x_desc("measured speed-up over dense (log scale)")
        .y_desc("CV validation accuracy")
        .axis_desc_style(font(AXIS_DESC, INK))
        .label_style(font(TICK, INK))
        .x_label_formatter(&|v| format!("{}×", num(10f64.powf(*v), 2)))
        .draw()
        .map_err(perr)?;
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(0.0, y0 - pad), (0.0, y1 + pad)],
            stroke(GREY, 1),
        )))
        .map_err(perr)?;
    let scr = area.use_screen_coord();
    for &(mi, batch, sp, acc) in pts {
        let (color, m) = series_style(mi);
        let at = chart.backend_coord(&(sp.max(1e-3).log10(), acc));
        if batch == 1 {
            scr.draw(&Circle::new(at, 6, stroke(color, 2)))
                .map_err(perr)?;
        } else {
            marker(&scr, at, m, color, 6)?;
        }
    }
    legend(
        &scr,
        (WIDTH as i32 - 182, top + 20),
        Some("method"),
        &legend_entries(methods, true),
    )?;
    Ok(())
}

fn draw_sensitivity<DB: DrawingBackend>(
    area: &Area<DB>,
    method: &str,
    rows: &[&SensRow],
) -> Result<()> {
    area.fill(&WHITE).map_err(perr)?;
    let top = title(
        area,
        (0, 0, WIDTH as i32),
        &format!("Layer sensitivity: {method}"),
        Some("one layer pruned at a time, one-shot; mean ± SE over validation folds"),
    )?;
    let mut layers: Vec<String> = Vec::new();
    for r in rows {
        if !layers.contains(&r.layer) {
            layers.push(r.layer.clone());
        }
    }
    let (x0, x1) = rows
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), r| {
            (a.min(r.tau), b.max(r.tau))
        });
    let (y0, y1) = rows
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), r| {
            (
                a.min(r.mean_val_acc - r.se_val_acc),
                b.max(r.mean_val_acc + r.se_val_acc),
            )
        });
    let xp = ((x1 - x0) * 0.03).max(1e-6);
    let yp = ((y1 - y0) * 0.05).max(0.005);
    let body = area.margin(top, 0, 0, 190);
    let mut chart = ChartBuilder::on(&body)
        .margin(12)
        .x_label_area_size(60)
        .y_label_area_size(80)
        .build_cartesian_2d((x0 - xp)..(x1 + xp), (y0 - yp)..(y1 + yp))
        .map_err(perr)?;
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .bold_line_style(GRID)
        .x_desc("τ")
        .y_desc("validation accuracy")
        .axis_desc_style(font(AXIS_DESC, INK))
        .label_style(font(TICK, INK))
        .draw()
        .map_err(perr)?;
    for (li, layer) in layers.iter().enumerate() {
        let (color, _) = series_style(li);
        let pts: Vec<&&SensRow> = rows.iter().filter(|r| &r.layer == layer).collect();
        chart
            .draw_series(pts.iter().map(|r| {
                PathElement::new(
                    vec![
                        (r.tau, r.mean_val_acc - r.se_val_acc),
                        (r.tau, r.mean_val_acc + r.se_val_acc),
                    ],
                    stroke(color, 1),
                )
            }))
            .map_err(perr)?;
        chart
            .draw_series(LineSeries::new(
                pts.iter().map(|r| (r.tau, r.mean_val_acc)),
                stroke(color, 2),
            ))
            .map_err(perr)?;
    }
    legend(
        &area.use_screen_coord(),
        (WIDTH as i32 - 182, top + 20),
        Some("layer"),
        &legend_entries(&layers, false),
    )?;
    Ok(())
}

fn write_both(
    dir: &Path,
    stem: &str,
    draw: &dyn Fn(&Area<SVGBackend>) -> Result<()>,
    draw_png: &dyn Fn(&Area<BitMapBackend>) -> Result<()>,
) -> Result<Vec<PathBuf>> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        draw(&root)?;
        root.present().map_err(perr)?;
    }
    let mut rgb = vec![0u8; WIDTH as usize * HEIGHT as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
        draw_png(&root)?;
        root.present().map_err(perr)?;
    }
    let (s, p, f) = (
        dir.join(format!("{stem}.svg")),
        dir.join(format!("{stem}.png")),
        dir.join(format!("{stem}.pdf")),
    );
    fsio::write_atomic(&s, svg.as_bytes())?;
    fsio::write_atomic(&p, &super::png::encode_rgb(&rgb, WIDTH, HEIGHT)?)?;
    // These figures keep the default 900 × 600 canvas, so their PDF has the default page.
    let pdf = super::pdf::svg_to_pdf(&svg, &crate::config::plots::PlotsSpec::default())?;
    fsio::write_atomic(&f, &pdf)?;
    Ok(vec![s, p, f])
}

/// `prunecv compare`'s second figure: CV accuracy of every selected model of every run against
/// its measured speed-up, one series per run and method (`label · method`), written as
/// `out/comparison_speed.{svg,png,pdf}`; `keep`, when not empty, names the methods shown. Runs
/// without `speed.csv` are left out; nothing is written when none has one.
pub fn render_speed_comparison(
    runs: &[(String, PathBuf)],
    keep: &[MethodKind],
    out: &Path,
) -> Result<Vec<PathBuf>> {
    ensure_font()?;
    let mut names: Vec<String> = Vec::new();
    let mut pts: Vec<SpeedPoint> = Vec::new();
    for (label, dir) in runs {
        let (Some(speed), Some(mut sel)) = (
            read::<SpeedRow>(dir, "speed.csv"),
            read::<SelRow>(dir, "selection.csv"),
        ) else {
            continue;
        };
        if !keep.is_empty() {
            sel.retain(|s| s.method.method().is_some_and(|m| keep.contains(&m)));
        }
        let (methods, run_pts) = speed_points(&speed, &sel);
        let offset = names.len();
        names.extend(methods.iter().map(|m| format!("{label} · {m}")));
        pts.extend(
            run_pts
                .into_iter()
                .map(|(m, b, x, y)| (m + offset, b, x, y)),
        );
    }
    if pts.is_empty() {
        return Ok(Vec::new());
    }
    fsio::create_dir_all(out)?;
    write_both(
        out,
        "comparison_speed",
        &|a| draw_speed(a, &names, &pts),
        &|a| draw_speed(a, &names, &pts),
    )
}

/// Write this module's figures for `run_dir` into `run_dir/plots/`; returns the files written.
pub fn render_all(run_dir: &Path) -> Result<Vec<PathBuf>> {
    ensure_font()?;
    let dir = run_dir.join("plots");
    let mut out = Vec::new();
    if let (Some(speed), Some(sel)) = (
        read::<SpeedRow>(run_dir, "speed.csv"),
        read::<SelRow>(run_dir, "selection.csv"),
    ) {
        let (methods, pts) = speed_points(&speed, &sel);
        if !pts.is_empty() {
            fsio::create_dir_all(&dir)?;
            out.extend(write_both(
                &dir,
                "speed_vs_accuracy",
                &|a| draw_speed(a, &methods, &pts),
                &|a| draw_speed(a, &methods, &pts),
            )?);
        }
    }
    if let Some(sens) = read::<SensRow>(run_dir, "sensitivity.csv") {
        let mut methods: Vec<MethodKind> = Vec::new();
        for r in &sens {
            if !methods.contains(&r.method) {
                methods.push(r.method);
            }
        }
        for m in methods {
            let rows: Vec<&SensRow> = sens
                .iter()
                .filter(|r| r.method == m && r.mean_val_acc.is_finite())
                .collect();
            if rows.is_empty() {
                continue;
            }
            fsio::create_dir_all(&dir)?;
            let stem = format!("sensitivity_{m}");
            out.extend(write_both(
                &dir,
                &stem,
                &|a| draw_sensitivity(a, m.as_str(), &rows),
                &|a| draw_sensitivity(a, m.as_str(), &rows),
            )?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speed_points_take_the_fastest_kernel_per_batch() {
        let best = RowRule::Rule(crate::config::SelectRule::Best);
        let sp = |m: &str, _kernel: &str, b: usize, s: f64| SpeedRow {
            method: RowMethod::parse(m).unwrap(),
            rule: best,
            batch: b,
            speedup: s,
        };
        let speed = vec![
            sp("dense", "dense", 1, 1.0),
            sp("magnitude", "dense", 1, 1.0),
            sp("magnitude", "csr", 1, 0.4),
            sp("magnitude", "dense", 256, 0.9),
            sp("magnitude", "csr", 256, 2.5),
        ];
        let sel = vec![
            SelRow {
                method: RowMethod::Dense,
                rule: RowRule::None,
                cv_mean_val_acc: 0.97,
            },
            SelRow {
                method: MethodKind::Magnitude.into(),
                rule: best,
                cv_mean_val_acc: 0.96,
            },
        ];
        let (methods, pts) = speed_points(&speed, &sel);
        assert_eq!(methods, vec!["magnitude".to_string()]);
        assert_eq!(pts, vec![(0, 1, 1.0, 0.96), (0, 256, 2.5, 0.96)]);
    }
}
