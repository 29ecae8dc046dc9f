//! Paired comparisons of a run's pruning methods on their shared folds (`pairwise.csv` and the
//! report's sentences).
//!
//! Every method of a run is evaluated on the same validation folds, so two methods can be
//! compared fold by fold. Sparsity is not a τ: the same τ gives different sparsities per method
//! (and per fold), so each fold's curve of validation accuracy against sparsity (from
//! `runs.csv`) is **linearly interpolated per fold and method** at a grid of matched sparsities
//! ([`GRID`]), within the range that every fold of both methods covers; then the paired
//! differences `acc_a − acc_b` across folds are tested:
//!
//! - the paired t-test (mean difference / (sd / √n), n − 1 degrees of freedom);
//! - Nadeau & Bengio's (2003) corrected resampled t-test, which replaces 1/n by
//!   (1/n + n_test/n_train) in the variance because the folds' training sets overlap and their
//!   estimates are correlated (the plain test is then too liberal). It is the primary test when
//!   the run repeats its cross-validation (`cv.repeats > 1`), the plain paired test otherwise;
//! - the Wilcoxon signed-rank test (exact for up to 25 non-zero differences).
//!
//! Each test's p-values are Holm-corrected across the sparsity grid, per pair of methods.

use crate::config::MethodKind;
use crate::error::{Error, Result};
use crate::report::plot::data::parse_rows;
use crate::report::stats::{holm::holm, student, wilcoxon};
use crate::sweep::ids::RowMethod;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The matched sparsities at which methods are compared (those inside every fold's range).
pub const GRID: [f64; 11] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99];

/// How far (in sparsity) a grid point may lie beyond a fold's last measured point and still be
/// compared, at that endpoint's accuracy: quantile grids land within rounding of their target.
pub const EDGE_TOLERANCE: f64 = 5e-4;

/// One row of `runs.csv`, the columns this module reads.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RunRow {
    pub repeat: u64,
    pub fold: u64,
    pub method: RowMethod,
    pub sparsity: f64,
    pub val_acc: f64,
    #[serde(default)]
    pub diverged: bool,
}

/// One row of `folds.csv`, the columns this module reads.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FoldRow {
    pub repeat: u64,
    pub role: String,
    pub fold: Option<u64>,
}

/// One row of `pairwise.csv`: methods a and b compared at one matched sparsity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairwiseRow {
    pub method_a: MethodKind,
    pub method_b: MethodKind,
    /// The matched sparsity (fraction of prunable weights removed).
    pub sparsity: f64,
    /// Paired folds (repeats × folds).
    pub n: usize,
    /// Mean over folds of a's and b's interpolated validation accuracy.
    pub mean_a: f64,
    pub mean_b: f64,
    /// Mean of the paired differences a − b.
    pub mean_diff: f64,
    /// Sample standard deviation (ddof 1) of the differences.
    pub sd_diff: f64,
    /// `t` (paired t-test) or `corrected_t` (Nadeau–Bengio): the test behind `se_diff`, the
    /// interval and `p_holm`.
    pub test: String,
    /// Standard error of the mean difference under `test`.
    pub se_diff: f64,
    /// 95 % confidence interval of the mean difference under `test` (t quantile, n − 1 df).
    pub ci_low: f64,
    pub ci_high: f64,
    /// Holm-adjusted p-value of `test` (the one to quote).
    pub p_holm: f64,
    /// Paired t-test: statistic, two-sided p, Holm-adjusted p.
    pub t: Option<f64>,
    pub p_t: f64,
    pub p_t_holm: f64,
    /// n_test / n_train of the folds (mean over folds), the Nadeau–Bengio correction's ratio.
    pub test_train_ratio: f64,
    /// Corrected resampled t-test: statistic, two-sided p, Holm-adjusted p.
    pub t_corrected: Option<f64>,
    pub p_corrected: f64,
    pub p_corrected_holm: f64,
    /// Wilcoxon signed-rank: rank sums of positive and negative differences (zeros dropped),
    /// two-sided p (exact up to 25 non-zero differences) and Holm-adjusted p.
    pub w_plus: f64,
    pub w_minus: f64,
    pub p_wilcoxon: f64,
    pub p_wilcoxon_holm: f64,
}

/// The columns of `pairwise.csv`, in order (the header of a run with fewer than two methods).
pub const COLUMNS: [&str; 24] = [
    "method_a",
    "method_b",
    "sparsity",
    "n",
    "mean_a",
    "mean_b",
    "mean_diff",
    "sd_diff",
    "test",
    "se_diff",
    "ci_low",
    "ci_high",
    "p_holm",
    "t",
    "p_t",
    "p_t_holm",
    "test_train_ratio",
    "t_corrected",
    "p_corrected",
    "p_corrected_holm",
    "w_plus",
    "w_minus",
    "p_wilcoxon",
    "p_wilcoxon_holm",
];

/// `pairwise.csv`'s bytes: a header and one row per pair and matched sparsity.
pub fn csv(rows: &[PairwiseRow]) -> Result<Vec<u8>> {
    if rows.is_empty() {
        return Ok(format!("{}\n", COLUMNS.join(",")).into_bytes());
    }
    crate::report::csv_bytes(rows)
}

/// Read `run_dir/runs.csv` (and `folds.csv`, for the test/train ratio; without it the ratio is
/// 1/(k − 1) for k folds) and compare every pair of methods.
pub fn load(run_dir: &Path) -> Result<Vec<PairwiseRow>> {
    let runs_path = run_dir.join("runs.csv");
    let text = std::fs::read_to_string(&runs_path).map_err(|e| {
        Error::data(
            runs_path.display().to_string(),
            format!("cannot read it: {e}"),
        )
    })?;
    let runs: Vec<RunRow> = parse_rows(&text, &runs_path.display().to_string())?;
    let folds_path = run_dir.join("folds.csv");
    let ratio = match std::fs::read_to_string(&folds_path) {
        Ok(t) => Some(test_train_ratio(&parse_rows(
            &t,
            &folds_path.display().to_string(),
        )?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(Error::data(
                folds_path.display().to_string(),
                format!("cannot read it: {e}"),
            ))
        }
    };
    Ok(compare(&runs, ratio.flatten()))
}

/// [`load`] when the run has a `runs.csv`, no comparisons otherwise.
pub fn load_if_present(run_dir: &Path) -> Result<Vec<PairwiseRow>> {
    if run_dir.join("runs.csv").exists() {
        load(run_dir)
    } else {
        Ok(Vec::new())
    }
}

/// Mean over (repeat, fold) of validation rows / training rows, from `folds.csv`'s `cv` rows.
pub fn test_train_ratio(rows: &[FoldRow]) -> Option<f64> {
    let mut per: BTreeMap<(u64, u64), usize> = BTreeMap::new();
    let mut total: BTreeMap<u64, usize> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.role == "cv") {
        if let Some(f) = r.fold {
            *per.entry((r.repeat, f)).or_default() += 1;
            *total.entry(r.repeat).or_default() += 1;
        }
    }
    let ratios: Vec<f64> = per
        .iter()
        .filter_map(|(&(rep, _), &n_val)| {
            let n_train = total[&rep] - n_val;
            (n_train > 0).then(|| n_val as f64 / n_train as f64)
        })
        .collect();
    (!ratios.is_empty()).then(|| ratios.iter().sum::<f64>() / ratios.len() as f64)
}

/// One fold's accuracy-vs-sparsity curve: points sorted by sparsity, equal sparsities merged
/// (mean accuracy), diverged and non-finite rows left out.
pub fn fold_curve(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut p: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|(s, a)| s.is_finite() && a.is_finite())
        .collect();
    p.sort_by(|x, y| x.0.total_cmp(&y.0));
    let mut out: Vec<(f64, f64, usize)> = Vec::new();
    for (s, a) in p {
        match out.last_mut() {
            Some(last) if last.0 == s => {
                last.1 += a;
                last.2 += 1;
            }
            _ => out.push((s, a, 1)),
        }
    }
    out.into_iter().map(|(s, a, n)| (s, a / n as f64)).collect()
}

/// Linear interpolation of a [`fold_curve`] at sparsity `s`; `None` outside its range (beyond
/// [`EDGE_TOLERANCE`] of an end).
pub fn interpolate(curve: &[(f64, f64)], s: f64) -> Option<f64> {
    let (first, last) = (curve.first()?, curve.last()?);
    if s < first.0 - EDGE_TOLERANCE || s > last.0 + EDGE_TOLERANCE {
        return None;
    }
    if s <= first.0 {
        return Some(first.1);
    }
    if s >= last.0 {
        return Some(last.1);
    }
    let i = curve.partition_point(|p| p.0 <= s);
    let ((s0, a0), (s1, a1)) = (curve[i - 1], curve[i]);
    if s == s0 {
        return Some(a0);
    }
    Some(a0 + (a1 - a0) * (s - s0) / (s1 - s0))
}

/// Compare every pair of methods (in order of first appearance in `runs`) at every grid
/// sparsity that all their folds cover. `ratio` is n_test/n_train (default 1/(k − 1)).
pub fn compare(runs: &[RunRow], ratio: Option<f64>) -> Vec<PairwiseRow> {
    let mut methods: Vec<MethodKind> = Vec::new();
    let mut folds: Vec<(u64, u64)> = Vec::new();
    for r in runs {
        if let Some(m) = r.method.method().filter(|m| !methods.contains(m)) {
            methods.push(m);
        }
        if !folds.contains(&(r.repeat, r.fold)) {
            folds.push((r.repeat, r.fold));
        }
    }
    folds.sort();
    let repeats: std::collections::BTreeSet<u64> = folds.iter().map(|f| f.0).collect();
    let k = folds.len() / repeats.len().max(1);
    let ratio = ratio.unwrap_or(if k > 1 { 1.0 / (k as f64 - 1.0) } else { 1.0 });
    let corrected_primary = repeats.len() > 1;
    // curves[method][fold index]
    let curves: Vec<Vec<Vec<(f64, f64)>>> = methods
        .iter()
        .map(|m| {
            folds
                .iter()
                .map(|&(rep, f)| {
                    let pts: Vec<(f64, f64)> = runs
                        .iter()
                        .filter(|r| r.method == *m && r.repeat == rep && r.fold == f && !r.diverged)
                        .map(|r| (r.sparsity, r.val_acc))
                        .collect();
                    fold_curve(&pts)
                })
                .collect()
        })
        .collect();
    let mut out = Vec::new();
    for a in 0..methods.len() {
        for b in a + 1..methods.len() {
            let mut rows = Vec::new();
            for &s in &GRID {
                let mut da = Vec::new();
                let mut db = Vec::new();
                for (ca, cb) in curves[a].iter().zip(&curves[b]) {
                    match (interpolate(ca, s), interpolate(cb, s)) {
                        (Some(x), Some(y)) => {
                            da.push(x);
                            db.push(y);
                        }
                        _ => break,
                    }
                }
                if da.len() < folds.len() || da.len() < 2 {
                    continue;
                }
                rows.push(paired(
                    methods[a],
                    methods[b],
                    s,
                    &da,
                    &db,
                    ratio,
                    corrected_primary,
                ));
            }
            holm_fill(&mut rows);
            out.extend(rows);
        }
    }
    out
}

/// The paired statistics of one pair at one sparsity (Holm columns filled by [`holm_fill`]).
pub fn paired(
    method_a: MethodKind,
    method_b: MethodKind,
    sparsity: f64,
    acc_a: &[f64],
    acc_b: &[f64],
    ratio: f64,
    corrected_primary: bool,
) -> PairwiseRow {
    let n = acc_a.len();
    let nf = n as f64;
    let d: Vec<f64> = acc_a.iter().zip(acc_b).map(|(x, y)| x - y).collect();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let md = mean(&d);
    let var = d.iter().map(|x| (x - md) * (x - md)).sum::<f64>() / (nf - 1.0);
    let sd = var.sqrt();
    let df = nf - 1.0;
    let se_t = (var / nf).sqrt();
    let se_c = ((1.0 / nf + ratio) * var).sqrt();
    let test = |se: f64| -> (Option<f64>, f64) {
        if se == 0.0 {
            // Identical differences: no spread to test against.
            if md == 0.0 {
                (None, 1.0)
            } else {
                (Some(md.signum() * f64::INFINITY), 0.0)
            }
        } else {
            let t = md / se;
            (Some(t), student::t_two_sided_p(t, df))
        }
    };
    let (t, p_t) = test(se_t);
    let (t_c, p_c) = test(se_c);
    let w = wilcoxon::signed_rank(&d);
    let se = if corrected_primary { se_c } else { se_t };
    let half = student::t_quantile(0.975, df) * se;
    PairwiseRow {
        method_a,
        method_b,
        sparsity,
        n,
        mean_a: mean(acc_a),
        mean_b: mean(acc_b),
        mean_diff: md,
        sd_diff: sd,
        test: if corrected_primary {
            "corrected_t"
        } else {
            "t"
        }
        .into(),
        se_diff: se,
        ci_low: md - half,
        ci_high: md + half,
        p_holm: f64::NAN,
        t,
        p_t,
        p_t_holm: f64::NAN,
        test_train_ratio: ratio,
        t_corrected: t_c,
        p_corrected: p_c,
        p_corrected_holm: f64::NAN,
        w_plus: w.w_plus,
        w_minus: w.w_minus,
        p_wilcoxon: w.p,
        p_wilcoxon_holm: f64::NAN,
    }
}

/// Fill the Holm-adjusted columns of one pair's rows (one family per test: the sparsity grid).
pub fn holm_fill(rows: &mut [PairwiseRow]) {
    let adj = |f: fn(&PairwiseRow) -> f64, rows: &[PairwiseRow]| {
        holm(&rows.iter().map(f).collect::<Vec<_>>())
    };
    let pt = adj(|r| r.p_t, rows);
    let pc = adj(|r| r.p_corrected, rows);
    let pw = adj(|r| r.p_wilcoxon, rows);
    for (i, r) in rows.iter_mut().enumerate() {
        r.p_t_holm = pt[i];
        r.p_corrected_holm = pc[i];
        r.p_wilcoxon_holm = pw[i];
        r.p_holm = if r.test == "corrected_t" {
            pc[i]
        } else {
            pt[i]
        };
    }
}

/// "p < 0.001" or "p = 0.013".
pub fn p_text(p: f64) -> String {
    if p < 0.001 {
        "p < 0.001".into()
    } else {
        format!("p = {p:.3}")
    }
}

/// One sentence per pair, at the highest matched sparsity, with how many grid points are
/// significant at 5 % (Holm-adjusted, primary test).
pub fn sentences(rows: &[PairwiseRow]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < rows.len() {
        let mut j = i;
        while j < rows.len()
            && rows[j].method_a == rows[i].method_a
            && rows[j].method_b == rows[i].method_b
        {
            j += 1;
        }
        let pair = &rows[i..j];
        let r = pair.last().expect("non-empty pair");
        let (win, lose, diff) = if r.mean_diff >= 0.0 {
            (&r.method_a, &r.method_b, r.mean_diff)
        } else {
            (&r.method_b, &r.method_a, -r.mean_diff)
        };
        let test = if r.test == "corrected_t" {
            "corrected resampled t-test"
        } else {
            "paired t-test"
        };
        let lead = lead_ci(r);
        let sig = pair.iter().filter(|r| r.p_holm < 0.05).count();
        let folds = if r.n == 1 { "fold" } else { "folds" };
        let head = if r.p_holm < 0.05 {
            format!(
                "At {} sparsity {win} beats {lose} by {:.1} ± {:.1} points",
                pct(r.sparsity),
                diff * 100.0,
                r.se_diff * 100.0
            )
        } else {
            format!(
                "At {} sparsity {win} and {lose} do not differ significantly ({win} ahead by \
                 {:.1} ± {:.1} points)",
                pct(r.sparsity),
                diff * 100.0,
                r.se_diff * 100.0
            )
        };
        out.push(format!(
            "{head}, mean ± SE over {} {folds} (95 % CI {:.1} to {:.1}); {test} {} \
             (Holm-adjusted over {} sparsities; Wilcoxon {}); significant at 5 % at {sig} of {} \
             matched sparsities ({} to {}).",
            r.n,
            lead.0 * 100.0,
            lead.1 * 100.0,
            p_text(r.p_holm),
            pair.len(),
            p_text(r.p_wilcoxon_holm),
            pair.len(),
            pct(pair[0].sparsity),
            pct(r.sparsity),
        ));
        i = j;
    }
    out
}

fn pct(s: f64) -> String {
    let v = s * 100.0;
    if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0} %")
    } else {
        format!("{v:.1} %")
    }
}

/// The 95 % interval of the winner's lead (winner − loser), low end first.
fn lead_ci(r: &PairwiseRow) -> (f64, f64) {
    if r.mean_diff >= 0.0 {
        (r.ci_low, r.ci_high)
    } else {
        (-r.ci_high, -r.ci_low)
    }
}

/// The caveat printed under the pairwise sentences.
pub const CAVEAT: &str =
    "Caveat: fold estimates are correlated (the folds' training sets overlap), \
so the paired t-test understates the variance and its p-values are optimistic. Nadeau & Bengio \
(2003, Machine Learning 52:239-281) correct this by multiplying the variance of the mean \
difference by (1/n + n_test/n_train) instead of 1/n (the corrected resampled t-test); \
pairwise.csv reports both tests, and the corrected one is used above when cross-validation is \
repeated (cv.repeats > 1). With 5 folds the exact Wilcoxon test cannot go below p = 0.0625 \
(2 of its 32 equally likely sign patterns).";

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn paired_statistics_by_hand() {
        // d = a − b = 0.21, 0.25, 0.18, 0.22, 0.19: mean 0.21, deviations 0, .04, −.03, .01,
        // −.02, Σ squares 0.0030, var 0.00075, SE = √(0.00075/5) = 0.0122474,
        // t = 0.21/0.0122474 = 17.14643 (4 df). For 4 df the two-sided p is
        // 1 − (3/4)·u·(1 − u²/12) with u = t/√(1 + t²/4): 6.78691e-5.
        let b = [0.70, 0.60, 0.65, 0.72, 0.68];
        let d = [0.21, 0.25, 0.18, 0.22, 0.19];
        let a: Vec<f64> = b.iter().zip(d).map(|(x, y)| x + y).collect();
        let (mag, rnd) = (MethodKind::Magnitude, MethodKind::Random);
        let r = paired(mag, rnd, 0.9, &a, &b, 0.25, false);
        assert_eq!((r.n, r.test.as_str()), (5, "t"));
        assert!(close(r.mean_diff, 0.21, 1e-12), "{r:?}");
        assert!(close(r.sd_diff, 0.00075f64.sqrt(), 1e-12));
        assert!(close(r.se_diff, 0.012_247_448_7, 1e-10));
        assert!(close(r.t.unwrap(), 17.146_428_199, 1e-7));
        assert!(close(r.p_t, 6.786_912_935e-5, 1e-12), "{}", r.p_t);
        // 95 % CI: t_{0.975, 4} = 2.776445 → ± 0.0340044.
        assert!(close(r.ci_low, 0.21 - 0.034_004_369, 1e-8));
        assert!(close(r.ci_high, 0.21 + 0.034_004_369, 1e-8));
        // Nadeau–Bengio with n_test/n_train = 1/4: SE = √((1/5 + 1/4) · 0.00075) = 0.0183712,
        // t = 11.43095, p = 3.34181e-4.
        assert!(close(r.t_corrected.unwrap(), 11.430_952_133, 1e-7));
        assert!(
            close(r.p_corrected, 3.341_814_97e-4, 1e-11),
            "{}",
            r.p_corrected
        );
        // Wilcoxon: all five positive → W+ = 15, W− = 0, exact p = 2/32.
        assert_eq!((r.w_plus, r.w_minus), (15.0, 0.0));
        assert!(close(r.p_wilcoxon, 0.0625, 1e-15));
        // With repeated CV the corrected test is primary: its SE and interval.
        let c = paired(mag, rnd, 0.9, &a, &b, 0.25, true);
        assert_eq!(c.test, "corrected_t");
        assert!(close(c.se_diff, 0.018_371_173_07, 1e-10));
    }

    #[test]
    fn interpolation_is_per_fold_and_linear() {
        let c = fold_curve(&[
            (0.6, 0.7),
            (0.0, 0.95),
            (0.25, 0.9),
            (0.25, 0.8),
            (0.3, f64::NAN),
        ]);
        // (0.9 + 0.8) / 2 in floating point.
        let mid = (0.9 + 0.8) / 2.0;
        assert_eq!(c, [(0.0, 0.95), (0.25, mid), (0.6, 0.7)]);
        // 0.85 + (0.7 − 0.85) · (0.5 − 0.25) / 0.35 = 0.742857…
        assert!(close(
            interpolate(&c, 0.5).unwrap(),
            0.742_857_142_857,
            1e-12
        ));
        assert_eq!(interpolate(&c, 0.25), Some(mid));
        assert_eq!(interpolate(&c, 0.6004), Some(0.7));
        assert_eq!(interpolate(&c, 0.61), None);
    }

    fn row(fold: u64, method: &str, sparsity: f64, val_acc: f64) -> RunRow {
        // a and b: two methods.
        let method = match method {
            "a" => MethodKind::Magnitude.into(),
            "b" => MethodKind::Random.into(),
            other => RowMethod::parse(other).unwrap(),
        };
        RunRow {
            repeat: 0,
            fold,
            method,
            sparsity,
            val_acc,
            diverged: false,
        }
    }

    #[test]
    fn methods_are_compared_on_the_grid_with_holm_across_it() {
        // Three folds. a: fold 0 0.9 − 0.4s; fold 1 flat at 0.8 up to s = 0.5, then down to 0.4
        // at s = 1; fold 2 1 − 0.3s. b: 0.9 − 0.8s on every fold (two points each).
        let mut runs = vec![row(0, "dense", 0.0, 0.9)];
        runs.extend([
            row(0, "a", 0.0, 0.9),
            row(0, "a", 1.0, 0.5),
            row(1, "a", 0.0, 0.8),
            row(1, "a", 0.5, 0.8),
            row(1, "a", 1.0, 0.4),
            row(2, "a", 0.0, 1.0),
            row(2, "a", 1.0, 0.7),
        ]);
        for f in 0..3 {
            runs.push(row(f, "b", 0.0, 0.9));
            runs.push(row(f, "b", 1.0, 0.1));
        }
        // A diverged row is ignored.
        runs.push(RunRow {
            diverged: true,
            ..row(0, "b", 0.5, 0.0)
        });
        let rows = compare(&runs, None);
        assert_eq!(rows.len(), GRID.len());
        assert!(rows
            .iter()
            .all(|r| r.method_a == MethodKind::Magnitude && r.method_b == MethodKind::Random));
        // At s = 0.9: a = 0.54, 0.48, 0.73; b = 0.18 → d = 0.36, 0.30, 0.55; mean 0.403333,
        // var 0.0170333, t = 0.403333/√(0.0170333/3) = 5.352725; 2 df: p = 1 − t/√(2 + t²).
        let r = &rows[8];
        assert_eq!(r.sparsity, 0.9);
        assert!(close(r.mean_a, (0.54 + 0.48 + 0.73) / 3.0, 1e-12));
        assert!(close(r.mean_diff, 0.403_333_333_333, 1e-12));
        assert!(close(r.t.unwrap(), 5.352_724_858, 1e-8));
        assert!(close(r.p_t, 0.033_174_945_334, 1e-11));
        // Three folds: ratio 1/(k − 1) = 1/2 without folds.csv.
        assert_eq!(r.test_train_ratio, 0.5);
        // The smallest p is at s = 0.6 (t = 6.714286): Holm multiplies it by all 11; s = 0.2
        // is second largest (×2 = 0.244248) and s = 0.1 the largest (×1 = 0.372946); the
        // running maximum lifts the rest to 11 · p(0.6) = 0.236172.
        assert!(close(rows[5].t.unwrap(), 6.714_285_714, 1e-8));
        assert!(close(rows[5].p_t_holm, 11.0 * rows[5].p_t, 1e-15));
        assert!(close(rows[5].p_t_holm, 0.236_172_087_462, 1e-11));
        assert!(close(rows[1].p_t_holm, 0.244_247_549_719, 1e-11));
        assert!(close(rows[0].p_t_holm, 0.372_945_553_471, 1e-11));
        for r in &rows[2..] {
            assert!(close(r.p_t_holm, rows[5].p_t_holm, 1e-15), "{}", r.sparsity);
        }
        assert_eq!(r.p_holm, r.p_t_holm);
        let s = sentences(&rows);
        assert_eq!(s.len(), 1);
        assert!(
            s[0].starts_with(
                "At 99 % sparsity magnitude and random do not differ significantly (magnitude \
                 ahead by 43.0 ± 8.7 points), mean ± SE over 3 folds (95 % CI 5.7 to 80.4); paired t-test p = 0.236 \
                 (Holm-adjusted over 11 sparsities; Wilcoxon p = 1.000)"
            ),
            "{}",
            s[0]
        );
        assert!(
            s[0].ends_with("significant at 5 % at 0 of 11 matched sparsities (10 % to 99 %)."),
            "{}",
            s[0]
        );
    }

    #[test]
    fn the_ratio_comes_from_folds_csv() {
        // One repeat, folds of 2, 2 and 1 rows (5 cv rows) plus test rows:
        // 2/3, 2/3 and 1/4 → mean 0.527778.
        let f = |fold: Option<u64>, role: &str| FoldRow {
            repeat: 0,
            role: role.into(),
            fold,
        };
        let rows = [
            f(Some(0), "cv"),
            f(Some(0), "cv"),
            f(Some(1), "cv"),
            f(Some(1), "cv"),
            f(Some(2), "cv"),
            f(None, "test"),
        ];
        let r = test_train_ratio(&rows).unwrap();
        assert!(close(r, (2.0 / 3.0 + 2.0 / 3.0 + 0.25) / 3.0, 1e-15));
    }

    #[test]
    fn the_empty_table_has_the_header() {
        let text = String::from_utf8(csv(&[]).unwrap()).unwrap();
        let (a, b) = (MethodKind::Magnitude, MethodKind::Random);
        let d = paired(a, b, 0.5, &[0.9, 0.8], &[0.7, 0.7], 0.5, false);
        let full = String::from_utf8(csv(&[d]).unwrap()).unwrap();
        assert_eq!(text.lines().next(), full.lines().next());
    }
}
