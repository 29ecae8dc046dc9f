//! The data of a run: loaded once, the test split carved off, folds assigned per repeat.

use super::records::FoldRow;
use crate::config::Experiment;
use crate::data::{split, Table};
use crate::error::{Error, Result};
use crate::model::Architecture;
use crate::rng::Rng;

/// The data of a run, split once and shared by every job.
pub struct Prepared {
    pub pool: Table,
    pub test: Table,
    /// Original row index of every pool / test row.
    pub pool_ids: Vec<usize>,
    pub test_ids: Vec<usize>,
    /// Per repeat: the fold of every pool row.
    pub folds: Vec<Vec<usize>>,
    pub arch: Box<dyn Architecture>,
    /// SHA-256 of the data's content (features, labels, split membership).
    pub fingerprint: String,
    /// Class names by class index, when the data's labels were names (CSV).
    pub class_names: Option<Vec<String>>,
    /// Problems worth a warning that do not stop the run (printed by `check` and `run`).
    pub warnings: Vec<String>,
}

/// Fewest validation rows of one class per fold below which `check` and `run` warn.
pub const MIN_VAL_ROWS_PER_CLASS: usize = 5;

/// Stratified k-fold CV needs every class in every fold: more folds than rows of the smallest
/// class is an error (as in scikit-learn); fewer than [`MIN_VAL_ROWS_PER_CLASS`] validation
/// rows of a class per fold is a warning.
fn check_folds(pool: &Table, folds: usize) -> Result<Vec<String>> {
    // Classes with no training rows (e.g. cut off by `data.limit`) are not split at all.
    let counts = pool.class_counts();
    let present = counts.iter().enumerate().filter(|&(_, c)| *c > 0);
    let Some((class, &fewest)) = present.min_by_key(|&(_, c)| *c) else {
        return Ok(Vec::new());
    };
    if folds > fewest {
        return Err(Error::Mismatch {
            field: "cv.folds".into(),
            message: format!(
                "{folds} folds, but class {class} has only {fewest} rows in the training pool; \
                 stratified CV needs at least as many rows of every class as folds"
            ),
        });
    }
    let per_fold = fewest / folds;
    Ok((per_fold < MIN_VAL_ROWS_PER_CLASS)
        .then(|| {
            format!(
                "warning: cv.folds = {folds} leaves validation folds with as few as {per_fold} \
                 rows of class {class} ({fewest} in the training pool); accuracies per fold \
                 will be coarse (fewer folds or more data help)"
            )
        })
        .into_iter()
        .collect())
}

/// A sweep without the `random` method has figures and a report with no random baseline, which
/// pruning papers are advised to show (Blalock et al. 2020): say so before the run starts.
fn random_baseline_note(exp: &Experiment) -> Option<String> {
    (!exp
        .prune
        .methods
        .contains(&crate::config::MethodKind::Random))
    .then(|| {
        "note: prune.methods has no `random`: the figures and report will have no random \
         baseline at the same sparsity and schedule (add `random`; Blalock et al. 2020)"
            .to_string()
    })
}

/// Hash the tables' bytes and the split membership.
fn fingerprint(pool: &Table, test: &Table, pool_ids: &[usize], test_ids: &[usize]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for t in [pool, test] {
        h.update((t.n as u64).to_le_bytes());
        h.update((t.d as u64).to_le_bytes());
        for v in &t.x {
            h.update(v.to_le_bytes());
        }
        for y in &t.y {
            h.update(y.to_le_bytes());
        }
    }
    for i in pool_ids.iter().chain(test_ids) {
        h.update((*i as u64).to_le_bytes());
    }
    crate::config::hex(&h.finalize())
}

/// Load the data, carve off the test split and assign folds.
pub fn prepare(exp: &Experiment) -> Result<Prepared> {
    let ds = crate::data::load(&exp.data)?;
    let classes = ds.pool.classes;
    let class_names = ds.class_names;
    let (pool, test, pool_ids, test_ids) = match ds.test {
        Some(test) => {
            let n = ds.pool.n;
            let tn = test.n;
            (ds.pool, test, (0..n).collect(), (n..n + tn).collect())
        }
        None => {
            let mut rng = Rng::stream(exp.seed, "holdout", &[]);
            let holdout = exp.data.holdout().ok_or_else(|| {
                Error::Internal("a data set without its own test split has no holdout".into())
            })?;
            let h = split::holdout(&ds.pool.y, classes, holdout, &mut rng);
            (
                ds.pool.select(&h.pool),
                ds.pool.select(&h.test),
                h.pool,
                h.test,
            )
        }
    };
    let mut warnings = check_folds(&pool, exp.cv.folds)?;
    warnings.extend(random_baseline_note(exp));
    let folds = (0..exp.cv.repeats)
        .map(|r| {
            let mut rng = Rng::stream(exp.seed, "folds", &[r as u64]);
            split::stratified_folds(&pool.y, classes, exp.cv.folds, &mut rng)
        })
        .collect();
    let arch = crate::model::build(&exp.model, pool.d, classes)?;
    let fingerprint = fingerprint(&pool, &test, &pool_ids, &test_ids);
    Ok(Prepared {
        fingerprint,
        pool,
        test,
        pool_ids,
        test_ids,
        folds,
        arch,
        class_names,
        warnings,
    })
}

/// `folds.csv` rows: every test row, then every pool row per repeat, by sample index.
pub fn fold_rows(prep: &Prepared) -> Vec<FoldRow> {
    let mut rows = Vec::new();
    for (r, folds) in prep.folds.iter().enumerate() {
        let mut all: Vec<FoldRow> = prep
            .pool_ids
            .iter()
            .zip(folds)
            .zip(&prep.pool.y)
            .map(|((&s, &f), &y)| FoldRow {
                sample: s,
                label: y,
                repeat: r,
                role: "cv",
                fold: Some(f),
            })
            .chain(
                prep.test_ids
                    .iter()
                    .zip(&prep.test.y)
                    .map(|(&s, &y)| FoldRow {
                        sample: s,
                        label: y,
                        repeat: r,
                        role: "test",
                        fold: None,
                    }),
            )
            .collect();
        all.sort_by_key(|x| x.sample);
        rows.extend(all);
    }
    rows
}
