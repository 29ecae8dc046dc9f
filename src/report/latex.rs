//! `report.tex`: the run's tables for a paper, as a LaTeX document that compiles with a stock
//! `pdflatex` (packages `booktabs` and `geometry` only). Rendered from the CSV tables alone, like
//! the Markdown report; every table is a self-contained `table` environment (between
//! `% prunecv:begin NAME` and `% prunecv:end NAME` comments) meant to be pasted into a paper.
//!
//! Text is ASCII: special characters of run and method names are escaped ([`escape`]), and the
//! few non-ASCII characters prunecv writes (±, τ, …) become math-mode commands.

use crate::report::pairwise::{self, PairwiseRow};
use crate::report::plot::data::{RunData, SelectionRow};
use std::fmt::Write;

/// Escape text for LaTeX's text mode: the ten special characters, and the non-ASCII characters
/// prunecv's own text uses (others become `?`, so the output stays ASCII).
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\textbackslash{}"),
            '{' | '}' | '$' | '&' | '#' | '_' | '%' => {
                o.push('\\');
                o.push(c);
            }
            '^' => o.push_str("\\textasciicircum{}"),
            '~' => o.push_str("\\textasciitilde{}"),
            '±' => o.push_str("$\\pm$"),
            'τ' => o.push_str("$\\tau$"),
            '×' => o.push_str("$\\times$"),
            '·' => o.push_str("$\\cdot$"),
            '−' => o.push_str("$-$"),
            '–' => o.push_str("--"),
            '—' => o.push_str("---"),
            '≥' => o.push_str("$\\geq$"),
            '≤' => o.push_str("$\\leq$"),
            '<' => o.push_str("$<$"),
            '>' => o.push_str("$>$"),
            '|' => o.push_str("\\textbar{}"),
            c if c.is_ascii() => o.push(c),
            _ => o.push('?'),
        }
    }
    o
}

fn acc(v: f64) -> String {
    format!("{v:.4}")
}

fn pct(v: f64) -> String {
    format!("{:.1}\\%", v * 100.0)
}

fn tau(r: &SelectionRow) -> String {
    match r.tau {
        Some(t) => format!("{t:?}"),
        None => "--".into(),
    }
}

/// The LaTeX report of already-loaded tables and their pairwise comparisons.
pub fn render(data: &RunData, pairs: &[PairwiseRow]) -> String {
    let mut o = String::new();
    // Writing into a String cannot fail.
    let _ = write_report(&mut o, data, pairs);
    o
}

fn write_report(o: &mut String, data: &RunData, pairs: &[PairwiseRow]) -> std::fmt::Result {
    let name = escape(&data.name);
    writeln!(
        o,
        "% report.tex, written by prunecv from the run's CSV tables (summary.csv, selection.csv,"
    )?;
    writeln!(
        o,
        "% pairwise.csv). Compile with pdflatex; copy a table between its prunecv:begin/end lines."
    )?;
    writeln!(o, "\\documentclass[10pt]{{article}}")?;
    writeln!(o, "\\usepackage[margin=2cm]{{geometry}}")?;
    writeln!(o, "\\usepackage{{booktabs}}")?;
    writeln!(o, "\\begin{{document}}")?;
    writeln!(o, "\\section*{{Pruning report: {name}}}")?;
    writeln!(
        o,
        "$\\tau$ is chosen per method and rule on the cross-validation folds alone; each chosen \
         model is refit on the whole training pool and evaluated once on the held-out test split. \
         CV values are mean $\\pm$ standard error over folds."
    )?;
    writeln!(o)?;

    // Dense baseline.
    let ds = data.dense_summary();
    let dsel = data.dense_selection();
    writeln!(o, "% prunecv:begin dense")?;
    writeln!(o, "\\begin{{table}}[ht]")?;
    writeln!(o, "\\centering")?;
    writeln!(
        o,
        "\\caption{{Dense baseline of {name}: cross-validation (mean $\\pm$ SE over folds) and \
         test accuracy.}}"
    )?;
    writeln!(o, "\\label{{tab:{}-dense}}", label(&data.name))?;
    writeln!(o, "\\begin{{tabular}}{{lrrrr}}")?;
    writeln!(o, "\\toprule")?;
    writeln!(
        o,
        "model & CV accuracy & test accuracy & parameters & FLOPs \\\\"
    )?;
    writeln!(o, "\\midrule")?;
    writeln!(
        o,
        "dense & {} & {} & {} & {} \\\\",
        ds.map_or("--".into(), |d| format!(
            "${} \\pm {}$",
            acc(d.mean_val_acc),
            acc(d.se_val_acc)
        )),
        dsel.map_or("--".into(), |d| acc(d.test_acc)),
        dsel.map_or("--".into(), |d| d.params_left.to_string()),
        dsel.map_or("--".into(), |d| d.flops_left.to_string()),
    )?;
    writeln!(o, "\\bottomrule")?;
    writeln!(o, "\\end{{tabular}}")?;
    writeln!(o, "\\end{{table}}")?;
    writeln!(o, "% prunecv:end dense")?;
    writeln!(o)?;

    // Selected models.
    let rows = data.selected_by_method();
    writeln!(o, "% prunecv:begin selected")?;
    writeln!(o, "\\begin{{table}}[ht]")?;
    writeln!(o, "\\centering")?;
    let unit = rows
        .iter()
        .find(|r| !r.tau_unit.is_empty())
        .map_or(String::new(), |r| {
            format!(" ($\\tau$ in {} units)", escape(&r.tau_unit))
        });
    writeln!(
        o,
        "\\caption{{Selected models of {name}{unit}: CV accuracy (mean $\\pm$ SE) and sparsity at \
         the chosen $\\tau$, then the refit model's test accuracy, sparsity and remaining \
         parameters.}}"
    )?;
    writeln!(o, "\\label{{tab:{}-selected}}", label(&data.name))?;
    writeln!(o, "\\begin{{tabular}}{{llrrrrrr}}")?;
    writeln!(o, "\\toprule")?;
    writeln!(
        o,
        "method & rule & $\\tau$ & CV accuracy & CV sparsity & test accuracy & test sparsity & \
         parameters \\\\"
    )?;
    writeln!(o, "\\midrule")?;
    let mut last = None;
    for r in &rows {
        if last.is_some_and(|m| m != r.method) {
            writeln!(o, "\\addlinespace")?;
        }
        last = Some(r.method);
        writeln!(
            o,
            "{} & {} & {} & ${} \\pm {}$ & {} & {} & {} & {} \\\\",
            escape(r.method.as_str()),
            escape(&r.rule.label()),
            tau(r),
            acc(r.cv_mean_val_acc),
            acc(r.cv_se_val_acc),
            pct(r.cv_mean_sparsity),
            acc(r.test_acc),
            pct(r.test_sparsity),
            r.params_left,
        )?;
    }
    if rows.is_empty() {
        writeln!(
            o,
            "\\multicolumn{{8}}{{l}}{{No pruned model was selected.}} \\\\"
        )?;
    }
    writeln!(o, "\\bottomrule")?;
    writeln!(o, "\\end{{tabular}}")?;
    writeln!(o, "\\end{{table}}")?;
    writeln!(o, "% prunecv:end selected")?;
    writeln!(o)?;

    // Paired comparisons.
    if !pairs.is_empty() {
        writeln!(o, "\\subsection*{{Paired comparisons}}")?;
        for s in pairwise::sentences(pairs) {
            writeln!(o, "{}", escape(&s))?;
            writeln!(o)?;
        }
        writeln!(o, "{}", escape(pairwise::CAVEAT))?;
        writeln!(o)?;
    }
    writeln!(o, "\\end{{document}}")?;
    Ok(())
}

/// A `\label` key: letters, digits and `-` only.
fn label(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specials_are_escaped() {
        assert_eq!(
            escape("a_b & 50% #1 $x {y} ~z ^w \\"),
            "a\\_b \\& 50\\% \\#1 \\$x \\{y\\} \\textasciitilde{}z \\textasciicircum{}w \\textbackslash{}"
        );
        assert_eq!(
            escape("0.9 ± 0.1, τ × 2 − 1"),
            "0.9 $\\pm$ 0.1, $\\tau$ $\\times$ 2 $-$ 1"
        );
        assert_eq!(escape("p < 0.001"), "p $<$ 0.001");
        assert_eq!(escape("é"), "?");
    }
}
