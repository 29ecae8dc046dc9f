//! The `prunecv` binary: parse arguments, run, print the error chain once, choose the exit code.

mod cli;

/// mimalloc: the training loop allocates and frees tensors every step; glibc's allocator spent
/// measurable system time returning that memory (see docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    pin_candle_threads();
    let args = cli::Cli::parse();
    let cancel = prunecv::sweep::CancelToken::new();
    prunecv::sweep::interrupt::install(cancel.clone());
    match cli::run(args, cancel) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprint!("error: {e}");
            for cause in e.chain().skip(1) {
                eprint!(": {cause}");
            }
            eprintln!();
            ExitCode::from(exit_code(&e))
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

/// The exit code of a failed command: the first library error or CLI input error in the chain
/// decides ([`prunecv::Error::exit_code`] holds the table); anything else is a failed run (1).
fn exit_code(e: &anyhow::Error) -> u8 {
    e.chain()
        .find_map(|c| {
            if let Some(lib) = c.downcast_ref::<prunecv::Error>() {
                Some(lib.exit_code())
            } else {
                c.is::<cli::InputError>().then_some(2)
            }
        })
        .unwrap_or(1)
}
