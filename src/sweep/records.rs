//! The rows a sweep produces. Each struct is one CSV row; column order is field order.

use super::ids::{RowMethod, RowRule};
use crate::config::MethodKind;
use serde::{Deserialize, Serialize};

/// One evaluation on a validation fold: a dense model or one (method, τ).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Repetition of the cross-validation split (0-based).
    pub repeat: usize,
    /// Validation fold (0-based).
    pub fold: usize,
    /// `dense` for the unpruned baseline.
    pub method: RowMethod,
    /// The threshold; `None` (empty) for the dense baseline.
    pub tau: Option<f64>,
    /// How τ is measured (`prune.tau.unit`: `std`, `quantile`, …).
    pub tau_unit: String,
    /// Fraction of prunable weights removed.
    pub sparsity: f64,
    /// Units (neurons, channels) whose every incoming weight is removed.
    pub neurons_removed: usize,
    /// Parameters not removed (biases included).
    pub params_left: usize,
    /// Multiply-adds of one forward pass, zero weights skipped.
    pub flops_left: usize,
    /// Mean cross-entropy on the validation fold.
    pub val_loss: f64,
    /// Accuracy on the validation fold.
    pub val_acc: f64,
    /// Masked weights that ended non-zero after retraining (always 0: the mask guarantee).
    pub regrown: usize,
    /// The loss became NaN or infinite while (re)training.
    pub diverged: bool,
    /// Fraction of prunable weights masked or unable to affect the output
    /// (see `src/model/effective.rs`); last, so positional readers of older columns keep working.
    /// (A journal line of an older version lacks it, fails to parse and its job runs again.)
    pub effective_sparsity: f64,
}

/// One round of an iterative schedule on a validation fold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrajectoryRow {
    /// Repetition of the cross-validation split.
    pub repeat: usize,
    /// Validation fold.
    pub fold: usize,
    /// The pruning method.
    pub method: MethodKind,
    /// The final threshold of the schedule.
    pub tau: f64,
    /// Pruning round (1-based).
    pub round: usize,
    /// Fraction of prunable weights removed after this round.
    pub sparsity: f64,
    /// Validation accuracy after this round.
    pub val_acc: f64,
}

/// Aggregate over all (repeat, fold) pairs for one method and τ.
///
/// The same struct is written to `summary.csv` and read back by `prunecv plot`/`report`
/// (columns matched by name; those added after the first release default when absent).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SummaryRow {
    /// The pruning method, or `dense`.
    pub method: RowMethod,
    /// The threshold; `None` for the dense baseline.
    pub tau: Option<f64>,
    /// How τ is measured.
    pub tau_unit: String,
    /// Runs that entered the statistics (diverged ones excluded).
    pub n: usize,
    /// Runs whose training diverged (left out of the statistics).
    #[serde(default)]
    pub n_diverged: usize,
    /// Mean validation accuracy over the folds.
    pub mean_val_acc: f64,
    /// Sample standard deviation (ddof = 1) across folds.
    pub std_val_acc: f64,
    /// Standard error of the mean: std_val_acc / sqrt(n).
    pub se_val_acc: f64,
    /// Mean validation loss.
    #[serde(default)]
    pub mean_val_loss: f64,
    /// Mean fraction of prunable weights removed.
    pub mean_sparsity: f64,
    /// Mean units removed.
    #[serde(default)]
    pub mean_neurons_removed: f64,
    /// Mean parameters left.
    pub mean_params_left: f64,
    /// Mean multiply-adds of one forward pass, zero weights skipped.
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
    /// The pruning method, or `dense`.
    pub method: RowMethod,
    /// `none` for the dense baseline.
    pub rule: RowRule,
    /// The chosen threshold; `None` for the dense baseline.
    pub tau: Option<f64>,
    /// How τ is measured.
    pub tau_unit: String,
    /// Mean validation accuracy at `tau` over the folds (what the rule saw).
    pub cv_mean_val_acc: f64,
    /// Its standard error.
    pub cv_se_val_acc: f64,
    /// Mean sparsity at `tau` over the folds.
    pub cv_mean_sparsity: f64,
    /// Refit model (whole training pool), pruned at `tau`, on the test split.
    pub test_acc: f64,
    /// Mean cross-entropy of the refit model on the test split.
    #[serde(default)]
    pub test_loss: f64,
    /// Fraction of the refit model's prunable weights removed.
    pub test_sparsity: f64,
    /// Units of the refit model removed.
    pub neurons_removed: usize,
    /// Parameters of the refit model left.
    pub params_left: usize,
    /// Parameters of the physically shrunk model (removed units cut out, other zeros kept).
    pub shrunk_params: usize,
    /// Multiply-adds of one forward pass of the refit model, zero weights skipped.
    pub flops_left: usize,
    /// The saved model's path inside the run directory (empty when none was saved).
    #[serde(default)]
    pub model: String,
    /// Effective sparsity of the refit model at `tau` (appended column).
    #[serde(default)]
    pub test_effective_sparsity: f64,
    /// Mean pairwise Jaccard over the fold models of the input features that survive at `tau`
    /// (see `src/sweep/stability.rs`), and its chance level; empty for the dense row.
    pub feature_jaccard: Option<f64>,
    /// The chance level of `feature_jaccard` (independent random choices of the same sizes).
    pub feature_jaccard_chance: Option<f64>,
    /// Mean pairwise Jaccard of the whole masks (`cv.shared_init: true` only), and its chance.
    pub mask_jaccard: Option<f64>,
    /// The chance level of `mask_jaccard`.
    pub mask_jaccard_chance: Option<f64>,
}

/// Per-layer sparsity of a refit model at a selected τ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerRow {
    /// The pruning method.
    pub method: MethodKind,
    /// The rule that chose `tau`.
    pub rule: RowRule,
    /// The chosen threshold.
    pub tau: Option<f64>,
    /// The prunable layer's name.
    pub layer: String,
    /// Its weights.
    pub weights: usize,
    /// Its weights not removed.
    pub weights_left: usize,
    /// Fraction of its weights removed.
    pub sparsity: f64,
}

/// One row of `folds.csv`: where a sample of the data set went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FoldRow {
    /// Row index in the data set as loaded.
    pub sample: usize,
    /// Its class index.
    pub label: u32,
    /// Repetition of the cross-validation split.
    pub repeat: usize,
    /// `cv` or `test`.
    pub role: &'static str,
    /// Validation fold (empty for test rows).
    pub fold: Option<usize>,
}

/// Wall time of one unit of work (kept out of the deterministic tables).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimingRow {
    /// What was timed: `train_dense` (one dense model) or a phase of the run.
    pub stage: String,
    /// Repetition of the split, when the unit belongs to one.
    pub repeat: Option<usize>,
    /// Fold, when the unit belongs to one.
    pub fold: Option<usize>,
    /// `dense` for a dense model, `all` for a phase (the methods' jobs are not timed apart).
    pub method: String,
    /// Wall time in seconds.
    pub seconds: f64,
}
