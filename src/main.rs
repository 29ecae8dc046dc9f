//! The `prunecv` binary: parse arguments, run, print the error chain once, choose the exit code.

mod cli;

/// mimalloc: the training loop allocates and frees tensors every step; glibc's allocator spent
/// measurable system time returning that memory (see docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    prunecv::sweep::init_threads();
    let args = cli::Cli::parse();
    prunecv::sweep::interrupt::install();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprint!("error: {e}");
            for cause in e.chain().skip(1) {
                eprint!(": {cause}");
            }
            eprintln!();
            if e.chain().any(|c| {
                matches!(
                    c.downcast_ref::<prunecv::Error>(),
                    Some(prunecv::Error::Interrupted { .. })
                )
            }) {
                ExitCode::from(130)
            } else if e.chain().any(|c| c.is::<cli::InputError>()) {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}
