//! A Markdown summary of a finished run, rendered from its CSV tables alone: the dense baseline,
//! one table of every method's selected models, a sentence per pair of methods from the paired
//! comparisons ([`crate::report::pairwise`]), and links to the plots that
//! [`crate::report::plot::render_all`] writes (under `plots/`, relative to the run directory, so
//! the report belongs in the run directory, e.g. as `report.md`).

use crate::error::Result;
use crate::report::pairwise::{self, PairwiseRow};
use crate::report::plot::data::{RunData, SelectionRow};
use crate::report::plot::{planned, Plot};
use std::fmt::Write;
use std::path::Path;

/// The sections read from files beside the tables: class names (model card), effective
/// sparsity, mask stability and measured speed.
pub fn appendix(run_dir: &Path) -> Result<String> {
    Ok(classes_section(run_dir) + &super::effects::section(run_dir)?)
}

/// What each class index means, from the dense model's card, when the labels were names (CSV
/// class names, CIFAR-10); empty otherwise.
fn classes_section(run_dir: &Path) -> String {
    let card = std::fs::read(run_dir.join("models").join("dense.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<crate::model::export::ModelCard>(&b).ok());
    match card.and_then(|c| c.class_names) {
        Some(names) => {
            let list: Vec<String> = names
                .iter()
                .enumerate()
                .map(|(i, n)| format!("{i} = {n}"))
                .collect();
            format!(
                "\n## Classes\n\nPredictions are class indices: {}.\n",
                list.join(", ")
            )
        }
        None => String::new(),
    }
}

/// The Markdown report of already-loaded tables, without paired comparisons.
#[cfg(test)]
pub fn render(data: &RunData) -> String {
    render_with(data, &[])
}

/// The Markdown report of already-loaded tables and their paired comparisons.
pub fn render_with(data: &RunData, pairs: &[PairwiseRow]) -> String {
    let mut o = String::new();
    // Writing into a String cannot fail.
    let _ = write_report(&mut o, data, pairs);
    o
}

fn acc(v: f64) -> String {
    format!("{v:.4}")
}

fn pct(v: f64) -> String {
    format!("{:.1} %", v * 100.0)
}

/// "13822 (80.2 %)": a count and its share of the dense model's.
fn count(v: usize, dense: Option<usize>) -> String {
    match dense {
        Some(d) if d > 0 => format!("{v} ({:.1} %)", v as f64 / d as f64 * 100.0),
        _ => v.to_string(),
    }
}

fn tau(r: &SelectionRow) -> String {
    match r.tau {
        // `{:?}` writes the shortest round-trip form, as selection.csv does ("0.0", "0.55").
        Some(t) if r.tau_unit.is_empty() => format!("{t:?}"),
        Some(t) => format!("{t:?} ({})", r.tau_unit),
        None => "–".into(),
    }
}

fn write_report(o: &mut String, data: &RunData, pairs: &[PairwiseRow]) -> std::fmt::Result {
    writeln!(o, "# Pruning report: {}", data.name)?;
    writeln!(o)?;
    writeln!(
        o,
        "τ is chosen per method and rule on the cross-validation folds alone; each chosen model is \
         refit on the whole training pool and evaluated once on the held-out test split. \
         Accuracies are fractions; CV values are mean ± standard error over folds."
    )?;
    writeln!(o)?;

    writeln!(o, "## Dense baseline")?;
    writeln!(o)?;
    let ds = data.dense_summary();
    let dsel = data.dense_selection();
    match ds {
        Some(d) => writeln!(
            o,
            "- CV accuracy: {} ± {} (mean ± SE over {} folds)",
            acc(d.mean_val_acc),
            acc(d.se_val_acc),
            d.n
        )?,
        None => writeln!(o, "- CV accuracy: not recorded")?,
    }
    match dsel {
        Some(d) => {
            writeln!(o, "- Test accuracy: {}", acc(d.test_acc))?;
            writeln!(
                o,
                "- Parameters: {}; FLOPs (multiply-adds per example): {}",
                d.params_left, d.flops_left
            )?;
        }
        None => writeln!(o, "- Test accuracy: not recorded")?,
    }
    writeln!(o)?;

    writeln!(o, "## Selected models")?;
    writeln!(o)?;
    let rows = data.selected_by_method();
    if rows.is_empty() {
        writeln!(o, "No pruned model was selected.")?;
    } else {
        let dense_params = dsel.map(|d| d.params_left);
        let dense_flops = dsel.map(|d| d.flops_left);
        writeln!(
            o,
            "Params and FLOPs in parentheses are shares of the dense model's. Shrunk params: the \
             parameter count once removed neurons are cut out of the network."
        )?;
        writeln!(o)?;
        writeln!(
            o,
            "| method | rule | τ | CV acc ± SE | CV sparsity | test acc | test sparsity | params left | shrunk params | FLOPs left |"
        )?;
        writeln!(o, "|---|---|---|---|---|---|---|---|---|---|")?;
        for r in rows {
            writeln!(
                o,
                "| {} | `{}` | {} | {} ± {} | {} | {} | {} | {} | {} | {} |",
                r.method,
                r.rule,
                tau(r),
                acc(r.cv_mean_val_acc),
                acc(r.cv_se_val_acc),
                pct(r.cv_mean_sparsity),
                acc(r.test_acc),
                pct(r.test_sparsity),
                count(r.params_left, dense_params),
                count(r.shrunk_params, dense_params),
                count(r.flops_left, dense_flops),
            )?;
        }
    }
    writeln!(o)?;

    if !pairs.is_empty() {
        writeln!(o, "## Paired comparisons")?;
        writeln!(o)?;
        writeln!(
            o,
            "Per fold, each method's validation accuracy is interpolated at matched sparsities;              the differences between two methods are paired across the shared folds              (`pairwise.csv` has every pair at every matched sparsity)."
        )?;
        writeln!(o)?;
        for s in pairwise::sentences(pairs) {
            writeln!(o, "- {s}")?;
        }
        writeln!(o)?;
        writeln!(o, "{}", pairwise::CAVEAT)?;
        writeln!(o)?;
    }

    writeln!(o, "## Plots")?;
    writeln!(o)?;
    writeln!(
        o,
        "Charts in `plots/`, drawn from these tables (PDF and SVG for papers, PNG for quick \
         viewing); `report.tex` has the tables above in LaTeX (booktabs)."
    )?;
    writeln!(o)?;
    for p in planned(data) {
        let stem = p.stem();
        let heading = match &p {
            Plot::Cv(m) => format!("CV curve: {m}"),
            _ => capitalise(&p.describe()),
        };
        writeln!(o, "### {heading}")?;
        writeln!(o)?;
        writeln!(
            o,
            "![{}](plots/{stem}.png) ([SVG](plots/{stem}.svg), [PDF](plots/{stem}.pdf))",
            p.describe()
        )?;
        writeln!(o)?;
    }
    Ok(())
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::plot::data::{parse_rows, parse_summary};

    const SUMMARY: &str = "method,tau,tau_unit,n,mean_val_acc,std_val_acc,se_val_acc,mean_val_loss,mean_sparsity,mean_neurons_removed,mean_params_left,mean_flops_left,rank_val_acc
dense,,,5,0.9721956058846303,0.0168,0.007520078794896472,0.15,0.0,0.0,17226.0,17024.0,1
magnitude,0.2,quantile,5,0.9721956058846303,0.0168,0.007520078794896472,0.15,0.2,0.0,13822.0,13620.0,1
magnitude,0.55,quantile,5,0.9694105691056911,0.0141,0.0063374050375063625,0.14,0.55,0.0,7862.0,7660.0,10
";
    const SELECTION: &str = "method,rule,tau,tau_unit,cv_mean_val_acc,cv_se_val_acc,cv_mean_sparsity,test_acc,test_loss,test_sparsity,neurons_removed,params_left,shrunk_params,flops_left,model
dense,none,,,0.9721956058846303,0.007520078794896472,0.0,0.9832869080779945,0.05,0.0,0,17226,17226,17024,models/dense.safetensors
magnitude,best,0.2,quantile,0.9721956058846303,0.007520078794896472,0.199953007518797,0.9832869080779945,0.05,0.199953007518797,0,13822,17226,13620,models/magnitude_best.safetensors
magnitude,one_se,0.55,quantile,0.9694105691056911,0.0063374050375063625,0.550046992481203,0.9860724233983287,0.06,0.550046992481203,0,7862,17226,7660,models/magnitude_one_se.safetensors
";

    fn data() -> RunData {
        RunData {
            name: "digits-mlp".into(),
            summary: parse_summary(SUMMARY, "summary.csv").unwrap(),
            selection: parse_rows(SELECTION, "selection.csv").unwrap(),
            layers: Vec::new(),
            trajectory: None,
            compared: Vec::new(),
        }
    }

    #[test]
    fn report_has_baseline_table_and_links() {
        let md = render(&data());
        assert!(md.starts_with("# Pruning report: digits-mlp\n"), "{md}");
        assert!(md.contains("- CV accuracy: 0.9722 ± 0.0075 (mean ± SE over 5 folds)"));
        assert!(md.contains("- Test accuracy: 0.9833"));
        assert!(md.contains(
            "| magnitude | `one_se` | 0.55 (quantile) | 0.9694 ± 0.0063 | 55.0 % | 0.9861 | 55.0 % | 7862 (45.6 %) | 17226 (100.0 %) | 7660 (45.0 %) |"
        ), "{md}");
        assert!(md.contains("| magnitude | `best` | 0.2 (quantile) |"));
        assert!(md.contains("(plots/accuracy_vs_sparsity.png)"));
        assert!(md.contains("[SVG](plots/cv_magnitude.svg)"));
        assert!(
            !md.contains("layer_sparsity"),
            "no layers.csv rows, no plot"
        );
        assert_eq!(md, render(&data()));
    }

    #[test]
    fn report_without_dense_rows_still_renders() {
        let mut d = data();
        d.summary.retain(|r| !r.method.is_dense());
        d.selection.retain(|r| !r.method.is_dense());
        let md = render(&d);
        assert!(md.contains("CV accuracy: not recorded"));
        assert!(md.contains("| 7862 | 17226 | 7660 |"), "{md}");
    }

    #[test]
    fn counts_show_shares_of_dense() {
        assert_eq!(count(50, Some(200)), "50 (25.0 %)");
        assert_eq!(count(50, None), "50");
        assert_eq!(count(50, Some(0)), "50");
    }
}
