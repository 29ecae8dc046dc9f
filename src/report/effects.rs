//! The report's section on what pruning did beyond accuracy: effective sparsity and mask
//! stability of every selected model (from `selection.csv`), and measured speed (from
//! `speed.csv`, when the run has one). Rendered from the CSV files alone; columns a run of an
//! older version lacks are simply not shown.

use crate::error::Result;
use crate::report::plot::data::parse_rows;
use serde::Deserialize;
use std::fmt::Write;
use std::path::Path;

#[derive(Debug, Clone, Deserialize)]
struct Row {
    method: crate::sweep::ids::RowMethod,
    rule: String,
    tau: Option<f64>,
    test_sparsity: f64,
    #[serde(default)]
    test_effective_sparsity: Option<f64>,
    #[serde(default)]
    feature_jaccard: Option<f64>,
    #[serde(default)]
    feature_jaccard_chance: Option<f64>,
    #[serde(default)]
    mask_jaccard: Option<f64>,
    #[serde(default)]
    mask_jaccard_chance: Option<f64>,
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("–".into(), |x| format!("{x:.digits$}"))
}

fn pct(v: Option<f64>) -> String {
    v.map_or("–".into(), |x| format!("{:.1} %", 100.0 * x))
}

/// The Markdown section, or an empty string when `selection.csv` has none of these columns.
pub fn section(run_dir: &Path) -> Result<String> {
    let path = run_dir.join("selection.csv");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        crate::error::Error::data(path.display().to_string(), format!("cannot read it: {e}"))
    })?;
    let rows: Vec<Row> = parse_rows(&text, "selection.csv")?;
    let mut o = String::new();
    let _ = write_stability(&mut o, &rows);
    let _ = super::speed_report::write(&mut o, run_dir);
    Ok(o)
}

fn write_stability(o: &mut String, rows: &[Row]) -> std::fmt::Result {
    let rows: Vec<&Row> = rows
        .iter()
        .filter(|r| !r.method.is_dense() && r.test_effective_sparsity.is_some())
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    let shared = rows.iter().any(|r| r.mask_jaccard.is_some());
    writeln!(o, "## Effective sparsity and mask stability")?;
    writeln!(o)?;
    writeln!(
        o,
        "Effective sparsity also counts kept weights that cannot reach the output (dead units and \
         the weights around them). Feature Jaccard: the mean pairwise Jaccard index, over the fold \
         models, of the input features that still feed the output at the chosen τ; the chance \
         column is what two random feature sets of the same sizes would give. Read a value well \
         above chance as folds agreeing on which inputs matter; a value near chance as the kept \
         set being arbitrary. {}",
        if shared {
            "Mask Jaccard compares whole masks, meaningful here because the fold models share \
             their initialisation (`cv.shared_init: true`)."
        } else {
            "Whole masks are not compared: the fold models were initialised independently, so \
             their hidden units are not aligned (set `cv.shared_init: true` to compare them)."
        }
    )?;
    writeln!(o)?;
    let mut head =
        "| method | rule | τ | test sparsity | effective | feature Jaccard | chance |".to_string();
    let mut rule = "|---|---|---|---|---|---|---|".to_string();
    if shared {
        head.push_str(" mask Jaccard | chance |");
        rule.push_str("---|---|");
    }
    writeln!(o, "{head}")?;
    writeln!(o, "{rule}")?;
    for r in rows {
        write!(
            o,
            "| {} | `{}` | {} | {} | {} | {} | {} |",
            r.method,
            r.rule,
            r.tau.map_or("–".into(), |t| format!("{t:?}")),
            pct(Some(r.test_sparsity)),
            pct(r.test_effective_sparsity),
            opt(r.feature_jaccard, 3),
            opt(r.feature_jaccard_chance, 3),
        )?;
        if shared {
            write!(
                o,
                " {} | {} |",
                opt(r.mask_jaccard, 3),
                opt(r.mask_jaccard_chance, 3)
            )?;
        }
        writeln!(o)?;
    }
    writeln!(o)
}
