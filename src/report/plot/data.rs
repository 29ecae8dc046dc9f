//! The tables of a run directory, parsed by column name (extra columns are ignored, so the
//! readers keep working when a table gains a column).

use crate::config::{MethodKind, SelectRule};
use crate::error::{Error, Result};
use crate::sweep::ids::RowRule;
use serde::de::DeserializeOwned;
use std::path::Path;

/// The rows of the tables: the very structs the sweep writes (one schema for writing and
/// reading).
pub use crate::sweep::records::{LayerRow, SelectionRow, SummaryRow, TrajectoryRow};

/// Everything the plots and the Markdown report read from a run directory.
#[derive(Debug, Clone, PartialEq)]
pub struct RunData {
    /// The experiment name (`name:` in `resolved.yaml`, else the directory name).
    pub name: String,
    pub summary: Vec<SummaryRow>,
    pub selection: Vec<SelectionRow>,
    /// Empty when `layers.csv` is absent or has no rows.
    pub layers: Vec<LayerRow>,
    /// `None` when `trajectory.csv` is absent.
    pub trajectory: Option<Vec<TrajectoryRow>>,
    /// The runs a comparison overlays ([`crate::report::compare::overlay`]), in order; empty for
    /// one run's tables.
    pub compared: Vec<Compared>,
}

/// One run of a comparison: its label and its summary rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Compared {
    pub label: String,
    pub summary: Vec<SummaryRow>,
}

impl RunData {
    /// Read a run directory's tables. `summary.csv` and `selection.csv` are required;
    /// `layers.csv`, `trajectory.csv` and `resolved.yaml` are optional.
    pub fn load(run_dir: &Path) -> Result<RunData> {
        let read = |file: &str| -> Result<Option<String>> {
            let p = run_dir.join(file);
            match std::fs::read_to_string(&p) {
                Ok(t) => Ok(Some(t)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(Error::data(
                    p.display().to_string(),
                    format!("cannot read it: {e}"),
                )),
            }
        };
        let need = |file: &str| -> Result<String> {
            read(file)?.ok_or_else(|| {
                Error::data(
                    run_dir.join(file).display().to_string(),
                    "missing: is this a prunecv run directory?",
                )
            })
        };
        let label = |file: &str| run_dir.join(file).display().to_string();
        let summary = parse_summary(&need("summary.csv")?, &label("summary.csv"))?;
        let selection = parse_rows(&need("selection.csv")?, &label("selection.csv"))?;
        let layers = match read("layers.csv")? {
            Some(t) => parse_rows(&t, &label("layers.csv"))?,
            None => Vec::new(),
        };
        let trajectory = match read("trajectory.csv")? {
            Some(t) => Some(parse_rows(&t, &label("trajectory.csv"))?),
            None => None,
        };
        let dir_name = run_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "run".into());
        let name = match read("resolved.yaml")? {
            Some(t) => run_name(&t).unwrap_or(dir_name),
            None => dir_name,
        };
        Ok(RunData {
            name,
            summary,
            selection,
            layers,
            trajectory,
            compared: Vec::new(),
        })
    }

    /// The tables of a run just finished, without reading them back from disk (what
    /// [`RunData::load`] gives for its directory).
    pub fn from_result(name: &str, r: &crate::sweep::SweepResult) -> RunData {
        RunData {
            name: name.to_string(),
            summary: plottable(r.summary.clone()),
            selection: r.selection.clone(),
            layers: r.layers.clone(),
            trajectory: (!r.trajectory.is_empty()).then(|| r.trajectory.clone()),
            compared: Vec::new(),
        }
    }

    /// Methods in the order they first appear in `summary.csv`, then in the other tables
    /// (the dense baseline excluded). Colours and markers follow this order.
    /// The selected pruned models, grouped by method in [`RunData::methods`] order (the rows of
    /// the reports' "selected models" tables).
    pub fn selected_by_method(&self) -> Vec<&SelectionRow> {
        self.methods()
            .iter()
            .flat_map(|&m| self.selection.iter().filter(move |r| r.method == m))
            .collect()
    }

    pub fn methods(&self) -> Vec<MethodKind> {
        let mut out: Vec<MethodKind> = Vec::new();
        let names = self
            .summary
            .iter()
            .filter_map(|r| r.method.method())
            .chain(self.selection.iter().filter_map(|r| r.method.method()))
            .chain(self.layers.iter().map(|r| r.method))
            .chain(self.trajectory.iter().flatten().map(|r| r.method));
        for m in names {
            if !out.contains(&m) {
                out.push(m);
            }
        }
        out
    }

    /// The dense baseline's summary row, if any.
    pub fn dense_summary(&self) -> Option<&SummaryRow> {
        self.summary.iter().find(|r| r.method.is_dense())
    }

    /// The dense baseline's selection row, if any.
    pub fn dense_selection(&self) -> Option<&SelectionRow> {
        self.selection.iter().find(|r| r.method.is_dense())
    }

    /// A method's summary rows with a τ, in file order (ascending τ).
    pub fn curve(&self, method: MethodKind) -> Vec<&SummaryRow> {
        self.summary
            .iter()
            .filter(|r| r.method == method && r.tau.is_some())
            .collect()
    }

    /// The selection row of `method` under `rule`.
    pub fn selected(&self, method: MethodKind, rule: RowRule) -> Option<&SelectionRow> {
        self.selection
            .iter()
            .find(|r| r.method == method && r.rule == rule)
    }

    /// The τ unit of a method's rows (`quantile`, `std`, …); empty when unknown.
    pub fn tau_unit(&self, method: MethodKind) -> &str {
        self.summary
            .iter()
            .find(|r| r.method == method && !r.tau_unit.is_empty())
            .map(|r| r.tau_unit.as_str())
            .or_else(|| {
                self.selection
                    .iter()
                    .find(|r| r.method == method && !r.tau_unit.is_empty())
                    .map(|r| r.tau_unit.as_str())
            })
            .unwrap_or("")
    }

    /// Selection rules in the order they first appear (without the dense row's `none`).
    #[cfg(test)]
    pub fn rules(&self) -> Vec<SelectRule> {
        let mut out: Vec<SelectRule> = Vec::new();
        for r in &self.selection {
            if let RowRule::Rule(rule) = r.rule {
                if !r.method.is_dense() && !out.contains(&rule) {
                    out.push(rule);
                }
            }
        }
        out
    }

    /// The rule whose models `layer_sparsity` shows: `one_se` when `layers.csv` has it, else
    /// the first rule there.
    pub fn layer_rule(&self) -> Option<RowRule> {
        let one_se = RowRule::Rule(SelectRule::OneSe);
        if self.layers.iter().any(|r| r.rule == one_se) {
            Some(one_se)
        } else {
            self.layers.first().map(|r| r.rule)
        }
    }
}

/// Parse CSV text into rows of `T`, matching columns by header name.
pub fn parse_rows<T: DeserializeOwned>(text: &str, file: &str) -> Result<Vec<T>> {
    let mut r = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    for (i, row) in r.deserialize().enumerate() {
        out.push(row.map_err(|e| Error::data(file, format!("row {}: {e}", i + 1)))?);
    }
    Ok(out)
}

/// Parse `summary.csv`; it must have at least one row and finite accuracies.
pub fn parse_summary(text: &str, file: &str) -> Result<Vec<SummaryRow>> {
    let rows: Vec<SummaryRow> = parse_rows(text, file)?;
    if rows.is_empty() {
        return Err(Error::data(file, "no rows"));
    }
    Ok(plottable(rows))
}

/// A τ whose runs all diverged has no mean (NaN): it has nothing to plot.
fn plottable(rows: Vec<SummaryRow>) -> Vec<SummaryRow> {
    rows.into_iter()
        .filter(|r| r.mean_val_acc.is_finite() && r.mean_sparsity.is_finite())
        .collect()
}

/// The figure settings of a run: `plots:` of its `resolved.yaml`, defaults when the file or
/// the section is absent.
pub fn run_plots(run_dir: &Path) -> Result<crate::config::plots::PlotsSpec> {
    let p = run_dir.join("resolved.yaml");
    let file = p.display().to_string();
    let text = match std::fs::read_to_string(&p) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Error::data(file, format!("cannot read it: {e}"))),
    };
    let raw = match serde_yaml_ng::from_str::<serde_yaml_ng::Value>(&text)
        .ok()
        .and_then(|v| v.get("plots").cloned())
    {
        Some(v) => Some(
            serde_yaml_ng::from_value(v)
                .map_err(|e| Error::config(&file, format!("field `plots`: {e}")))?,
        ),
        None => None,
    };
    crate::config::plots::resolve(raw, &file)
}

/// The `name:` of a resolved experiment file.
pub fn run_name(yaml: &str) -> Option<String> {
    let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(yaml).ok()?;
    v.get("name")?.as_str().map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUMMARY: &str = "method,tau,tau_unit,n,mean_val_acc,std_val_acc,se_val_acc,mean_val_loss,mean_sparsity,mean_neurons_removed,mean_params_left,mean_flops_left,rank_val_acc
dense,,,5,0.97,0.02,0.01,0.1,0.0,0.0,100.0,90.0,1
magnitude,0.0,quantile,5,0.97,0.02,0.01,0.1,0.0,0.0,100.0,90.0,1
magnitude,0.5,quantile,5,0.95,0.03,0.015,0.2,0.5,0.0,50.0,45.0,2
random,0.5,quantile,5,0.6,0.1,0.05,1.0,0.5,0.0,50.0,45.0,1
";

    const SELECTION: &str = "method,rule,tau,tau_unit,cv_mean_val_acc,cv_se_val_acc,cv_mean_sparsity,test_acc,test_loss,test_sparsity,neurons_removed,params_left,shrunk_params,flops_left,model
dense,none,,,0.97,0.01,0.0,0.98,0.05,0.0,0,100,100,90,models/dense.safetensors
magnitude,best,0.0,quantile,0.97,0.01,0.0,0.98,0.05,0.0,0,100,100,90,models/magnitude_best.safetensors
magnitude,one_se,0.5,quantile,0.95,0.015,0.5,0.96,0.07,0.5,0,50,100,45,models/magnitude_one_se.safetensors
";

    #[test]
    fn summary_parses_by_header_with_empty_dense_tau() {
        let rows = parse_summary(SUMMARY, "summary.csv").unwrap();
        assert_eq!(rows.len(), 4);
        assert!(rows[0].method.is_dense());
        assert_eq!(rows[0].tau, None);
        assert_eq!(rows[0].tau_unit, "");
        assert_eq!(rows[2].tau, Some(0.5));
        assert_eq!(rows[2].se_val_acc, 0.015);
        assert_eq!(rows[2].mean_params_left, 50.0);
    }

    #[test]
    fn columns_are_matched_by_name_not_position() {
        let text = "tau,method,mean_val_acc,extra,n,std_val_acc,se_val_acc,mean_sparsity,mean_params_left,mean_flops_left,tau_unit
0.25,taylor,0.9,x,3,0.1,0.05,0.25,10,9,std
";
        let rows = parse_summary(text, "s.csv").unwrap();
        assert_eq!(rows[0].method, MethodKind::Taylor);
        assert_eq!(rows[0].tau, Some(0.25));
        assert_eq!(rows[0].tau_unit, "std");
    }

    #[test]
    fn bad_tables_name_the_file_and_row() {
        let missing = "method,tau\nmagnitude,0.1\n";
        let e = parse_summary(missing, "summary.csv")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("summary.csv: row 1"), "{e}");
        let header_only = SUMMARY.lines().next().unwrap();
        let e = parse_summary(header_only, "summary.csv").unwrap_err();
        assert!(e.to_string().contains("no rows"), "{e}");
        let bad = SUMMARY.replace("0.95,0.03", "high,0.03");
        let e = parse_summary(&bad, "summary.csv").unwrap_err().to_string();
        assert!(e.contains("row 3"), "{e}");
    }

    #[test]
    fn selection_and_lookups() {
        let data = RunData {
            name: "t".into(),
            summary: parse_summary(SUMMARY, "s").unwrap(),
            selection: parse_rows(SELECTION, "sel").unwrap(),
            layers: Vec::new(),
            trajectory: None,
            compared: Vec::new(),
        };
        assert_eq!(data.methods(), [MethodKind::Magnitude, MethodKind::Random]);
        assert_eq!(data.rules(), [SelectRule::Best, SelectRule::OneSe]);
        assert_eq!(data.dense_selection().unwrap().test_acc, 0.98);
        let one_se = data
            .selected(MethodKind::Magnitude, RowRule::Rule(SelectRule::OneSe))
            .unwrap();
        assert_eq!((one_se.tau, one_se.params_left), (Some(0.5), 50));
        assert_eq!(data.curve(MethodKind::Magnitude).len(), 2);
        assert_eq!(data.tau_unit(MethodKind::Magnitude), "quantile");
        assert_eq!(data.layer_rule(), None);
    }

    #[test]
    fn layers_and_trajectory_parse() {
        let layers: Vec<LayerRow> = parse_rows(
            "method,rule,tau,layer,weights,weights_left,sparsity\nmagnitude,best,0.2,fc1,8192,6554,0.2\nmagnitude,one_se,0.5,fc1,8192,4096,0.5\n",
            "layers.csv",
        )
        .unwrap();
        assert_eq!(layers[1].weights_left, 4096);
        let data = RunData {
            name: "t".into(),
            summary: Vec::new(),
            selection: Vec::new(),
            layers,
            trajectory: None,
            compared: Vec::new(),
        };
        assert_eq!(data.layer_rule(), Some(RowRule::Rule(SelectRule::OneSe)));
        let t: Vec<TrajectoryRow> = parse_rows(
            "repeat,fold,method,tau,round,sparsity,val_acc\n0,1,magnitude,0.5,2,0.3,0.9\n",
            "trajectory.csv",
        )
        .unwrap();
        assert_eq!((t[0].fold, t[0].round, t[0].sparsity), (1, 2, 0.3));
    }

    #[test]
    fn run_name_reads_resolved_yaml() {
        assert_eq!(
            run_name("name: digits\nseed: 1\n").as_deref(),
            Some("digits")
        );
        assert_eq!(run_name("seed: 1\n"), None);
    }
}
