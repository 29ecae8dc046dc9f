//! Tests of the sweep's stages through crate-private code: one fold model trained dense, then
//! scored, pruned and checked directly. Sweeps through the binary are in `tests/suite/`.

use super::{dense, schedule, Prepared};
use crate::config::{Experiment, MethodKind};
use crate::model::Params;

mod budgets;
mod runner;
mod schedules;

/// The small iris experiment the run-directory tests use too.
use crate::report::run_dir_tests::TINY;

/// One fold model of an experiment given as YAML, through the library: the parsed experiment,
/// its prepared data, and fold `fold` (repeat 0) trained dense.
pub(super) fn fold_model(yaml: &str, fold: usize) -> (Experiment, Prepared, dense::Trained) {
    let exp = crate::config::parse(yaml, "exp.yaml", &[]).unwrap();
    let prep = crate::sweep::prepare(&exp).unwrap();
    let which = crate::sweep::Which::Fold { repeat: 0, fold };
    let t = dense::dense_model(&exp, &prep, which, None).unwrap();
    (exp, prep, t)
}

/// `kind`'s scores of `params` for model `t` of `fold_model`.
pub(super) fn score_with(
    exp: &Experiment,
    prep: &Prepared,
    t: &dense::Trained,
    params: &Params,
    kind: MethodKind,
) -> schedule::Scored {
    schedule::score(
        exp,
        prep,
        params,
        &t.train_data,
        kind,
        &schedule::model_ids(t.which),
    )
    .unwrap()
}
