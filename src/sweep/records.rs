//! The rows a sweep produces. Each struct is one CSV row; column order is field order.

use super::ids::{RowMethod, RowRule};
use crate::config::MethodKind;
use serde::{Deserialize, Serialize};

/// One evaluation on a validation fold: a dense model or one (method, τ).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub repeat: usize,
    pub fold: usize,
    /// `dense` for the unpruned baseline.
    pub method: RowMethod,
    /// Empty for the dense baseline.
    pub tau: Option<f64>,
    pub tau_unit: String,
    /// Fraction of prunable weights removed.
    pub sparsity: f64,
    pub neurons_removed: usize,
    pub params_left: usize,
    /// Multiply-adds of one forward pass, zero weights skipped.
    pub flops_left: usize,
    pub val_loss: f64,
    pub val_acc: f64,
    /// Masked weights that ended non-zero after retraining (always 0: the mask guarantee).
    pub regrown: usize,
    /// The loss became NaN or infinite while (re)training.
    pub diverged: bool,
    /// Fraction of prunable weights masked or unable to affect the output
    /// ([`crate::model::effective`]); last, so positional readers of older columns keep working.
    /// (A journal line of an older version lacks it, fails to parse and its job runs again.)
    pub effective_sparsity: f64,
}

/// One round of an iterative schedule on a validation fold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrajectoryRow {
    pub repeat: usize,
    pub fold: usize,
    pub method: MethodKind,
    pub tau: f64,
    pub round: usize,
    pub sparsity: f64,
    pub val_acc: f64,
}

/// Aggregate over all (repeat, fold) pairs for one method and τ.
///
/// The same struct is written to `summary.csv` and read back by `prunecv plot`/`report`
/// (columns matched by name; those added after the first release default when absent).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SummaryRow {
    pub method: RowMethod,
    pub tau: Option<f64>,
    pub tau_unit: String,
    /// Runs that entered the statistics (diverged ones excluded).
    pub n: usize,
    #[serde(default)]
    pub n_diverged: usize,
    pub mean_val_acc: f64,
    /// Sample standard deviation (ddof = 1) across folds.
    pub std_val_acc: f64,
    /// Standard error of the mean: std_val_acc / sqrt(n).
    pub se_val_acc: f64,
    #[serde(default)]
    pub mean_val_loss: f64,
    pub mean_sparsity: f64,
    #[serde(default)]
    pub mean_neurons_removed: f64,
    pub mean_params_left: f64,
    pub mean_flops_left: f64,
    /// 1 = highest mean_val_acc within the method; ties share the lower rank.
    #[serde(default)]
    pub rank_val_acc: usize,
    /// Mean effective sparsity (appended column).
    #[serde(default)]
    pub mean_effective_sparsity: f64,
}

/// The τ one rule chose for one method, and its single test-split evaluation after refitting.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SelectionRow {
    pub method: RowMethod,
    /// `none` for the dense baseline.
    pub rule: RowRule,
    pub tau: Option<f64>,
    pub tau_unit: String,
    pub cv_mean_val_acc: f64,
    pub cv_se_val_acc: f64,
    pub cv_mean_sparsity: f64,
    /// Refit model (whole training pool), pruned at `tau`, on the test split.
    pub test_acc: f64,
    #[serde(default)]
    pub test_loss: f64,
    pub test_sparsity: f64,
    pub neurons_removed: usize,
    pub params_left: usize,
    /// Parameters of the physically shrunk model (removed units cut out, other zeros kept).
    pub shrunk_params: usize,
    pub flops_left: usize,
    #[serde(default)]
    pub model: String,
    /// Effective sparsity of the refit model at `tau` (appended column).
    #[serde(default)]
    pub test_effective_sparsity: f64,
    /// Mean pairwise Jaccard over the fold models of the input features that survive at `tau`
    /// ([`super::stability`]), and its chance level; empty for the dense row.
    pub feature_jaccard: Option<f64>,
    pub feature_jaccard_chance: Option<f64>,
    /// Mean pairwise Jaccard of the whole masks (`cv.shared_init: true` only), and its chance.
    pub mask_jaccard: Option<f64>,
    pub mask_jaccard_chance: Option<f64>,
}

/// Per-layer sparsity of a refit model at a selected τ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerRow {
    pub method: MethodKind,
    pub rule: RowRule,
    pub tau: Option<f64>,
    pub layer: String,
    pub weights: usize,
    pub weights_left: usize,
    pub sparsity: f64,
}

/// One row of `folds.csv`: where a sample of the data set went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FoldRow {
    /// Row index in the data set as loaded.
    pub sample: usize,
    pub label: u32,
    pub repeat: usize,
    /// `cv` or `test`.
    pub role: &'static str,
    /// Validation fold (empty for test rows).
    pub fold: Option<usize>,
}

/// Wall time of one unit of work (kept out of the deterministic tables).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimingRow {
    pub stage: String,
    pub repeat: Option<usize>,
    pub fold: Option<usize>,
    pub method: String,
    pub seconds: f64,
}
