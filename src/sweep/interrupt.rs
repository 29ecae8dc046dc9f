//! Ctrl-C handling for the binary: the first interrupt cancels the run's [`CancelToken`] (no new
//! job starts; running jobs finish and are journalled); the second exits at once. Either way,
//! what was journalled is kept. Library callers cancel their own token instead.

use super::observe::CancelToken;

/// Install the SIGINT/SIGTERM handler for `token` (once per process; the binary calls this).
pub fn install(token: CancelToken) {
    let _ = ctrlc::set_handler(move || {
        if token.cancel() {
            eprintln!("\nsecond interrupt: exiting now (finished jobs are in the journal)");
            std::process::exit(130);
        }
        eprintln!("\ninterrupt: starting no new jobs; waiting for running ones (Ctrl-C again to exit now)");
    });
}
