//! Ordered dynamic scheduling on the current rayon pool: every thread of the pool pulls the next
//! task index from one shared counter, so tasks start in the order given (callers put the
//! longest, or the ones others wait for, first) and no thread idles while tasks remain — unlike
//! `par_iter`, whose fixed halving can leave one worker with the two biggest tasks.
//!
//! A task pulled when fewer tasks are left than workers (the last jobs of a sweep, a lone refit)
//! may split its kernels over every worker: [`kernel_threads`] tells it so, and the workers that
//! find nothing left to pull help through rayon's work stealing.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

thread_local! {
    static KERNEL_THREADS: Cell<Option<usize>> = const { Cell::new(None) };
}

/// The kernel threads the task running on this thread may use: set by [`pull`] (1 while other
/// tasks wait to be pulled, every worker of the pool once fewer tasks are left than workers);
/// `None` outside a task. The result of a task must not depend on it.
pub fn kernel_threads() -> Option<usize> {
    KERNEL_THREADS.with(Cell::get)
}

/// Run `f` with [`kernel_threads`] giving `n`, restoring the previous value afterwards (also when
/// `f` panics).
fn with_kernel_threads<T>(n: usize, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<usize>);
    impl Drop for Restore {
        fn drop(&mut self) {
            KERNEL_THREADS.with(|k| k.set(self.0));
        }
    }
    let _restore = Restore(KERNEL_THREADS.with(|k| k.replace(Some(n))));
    f()
}

/// Run `task(i)` for `i` in `0..n` on every thread of the current rayon pool (call it inside
/// `pool.install`), pulling indices in increasing order. `stop()` is checked before each pull;
/// a task not started because of it leaves `None`. Results come back in index order. A task
/// pulled with fewer than `workers` tasks left (itself included) runs with [`kernel_threads`]
/// = `workers`, any other with 1.
pub fn pull<T: Send>(
    n: usize,
    stop: impl Fn() -> bool + Sync,
    task: impl Fn(usize) -> T + Sync,
) -> Vec<Option<T>> {
    let next = AtomicUsize::new(0);
    let out: Vec<Mutex<Option<T>>> = (0..n).map(|_| Mutex::new(None)).collect();
    let workers = rayon::current_num_threads();
    rayon::broadcast(|_| loop {
        if stop() {
            break;
        }
        let i = next.fetch_add(1, Ordering::SeqCst);
        if i >= n {
            break;
        }
        let share = if n - i < workers { workers } else { 1 };
        let v = with_kernel_threads(share, || task(i));
        *out[i].lock().expect("result slot") = Some(v);
    });
    out.into_iter()
        .map(|m| m.into_inner().expect("result slot"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_index_runs_once_in_index_order_of_results() {
        for threads in [1, 2, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let calls = AtomicUsize::new(0);
            let got = pool.install(|| {
                pull(
                    10,
                    || false,
                    |i| {
                        calls.fetch_add(1, Ordering::SeqCst);
                        i * i
                    },
                )
            });
            let want: Vec<Option<usize>> = (0..10).map(|i| Some(i * i)).collect();
            assert_eq!(got, want);
            assert_eq!(calls.load(Ordering::SeqCst), 10);
        }
    }

    /// With 3 workers and 7 tasks, tasks 0..=4 see 1 kernel thread and the last two (fewer left
    /// than workers) see 3; outside a task there is no setting.
    #[test]
    fn the_last_tasks_get_every_worker_for_their_kernels() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let got = pool.install(|| pull(7, || false, |_| kernel_threads()));
        let want: Vec<Option<Option<usize>>> = [1, 1, 1, 1, 1, 3, 3]
            .iter()
            .map(|&k| Some(Some(k)))
            .collect();
        assert_eq!(got, want);
        assert_eq!(kernel_threads(), None);
        assert_eq!(pool.install(kernel_threads), None);
    }

    #[test]
    fn a_stop_leaves_later_tasks_unrun() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let done = AtomicUsize::new(0);
        let got = pool.install(|| {
            pull(
                5,
                || done.load(Ordering::SeqCst) >= 2,
                |i| {
                    done.fetch_add(1, Ordering::SeqCst);
                    i
                },
            )
        });
        assert_eq!(got, vec![Some(0), Some(1), None, None, None]);
    }
}
