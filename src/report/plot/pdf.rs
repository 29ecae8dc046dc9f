//! SVG → PDF for the figures, with the embedded DejaVu Sans as the only font: the SVG that
//! plotters writes is parsed by `usvg` (fonts from a database holding just the two embedded
//! DejaVu faces, no system fonts) and converted by `svg2pdf`, which embeds a subset of the font
//! and keeps the text as text. The page is exactly the configured size in points.

use crate::config::plots::PlotsSpec;
use crate::error::{Error, Result};
use std::sync::{Arc, OnceLock};
use svg2pdf::usvg;

/// The font database: DejaVu Sans (regular and bold), also answering for `sans-serif`.
fn fontdb() -> Arc<usvg::fontdb::Database> {
    static DB: OnceLock<Arc<usvg::fontdb::Database>> = OnceLock::new();
    DB.get_or_init(|| {
        let mut db = usvg::fontdb::Database::new();
        db.load_font_data(dejavu::sans::regular().to_vec());
        db.load_font_data(dejavu::sans::bold().to_vec());
        db.set_sans_serif_family("DejaVu Sans");
        Arc::new(db)
    })
    .clone()
}

/// Give the SVG root the exact (fractional) canvas size, keeping its whole-pixel `viewBox`, so
/// that the page comes out at exactly the configured size.
fn exact_root(svg: &str, (w, h): (f64, f64)) -> Result<String> {
    let start = svg
        .find("<svg ")
        .ok_or_else(|| Error::Internal("pdf: no <svg> element".into()))?;
    let end = start
        + svg[start..]
            .find(" viewBox=")
            .ok_or_else(|| Error::Internal("pdf: the <svg> element has no viewBox".into()))?;
    Ok(format!(
        "{}<svg width=\"{w}\" height=\"{h}\"{}",
        &svg[..start],
        &svg[end..]
    ))
}

/// Convert a chart's SVG (drawn on `fig`'s canvas) into a one-page PDF of `fig`'s page size.
pub fn svg_to_pdf(svg: &str, fig: &PlotsSpec) -> Result<Vec<u8>> {
    let svg = exact_root(svg, fig.canvas_exact())?;
    let opt = usvg::Options {
        font_family: "DejaVu Sans".into(),
        fontdb: fontdb(),
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(&svg, &opt)
        .map_err(|e| Error::Internal(format!("pdf: parsing the SVG: {e}")))?;
    let page = svg2pdf::PageOptions {
        dpi: (72.0 * fig.px_per_pt()) as f32,
    };
    svg2pdf::to_pdf(&tree, svg2pdf::ConversionOptions::default(), page)
        .map_err(|e| Error::Internal(format!("pdf: converting the SVG: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_gets_the_exact_size() {
        let svg = "<?xml?>\n<svg width=\"383\" height=\"255\" viewBox=\"0 0 383 255\" xmlns=\"x\">";
        assert_eq!(
            exact_root(svg, (383.25, 255.5)).unwrap(),
            "<?xml?>\n<svg width=\"383.25\" height=\"255.5\" viewBox=\"0 0 383 255\" xmlns=\"x\">"
        );
    }
}
