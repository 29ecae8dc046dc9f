//! The library's typed error: every variant names what failed and where.

use std::path::PathBuf;

/// Errors raised by the prunecv library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The experiment file (or an override) is invalid.
    #[error("{file}: {message}")]
    Config { file: String, message: String },

    /// A data file could not be read or is malformed.
    #[error("{file}: {message}")]
    Data { file: String, message: String },

    /// A file-system operation failed.
    /// The OS error is the `source`, printed after this message by whoever prints the chain.
    #[error("cannot {op} {path}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The run directory exists and neither `--force` nor `--resume` was given.
    #[error(
        "run directory {0} already exists: pass --force to replace it, or --out to write elsewhere"
    )]
    RunExists(PathBuf),

    /// Another live process holds the run directory's lock.
    #[error("run directory {dir} is in use by process {pid} (lock file {dir}/.lock); wait for it or stop it")]
    Locked { dir: PathBuf, pid: u32 },

    /// The run was interrupted; finished jobs are journalled.
    #[error("interrupted after {done} of {total} jobs; finished jobs are saved. Resume with:\n  {resume}")]
    Interrupted {
        done: usize,
        total: usize,
        resume: String,
    },

    /// A tensor operation failed.
    #[error("tensor operation failed: {0}")]
    Candle(#[from] candle_core::Error),

    /// Writing a CSV table failed.
    #[error("csv: {0}")]
    Csv(#[from] csv::Error),

    /// The run would need more memory than is available (estimated before any training).
    #[error("{0}")]
    Memory(String),

    /// The experiment does not suit its data (e.g. more folds than rows of a class).
    #[error("{field}: {message}")]
    Mismatch { field: String, message: String },

    /// Anything else that indicates an invalid request (bad model file, inconsistent inputs).
    #[error("{0}")]
    Invalid(String),

    /// A worker task panicked: a bug in prunecv, reported as an error so the run stops cleanly.
    #[error("internal error (a bug in prunecv; please report it): {0}")]
    Internal(String),
}

/// Shorthand result type.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    pub fn config(file: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config {
            file: file.into(),
            message: message.into(),
        }
    }

    pub fn data(file: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Data {
            file: file.into(),
            message: message.into(),
        }
    }

    /// True for errors caused by the user's input (exit code 2) rather than a failed run.
    pub fn is_input_error(&self) -> bool {
        matches!(
            self,
            Error::Config { .. }
                | Error::Data { .. }
                | Error::RunExists(_)
                | Error::Invalid(_)
                | Error::Memory(_)
                | Error::Mismatch { .. }
                | Error::Locked { .. }
        )
    }
}
