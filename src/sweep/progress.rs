//! Progress reporting: an indicatif bar (jobs done / total, ETA) on a terminal, a plain log line
//! every few seconds otherwise, nothing with `--quiet`.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct Progress {
    bar: Option<ProgressBar>,
    plain: bool,
    total: usize,
    done: AtomicUsize,
    start: Instant,
    last: Mutex<Instant>,
}

impl Progress {
    pub fn new(total: usize, quiet: bool) -> Self {
        let tty = std::io::stderr().is_terminal();
        let bar = (!quiet && tty).then(|| {
            let b = ProgressBar::new(total as u64);
            b.set_style(
                ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} jobs  {elapsed} elapsed, ETA {eta}  {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b
        });
        Progress {
            bar,
            plain: !quiet && !tty,
            total,
            done: AtomicUsize::new(0),
            start: Instant::now(),
            last: Mutex::new(Instant::now()),
        }
    }

    /// Count `n` finished jobs.
    pub fn inc(&self, n: usize, what: &str) {
        let done = self.done.fetch_add(n, Ordering::SeqCst) + n;
        if let Some(b) = &self.bar {
            b.set_message(what.to_string());
            b.inc(n as u64);
        } else if self.plain {
            let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
            if last.elapsed() >= Duration::from_secs(5) || done == self.total {
                *last = Instant::now();
                let el = self.start.elapsed().as_secs_f64();
                let eta = if done > 0 {
                    el / done as f64 * (self.total - done) as f64
                } else {
                    0.0
                };
                eprintln!(
                    "  [{done}/{} jobs] {el:.1} s elapsed, ETA {eta:.0} s ({what})",
                    self.total
                );
            }
        }
    }

    /// Print a line without breaking the bar.
    pub fn println(&self, msg: &str) {
        match &self.bar {
            Some(b) => b.println(msg),
            None if self.plain => eprintln!("{msg}"),
            None => {}
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
