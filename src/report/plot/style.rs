//! Drawing primitives shared by the charts: the palette and marker shapes, text with measured
//! extents, dashed lines, error bars, label placement that avoids data, and the legend panel.
//! Everything here draws in absolute backend pixels on a "screen" area
//! (`DrawingArea::use_screen_coord`), so it works the same on any plotters backend.

use crate::error::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::sync::OnceLock;

pub(super) type Area<DB> = DrawingArea<DB, Shift>;

/// Where a label may go: its anchor point, how the text sits on it, and whether it is turned
/// to read bottom-to-top (then `pos.h_pos` runs along the text, i.e. upwards, and `pos.v_pos`
/// across it: `Top` puts the text to the right of the anchor, `Bottom` to its left).
#[derive(Clone, Copy)]
pub(super) struct Anchor {
    pub at: (i32, i32),
    pub pos: Pos,
    pub vertical: bool,
}

impl Anchor {
    pub fn new(at: (i32, i32), h: HPos, v: VPos) -> Anchor {
        Anchor {
            at,
            pos: Pos::new(h, v),
            vertical: false,
        }
    }

    pub fn vertical(at: (i32, i32), h: HPos, v: VPos) -> Anchor {
        Anchor {
            at,
            pos: Pos::new(h, v),
            vertical: true,
        }
    }

    /// The box a text of (unrotated) size `(w, h)` occupies at this anchor.
    fn text_box(&self, size: (i32, i32)) -> Bx {
        if !self.vertical {
            return text_box(self.at, size, self.pos);
        }
        let ((x, y), (w, h)) = (self.at, size);
        let x0 = match self.pos.v_pos {
            VPos::Top => x,
            VPos::Center => x - h / 2,
            VPos::Bottom => x - h,
        };
        let y0 = match self.pos.h_pos {
            HPos::Left => y - w,
            HPos::Center => y - w / 2,
            HPos::Right => y,
        };
        Bx {
            x0: x0 - h / 5,
            y0,
            x1: x0 + h,
            y1: y0 + w,
        }
    }
}

/// Font sizes (plotters' size unit: the font's ascent-to-descent height in pixels).
pub(super) const TITLE: f64 = 23.0;
pub(super) const SUBTITLE: f64 = 16.0;
pub(super) const AXIS_DESC: f64 = 19.0;
pub(super) const TICK: f64 = 16.0;
pub(super) const LEGEND: f64 = 17.0;
pub(super) const NOTE: f64 = 15.0;

pub(super) const INK: RGBColor = RGBColor(0x1a, 0x1a, 0x1a);
pub(super) const GREY: RGBColor = RGBColor(0x59, 0x59, 0x59);
pub(super) const GRID: RGBColor = RGBColor(0xe3, 0xe3, 0xe3);

/// The Okabe–Ito colour-blind-safe palette, most distinct first (its yellow is left out: it is
/// unreadable on white).
pub(super) const PALETTE: [RGBColor; 7] = [
    RGBColor(0x00, 0x72, 0xB2), // blue
    RGBColor(0xD5, 0x5E, 0x00), // vermillion
    RGBColor(0x00, 0x9E, 0x73), // bluish green
    RGBColor(0xCC, 0x79, 0xA7), // reddish purple
    RGBColor(0xE6, 0x9F, 0x00), // orange
    RGBColor(0x56, 0xB4, 0xE9), // sky blue
    RGBColor(0x00, 0x00, 0x00), // black (solid, with markers: unlike the dashed baseline)
];

/// Marker shapes, one per method, so series stay apart in greyscale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Marker {
    Circle,
    TriangleUp,
    Square,
    Diamond,
    Cross,
    TriangleDown,
    Plus,
    HollowCircle,
}

const MARKERS: [Marker; 8] = [
    Marker::Circle,
    Marker::TriangleUp,
    Marker::Square,
    Marker::Diamond,
    Marker::Cross,
    Marker::TriangleDown,
    Marker::Plus,
    Marker::HollowCircle,
];

/// Colour and marker of the `i`-th method (the order of `RunData::methods`). Past seven methods
/// colours repeat, but the (colour, marker) pair stays unique up to 56 methods.
pub(super) fn series_style(i: usize) -> (RGBColor, Marker) {
    (PALETTE[i % PALETTE.len()], MARKERS[i % MARKERS.len()])
}

/// Register the embedded DejaVu Sans under the family `sans-serif` (once per process), so text
/// renders without any system font or fontconfig.
pub(super) fn ensure_font() -> Result<()> {
    static FONT: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    FONT.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
            .map_err(|_| "the embedded DejaVu Sans font is invalid".to_string())?;
        plotters::style::register_font("sans-serif", FontStyle::Bold, dejavu::sans::bold())
            .map_err(|_| "the embedded DejaVu Sans Bold font is invalid".to_string())
    })
    .clone()
    .map_err(Error::Internal)
}

/// Map a plotters drawing error into the library's error.
pub(super) fn perr<E: std::fmt::Display>(e: E) -> Error {
    Error::Internal(format!("drawing a plot: {e}"))
}

pub(super) fn font(size: f64, color: RGBColor) -> TextStyle<'static> {
    TextStyle {
        font: FontDesc::new(FontFamily::SansSerif, size, FontStyle::Normal),
        color: color.to_backend_color(),
        pos: Pos::new(HPos::Left, VPos::Top),
    }
}

pub(super) fn bold(size: f64, color: RGBColor) -> TextStyle<'static> {
    TextStyle {
        font: FontDesc::new(FontFamily::SansSerif, size, FontStyle::Bold),
        color: color.to_backend_color(),
        pos: Pos::new(HPos::Left, VPos::Top),
    }
}

/// An axis-aligned pixel box (x0 ≤ x1, y0 ≤ y1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Bx {
    pub x0: i32,
    pub y0: i32,
    pub x1: i32,
    pub y1: i32,
}

impl Bx {
    pub fn around((x, y): (i32, i32), r: i32) -> Bx {
        Bx {
            x0: x - r,
            y0: y - r,
            x1: x + r,
            y1: y + r,
        }
    }

    pub fn grow(self, d: i32) -> Bx {
        Bx {
            x0: self.x0 - d,
            y0: self.y0 - d,
            x1: self.x1 + d,
            y1: self.y1 + d,
        }
    }

    pub fn overlap(&self, o: &Bx) -> i64 {
        let w = (self.x1.min(o.x1) - self.x0.max(o.x0)).max(0) as i64;
        let h = (self.y1.min(o.y1) - self.y0.max(o.y0)).max(0) as i64;
        w * h
    }

    pub fn contains(&self, o: &Bx) -> bool {
        o.x0 >= self.x0 && o.x1 <= self.x1 && o.y0 >= self.y0 && o.y1 <= self.y1
    }
}

/// The width and height of `text` in `style`.
pub(super) fn measure<DB: DrawingBackend>(
    s: &Area<DB>,
    text: &str,
    style: &TextStyle,
) -> Result<(i32, i32)> {
    let (w, h) = s.estimate_text_size(text, style).map_err(perr)?;
    Ok((w as i32, h as i32))
}

/// The box `text` occupies when anchored at `at` with `pos`.
pub(super) fn text_box((x, y): (i32, i32), (w, h): (i32, i32), pos: Pos) -> Bx {
    let x0 = match pos.h_pos {
        HPos::Left => x,
        HPos::Center => x - w / 2,
        HPos::Right => x - w,
    };
    let y0 = match pos.v_pos {
        VPos::Top => y,
        VPos::Center => y - h / 2,
        VPos::Bottom => y - h,
    };
    // Bitmap backends draw glyphs up to a fifth of the line height above plotters' layout box.
    Bx {
        x0,
        y0: y0 - h / 5,
        x1: x0 + w,
        y1: y0 + h,
    }
}

/// Draw `text` anchored at `at`; returns the box it occupies.
pub(super) fn text<DB: DrawingBackend>(
    s: &Area<DB>,
    text: &str,
    at: (i32, i32),
    style: &TextStyle,
    pos: Pos,
) -> Result<Bx> {
    let size = measure(s, text, style)?;
    s.draw(&Text::new(text.to_string(), at, style.pos(pos)))
        .map_err(perr)?;
    Ok(text_box(at, size, pos))
}

/// A label to place at the first candidate anchor (in order of preference) that stays inside
/// `bounds` and covers none of `obstacles`; failing that, the candidate covering the least.
/// Draws it, adds its box to `obstacles`, and returns the box.
pub(super) fn place_label<DB: DrawingBackend>(
    s: &Area<DB>,
    label: &str,
    style: &TextStyle,
    candidates: &[Anchor],
    bounds: Bx,
    obstacles: &mut Vec<Bx>,
) -> Result<Bx> {
    let size = measure(s, label, style)?;
    let mut best: Option<(i64, usize)> = None;
    for (i, a) in candidates.iter().enumerate() {
        let b = a.text_box(size).grow(3);
        let outside = if bounds.contains(&b) { 0 } else { 1_000_000 };
        let cost = outside + obstacles.iter().map(|o| b.overlap(o)).sum::<i64>();
        if best.is_none_or(|(c, _)| cost < c) {
            best = Some((cost, i));
        }
        if cost == 0 {
            break;
        }
    }
    let Some(a) = candidates.get(best.map(|(_, i)| i).unwrap_or(0)) else {
        return Err(Error::Internal(format!("no place for the label {label:?}")));
    };
    let st = if a.vertical {
        style.transform(FontTransform::Rotate270)
    } else {
        style.clone()
    };
    s.draw(&Text::new(label.to_string(), a.at, st.pos(a.pos)))
        .map_err(perr)?;
    let b = a.text_box(size);
    obstacles.push(b.grow(3));
    Ok(b)
}

pub(super) fn stroke(color: RGBColor, width: u32) -> ShapeStyle {
    ShapeStyle {
        color: color.to_rgba(),
        filled: false,
        stroke_width: width,
    }
}

/// A straight line; `dash` = Some((on, off)) in pixels draws it dashed.
pub(super) fn line<DB: DrawingBackend>(
    s: &Area<DB>,
    a: (i32, i32),
    b: (i32, i32),
    style: ShapeStyle,
    dash: Option<(i32, i32)>,
) -> Result<()> {
    polyline(s, &[a, b], style, dash)
}

/// A polyline; with `dash` the pattern continues across vertices.
pub(super) fn polyline<DB: DrawingBackend>(
    s: &Area<DB>,
    pts: &[(i32, i32)],
    style: ShapeStyle,
    dash: Option<(i32, i32)>,
) -> Result<()> {
    let Some((on, off)) = dash else {
        if pts.len() >= 2 {
            s.draw(&PathElement::new(pts.to_vec(), style))
                .map_err(perr)?;
        }
        return Ok(());
    };
    let period = (on + off) as f64;
    let mut phase = 0.0f64; // distance along the pattern, in [0, period)
    for w in pts.windows(2) {
        let (ax, ay) = (w[0].0 as f64, w[0].1 as f64);
        let (bx, by) = (w[1].0 as f64, w[1].1 as f64);
        let len = ((bx - ax).powi(2) + (by - ay).powi(2)).sqrt();
        if len == 0.0 {
            continue;
        }
        let at = |d: f64| {
            let t = d / len;
            (
                (ax + (bx - ax) * t).round() as i32,
                (ay + (by - ay) * t).round() as i32,
            )
        };
        let mut d = 0.0;
        while d < len {
            let in_dash = phase < on as f64;
            let step = if in_dash {
                on as f64 - phase
            } else {
                period - phase
            }
            .min(len - d);
            if in_dash && step > 0.0 {
                s.draw(&PathElement::new(vec![at(d), at(d + step)], style))
                    .map_err(perr)?;
            }
            d += step;
            phase = (phase + step) % period;
        }
    }
    Ok(())
}

/// A vertical error bar from `y_lo` to `y_hi` (pixels) at `x`, with caps.
pub(super) fn error_bar<DB: DrawingBackend>(
    s: &Area<DB>,
    x: i32,
    y_lo: i32,
    y_hi: i32,
    color: RGBColor,
) -> Result<()> {
    if (y_lo - y_hi).abs() < 2 {
        return Ok(());
    }
    let st = stroke(color, 1);
    let cap = 4;
    s.draw(&PathElement::new(vec![(x, y_lo), (x, y_hi)], st))
        .map_err(perr)?;
    s.draw(&PathElement::new(
        vec![(x - cap, y_lo), (x + cap, y_lo)],
        st,
    ))
    .map_err(perr)?;
    s.draw(&PathElement::new(
        vec![(x - cap, y_hi), (x + cap, y_hi)],
        st,
    ))
    .map_err(perr)?;
    Ok(())
}

/// Draw a marker centred at `(x, y)`; `r` is its half-size in pixels.
pub(super) fn marker<DB: DrawingBackend>(
    s: &Area<DB>,
    (x, y): (i32, i32),
    m: Marker,
    color: RGBColor,
    r: i32,
) -> Result<()> {
    let fill = color.filled();
    let halo = stroke(WHITE, 1);
    let outline = |pts: Vec<(i32, i32)>| -> Result<()> {
        s.draw(&Polygon::new(pts.clone(), fill)).map_err(perr)?;
        let mut closed = pts;
        closed.push(closed[0]);
        s.draw(&PathElement::new(closed, halo)).map_err(perr)?;
        Ok(())
    };
    match m {
        Marker::Circle => {
            s.draw(&Circle::new((x, y), r as u32, fill)).map_err(perr)?;
            s.draw(&Circle::new((x, y), r as u32, halo)).map_err(perr)?;
        }
        Marker::HollowCircle => {
            s.draw(&Circle::new((x, y), r as u32, stroke(color, 2)))
                .map_err(perr)?;
        }
        Marker::Square => {
            let q = r - 1;
            outline(vec![
                (x - q, y - q),
                (x + q, y - q),
                (x + q, y + q),
                (x - q, y + q),
            ])?;
        }
        Marker::Diamond => {
            let q = r + 1;
            outline(vec![(x, y - q), (x + q, y), (x, y + q), (x - q, y)])?;
        }
        Marker::TriangleUp => {
            let q = r + 1;
            outline(vec![(x, y - q), (x + q, y + q - 1), (x - q, y + q - 1)])?;
        }
        Marker::TriangleDown => {
            let q = r + 1;
            outline(vec![(x, y + q), (x + q, y - q + 1), (x - q, y - q + 1)])?;
        }
        Marker::Cross => {
            let st = stroke(color, 3);
            s.draw(&PathElement::new(vec![(x - r, y - r), (x + r, y + r)], st))
                .map_err(perr)?;
            s.draw(&PathElement::new(vec![(x - r, y + r), (x + r, y - r)], st))
                .map_err(perr)?;
        }
        Marker::Plus => {
            let st = stroke(color, 3);
            let q = r + 1;
            s.draw(&PathElement::new(vec![(x - q, y), (x + q, y)], st))
                .map_err(perr)?;
            s.draw(&PathElement::new(vec![(x, y - q), (x, y + q)], st))
                .map_err(perr)?;
        }
    }
    Ok(())
}

/// How a legend entry's sample line is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LineKind {
    /// No sample: a note spanning the legend's width.
    None,
    Solid,
    Dashed(i32, i32),
    /// A filled swatch (bars).
    Swatch,
}

pub(super) struct LegendEntry {
    pub label: String,
    /// A second, smaller grey line under the label.
    pub sub: Option<String>,
    pub color: RGBColor,
    pub marker: Option<Marker>,
    pub line: LineKind,
}

const SAMPLE_W: i32 = 36;

const HEADING_H: i32 = 30;
pub(super) const ENTRY_H: i32 = 32;
const SUB_H: i32 = 22;

/// Make `entries` fit `max_h` pixels of legend (with a heading when `heading`): first put each
/// second line after its label, then keep the first entries and say how many were left out.
pub(super) fn fit_legend(
    heading: bool,
    mut entries: Vec<LegendEntry>,
    max_h: i32,
) -> Vec<LegendEntry> {
    let head = if heading { HEADING_H } else { 0 };
    let height = |es: &[LegendEntry]| {
        head + es
            .iter()
            .map(|e| ENTRY_H + if e.sub.is_some() { SUB_H } else { 0 })
            .sum::<i32>()
    };
    if height(&entries) <= max_h {
        return entries;
    }
    for e in &mut entries {
        if let Some(sub) = e.sub.take() {
            e.label = format!("{}, {sub}", e.label);
        }
    }
    if height(&entries) <= max_h {
        return entries;
    }
    let fit = ((max_h - head) / ENTRY_H - 1).max(0) as usize;
    let more = entries.len() - fit;
    entries.truncate(fit);
    entries.push(LegendEntry {
        label: format!("… {more} more not shown"),
        sub: None,
        color: GREY,
        marker: None,
        line: LineKind::None,
    });
    entries
}

/// The width a legend panel needs for `entries` (and an optional heading).
pub(super) fn legend_width<DB: DrawingBackend>(
    s: &Area<DB>,
    heading: Option<&str>,
    entries: &[LegendEntry],
) -> Result<i32> {
    let mut w = 0;
    if let Some(h) = heading {
        w = measure(s, h, &bold(LEGEND, INK))?.0;
    }
    for e in entries {
        w = w.max(SAMPLE_W + 10 + measure(s, &e.label, &font(LEGEND, INK))?.0);
        if let Some(sub) = &e.sub {
            w = w.max(SAMPLE_W + 10 + measure(s, sub, &font(NOTE, GREY))?.0);
        }
    }
    Ok(w + 24)
}

/// Draw a legend with its top-left corner at `(x, y)`; returns its bottom y.
pub(super) fn legend<DB: DrawingBackend>(
    s: &Area<DB>,
    (x, y): (i32, i32),
    heading: Option<&str>,
    entries: &[LegendEntry],
) -> Result<i32> {
    let mut y = y;
    let top = Pos::new(HPos::Left, VPos::Top);
    if let Some(h) = heading {
        text(s, h, (x, y), &bold(LEGEND, INK), top)?;
        y += HEADING_H;
    }
    for e in entries {
        let cy = y + 10;
        let (sx0, sx1) = (x, x + SAMPLE_W);
        match e.line {
            LineKind::None => {}
            LineKind::Solid => line(s, (sx0, cy), (sx1, cy), stroke(e.color, 2), None)?,
            LineKind::Dashed(on, off) => {
                line(s, (sx0, cy), (sx1, cy), stroke(e.color, 2), Some((on, off)))?
            }
            LineKind::Swatch => {
                s.draw(&Rectangle::new(
                    [(sx0 + 4, cy - 9), (sx1 - 4, cy + 9)],
                    e.color.filled(),
                ))
                .map_err(perr)?;
            }
        }
        if let Some(m) = e.marker {
            let mc = if e.line == LineKind::Swatch {
                WHITE
            } else {
                e.color
            };
            marker(s, ((sx0 + sx1) / 2, cy), m, mc, 5)?;
        }
        let (label_x, style) = if e.line == LineKind::None && e.marker.is_none() {
            (x, font(NOTE, GREY))
        } else {
            (x + SAMPLE_W + 10, font(LEGEND, INK))
        };
        text(
            s,
            &e.label,
            (label_x, cy),
            &style,
            Pos::new(HPos::Left, VPos::Center),
        )?;
        if let Some(sub) = &e.sub {
            text(s, sub, (x + SAMPLE_W + 10, y + 24), &font(NOTE, GREY), top)?;
            y += SUB_H;
        }
        y += ENTRY_H;
    }
    Ok(y)
}

/// Draw a frame around the plotting area `b`.
pub(super) fn frame<DB: DrawingBackend>(s: &Area<DB>, b: Bx) -> Result<()> {
    s.draw(&Rectangle::new(
        [(b.x0, b.y0), (b.x1, b.y1)],
        stroke(INK, 1),
    ))
    .map_err(perr)?;
    Ok(())
}

/// Among `ticks` (pixel x, label), in order of priority, keep those whose labels (drawn centred
/// at x) do not overlap an already kept one by less than `gap` pixels and stay within
/// `[x_min, x_max]`; returned sorted by x.
pub(super) fn thin_ticks<DB: DrawingBackend>(
    s: &Area<DB>,
    ticks: &[(i32, String)],
    style: &TextStyle,
    gap: i32,
    (x_min, x_max): (i32, i32),
) -> Result<Vec<(i32, String)>> {
    let mut kept: Vec<(i32, String, Bx)> = Vec::new();
    for (x, label) in ticks {
        let (w, h) = measure(s, label, style)?;
        let b = text_box((*x, 0), (w, h), Pos::new(HPos::Center, VPos::Top));
        if b.x0 < x_min || b.x1 > x_max {
            continue;
        }
        let g = b.grow(gap / 2);
        if kept
            .iter()
            .all(|(_, _, k)| k.grow(gap / 2).overlap(&g) == 0)
        {
            kept.push((*x, label.clone(), b));
        }
    }
    kept.sort_by_key(|(x, _, _)| *x);
    Ok(kept.into_iter().map(|(x, l, _)| (x, l)).collect())
}

/// Draw the title (bold, centred) and an optional grey subtitle at the top of the area whose
/// top-left corner is `(x, y)` and width `w`; returns the height used.
pub(super) fn title<DB: DrawingBackend>(
    s: &Area<DB>,
    (x, y, w): (i32, i32, i32),
    title: &str,
    subtitle: Option<&str>,
) -> Result<i32> {
    let top = Pos::new(HPos::Center, VPos::Top);
    // Shrink a long title to the width, then shorten it with an ellipsis.
    let room = w - 24;
    let mut size = TITLE;
    while size > 16.0 && measure(s, title, &bold(size, INK))?.0 > room {
        size -= 1.0;
    }
    let mut shown = title.to_string();
    while measure(s, &shown, &bold(size, INK))?.0 > room && shown.chars().count() > 2 {
        let n = shown.chars().count();
        shown = shown.chars().take(n.saturating_sub(2)).collect::<String>() + "…";
    }
    text(s, &shown, (x + w / 2, y + 12), &bold(size, INK), top)?;
    match subtitle {
        Some(sub) => {
            text(s, sub, (x + w / 2, y + 42), &font(SUBTITLE, GREY), top)?;
            Ok(68)
        }
        None => Ok(44),
    }
}

/// Format a number with at most `max_dec` decimals and no trailing zeros ("0.55", "2", "0.1").
pub(super) fn num(v: f64, max_dec: usize) -> String {
    let s = format!("{v:.max_dec$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" {
        "0".into()
    } else {
        s
    }
}

/// Format a percentage value (already × 100) compactly: "55", "5.0", "99.5".
pub(super) fn pct(v: f64) -> String {
    if (v - v.round()).abs() < 0.05 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_format_compactly() {
        assert_eq!(num(0.55, 4), "0.55");
        assert_eq!(num(2.0, 4), "2");
        assert_eq!(num(0.123456, 3), "0.123");
        assert_eq!(num(-0.00001, 3), "0");
        assert_eq!(pct(55.004), "55");
        assert_eq!(pct(5.3), "5.3");
    }

    #[test]
    fn boxes_overlap_and_contain() {
        let a = Bx::around((10, 10), 5);
        let b = Bx::around((14, 10), 5);
        assert_eq!(a.overlap(&b), 6 * 10);
        assert_eq!(a.overlap(&Bx::around((30, 30), 2)), 0);
        assert!(a.grow(1).contains(&a));
        let t = text_box((100, 50), (40, 10), Pos::new(HPos::Right, VPos::Bottom));
        assert_eq!(
            t,
            Bx {
                x0: 60,
                y0: 38,
                x1: 100,
                y1: 50
            }
        );
    }

    fn entry(label: &str, sub: Option<&str>) -> LegendEntry {
        LegendEntry {
            label: label.into(),
            sub: sub.map(String::from),
            color: INK,
            marker: None,
            line: LineKind::Solid,
        }
    }

    #[test]
    fn legends_shrink_to_fit() {
        let many = || {
            (0..10)
                .map(|i| entry(&format!("m{i}"), Some("τ = 1")))
                .collect::<Vec<_>>()
        };
        // 30 + 10 × 54 = 570: fits as is.
        assert_eq!(fit_legend(true, many(), 570)[0].label, "m0");
        // Too tall: second lines move up.
        let compact = fit_legend(true, many(), 400);
        assert_eq!(compact.len(), 10);
        assert_eq!(compact[3].label, "m3, τ = 1");
        assert!(compact.iter().all(|e| e.sub.is_none()));
        // Far too tall: the rest is counted.
        let cut = fit_legend(true, many(), 30 + 5 * 32);
        assert_eq!(cut.len(), 5);
        assert_eq!(cut[4].label, "… 6 more not shown");
    }

    #[test]
    fn series_styles_are_distinct() {
        let styles: Vec<_> = (0..56).map(series_style).collect();
        for i in 0..styles.len() {
            for j in 0..i {
                assert_ne!(styles[i], styles[j], "{i} {j}");
            }
        }
    }
}
