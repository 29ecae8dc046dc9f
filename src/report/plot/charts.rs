//! The four charts. Each draws into any plotters drawing area, using plotters for the axes and
//! grid and the helpers in `style` for everything else (in absolute pixels).

use super::data::{RunData, SelectionRow, SummaryRow};
use super::style::*;
use crate::config::{MethodKind, SelectRule};
use crate::error::{Error, Result};
use crate::sweep::ids::RowRule;
use plotters::chart::ChartContext;
use plotters::coord::ranged1d::Ranged;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::cmp::Ordering;

type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

const MARKER_R: i32 = 5;
const TOP_AXIS: i32 = 58;

/// Space for the axes around a chart's plotting area.
struct Margins {
    top: i32,
    left: i32,
    right: i32,
    bottom: i32,
    x_labels: i32,
    y_labels: i32,
}

const MARGINS: Margins = Margins {
    top: 0,
    left: 12,
    right: 18,
    bottom: 8,
    x_labels: 62,
    y_labels: 80,
};

fn build<'a, DB: DrawingBackend>(
    on: &'a Area<DB>,
    m: &Margins,
    x: (f64, f64),
    y: (f64, f64),
) -> Result<Chart<'a, DB>> {
    ChartBuilder::on(on)
        .margin_top(m.top)
        .margin_left(m.left)
        .margin_right(m.right)
        .margin_bottom(m.bottom)
        .x_label_area_size(m.x_labels)
        .y_label_area_size(m.y_labels)
        .build_cartesian_2d(x.0..x.1, y.0..y.1)
        .map_err(perr)
}

struct Axes<'f> {
    x_desc: String,
    y_desc: String,
    x_fmt: &'f dyn Fn(&f64) -> String,
    y_fmt: &'f dyn Fn(&f64) -> String,
    x_labels: usize,
    y_labels: usize,
    x_grid: bool,
}

fn mesh<DB: DrawingBackend>(chart: &mut Chart<'_, DB>, a: &Axes) -> Result<Bx> {
    let mut m = chart.configure_mesh();
    if !a.x_desc.is_empty() {
        m.x_desc(a.x_desc.as_str());
    }
    m.y_desc(a.y_desc.as_str())
        .axis_desc_style(font(AXIS_DESC, INK))
        .label_style(font(TICK, INK))
        .x_label_formatter(a.x_fmt)
        .y_label_formatter(a.y_fmt)
        .x_labels(a.x_labels)
        .y_labels(a.y_labels)
        .max_light_lines(0)
        .bold_line_style(GRID)
        .axis_style(INK)
        .set_all_tick_mark_size(5);
    if !a.x_grid {
        m.disable_x_mesh();
    }
    m.draw().map_err(perr)?;
    let (xr, yr) = chart.plotting_area().get_pixel_range();
    Ok(Bx {
        x0: xr.start,
        y0: yr.start,
        x1: xr.end - 1,
        y1: yr.end - 1,
    })
}

/// A (lo, hi) range covering `values` with `frac` padding on each side (at least `min_pad`).
fn padded(values: impl IntoIterator<Item = f64>, frac: f64, min_pad: f64) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.into_iter().filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * frac).max(min_pad);
    (lo - pad, hi + pad)
}

/// Accuracy axis range in %: covers `values`, never below 0 or (much) above 100.
fn acc_range(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = padded(values, 0.06, 0.5);
    (lo.max(0.0), hi.min(101.0))
}

/// Tick label formatter for an axis over `range` with at most `n` labels: as many decimals as
/// the tick step plotters will choose needs, and no more ("95", "95.5", "0.25").
fn tick_fmt(range: (f64, f64), n: usize) -> impl Fn(&f64) -> String {
    let kp = RangedCoordf64::from(range.0..range.1).key_points(n);
    let step = match kp.as_slice() {
        [a, b, ..] => (b - a).abs(),
        _ => (range.1 - range.0).abs(),
    };
    let dec = if step > 0.0 && step.is_finite() {
        (-step.log10() - 1e-9).ceil().clamp(0.0, 6.0) as usize
    } else {
        2
    };
    move |v: &f64| {
        let s = format!("{v:.dec$}");
        if s.trim_start_matches('-')
            .chars()
            .all(|c| c == '0' || c == '.')
        {
            "0".into()
        } else {
            s
        }
    }
}

/// Boxes along a polyline (sampled every few pixels) that labels should avoid.
fn path_boxes(pts: &[(i32, i32)], r: i32) -> Vec<Bx> {
    let mut out = Vec::new();
    for w in pts.windows(2) {
        let (dx, dy) = ((w[1].0 - w[0].0) as f64, (w[1].1 - w[0].1) as f64);
        let n = ((dx.abs().max(dy.abs()) / 4.0).ceil() as i32).max(1);
        for k in 0..=n {
            let t = k as f64 / n as f64;
            let p = (
                w[0].0 + (dx * t).round() as i32,
                w[0].1 + (dy * t).round() as i32,
            );
            out.push(Bx::around(p, r));
        }
    }
    out
}

/// One plotted point in pixels, with its error bar's pixel ends.
#[derive(Debug, Clone, Copy)]
struct Pt {
    at: (i32, i32),
    lo: i32,
    hi: i32,
}

/// Draw one series' error bars, line and markers; returns the boxes labels should avoid.
fn draw_series<DB: DrawingBackend>(
    s: &Area<DB>,
    pts: &[Pt],
    color: RGBColor,
    m: Marker,
    bar_color: RGBColor,
) -> Result<Vec<Bx>> {
    for p in pts {
        error_bar(s, p.at.0, p.lo, p.hi, bar_color)?;
    }
    let path: Vec<(i32, i32)> = pts.iter().map(|p| p.at).collect();
    polyline(s, &path, stroke(color, 2), None)?;
    for p in pts {
        marker(s, p.at, m, color, MARKER_R)?;
    }
    let mut boxes = path_boxes(&path, 3);
    for p in pts {
        boxes.push(Bx::around(p.at, MARKER_R + 2));
        boxes.push(Bx {
            x0: p.at.0 - 5,
            y0: p.hi.min(p.lo),
            x1: p.at.0 + 5,
            y1: p.hi.max(p.lo),
        });
    }
    Ok(boxes)
}

/// Candidate anchors for a label next to a horizontal line at pixel `y` across `pb`.
fn hline_candidates(pb: Bx, y: i32) -> Vec<Anchor> {
    let mid = (pb.x0 + pb.x1) / 2;
    let (l, r) = (HPos::Left, HPos::Right);
    let (below, above) = (VPos::Top, VPos::Bottom);
    vec![
        Anchor::new((pb.x1 - 8, y + 5), r, below),
        Anchor::new((pb.x1 - 8, y - 5), r, above),
        Anchor::new((pb.x0 + 8, y + 5), l, below),
        Anchor::new((pb.x0 + 8, y - 5), l, above),
        Anchor::new((mid, y + 5), r, below),
        Anchor::new((mid, y - 5), r, above),
        Anchor::new((mid, y + 5), l, below),
        Anchor::new((mid, y - 5), l, above),
    ]
}

/// Candidate anchors for a label next to a vertical line at pixel `x` across `pb`: horizontal
/// text near the bottom (below an accuracy plateau is usually empty), then near the top, then
/// text turned along the line.
fn vline_candidates(pb: Bx, x: i32) -> Vec<Anchor> {
    let (l, r) = (HPos::Left, HPos::Right);
    let mut out = Vec::new();
    for dy in [8, 34, 60, 86] {
        out.push(Anchor::new((x + 6, pb.y1 - dy), l, VPos::Bottom));
        out.push(Anchor::new((x - 6, pb.y1 - dy), r, VPos::Bottom));
    }
    for dy in [8, 34, 60, 86, 112] {
        out.push(Anchor::new((x + 6, pb.y0 + dy), l, VPos::Top));
        out.push(Anchor::new((x - 6, pb.y0 + dy), r, VPos::Top));
    }
    // The glyph-top side of turned text faces the anchor on the right, so that side sits
    // further off the line.
    for dy in [8, 60, 120] {
        out.push(Anchor::vertical((x + 8, pb.y1 - dy), l, VPos::Top));
        out.push(Anchor::vertical((x - 6, pb.y1 - dy), l, VPos::Bottom));
    }
    for dy in [8, 60] {
        out.push(Anchor::vertical((x + 8, pb.y0 + dy), r, VPos::Top));
        out.push(Anchor::vertical((x - 6, pb.y0 + dy), r, VPos::Bottom));
    }
    out
}

/// Labels for horizontal reference lines, drawn in the right margin at each line's height
/// (pushed apart vertically when lines are close), so they never cover data.
/// A secondary axis along the top of the plot box: the `ticks` (pixel x, label) that fit with at
/// least `gap` pixels between labels, and the axis `title` above them.
fn top_axis<DB: DrawingBackend>(
    s: &Area<DB>,
    pb: Bx,
    ticks: &[(i32, String)],
    gap: i32,
    title: &str,
) -> Result<()> {
    let tick_style = font(TICK, INK);
    for (x, label) in thin_ticks(s, ticks, &tick_style, gap, (pb.x0 - 30, pb.x1 + 30))? {
        line(s, (x, pb.y0), (x, pb.y0 - 5), stroke(INK, 1), None)?;
        text(
            s,
            &label,
            (x, pb.y0 - 9),
            &tick_style,
            Pos::new(HPos::Center, VPos::Bottom),
        )?;
    }
    text(
        s,
        title,
        ((pb.x0 + pb.x1) / 2, pb.y0 - 34),
        &font(AXIS_DESC, INK),
        Pos::new(HPos::Center, VPos::Bottom),
    )?;
    Ok(())
}

fn margin_labels<DB: DrawingBackend>(
    s: &Area<DB>,
    pb: Bx,
    mut labels: Vec<(i32, String)>,
) -> Result<()> {
    let style = font(NOTE, INK);
    labels.sort_by_key(|(y, _)| *y);
    let mut prev_bottom = i32::MIN;
    for (y, label) in labels {
        let (_, h) = measure(s, &label, &style)?;
        let y = y.max(prev_bottom + h / 2 + 4);
        text(
            s,
            &label,
            (pb.x1 + 8, y),
            &style,
            Pos::new(HPos::Left, VPos::Center),
        )?;
        prev_bottom = y + h / 2;
    }
    Ok(())
}

/// How a selection rule is named on charts.
pub(super) fn rule_name(rule: RowRule) -> String {
    match rule {
        RowRule::Rule(SelectRule::OneSe) => "one-SE".into(),
        other => other.label(),
    }
}

/// Long description of a τ unit for axis labels.
fn tau_desc(unit: &str) -> String {
    match unit {
        "quantile" => "τ (quantile: fraction of scores pruned)".into(),
        "std" => "τ (multiples of the score std)".into(),
        "mean" => "τ (multiples of the mean score)".into(),
        "abs" => "τ (absolute score)".into(),
        "" => "τ".into(),
        other => format!("τ ({other})"),
    }
}

fn folds(rows: &[&SummaryRow]) -> usize {
    rows.iter().map(|r| r.n).max().unwrap_or(0)
}

fn subtitle_n(n: usize) -> String {
    if n == 1 {
        "1 validation fold".into()
    } else {
        format!("mean ± 1 SE over {n} validation folds")
    }
}

fn finite_se(se: f64) -> f64 {
    if se.is_finite() {
        se
    } else {
        0.0
    }
}

/// `accuracy_vs_sparsity`: mean CV accuracy against mean sparsity, every method on one chart.
/// `heading` titles the legend ("method", or "run · method" when runs are compared).
pub(super) fn accuracy_vs_sparsity<DB: DrawingBackend>(
    area: &Area<DB>,
    data: &RunData,
    heading: &str,
) -> Result<()> {
    area.fill(&WHITE).map_err(perr)?;
    let s = area.use_screen_coord();
    let (bx, by) = area.get_base_pixel();
    let w = area.dim_in_pixel().0 as i32;
    let methods: Vec<(usize, MethodKind)> = data
        .methods()
        .into_iter()
        .enumerate()
        .filter(|&(_, m)| !data.curve(m).is_empty())
        .collect();
    let dense = data.dense_summary();
    let all: Vec<&SummaryRow> = data.summary.iter().collect();

    let mut entries: Vec<LegendEntry> = methods
        .iter()
        .map(|(i, m)| {
            let (color, mk) = series_style(*i);
            LegendEntry {
                label: m.as_str().into(),
                sub: None,
                color,
                marker: Some(mk),
                line: LineKind::Solid,
            }
        })
        .collect();
    if dense.is_some() {
        entries.push(LegendEntry {
            label: "dense baseline".into(),
            sub: None,
            color: INK,
            marker: None,
            line: LineKind::Dashed(7, 5),
        });
    }
    let units: Vec<&str> = methods.iter().map(|&(_, m)| data.tau_unit(m)).collect();
    let unit_note = match units.first() {
        Some(u) if units.iter().all(|x| x == u) && !u.is_empty() => {
            format!("; one point per τ ({u} units)")
        }
        _ => "; one point per τ".into(),
    };
    let head = title(
        &s,
        (bx, by, w),
        &format!("{}: validation accuracy vs sparsity", data.name),
        Some(&format!("{}{unit_note}", subtitle_n(folds(&all)))),
    )?;
    let h = area.dim_in_pixel().1 as i32;
    let entries = fit_legend(true, entries, h - head - TOP_AXIS - 8);
    let lw = legend_width(&s, Some(heading), &entries)?;

    let rows: Vec<&SummaryRow> = data.summary.iter().filter(|r| r.tau.is_some()).collect();
    let x_max_data = rows
        .iter()
        .map(|r| r.mean_sparsity * 100.0)
        .fold(0.0f64, f64::max);
    let x_hi = if x_max_data > 90.0 {
        100.0
    } else {
        ((x_max_data / 10.0).ceil() * 10.0).max(10.0)
    };
    let x = (-0.025 * x_hi, 1.025 * x_hi);
    let y = acc_range(all.iter().flat_map(|r| {
        let se = finite_se(r.se_val_acc);
        [(r.mean_val_acc - se) * 100.0, (r.mean_val_acc + se) * 100.0]
    }));

    let (main, _) = area.split_horizontally(w - lw - 8);
    let m = Margins {
        top: head + TOP_AXIS,
        ..MARGINS
    };
    let mut chart = build(&main, &m, x, y)?;
    let xf = tick_fmt(x, 11);
    let yf = tick_fmt(y, 8);
    let pb = mesh(
        &mut chart,
        &Axes {
            x_desc: "sparsity (% of prunable weights removed)".into(),
            y_desc: "validation accuracy (%)".into(),
            x_fmt: &xf,
            y_fmt: &yf,
            x_labels: 11,
            y_labels: 8,
            x_grid: true,
        },
    )?;
    frame(&s, pb)?;
    let px = |sx: f64, ay: f64| chart.backend_coord(&(sx, ay));

    // Secondary (top) axis: compression ratio 1 / (1 − sparsity).
    let mut ticks = Vec::new();
    for r in [
        1.0, 2.0, 4.0, 10.0, 20.0, 100.0, 5.0, 3.0, 1.5, 1.25, 50.0, 1000.0, 200.0, 500.0,
    ] {
        let sp = 100.0 * (1.0 - 1.0 / r);
        if sp >= x.0 && sp <= x.1 {
            ticks.push((px(sp, y.0).0, format!("{}×", num(r, 2))));
        }
    }
    top_axis(&s, pb, &ticks, 10, "compression ratio 1 / (1 − sparsity)")?;

    // Series: error bars, lines, markers.
    let mut obstacles = Vec::new();
    for &(i, m) in &methods {
        let (color, mk) = series_style(i);
        let pts: Vec<Pt> = data
            .curve(m)
            .iter()
            .map(|r| {
                let sx = r.mean_sparsity * 100.0;
                let se = finite_se(r.se_val_acc) * 100.0;
                let a = r.mean_val_acc * 100.0;
                Pt {
                    at: px(sx, a),
                    lo: px(sx, a - se).1,
                    hi: px(sx, a + se).1,
                }
            })
            .collect();
        obstacles.extend(draw_series(&s, &pts, color, mk, color)?);
    }
    // An inset magnifying the region within a few points of the dense accuracy.
    if let Some(d) = dense {
        let level = d.mean_val_acc * 100.0;
        let near: Vec<&SummaryRow> = rows
            .iter()
            .copied()
            .filter(|r| r.mean_val_acc * 100.0 >= level - 3.0)
            .collect();
        let x_end = near
            .iter()
            .map(|r| r.mean_sparsity * 100.0)
            .fold(0.0f64, f64::max);
        let zx = (x.0, (x_end + 0.04 * x_hi).min(x.1));
        let zy = padded(
            near.iter()
                .map(|r| (r.mean_val_acc + finite_se(r.se_val_acc)) * 100.0)
                .chain([level - 3.0, level + 0.3]),
            0.05,
            0.05,
        );
        let spec = ZoomSpec {
            x: zx,
            y: zy,
            series: methods
                .iter()
                .map(|&(i, m)| {
                    let (color, marker) = series_style(i);
                    ZoomSeries {
                        pts: data
                            .curve(m)
                            .iter()
                            .map(|r| {
                                let se = finite_se(r.se_val_acc) * 100.0;
                                (r.mean_sparsity * 100.0, r.mean_val_acc * 100.0, se)
                            })
                            .collect(),
                        color,
                        marker,
                        bar_color: None,
                        marker_r: MARKER_R - 1,
                    }
                })
                .collect(),
            hlines: vec![(level, stroke(INK, 2), Some((7, 5)))],
            vlines: Vec::new(),
        };
        if x_end > 0.0 && zy.1 - zy.0 <= 0.3 * (y.1 - y.0) {
            draw_zoom(area, &chart, pb, &spec, &mut obstacles)?;
        }
    }
    if let Some(d) = dense {
        let yd = px(0.0, d.mean_val_acc * 100.0).1;
        line(&s, (pb.x0, yd), (pb.x1, yd), stroke(INK, 2), Some((7, 5)))?;
        place_label(
            &s,
            &format!("dense {} %", num(d.mean_val_acc * 100.0, 1)),
            &font(NOTE, INK),
            &hline_candidates(pb, yd),
            pb,
            &mut obstacles,
        )?;
    }
    legend(&s, (pb.x1 + m.right + 14, pb.y0), Some(heading), &entries)?;
    Ok(())
}

/// `cv_<method>`: cv.glmnet-style curve of mean validation accuracy against τ.
pub(super) fn cv_curve<DB: DrawingBackend>(
    area: &Area<DB>,
    data: &RunData,
    method: MethodKind,
) -> Result<()> {
    area.fill(&WHITE).map_err(perr)?;
    let s = area.use_screen_coord();
    let (bx, by) = area.get_base_pixel();
    let w = area.dim_in_pixel().0 as i32;
    let rows = data.curve(method);
    if rows.is_empty() {
        return Err(Error::data(
            "summary.csv",
            format!("no τ rows for method {}", method.as_str()),
        ));
    }
    let idx = data
        .methods()
        .iter()
        .position(|&m| m == method)
        .unwrap_or(0);
    let (color, mk) = series_style(idx);
    let unit = data.tau_unit(method);
    let taus: Vec<f64> = rows.iter().filter_map(|r| r.tau).collect();
    let (t_min, t_max) = taus
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &t| {
            (a.min(t), b.max(t))
        });
    // A grid spanning orders of magnitude is drawn on log10 τ (as cv.glmnet draws log λ).
    let log = taus.len() >= 3 && t_min > 0.0 && t_max / t_min >= 50.0;
    let tx = |t: f64| if log { t.log10() } else { t };
    let x = {
        let (a, b) = (tx(t_min), tx(t_max));
        let pad = ((b - a) * 0.04).max(if b > a { 0.0 } else { 0.5 });
        (a - pad, b + pad)
    };
    let best = data.selected(method, RowRule::Rule(SelectRule::Best));
    let one_se = data.selected(method, RowRule::Rule(SelectRule::OneSe));
    let dense = data.dense_summary();
    let y = acc_range(
        rows.iter()
            .flat_map(|r| {
                let se = finite_se(r.se_val_acc);
                [(r.mean_val_acc - se) * 100.0, (r.mean_val_acc + se) * 100.0]
            })
            .chain(dense.map(|d| d.mean_val_acc * 100.0)),
    );

    let dense_label = dense.map(|d| format!("dense {} %", num(d.mean_val_acc * 100.0, 1)));
    let se_label = "best − 1 SE";
    let mut right = 0;
    for l in dense_label.iter().map(String::as_str).chain([se_label]) {
        right = right.max(measure(&s, l, &font(NOTE, INK))?.0);
    }
    let head = title(
        &s,
        (bx, by, w),
        &format!("{}: {method} pruning, cross-validated τ", data.name),
        Some(&format!(
            "{}; dashed: τ chosen by the best and one-SE rules{}",
            subtitle_n(folds(&rows)),
            if best.is_some_and(|b| b.cv_se_val_acc > 0.0) {
                "; dotted: best − 1 SE"
            } else {
                ""
            }
        )),
    )?;
    let m = Margins {
        top: head + TOP_AXIS,
        right: right + 20,
        ..MARGINS
    };
    let mut chart = build(area, &m, x, y)?;
    let xf = tick_fmt(x, 10);
    let yf = tick_fmt(y, 8);
    let desc = tau_desc(unit);
    let pb = mesh(
        &mut chart,
        &Axes {
            x_desc: if log {
                format!("log10 {desc}")
            } else {
                format!("threshold {desc}")
            },
            y_desc: "validation accuracy (%)".into(),
            x_fmt: &xf,
            y_fmt: &yf,
            x_labels: 10,
            y_labels: 8,
            x_grid: true,
        },
    )?;
    frame(&s, pb)?;
    let px = |t: f64, a: f64| chart.backend_coord(&(tx(t), a));

    // Top axis: mean sparsity at each τ, thinned so labels do not collide; chosen τ first.
    let mut order: Vec<usize> = Vec::new();
    for sel in [best, one_se].into_iter().flatten() {
        if let Some(i) = rows.iter().position(|r| r.tau == sel.tau) {
            order.push(i);
        }
    }
    order.push(0);
    order.push(rows.len() - 1);
    order.extend(0..rows.len());
    let mut seen = vec![false; rows.len()];
    let mut ticks = Vec::new();
    for i in order {
        if !std::mem::replace(&mut seen[i], true) {
            let r = rows[i];
            let t = r.tau.unwrap_or(0.0);
            ticks.push((px(t, y.0).0, pct(r.mean_sparsity * 100.0)));
        }
    }
    top_axis(
        &s,
        pb,
        &ticks,
        12,
        "mean sparsity at τ (% of prunable weights removed)",
    )?;

    // Reference lines first, so the data is drawn over them.
    let mut lines: Vec<Bx> = Vec::new();
    let mut labels: Vec<(String, Vec<Anchor>)> = Vec::new();
    let mut side: Vec<(i32, String)> = Vec::new();
    if let (Some(d), Some(label)) = (dense, dense_label) {
        let yd = px(t_min, d.mean_val_acc * 100.0).1;
        line(&s, (pb.x0, yd), (pb.x1, yd), stroke(GREY, 2), Some((7, 5)))?;
        side.push((yd, label));
    }
    if let Some(b) = best {
        let y1se = (b.cv_mean_val_acc - finite_se(b.cv_se_val_acc)) * 100.0;
        // Only when it stands apart from the dense line and the best point's own level.
        let apart = |v: f64| (px(t_min, v).1 - px(t_min, y1se).1).abs() >= 4;
        let dense_apart = dense.is_none_or(|d| apart(d.mean_val_acc * 100.0));
        if y1se > y.0 && apart(b.cv_mean_val_acc * 100.0) && dense_apart {
            let yp = px(t_min, y1se).1;
            line(&s, (pb.x0, yp), (pb.x1, yp), stroke(GREY, 1), Some((2, 4)))?;
            side.push((yp, se_label.into()));
        }
    }
    margin_labels(&s, pb, side)?;
    let same = matches!((best, one_se), (Some(b), Some(o)) if b.tau == o.tau);
    for (sel, name) in [(best, "best"), (one_se, "one-SE")] {
        let Some(r) = sel else { continue };
        let Some(t) = r.tau else { continue };
        if same && name == "one-SE" {
            continue;
        }
        let xp = px(t, y.0).0;
        line(&s, (xp, pb.y0), (xp, pb.y1), stroke(INK, 2), Some((6, 4)))?;
        lines.push(Bx {
            x0: xp - 2,
            y0: pb.y0,
            x1: xp + 2,
            y1: pb.y1,
        });
        let who = if same { "best = one-SE" } else { name };
        labels.push((
            format!("{who}: τ = {}", num(t, 4)),
            vline_candidates(pb, xp),
        ));
    }

    let pts: Vec<Pt> = rows
        .iter()
        .map(|r| {
            let t = r.tau.unwrap_or(0.0);
            let a = r.mean_val_acc * 100.0;
            let se = finite_se(r.se_val_acc) * 100.0;
            Pt {
                at: px(t, a),
                lo: px(t, a - se).1,
                hi: px(t, a + se).1,
            }
        })
        .collect();
    let mut obstacles = draw_series(&s, &pts, color, mk, GREY)?;

    // A magnified inset of the plateau around the chosen τ, where it fits without covering data.
    let chosen: Vec<usize> = [best, one_se]
        .into_iter()
        .flatten()
        .filter_map(|sel| rows.iter().position(|r| r.tau == sel.tau))
        .collect();
    if let Some(end) = zoom_end(&rows, &chosen, best) {
        let part = &rows[..=end];
        let one_se_level = best
            .filter(|b| b.cv_se_val_acc > 0.0)
            .map(|b| (b.cv_mean_val_acc - finite_se(b.cv_se_val_acc)) * 100.0);
        let zy = padded(
            part.iter()
                .flat_map(|r| {
                    let se = finite_se(r.se_val_acc);
                    [(r.mean_val_acc - se) * 100.0, (r.mean_val_acc + se) * 100.0]
                })
                .chain(dense.map(|d| d.mean_val_acc * 100.0))
                .chain(one_se_level),
            0.12,
            0.05,
        );
        let xs: Vec<f64> = part.iter().filter_map(|r| r.tau).map(tx).collect();
        let zx = padded(xs.iter().copied(), 0.06, 1e-9);
        let mut hlines = Vec::new();
        if let Some(d) = dense {
            hlines.push((d.mean_val_acc * 100.0, stroke(GREY, 2), Some((7, 5))));
        }
        if let Some(l) = one_se_level {
            hlines.push((l, stroke(GREY, 1), Some((2, 4))));
        }
        let spec = ZoomSpec {
            x: zx,
            y: zy,
            series: vec![ZoomSeries {
                pts: part
                    .iter()
                    .map(|r| {
                        let t = tx(r.tau.unwrap_or(0.0));
                        let se = finite_se(r.se_val_acc) * 100.0;
                        (t, r.mean_val_acc * 100.0, se)
                    })
                    .collect(),
                color,
                marker: mk,
                bar_color: Some(GREY),
                marker_r: MARKER_R,
            }],
            hlines,
            vlines: [best, if same { None } else { one_se }]
                .into_iter()
                .flatten()
                .filter_map(|r| r.tau)
                .map(|t| (tx(t), stroke(INK, 2), Some((6, 4))))
                .collect(),
        };
        if zy.1 - zy.0 <= 0.3 * (y.1 - y.0) {
            draw_zoom(area, &chart, pb, &spec, &mut obstacles)?;
        }
    }
    obstacles.extend(lines);
    for (label, cands) in labels {
        place_label(&s, &label, &font(NOTE, INK), &cands, pb, &mut obstacles)?;
    }
    Ok(())
}

/// The last τ index worth magnifying: a little past the chosen τ, until the mean falls two
/// standard errors below the best. `None` when that covers (nearly) the whole grid.
fn zoom_end(rows: &[&SummaryRow], chosen: &[usize], best: Option<&SelectionRow>) -> Option<usize> {
    let hi = *chosen.iter().max()?;
    let b = best?;
    let floor = b.cv_mean_val_acc - 2.0 * finite_se(b.cv_se_val_acc);
    let last = rows.len().checked_sub(1)?;
    let mut end = (hi + 1).min(last);
    while end < last && end < hi + 3 && rows[end].mean_val_acc >= floor {
        end += 1;
    }
    if end + 2 >= rows.len() {
        None
    } else {
        Some(end)
    }
}

type Rule = (f64, ShapeStyle, Option<(i32, i32)>);

/// One series of an inset: (x, mean, SE) in the main chart's units.
struct ZoomSeries {
    pts: Vec<(f64, f64, f64)>,
    color: RGBColor,
    marker: Marker,
    /// Error bar colour; `None` draws no error bars (crowded multi-series insets).
    bar_color: Option<RGBColor>,
    marker_r: i32,
}

/// What an inset magnifies: a region of the main chart (in its units), the series and the
/// horizontal and vertical reference lines to repeat there.
struct ZoomSpec {
    x: (f64, f64),
    y: (f64, f64),
    series: Vec<ZoomSeries>,
    hlines: Vec<Rule>,
    vlines: Vec<Rule>,
}

/// Clip the segment a–b to `b` (Liang–Barsky); `None` when it lies outside.
fn clip(a: (i32, i32), b: (i32, i32), r: Bx) -> Option<((i32, i32), (i32, i32))> {
    let (x0, y0) = (a.0 as f64, a.1 as f64);
    let (dx, dy) = ((b.0 - a.0) as f64, (b.1 - a.1) as f64);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (p, q) in [
        (-dx, x0 - r.x0 as f64),
        (dx, r.x1 as f64 - x0),
        (-dy, y0 - r.y0 as f64),
        (dy, r.y1 as f64 - y0),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let t = q / p;
            if p < 0.0 {
                t0 = t0.max(t);
            } else {
                t1 = t1.min(t);
            }
        }
    }
    if t0 > t1 {
        return None;
    }
    let at = |t: f64| ((x0 + dx * t).round() as i32, (y0 + dy * t).round() as i32);
    Some((at(t0), at(t1)))
}

/// Draw an inset magnifying `z` in the first corner of `pb` where it covers none of
/// `obstacles`, and outline the magnified region on the main chart. Returns the inset's box,
/// or `None` when no corner is free. Adds the inset and the outline to `obstacles`.
fn draw_zoom<DB: DrawingBackend>(
    area: &Area<DB>,
    main: &Chart<'_, DB>,
    pb: Bx,
    z: &ZoomSpec,
    obstacles: &mut Vec<Bx>,
) -> Result<Option<Bx>> {
    let (pw, ph) = (pb.x1 - pb.x0, pb.y1 - pb.y0);
    let gap = 12;
    // Largest size first, then each corner (bottom left, bottom centre, bottom right, top right).
    let mut candidates = Vec::new();
    for (fw, fh) in [(0.52, 0.56), (0.46, 0.5), (0.4, 0.44)] {
        let (iw, ih) = ((pw as f64 * fw) as i32, (ph as f64 * fh) as i32);
        for (ix, iy) in [
            (pb.x0 + gap, pb.y1 - gap - ih),
            (pb.x0 + (pw - iw) / 2, pb.y1 - gap - ih),
            (pb.x1 - gap - iw, pb.y1 - gap - ih),
            (pb.x1 - gap - iw, pb.y0 + gap),
        ] {
            candidates.push(Bx {
                x0: ix,
                y0: iy,
                x1: ix + iw,
                y1: iy + ih,
            });
        }
    }
    // The outlined region must stay visible too.
    let a = main.backend_coord(&(z.x.0, z.y.1));
    let b = main.backend_coord(&(z.x.1, z.y.0));
    let region = Bx {
        x0: a.0.max(pb.x0),
        y0: a.1.max(pb.y0),
        x1: b.0.min(pb.x1),
        y1: b.1.min(pb.y1),
    };
    let Some(ib) = candidates
        .into_iter()
        .find(|b| b.overlap(&region) == 0 && obstacles.iter().all(|o| o.overlap(b) == 0))
    else {
        return Ok(None);
    };
    let s = area.use_screen_coord();
    s.draw(&Rectangle::new(
        [(region.x0, region.y0), (region.x1, region.y1)],
        stroke(GREY, 1),
    ))
    .map_err(perr)?;
    let r = region;
    obstacles.extend(
        [
            Bx { y1: r.y0, ..r },
            Bx { y0: r.y1, ..r },
            Bx { x1: r.x0, ..r },
            Bx { x0: r.x1, ..r },
        ]
        .map(|edge| edge.grow(1)),
    );
    obstacles.push(ib.grow(4));
    s.draw(&Rectangle::new(
        [(ib.x0, ib.y0), (ib.x1, ib.y1)],
        WHITE.filled(),
    ))
    .map_err(perr)?;
    s.draw(&Rectangle::new(
        [(ib.x0, ib.y0), (ib.x1, ib.y1)],
        stroke(GREY, 1),
    ))
    .map_err(perr)?;
    text(
        &s,
        "zoom (grey box)",
        (ib.x0 + 8, ib.y0 + 6),
        &font(NOTE - 1.0, GREY),
        Pos::new(HPos::Left, VPos::Top),
    )?;
    let (bx, by) = area.get_base_pixel();
    let inner = area
        .clone()
        .shrink((ib.x0 - bx, ib.y0 - by), (ib.x1 - ib.x0, ib.y1 - ib.y0))
        .margin(24, 4, 4, 12);
    let mut chart = ChartBuilder::on(&inner)
        .x_label_area_size(24)
        .y_label_area_size(50)
        .build_cartesian_2d(z.x.0..z.x.1, z.y.0..z.y.1)
        .map_err(perr)?;
    let xf = tick_fmt(z.x, 5);
    let yf = tick_fmt(z.y, 5);
    chart
        .configure_mesh()
        .label_style(font(NOTE - 1.0, INK))
        .x_label_formatter(&xf)
        .y_label_formatter(&yf)
        .x_labels(5)
        .y_labels(5)
        .max_light_lines(0)
        .bold_line_style(GRID)
        .axis_style(INK)
        .set_all_tick_mark_size(4)
        .draw()
        .map_err(perr)?;
    let (xr, yr) = chart.plotting_area().get_pixel_range();
    let zb = Bx {
        x0: xr.start,
        y0: yr.start,
        x1: xr.end - 1,
        y1: yr.end - 1,
    };
    frame(&s, zb)?;
    let px = |x: f64, y: f64| chart.backend_coord(&(x, y));
    for &(v, st, dash) in &z.hlines {
        let y = px(z.x.0, v).1;
        if (zb.y0..=zb.y1).contains(&y) {
            line(&s, (zb.x0, y), (zb.x1, y), st, dash)?;
        }
    }
    for &(v, st, dash) in &z.vlines {
        let x = px(v, z.y.0).0;
        if (zb.x0..=zb.x1).contains(&x) {
            line(&s, (x, zb.y0), (x, zb.y1), st, dash)?;
        }
    }
    let inside = |p: (i32, i32)| (zb.x0..=zb.x1).contains(&p.0) && (zb.y0..=zb.y1).contains(&p.1);
    for ser in &z.series {
        let pts: Vec<Pt> = ser
            .pts
            .iter()
            .map(|&(x, m, se)| Pt {
                at: px(x, m),
                lo: px(x, m - se).1.clamp(zb.y0, zb.y1),
                hi: px(x, m + se).1.clamp(zb.y0, zb.y1),
            })
            .collect();
        if let Some(bar) = ser.bar_color {
            for p in pts.iter().filter(|p| (zb.x0..=zb.x1).contains(&p.at.0)) {
                error_bar(&s, p.at.0, p.lo, p.hi, bar)?;
            }
        }
        for w in pts.windows(2) {
            if let Some((a, b)) = clip(w[0].at, w[1].at, zb) {
                line(&s, a, b, stroke(ser.color, 2), None)?;
            }
        }
        for p in pts.iter().filter(|p| inside(p.at)) {
            marker(&s, p.at, ser.marker, ser.color, ser.marker_r)?;
        }
    }
    Ok(Some(ib))
}

/// `layer_sparsity`: grouped bars of per-layer sparsity at each method's selected τ.
pub(super) fn layer_sparsity<DB: DrawingBackend>(area: &Area<DB>, data: &RunData) -> Result<()> {
    area.fill(&WHITE).map_err(perr)?;
    let s = area.use_screen_coord();
    let (bx, by) = area.get_base_pixel();
    let w = area.dim_in_pixel().0 as i32;
    let rule = data
        .layer_rule()
        .ok_or_else(|| Error::data("layers.csv", "no rows"))?;
    let rows: Vec<_> = data.layers.iter().filter(|r| r.rule == rule).collect();
    let mut layers: Vec<(String, usize)> = Vec::new();
    for r in &rows {
        if !layers.iter().any(|(l, _)| l == &r.layer) {
            layers.push((r.layer.clone(), r.weights));
        }
    }
    let methods: Vec<(usize, MethodKind)> = data
        .methods()
        .into_iter()
        .enumerate()
        .filter(|&(_, m)| rows.iter().any(|r| r.method == m))
        .collect();

    let entries: Vec<LegendEntry> = methods
        .iter()
        .map(|&(i, m)| {
            let (color, mk) = series_style(i);
            let sel = data.selected(m, rule);
            let tau = rows
                .iter()
                .find(|r| r.method == m)
                .and_then(|r| r.tau)
                .map(|t| format!("τ = {}", num(t, 4)))
                .unwrap_or_else(|| "τ = –".into());
            let sub = match sel {
                Some(sel) => format!("{tau}, {} % overall", num(sel.test_sparsity * 100.0, 1)),
                None => tau,
            };
            LegendEntry {
                label: m.to_string(),
                sub: Some(sub),
                color,
                marker: Some(mk),
                line: LineKind::Swatch,
            }
        })
        .collect();
    let head = title(
        &s,
        (bx, by, w),
        &format!("{}: per-layer sparsity of the selected models", data.name),
        Some(&format!(
            "τ chosen by the {} rule; models refit on the whole training pool",
            rule_name(rule)
        )),
    )?;
    let h = area.dim_in_pixel().1 as i32;
    let entries = fit_legend(true, entries, h - head - 14 - 8);
    let lw = legend_width(&s, Some("method (selected τ)"), &entries)?;
    let (main, _) = area.split_horizontally(w - lw - 8);
    let m = Margins {
        top: head + 14,
        x_labels: 70,
        ..MARGINS
    };
    let n_layers = layers.len().max(1) as f64;
    let y = (0.0, 108.0);
    let mut chart = build(&main, &m, (0.0, n_layers), y)?;
    let xf = |_: &f64| String::new();
    let yf = |v: &f64| {
        if *v <= 100.0 + 1e-9 {
            format!("{v:.0}")
        } else {
            String::new()
        }
    };
    let pb = mesh(
        &mut chart,
        &Axes {
            x_desc: "layer (prunable weights)".into(),
            y_desc: "sparsity (% of layer weights removed)".into(),
            x_fmt: &xf,
            y_fmt: &yf,
            x_labels: 0,
            y_labels: 6,
            x_grid: false,
        },
    )?;
    frame(&s, pb)?;
    let px = |gx: f64, v: f64| chart.backend_coord(&(gx, v));

    let k = methods.len().max(1) as f64;
    let group = 0.8;
    let bar = group / k;
    let value_style = font(NOTE - 2.0, INK);
    let bar_px = px(bar, 0.0).0 - px(0.0, 0.0).0;
    // Value labels on every bar, or on none when one would not fit its bar.
    let mut show_values = true;
    for r in &rows {
        show_values &= measure(&s, &pct(r.sparsity * 100.0), &value_style)?.0 <= bar_px + 4;
    }
    for (li, (layer, weights)) in layers.iter().enumerate() {
        let cx = li as f64 + 0.5;
        let base = px(cx, 0.0);
        text(
            &s,
            layer,
            (base.0, pb.y1 + 10),
            &font(TICK, INK),
            Pos::new(HPos::Center, VPos::Top),
        )?;
        text(
            &s,
            &format!("{weights} weights"),
            (base.0, pb.y1 + 30),
            &font(NOTE, GREY),
            Pos::new(HPos::Center, VPos::Top),
        )?;
        for (mi, (i, method)) in methods.iter().enumerate() {
            let Some(r) = rows
                .iter()
                .find(|r| &r.layer == layer && r.method == *method)
            else {
                continue;
            };
            let (color, mk) = series_style(*i);
            let x0 = li as f64 + (1.0 - group) / 2.0 + mi as f64 * bar;
            let v = r.sparsity * 100.0;
            let (a, b) = (px(x0, 0.0), px(x0 + bar, v));
            let (l, rr) = (a.0 + 1, b.0 - 1);
            if b.1 < a.1 {
                s.draw(&Rectangle::new([(l, b.1), (rr, a.1)], color.filled()))
                    .map_err(perr)?;
                s.draw(&Rectangle::new([(l, b.1), (rr, a.1)], stroke(INK, 1)))
                    .map_err(perr)?;
            }
            let mid = (l + rr) / 2;
            // The method's marker inside the bar top when it fits, else just above the bar.
            let r_m = (MARKER_R - 1).min(bar_px / 4).max(2);
            let inside = a.1 - b.1 >= 2 * r_m + 8;
            let my = if inside { b.1 + r_m + 4 } else { b.1 - r_m - 3 };
            marker(&s, (mid, my), mk, if inside { WHITE } else { color }, r_m)?;
            let top = if inside { b.1 } else { my - r_m };
            let label = pct(v);
            if show_values {
                text(
                    &s,
                    &label,
                    (mid, top - 3),
                    &value_style,
                    Pos::new(HPos::Center, VPos::Bottom),
                )?;
            }
        }
    }
    legend(
        &s,
        (pb.x1 + m.right + 14, pb.y0),
        Some("method (selected τ)"),
        &entries,
    )?;
    Ok(())
}

/// Total order on f64 for grouping keys.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Key(f64);
impl Eq for Key {}
impl PartialOrd for Key {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Key {
    fn cmp(&self, o: &Self) -> Ordering {
        self.0.total_cmp(&o.0)
    }
}

/// One trajectory series: a method at one τ, mean over (repeat, fold) per round.
pub(super) struct TrajSeries {
    pub method_index: usize,
    pub method: MethodKind,
    pub tau: f64,
    /// (round, mean sparsity, mean validation accuracy, folds averaged)
    pub rounds: Vec<(usize, f64, f64, usize)>,
}

/// Average `trajectory.csv` over folds, keeping per method at most the τ the selection rules
/// chose (all τ when a method has three or fewer, the largest τ when no chosen τ appears).
pub(super) fn trajectory_series(data: &RunData) -> Vec<TrajSeries> {
    use std::collections::BTreeMap;
    let rows = data.trajectory.as_deref().unwrap_or(&[]);
    let methods = data.methods();
    let mut acc: BTreeMap<(usize, Key, usize), (f64, f64, usize)> = BTreeMap::new();
    for r in rows {
        if !(r.sparsity.is_finite() && r.val_acc.is_finite() && r.tau.is_finite()) {
            continue;
        }
        let Some(mi) = methods.iter().position(|&m| m == r.method) else {
            continue;
        };
        let e = acc
            .entry((mi, Key(r.tau), r.round))
            .or_insert((0.0, 0.0, 0));
        e.0 += r.sparsity;
        e.1 += r.val_acc;
        e.2 += 1;
    }
    let mut out: Vec<TrajSeries> = Vec::new();
    for ((mi, tau, round), (sp, va, n)) in acc {
        let p = (round, sp / n as f64, va / n as f64, n);
        match out.last_mut() {
            Some(last) if last.method_index == mi && last.tau == tau.0 => last.rounds.push(p),
            _ => out.push(TrajSeries {
                method_index: mi,
                method: methods[mi],
                tau: tau.0,
                rounds: vec![p],
            }),
        }
    }
    // Per method: all τ when there are few, else the chosen ones (else the largest).
    let chosen_by = |i: usize, rule: Option<SelectRule>| {
        data.selection.iter().any(|s| {
            s.method == out[i].method
                && s.tau == Some(out[i].tau)
                && rule.is_none_or(|r| s.rule == RowRule::Rule(r))
        })
    };
    let mut per_method: Vec<Vec<usize>> = Vec::new();
    for mi in 0..methods.len() {
        let mine: Vec<usize> = (0..out.len())
            .filter(|&i| out[i].method_index == mi)
            .collect();
        let chosen: Vec<usize> = mine
            .iter()
            .copied()
            .filter(|&i| chosen_by(i, None))
            .collect();
        per_method.push(if mine.len() <= 3 {
            mine
        } else if chosen.is_empty() {
            vec![*mine.last().expect("non-empty")]
        } else {
            chosen
        });
    }
    // Too many lines to read: one τ per method (one-SE's, else best's, else the largest).
    if per_method.iter().map(Vec::len).sum::<usize>() > 9 {
        for kept in per_method.iter_mut().filter(|k| k.len() > 1) {
            let pick = [SelectRule::OneSe, SelectRule::Best]
                .iter()
                .find_map(|&r| kept.iter().copied().find(|&i| chosen_by(i, Some(r))))
                .unwrap_or(*kept.last().expect("non-empty"));
            *kept = vec![pick];
        }
    }
    let mut keep: Vec<usize> = per_method.into_iter().flatten().collect();
    keep.sort_unstable();
    let mut i = 0;
    out.retain(|_| {
        let k = keep.binary_search(&i).is_ok();
        i += 1;
        k
    });
    out
}

/// `trajectory`: sparsity (top) and validation accuracy (bottom) by pruning round.
pub(super) fn trajectory<DB: DrawingBackend>(area: &Area<DB>, data: &RunData) -> Result<()> {
    area.fill(&WHITE).map_err(perr)?;
    let s = area.use_screen_coord();
    let (bx, by) = area.get_base_pixel();
    let (w, h) = area.dim_in_pixel();
    let (w, h) = (w as i32, h as i32);
    let series = trajectory_series(data);
    let mut all_taus: Vec<(&str, Key)> = data
        .trajectory
        .iter()
        .flatten()
        .map(|r| (r.method.as_str(), Key(r.tau)))
        .collect();
    all_taus.sort();
    all_taus.dedup();
    let filtered = all_taus.len() > series.len();
    if series.is_empty() {
        return Err(Error::data("trajectory.csv", "no usable rows"));
    }
    const DASHES: [Option<(i32, i32)>; 3] = [None, Some((8, 5)), Some((2, 4))];
    let mut rank = vec![0usize; series.len()];
    for i in 1..series.len() {
        if series[i].method_index == series[i - 1].method_index {
            rank[i] = rank[i - 1] + 1;
        }
    }
    let entries: Vec<LegendEntry> = series
        .iter()
        .zip(&rank)
        .map(|(t, &k)| {
            let (color, mk) = series_style(t.method_index);
            LegendEntry {
                label: t.method.to_string(),
                sub: Some(format!("τ = {}", num(t.tau, 4))),
                color,
                marker: Some(mk),
                line: match DASHES[k % DASHES.len()] {
                    None => LineKind::Solid,
                    Some((a, b)) => LineKind::Dashed(a, b),
                },
            }
        })
        .collect();
    let n_max = series
        .iter()
        .flat_map(|t| t.rounds.iter().map(|r| r.3))
        .max()
        .unwrap_or(0);
    let head = title(
        &s,
        (bx, by, w),
        &format!("{}: iterative pruning by round", data.name),
        Some(&format!(
            "mean over {n_max} validation folds{}",
            if filtered {
                "; τ chosen by the selection rules (else the largest τ)"
            } else {
                ""
            }
        )),
    )?;
    let entries = fit_legend(true, entries, h - head - 6 - 8);
    let lw = legend_width(&s, Some("method, τ"), &entries)?;
    let (main, _) = area.split_horizontally(w - lw - 8);
    // Equal plot heights: the top panel holds the title, the bottom one the x-axis title.
    let (top_x, bottom_x) = (36, 56);
    let extra_top = head + 6 + top_x + MARGINS.bottom;
    let extra_bottom = 10 + bottom_x + MARGINS.bottom;
    let plot_h = (h - extra_top - extra_bottom) / 2;
    let (top, bottom) = main.split_vertically(extra_top + plot_h);
    let (r_lo, r_hi) = series
        .iter()
        .flat_map(|t| t.rounds.iter().map(|r| r.0))
        .fold((usize::MAX, 0), |(a, b), r| (a.min(r), b.max(r)));
    let span = (r_hi - r_lo).max(1) as f64;
    let x = (r_lo as f64 - 0.03 * span, r_hi as f64 + 0.03 * span);
    let xf = |v: &f64| {
        if (v - v.round()).abs() < 1e-6 {
            format!("{v:.0}")
        } else {
            String::new()
        }
    };
    let n_rounds = r_hi - r_lo + 1;
    let x_labels = if n_rounds <= 12 { n_rounds } else { 10 };
    let mut pb_top = Bx::around((0, 0), 0);
    let panels: [(&Area<DB>, i32, &str, bool); 2] = [
        (&top, head, "sparsity (%)", true),
        (&bottom, 4, "validation accuracy (%)", false),
    ];
    for (panel, top_margin, y_desc, is_sparsity) in panels {
        let vals = series.iter().flat_map(|t| {
            t.rounds
                .iter()
                .map(move |r| if is_sparsity { r.1 } else { r.2 } * 100.0)
        });
        let y = if is_sparsity {
            let (_, hi) = padded(vals, 0.06, 1.0);
            (-0.04 * hi.max(1.0), hi.min(102.0))
        } else {
            acc_range(vals)
        };
        let m = Margins {
            top: top_margin + 6,
            x_labels: if is_sparsity { top_x } else { bottom_x },
            ..MARGINS
        };
        let mut chart = build(panel, &m, x, y)?;
        let yf = tick_fmt(y, 6);
        let pb = mesh(
            &mut chart,
            &Axes {
                x_desc: if is_sparsity {
                    String::new()
                } else {
                    "pruning round".into()
                },
                y_desc: y_desc.into(),
                x_fmt: &xf,
                y_fmt: &yf,
                x_labels,
                y_labels: 6,
                x_grid: true,
            },
        )?;
        frame(&s, pb)?;
        if is_sparsity {
            pb_top = pb;
        }
        for (t, &k) in series.iter().zip(&rank) {
            let (color, mk) = series_style(t.method_index);
            let pts: Vec<(i32, i32)> = t
                .rounds
                .iter()
                .map(|r| {
                    let v = if is_sparsity { r.1 } else { r.2 } * 100.0;
                    chart.backend_coord(&(r.0 as f64, v))
                })
                .collect();
            polyline(&s, &pts, stroke(color, 2), DASHES[k % DASHES.len()])?;
            for p in pts {
                marker(&s, p, mk, color, MARKER_R - 1)?;
            }
        }
    }
    legend(
        &s,
        (pb_top.x1 + MARGINS.right + 14, pb_top.y0),
        Some("method, τ"),
        &entries,
    )?;
    Ok(())
}

/// `comparison`: several runs' methods (series named "run · method") on one chart of mean CV
/// accuracy (± 1 SE) against mean sparsity, laid out for a paper figure: no title (the caption
/// carries it), no secondary axis; a method keeps its colour and marker in every run and each run
/// has its own line dash, so the legend lists the methods and the runs once each, flowing in rows
/// under the plot; it also reads at one-column size.
pub(super) fn comparison<DB: DrawingBackend>(area: &Area<DB>, data: &RunData) -> Result<()> {
    const DASHES: [Option<(i32, i32)>; 6] = [
        None,
        Some((8, 5)),
        Some((2, 4)),
        Some((12, 4)),
        Some((4, 9)),
        Some((20, 3)),
    ];
    area.fill(&WHITE).map_err(perr)?;
    let s = area.use_screen_coord();
    let (bx, by) = area.get_base_pixel();
    let (w, h) = area.dim_in_pixel();
    let (w, h) = (w as i32, h as i32);
    // One series per (run, method) with τ rows, in order of first appearance.
    let compared = &data.compared;
    let curve = |run: usize, m: MethodKind| -> Vec<&SummaryRow> {
        compared[run]
            .summary
            .iter()
            .filter(|r| r.method == m && r.tau.is_some())
            .collect()
    };
    let mut series: Vec<(usize, MethodKind)> = Vec::new();
    for (ri, c) in compared.iter().enumerate() {
        for r in c.summary.iter().filter(|r| r.tau.is_some()) {
            if let Some(m) = r.method.method() {
                if !series.contains(&(ri, m)) {
                    series.push((ri, m));
                }
            }
        }
    }
    let mut runs: Vec<usize> = Vec::new();
    let mut methods: Vec<MethodKind> = Vec::new();
    for &(r, m) in &series {
        if !runs.contains(&r) {
            runs.push(r);
        }
        if !methods.contains(&m) {
            methods.push(m);
        }
    }
    let style_of = |(r, m): (usize, MethodKind)| {
        let mi = methods.iter().position(|&x| x == m).unwrap_or(0);
        let ri = runs.iter().position(|&x| x == r).unwrap_or(0);
        let (color, mk) = series_style(mi);
        (color, mk, DASHES[ri % DASHES.len()])
    };
    let mut entries: Vec<LegendEntry> = methods
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let (color, mk) = series_style(i);
            LegendEntry {
                label: m.to_string(),
                sub: None,
                color,
                marker: Some(mk),
                line: LineKind::Solid,
            }
        })
        .collect();
    if runs.len() > 1 {
        entries.extend(runs.iter().enumerate().map(|(i, &r)| LegendEntry {
            label: compared[r].label.clone(),
            sub: None,
            color: INK,
            marker: None,
            line: match DASHES[i % DASHES.len()] {
                None => LineKind::Solid,
                Some((on, off)) => LineKind::Dashed(on, off),
            },
        }));
    }
    let rows_t: Vec<&SummaryRow> = compared
        .iter()
        .flat_map(|c| c.summary.iter().filter(|r| r.tau.is_some()))
        .collect();
    // Every run's dense baseline (runs that share their dense models share one line).
    let mut denses: Vec<(&str, f64)> = Vec::new();
    for c in compared {
        for r in c.summary.iter().filter(|r| r.tau.is_none()) {
            if r.method.is_dense()
                && r.mean_val_acc.is_finite()
                && !denses.iter().any(|(_, a)| *a == r.mean_val_acc)
            {
                denses.push((&c.label, r.mean_val_acc));
            }
        }
    }
    for (i, (run, a)) in denses.iter().enumerate() {
        let label = if denses.len() == 1 {
            format!("dense {} %", num(a * 100.0, 1))
        } else {
            format!("dense {} % · {run}", num(a * 100.0, 1))
        };
        entries.push(LegendEntry {
            label,
            sub: None,
            color: INK,
            marker: None,
            line: match (denses.len() > 1)
                .then(|| DASHES[i % DASHES.len()])
                .flatten()
            {
                None => LineKind::Solid,
                Some((on, off)) => LineKind::Dashed(on, off),
            },
        });
    }
    // Flow the entries into rows of the canvas width.
    let mut placed: Vec<(i32, i32)> = Vec::new();
    let (mut x, mut row) = (0, 0);
    for e in &entries {
        let ew = legend_width(&s, None, std::slice::from_ref(e))?;
        if x > 0 && x + ew > w - 16 {
            x = 0;
            row += 1;
        }
        placed.push((x, row));
        x += ew;
    }
    let legend_h = if entries.is_empty() {
        0
    } else {
        (row + 1) * ENTRY_H + 4
    };

    let x_max_data = rows_t
        .iter()
        .map(|r| r.mean_sparsity * 100.0)
        .fold(0.0f64, f64::max);
    let x_hi = if x_max_data > 90.0 {
        100.0
    } else {
        ((x_max_data / 10.0).ceil() * 10.0).max(10.0)
    };
    // Runs that only sample high sparsities (10×–100× compression) zoom in on them: the axis
    // starts at the tens below the least sparse point when that is 50 % or more.
    let x_min_data = rows_t
        .iter()
        .map(|r| r.mean_sparsity * 100.0)
        .fold(f64::INFINITY, f64::min);
    let x_lo = if x_min_data.is_finite() && x_min_data >= 50.0 {
        (x_min_data / 10.0).floor() * 10.0
    } else {
        0.0
    };
    let span = x_hi - x_lo;
    let xr = (x_lo - 0.025 * span, x_hi + 0.025 * span);
    let yr = acc_range(
        rows_t
            .iter()
            .flat_map(|r| {
                let se = finite_se(r.se_val_acc);
                [(r.mean_val_acc - se) * 100.0, (r.mean_val_acc + se) * 100.0]
            })
            .chain(denses.iter().map(|(_, a)| a * 100.0)),
    );
    let (main, _) = area.split_vertically(h - legend_h - 6);
    let m = Margins { top: 12, ..MARGINS };
    let narrow = w < 600;
    let mut chart = build(&main, &m, xr, yr)?;
    let nx = ((w / 70) as usize).clamp(3, 11);
    let ny = (((h - legend_h) / 45) as usize).clamp(3, 8);
    let xf = tick_fmt(xr, nx);
    let yf = tick_fmt(yr, ny);
    let pb = mesh(
        &mut chart,
        &Axes {
            x_desc: if narrow {
                "sparsity (%)".into()
            } else {
                "sparsity (% of prunable weights removed)".into()
            },
            y_desc: if narrow {
                "CV accuracy (%)".into()
            } else {
                "validation accuracy (%)".into()
            },
            x_fmt: &xf,
            y_fmt: &yf,
            x_labels: nx,
            y_labels: ny,
            x_grid: true,
        },
    )?;
    frame(&s, pb)?;
    let px = |sx: f64, ay: f64| chart.backend_coord(&(sx, ay));
    for &(run, m) in &series {
        let (color, mk, dash) = style_of((run, m));
        let pts: Vec<(i32, i32, i32)> = curve(run, m)
            .iter()
            .map(|r| {
                let sx = r.mean_sparsity * 100.0;
                let se = finite_se(r.se_val_acc) * 100.0;
                let a = r.mean_val_acc * 100.0;
                let (x, y) = px(sx, a);
                (x, y, px(sx, a - se).1.max(px(sx, a + se).1) - y)
            })
            .collect();
        for &(x, y, half) in &pts {
            error_bar(&s, x, y + half, y - half, color)?;
        }
        let path: Vec<(i32, i32)> = pts.iter().map(|p| (p.0, p.1)).collect();
        polyline(&s, &path, stroke(color, 2), dash)?;
        for &(x, y, _) in &pts {
            marker(&s, (x, y), mk, color, MARKER_R)?;
        }
    }
    // Dense baselines last, thin and dark, so the method curves never hide them.
    for (i, (_, a)) in denses.iter().enumerate() {
        let (x0, y) = px(xr.0, a * 100.0);
        let (x1, _) = px(xr.1, a * 100.0);
        let dash = (denses.len() > 1)
            .then(|| DASHES[i % DASHES.len()])
            .flatten();
        polyline(&s, &[(x0, y), (x1, y)], stroke(INK, 1), dash)?;
    }
    let top = by + h - legend_h;
    for (e, &(x, row)) in entries.iter().zip(&placed) {
        legend(
            &s,
            (bx + 12 + x, top + row * ENTRY_H),
            None,
            std::slice::from_ref(e),
        )?;
    }
    Ok(())
}
