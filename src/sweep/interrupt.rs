//! Ctrl-C handling: the first interrupt asks the runner to start no new job (running jobs finish
//! and are journalled); the second exits at once. Either way, what was journalled is kept.

use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);

/// Install the SIGINT/SIGTERM handler (once per process; the binary calls this).
pub fn install() {
    let _ = ctrlc::set_handler(|| {
        if STOP.swap(true, Ordering::SeqCst) {
            eprintln!("\nsecond interrupt: exiting now (finished jobs are in the journal)");
            std::process::exit(130);
        }
        eprintln!("\ninterrupt: starting no new jobs; waiting for running ones (Ctrl-C again to exit now)");
    });
}

/// Whether an interrupt was requested.
pub fn requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// Ask the runner to stop (what the signal handler does; also for tests and embedding).
pub fn request() {
    STOP.store(true, Ordering::SeqCst);
}
