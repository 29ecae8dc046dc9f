//! A sanity check of the refit model that needs no test row: a refit whose training failed
//! without a non-finite loss (a ReLU network collapsed to one class at too high a learning rate,
//! say) is not flagged as diverged, and would otherwise only show as a poor test score — which
//! must not be what tells. Its accuracy on its own training rows is compared with the fold
//! models' mean validation accuracy: a trained model fits its training rows at least about as
//! well as comparable models predict unseen ones.

use crate::error::Result;
use crate::model::{Architecture, Params};
use crate::train::{self, HostData};

/// How far (accuracy, absolute) the refit's training fit may fall below the fold models' mean
/// validation accuracy before the run warns.
pub const MARGIN: f64 = 0.05;

/// A warning when `params` fit `train_data` more than [`MARGIN`] below `fold_val_mean`.
pub fn warning(
    arch: &dyn Architecture,
    params: &Params,
    train_data: &HostData,
    fold_val_mean: f64,
) -> Result<Option<String>> {
    let fit = train::evaluate(arch, params, train_data)?;
    Ok((fit.acc < fold_val_mean - MARGIN).then(|| {
        format!(
            "warning: the refit model classifies its own training rows with accuracy {:.4}, far \
             below the fold models' mean validation accuracy {:.4}: its training failed without \
             a non-finite loss (too high a learning rate?), so this run's test numbers are not \
             trustworthy",
            fit.acc, fold_val_mean
        )
    }))
}
