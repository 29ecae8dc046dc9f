//! The `prunecv` binary: parse arguments, run, print the error chain once, choose the exit code.
//! The commands themselves live in the library's hidden `prunecv::cli` module.

/// mimalloc: the training loop allocates and frees tensors every step; glibc's allocator spent
/// measurable system time returning that memory (see docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use prunecv::cli;
use prunecv::sweep::CancelToken;
use std::process::ExitCode;

fn main() -> ExitCode {
    pin_candle_threads();
    let args = cli::Cli::parse();
    let cancel = CancelToken::new();
    cli::install_interrupt(cancel.clone());
    match cli::run(args, cancel) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprint!("error: {e}");
            for cause in e.chain().skip(1) {
                eprint!(": {cause}");
            }
            eprintln!();
            ExitCode::from(cli::exit_code(&e))
        }
    }
}

/// Make candle's own CPU kernels single-threaded, so that a sweep's parallelism comes from its
/// `--jobs` pool only. candle takes its thread count from no argument, only from these variables
/// (read on every matmul); the binary sets them first thing, before any thread exists. The
/// library never touches the environment: its own thread counts are passed in
/// (`RunOptions::jobs`, and the kernel threads each job is given).
fn pin_candle_threads() {
    std::env::set_var("RAYON_NUM_THREADS", "1");
    std::env::set_var("CANDLE_NUM_THREADS", "1");
}
