//! How a run talks to whoever started it, without globals: an [`Observer`] receives progress and
//! messages (the binary's draws a bar on stderr; a library caller's may do anything, or nothing),
//! and a [`CancelToken`] asks the run to start no new job (running ones finish and are journalled).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// Receives what a run reports while it runs. Every method has a do-nothing default.
pub trait Observer: Send + Sync {
    /// `done` of `total` dense models and pruning jobs have finished; `what` names the last.
    fn progress(&self, done: usize, total: usize, what: &str) {
        let _ = (done, total, what);
    }
    /// A line for the user: a warning, a notice, where the results are.
    fn message(&self, line: &str) {
        let _ = line;
    }
    /// The job graph is over (finished, failed or cancelled).
    fn finished(&self) {}
}

/// An observer that ignores everything (the library default).
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Observer for Silent {}

/// A shared flag asking a run to stop: no new job starts once it is set. Clones share the flag.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token nobody has cancelled yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Ask every run holding this token to stop; returns whether it was already asked.
    pub fn cancel(&self) -> bool {
        self.0.swap(true, Ordering::SeqCst)
    }

    /// Whether [`CancelToken::cancel`] has been called on this token or a clone of it.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Counts finished tasks for an [`Observer`].
pub(crate) struct Counter<'a> {
    observer: &'a dyn Observer,
    total: usize,
    done: AtomicUsize,
}

impl<'a> Counter<'a> {
    pub(crate) fn new(observer: &'a dyn Observer, total: usize) -> Self {
        Counter {
            observer,
            total,
            done: AtomicUsize::new(0),
        }
    }

    /// Count `n` finished tasks.
    pub(crate) fn inc(&self, n: usize, what: &str) {
        let done = self.done.fetch_add(n, Ordering::SeqCst) + n;
        self.observer.progress(done, self.total, what);
    }

    pub(crate) fn message(&self, line: &str) {
        self.observer.message(line);
    }

    pub(crate) fn finish(&self) {
        self.observer.finished();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Record(Mutex<Vec<String>>);

    impl Observer for Record {
        fn progress(&self, done: usize, total: usize, what: &str) {
            self.0
                .lock()
                .unwrap()
                .push(format!("{done}/{total} {what}"));
        }
    }

    #[test]
    fn counter_reports_running_totals_and_tokens_share_their_flag() {
        let r = Record::default();
        let c = Counter::new(&r, 5);
        c.inc(2, "journalled");
        c.inc(1, "dense model");
        assert_eq!(*r.0.lock().unwrap(), ["2/5 journalled", "3/5 dense model"]);
        let t = CancelToken::new();
        let u = t.clone();
        assert!(!u.is_cancelled());
        assert!(!t.cancel());
        assert!(u.is_cancelled() && t.cancel());
    }
}
