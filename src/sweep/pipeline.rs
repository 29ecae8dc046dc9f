//! The job graph's executor. A sweep's work is a two-level graph: dense models (one per fold, plus
//! the refit model from which every method's τ grid is read) and, for each fold, its pruning jobs.
//! All of it goes into one queue, dense models first (in the order given: the refit first, being
//! the largest and the one the grids wait for), then the jobs; the `--jobs` workers pull tasks in
//! queue order, so a job starts as soon as its fold's model and the grids exist instead of
//! waiting for a stage barrier, and no worker idles while another finishes the last dense model.
//!
//! Every task's result depends only on its inputs, never on which worker ran it or when, so the
//! results are identical for any number of workers. A worker only ever waits for a dense model
//! that an earlier pull has already claimed (every dense task precedes every job in the queue),
//! so waiting cannot deadlock; a dense task that fails or panics still publishes "no model",
//! releasing its waiters. A task's error or panic stops every worker from pulling more.

use crate::error::{Error, Result};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

/// What ran: `None` marks a task not started because the run was stopped.
pub struct Executed<D, G, E> {
    pub dense: Vec<Option<D>>,
    pub grids: Option<G>,
    pub jobs: Vec<Option<E>>,
}

/// Publishes `None` into a slot its task did not fill (error or panic), so waiters move on.
struct Release<'a, T>(&'a OnceLock<Option<T>>);

impl<T> Drop for Release<'_, T> {
    fn drop(&mut self) {
        let _ = self.0.set(None);
    }
}

enum Task {
    Dense(usize),
    Job(usize),
}

/// Run `dense(k)` for every `k` in `dense_order` (which lists all `0..n_dense`), `grids(model)`
/// once on dense model `grid_source`, and `job(j, model, grids)` for every `j` with
/// `job_deps[j]` naming the dense model job `j` needs — on the rayon `pool`, every thread
/// pulling from the queue ([`crate::par::pull`]). `stop()` is checked before every pull. The first error is returned
/// once the running tasks have finished.
#[allow(clippy::too_many_arguments)]
pub fn execute<D, G, E>(
    pool: &rayon::ThreadPool,
    dense_order: &[usize],
    grid_source: usize,
    job_deps: &[usize],
    stop: impl Fn() -> bool + Sync,
    dense: impl Fn(usize) -> Result<D> + Sync,
    grids: impl Fn(&D) -> Result<G> + Sync,
    job: impl Fn(usize, &D, &G) -> Result<E> + Sync,
) -> Result<Executed<D, G, E>>
where
    D: Send + Sync,
    G: Send + Sync,
    E: Send,
{
    let n_dense = dense_order.len();
    let models: Vec<OnceLock<Option<D>>> = (0..n_dense).map(|_| OnceLock::new()).collect();
    let grid: OnceLock<Option<G>> = OnceLock::new();
    let results: Vec<Mutex<Option<E>>> = job_deps.iter().map(|_| Mutex::new(None)).collect();
    let tasks: Vec<Task> = dense_order
        .iter()
        .map(|&k| Task::Dense(k))
        .chain((0..job_deps.len()).map(Task::Job))
        .collect();
    let failed = AtomicBool::new(false);
    let first_error: Mutex<Option<Error>> = Mutex::new(None);
    let fail = |e| {
        failed.store(true, Ordering::SeqCst);
        first_error.lock().expect("error slot").get_or_insert(e);
    };
    let attempt = |task: &Task| match *task {
        Task::Dense(k) => {
            let _release = Release(&models[k]);
            let _release_grid = (k == grid_source).then(|| Release(&grid));
            match dense(k) {
                Ok(d) => {
                    if k == grid_source {
                        match grids(&d) {
                            Ok(g) => {
                                let _ = grid.set(Some(g));
                            }
                            Err(e) => fail(e),
                        }
                    }
                    let _ = models[k].set(Some(d));
                }
                Err(e) => fail(e),
            }
        }
        Task::Job(j) => {
            let (Some(d), Some(g)) = (models[job_deps[j]].wait(), grid.wait()) else {
                return; // a dependency failed; its error is already recorded
            };
            match job(j, d, g) {
                Ok(e) => *results[j].lock().expect("result slot") = Some(e),
                Err(e) => fail(e),
            }
        }
    };
    // A panicking task fails the run like an error: the other workers stop pulling at once
    // (rayon alone would let them drain the whole queue before re-raising the panic).
    let run_task = |task: &Task| {
        if let Err(p) = std::panic::catch_unwind(AssertUnwindSafe(|| attempt(task))) {
            let what = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a task panicked".into());
            fail(Error::Internal(what));
        }
    };
    let stopped = || stop() || failed.load(Ordering::SeqCst);
    pool.install(|| crate::par::pull(tasks.len(), stopped, |t| run_task(&tasks[t])));
    if let Some(e) = first_error.into_inner().expect("error slot") {
        return Err(e);
    }
    Ok(Executed {
        dense: models
            .into_iter()
            .map(|m| m.into_inner().flatten())
            .collect(),
        grids: grid.into_inner().flatten(),
        jobs: results
            .into_iter()
            .map(|r| r.into_inner().expect("result slot"))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn pool(n: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .unwrap()
    }

    /// Three "models" (k → 10k), grids = model 2's value + 1, jobs = model + grid + j.
    fn run(workers: usize, fail_dense: Option<usize>) -> Result<Executed<u64, u64, u64>> {
        let deps = [0, 0, 1, 1, 2, 2, 0];
        execute(
            &pool(workers),
            &[2, 0, 1],
            2,
            &deps,
            || false,
            |k| {
                std::thread::sleep(std::time::Duration::from_millis(5 * k as u64));
                if Some(k) == fail_dense {
                    return Err(Error::Internal(format!("model {k} failed")));
                }
                Ok(10 * k as u64)
            },
            |d| Ok(d + 1),
            |j, d, g| Ok(d + g + j as u64),
        )
    }

    #[test]
    fn every_task_runs_once_with_its_inputs_for_any_worker_count() {
        let want: Vec<u64> = [0u64, 0, 10, 10, 20, 20, 0]
            .iter()
            .enumerate()
            .map(|(j, d)| d + 21 + j as u64)
            .collect();
        for workers in [1, 2, 4] {
            let ex = run(workers, None).unwrap();
            assert_eq!(ex.dense, vec![Some(0), Some(10), Some(20)]);
            assert_eq!(ex.grids, Some(21));
            let jobs: Vec<u64> = ex.jobs.into_iter().map(Option::unwrap).collect();
            assert_eq!(jobs, want, "{workers} workers");
        }
    }

    #[test]
    fn a_failed_model_is_reported_and_releases_its_waiters() {
        for workers in [1, 2, 3] {
            for bad in [0, 1, 2] {
                let err = run(workers, Some(bad)).err().expect("the failure surfaces");
                assert!(err.to_string().contains(&format!("model {bad} failed")));
            }
        }
    }

    #[test]
    fn a_panicking_task_stops_every_worker_and_becomes_an_error() {
        for workers in [1, 2] {
            let jobs_run = AtomicUsize::new(0);
            let err = execute(
                &pool(workers),
                &[0, 1],
                0,
                &[0; 10],
                || false,
                |k| {
                    if k == 1 {
                        panic!("model {k} exploded");
                    }
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    Ok(k)
                },
                |_| Ok(()),
                |j, _, _| {
                    jobs_run.fetch_add(1, Ordering::SeqCst);
                    Ok(j)
                },
            )
            .err()
            .expect("the panic surfaces as an error");
            assert!(
                matches!(&err, Error::Internal(m) if m == "model 1 exploded"),
                "{err}"
            );
            assert_eq!(jobs_run.load(Ordering::SeqCst), 0, "{workers} workers");
        }
    }

    #[test]
    fn a_stop_leaves_the_unstarted_tasks_empty() {
        // stop() answers "go on" to the first three pulls only: the two models and job 0 run.
        for workers in [1, 2, 4] {
            let pulled = AtomicUsize::new(0);
            let ex = execute(
                &pool(workers),
                &[0, 1],
                0,
                &[0, 1, 0, 1],
                || pulled.fetch_add(1, Ordering::SeqCst) >= 3,
                Ok,
                |_| Ok(()),
                |j, _, _| Ok(j),
            )
            .unwrap();
            assert_eq!(ex.dense, vec![Some(0), Some(1)], "{workers} workers");
            assert_eq!(ex.grids, Some(()));
            assert_eq!(
                ex.jobs,
                vec![Some(0), None, None, None],
                "{workers} workers"
            );
        }
    }
}
