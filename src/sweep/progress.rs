//! The terminal [`Observer`] the binary uses: an indicatif bar (jobs done / total, ETA) on a
//! terminal, a plain log line every few seconds otherwise; messages go to stderr.

use super::observe::Observer;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct Terminal {
    bar: Mutex<Option<ProgressBar>>,
    tty: bool,
    start: Instant,
    last: Mutex<Instant>,
}

impl Default for Terminal {
    fn default() -> Self {
        Terminal {
            bar: Mutex::new(None),
            tty: std::io::stderr().is_terminal(),
            start: Instant::now(),
            last: Mutex::new(Instant::now()),
        }
    }
}

fn new_bar(total: usize) -> ProgressBar {
    let b = ProgressBar::new(total as u64);
    b.set_style(
        ProgressStyle::with_template(
            "{bar:40} {pos}/{len} jobs  {elapsed} elapsed, ETA {eta}  {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    b
}

impl Observer for Terminal {
    fn progress(&self, done: usize, total: usize, what: &str) {
        if self.tty {
            let mut bar = self.bar.lock().unwrap_or_else(|p| p.into_inner());
            let b = bar.get_or_insert_with(|| new_bar(total));
            b.set_message(what.to_string());
            b.set_position(done as u64);
            return;
        }
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if last.elapsed() >= Duration::from_secs(5) || done == total {
            *last = Instant::now();
            let el = self.start.elapsed().as_secs_f64();
            let eta = if done > 0 {
                el / done as f64 * (total - done) as f64
            } else {
                0.0
            };
            eprintln!("  [{done}/{total} jobs] {el:.1} s elapsed, ETA {eta:.0} s ({what})");
        }
    }

    /// Print a line without breaking the bar.
    fn message(&self, line: &str) {
        match &*self.bar.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(b) => b.println(line),
            None => eprintln!("{line}"),
        }
    }

    fn finished(&self) {
        if let Some(b) = self.bar.lock().unwrap_or_else(|p| p.into_inner()).take() {
            b.finish_and_clear();
        }
    }
}
