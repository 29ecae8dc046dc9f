//! `plots:`: the physical size of the figures and their text, for a one- or two-column paper.
//!
//! Charts are laid out in pixels around a 16 px tick-label font (12.9 px once plotters' SVG
//! backend has converted it to an SVG font size). A figure of `width_in` × `height_in` inches
//! with `font_pt`-point tick labels is therefore drawn on a canvas of
//! `width_in · 72 · (16 / 1.24) / font_pt` pixels, and the PDF maps that canvas onto a page of
//! exactly `width_in · 72` × `height_in · 72` points, so text set at `font_pt` is `font_pt` in
//! the paper when the PDF is included at 100 %. The defaults (7.75 × 5.17 in, 8 pt) give
//! today's 900 × 600 px canvas.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// `plots:` as written.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPlots {
    /// Figure width in inches (the PDF page is width_in × 72 pt wide); 3.3 fits one column of a
    /// two-column paper, 6.9 the full text width. Default 7.75.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width_in: Option<f64>,
    /// Figure height in inches. Default: two thirds of the width.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height_in: Option<f64>,
    /// Size of the tick labels in points when the figure is shown at its size (titles, axis
    /// titles and the legend are 23/16, 19/16 and 17/16 of it). Default 8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub font_pt: Option<f64>,
}

/// The resolved figure size.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PlotsSpec {
    pub width_in: f64,
    pub height_in: f64,
    pub font_pt: f64,
}

/// Default width: the 900 px canvas at 8 pt (900 · 1.24 · 8 / 16 = 558 pt).
pub const DEFAULT_WIDTH_IN: f64 = 7.75;
/// Default tick-label size.
pub const DEFAULT_FONT_PT: f64 = 8.0;

impl Default for PlotsSpec {
    fn default() -> Self {
        PlotsSpec {
            width_in: DEFAULT_WIDTH_IN,
            height_in: DEFAULT_WIDTH_IN * 2.0 / 3.0,
            font_pt: DEFAULT_FONT_PT,
        }
    }
}

/// Fill defaults and validate `plots:`; `file` names the source in errors.
pub fn resolve(raw: Option<RawPlots>, file: &str) -> Result<PlotsSpec> {
    let raw = raw.unwrap_or_default();
    let check = |field: &str, v: f64, lo: f64, hi: f64| -> Result<f64> {
        if v.is_finite() && (lo..=hi).contains(&v) {
            Ok(v)
        } else {
            Err(Error::config(
                file,
                format!("field `plots.{field}`: expected a number in [{lo}, {hi}], found {v}"),
            ))
        }
    };
    let width_in = check(
        "width_in",
        raw.width_in.unwrap_or(DEFAULT_WIDTH_IN),
        1.0,
        40.0,
    )?;
    let height_in = match raw.height_in {
        Some(h) => check("height_in", h, 0.5, 40.0)?,
        None => width_in * 2.0 / 3.0,
    };
    let font_pt = check("font_pt", raw.font_pt.unwrap_or(DEFAULT_FONT_PT), 4.0, 30.0)?;
    let spec = PlotsSpec {
        width_in,
        height_in,
        font_pt,
    };
    // The charts need room: at least about 320 × 200 canvas pixels.
    let (w, h) = spec.canvas_px();
    if w < 320 || h < 200 {
        return Err(Error::config(
            file,
            format!(
                "field `plots`: a {width_in} × {height_in} in figure with {font_pt} pt text leaves \
                 a {w} × {h} px canvas; the charts need at least 320 × 200 (make the figure larger \
                 or the font smaller)"
            ),
        ));
    }
    Ok(spec)
}

/// Pixels per SVG font-size unit of the 16 px tick font (plotters' SVG backend writes size/1.24).
pub const TICK_SVG_PX: f64 = 16.0 / 1.24;

impl PlotsSpec {
    /// Canvas pixels per point of the page.
    pub fn px_per_pt(&self) -> f64 {
        TICK_SVG_PX / self.font_pt
    }

    /// The exact (fractional) canvas size in pixels.
    pub fn canvas_exact(&self) -> (f64, f64) {
        let k = self.px_per_pt();
        (self.width_in * 72.0 * k, self.height_in * 72.0 * k)
    }

    /// The canvas the charts are drawn on, in whole pixels (the PNG's size).
    pub fn canvas_px(&self) -> (u32, u32) {
        let (w, h) = self.canvas_exact();
        (w.round() as u32, h.round() as u32)
    }

    /// The PDF page in points.
    #[cfg(test)]
    pub fn page_pt(&self) -> (f64, f64) {
        (self.width_in * 72.0, self.height_in * 72.0)
    }

    /// `plots:` as written in a resolved file: only what differs from the defaults (so files
    /// and configuration hashes of runs that never set it are unchanged).
    pub fn to_raw(self) -> Option<RawPlots> {
        let d = PlotsSpec::default();
        if self == d {
            return None;
        }
        Some(RawPlots {
            width_in: Some(self.width_in),
            height_in: (self.height_in != self.width_in * 2.0 / 3.0).then_some(self.height_in),
            font_pt: Some(self.font_pt),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_give_the_900_by_600_canvas() {
        let d = resolve(None, "t.yaml").unwrap();
        assert_eq!(d, PlotsSpec::default());
        assert_eq!(d.canvas_px(), (900, 600));
        assert_eq!(d.page_pt(), (558.0, 372.0));
        assert_eq!(d.to_raw(), None);
    }

    #[test]
    fn one_column_figure() {
        let p = resolve(
            Some(RawPlots {
                width_in: Some(3.3),
                height_in: None,
                font_pt: Some(8.0),
            }),
            "t.yaml",
        )
        .unwrap();
        // 3.3 in = 237.6 pt; 237.6 · 12.903 / 8 = 383.2 px; height 2.2 in = 158.4 pt → 255.5 px.
        assert!((p.height_in - 2.2).abs() < 1e-12);
        assert_eq!(p.canvas_px(), (383, 255));
        let raw = p.to_raw().unwrap();
        assert_eq!((raw.width_in, raw.height_in), (Some(3.3), None));
    }

    #[test]
    fn bad_sizes_name_the_field() {
        let e = resolve(
            Some(RawPlots {
                font_pt: Some(0.0),
                ..RawPlots::default()
            }),
            "t.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("t.yaml") && e.contains("`plots.font_pt`"), "{e}");
        let e = resolve(
            Some(RawPlots {
                width_in: Some(1.0),
                font_pt: Some(20.0),
                ..RawPlots::default()
            }),
            "t.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("canvas"), "{e}");
    }
}
