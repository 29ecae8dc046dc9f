//! The job plan: a pure function from an experiment and a run mode to the dense models this
//! process trains and the (fold, method) pruning jobs it owns. Nothing here reads data, trains or
//! touches the disk, so the plan of a shard or a merge can be checked on its own.

use super::dense::Which;
use super::ids::JobKey;
use super::Mode;
use crate::config::{Experiment, MethodKind};

/// One pruning job: every τ of one method on one fold model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Job {
    /// Index into [`JobPlan::folds`].
    pub fold: usize,
    /// Index into the experiment's `prune.methods`.
    pub method: usize,
}

/// What one process of a run does.
#[derive(Debug, Clone, PartialEq)]
pub struct JobPlan {
    /// Every fold model of the experiment, repeat-major.
    pub folds: Vec<Which>,
    /// The dense models this process trains: the fold models its jobs need, then the refit
    /// model (always last: every method's τ grid is read from it).
    pub models: Vec<Which>,
    /// Where each fold's model sits in `models` (`None`: a shard that does not need it).
    pub slot_of_fold: Vec<Option<usize>>,
    /// The jobs this process owns, fold-major then method order. Job `fold · methods + method`
    /// of the whole run belongs to shard `(that number) mod n`.
    pub jobs: Vec<Job>,
}

impl JobPlan {
    pub fn new(exp: &Experiment, mode: Mode) -> Self {
        let folds: Vec<Which> = (0..exp.cv.repeats)
            .flat_map(|r| (0..exp.cv.folds).map(move |f| Which::Fold { repeat: r, fold: f }))
            .collect();
        let n_methods = exp.prune.methods.len();
        let owned = |j: usize| match mode {
            Mode::Shard(sh) => sh.owns(j),
            Mode::Full | Mode::Merge => true,
        };
        // Full runs and merges need every fold's dense model; a shard only those of its jobs.
        let needed = |i: usize| (0..n_methods).any(|m| owned(i * n_methods + m));
        let mut models: Vec<Which> = (0..folds.len())
            .filter(|&i| needed(i))
            .map(|i| folds[i])
            .collect();
        models.push(Which::Refit);
        let slot_of_fold = folds
            .iter()
            .map(|f| models.iter().position(|m| m == f))
            .collect();
        let jobs = (0..folds.len())
            .flat_map(|fold| (0..n_methods).map(move |method| Job { fold, method }))
            .filter(|j| owned(j.fold * n_methods + j.method))
            .collect();
        JobPlan {
            folds,
            models,
            slot_of_fold,
            jobs,
        }
    }

    /// The refit model's place in [`Self::models`].
    pub fn refit_slot(&self) -> usize {
        self.models.len() - 1
    }

    /// The dense model slot a job prunes.
    pub fn slot_of(&self, job: Job) -> usize {
        self.slot_of_fold[job.fold].expect("a process trains the models its jobs need")
    }

    /// The job's key in the journal.
    pub fn job_key(&self, methods: &[MethodKind], job: Job) -> JobKey {
        let (repeat, fold) = self.folds[job.fold]
            .repeat_fold()
            .expect("jobs prune fold models");
        JobKey {
            repeat,
            fold,
            method: methods[job.method],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::shard::Shard;

    fn exp(repeats: usize, folds: usize) -> Experiment {
        crate::config::parse(
            &format!(
                "name: t\nprune: {{methods: [magnitude, random]}}\n\
                 cv: {{folds: {folds}, repeats: {repeats}}}\n"
            ),
            "t.yaml",
            &[],
        )
        .unwrap()
    }

    #[test]
    fn a_full_run_trains_every_fold_then_the_refit_and_owns_every_job() {
        let e = exp(2, 3);
        let p = JobPlan::new(&e, Mode::Full);
        assert_eq!(p.folds.len(), 6);
        assert_eq!(p.folds[4], Which::Fold { repeat: 1, fold: 1 });
        assert_eq!(p.models.len(), 7);
        assert_eq!(p.models[p.refit_slot()], Which::Refit);
        assert_eq!(p.slot_of_fold, (0..6).map(Some).collect::<Vec<_>>());
        assert_eq!(p.jobs.len(), 12);
        assert_eq!(p.jobs[3], Job { fold: 1, method: 1 });
        assert_eq!(
            p.job_key(&e.prune.methods, p.jobs[3]).to_string(),
            "repeat 0 fold 1 random"
        );
        assert_eq!(JobPlan::new(&e, Mode::Merge), p);
    }

    #[test]
    fn a_shard_owns_every_nth_job_and_trains_only_the_folds_they_prune() {
        let e = exp(1, 3);
        // Jobs 0..6 are (fold, method) = (0,0) (0,1) (1,0) (1,1) (2,0) (2,1); shard 0 of 4 owns
        // jobs 0 and 4, so it trains folds 0 and 2 and the refit.
        let p = JobPlan::new(&e, Mode::Shard(Shard { index: 0, count: 4 }));
        assert_eq!(
            p.jobs,
            vec![Job { fold: 0, method: 0 }, Job { fold: 2, method: 0 }]
        );
        assert_eq!(
            p.models,
            vec![
                Which::Fold { repeat: 0, fold: 0 },
                Which::Fold { repeat: 0, fold: 2 },
                Which::Refit
            ]
        );
        assert_eq!(p.slot_of_fold, vec![Some(0), None, Some(1)]);
        assert_eq!(p.slot_of(p.jobs[1]), 1);
    }
}
