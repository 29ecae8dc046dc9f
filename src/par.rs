//! Ordered dynamic scheduling on the current rayon pool: every thread of the pool pulls the next
//! task index from one shared counter, so tasks start in the order given (callers put the
//! longest, or the ones others wait for, first) and no thread idles while tasks remain — unlike
//! `par_iter`, whose fixed halving can leave one worker with the two biggest tasks.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Run `task(i)` for `i` in `0..n` on every thread of the current rayon pool (call it inside
/// `pool.install`), pulling indices in increasing order. `stop()` is checked before each pull;
/// a task not started because of it leaves `None`. Results come back in index order.
pub fn pull<T: Send>(
    n: usize,
    stop: impl Fn() -> bool + Sync,
    task: impl Fn(usize) -> T + Sync,
) -> Vec<Option<T>> {
    let next = AtomicUsize::new(0);
    let out: Vec<Mutex<Option<T>>> = (0..n).map(|_| Mutex::new(None)).collect();
    rayon::broadcast(|_| loop {
        if stop() {
            break;
        }
        let i = next.fetch_add(1, Ordering::SeqCst);
        if i >= n {
            break;
        }
        let v = task(i);
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
