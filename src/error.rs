//! The library's typed error: every variant names what failed and where.

use std::path::PathBuf;

/// Errors raised by the prunecv library.
///
/// Every variant belongs to one row of the exit-code table (README, "Exit codes"); the binary
/// exits with [`Error::exit_code`]. `2`: bad input the user can fix by changing a file, a flag or
/// a directory argument. `1`: the run itself failed. `3`: the machine or its environment failed
/// the run (a file system that refuses a write, a missing tool). `130`: interrupted.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The experiment file (or an override, or a comparison file) is invalid or cannot be read.
    /// Exit code 2.
    #[error("{file}: {message}")]
    Config {
        /// The file (or `command line`) at fault.
        file: String,
        /// What is wrong with it, with the field's path where there is one.
        message: String,
    },

    /// A data file (or a table of a run directory read back by `plot`, `report`, `compare`, or
    /// an exported model) cannot be read or is malformed. Exit code 2.
    #[error("{file}: {message}")]
    Data {
        /// The file at fault.
        file: String,
        /// What is wrong with it.
        message: String,
    },

    /// A file-system operation failed while running: the run directory cannot be created or
    /// written, the disk is full, the journal cannot be appended, `sbatch` cannot be started.
    /// (Input files that cannot be read are [`Error::Config`] or [`Error::Data`].)
    /// The OS error is the `source`, printed after this message by whoever prints the chain.
    /// Exit code 3.
    #[error("cannot {op} {path}")]
    Io {
        /// What was being done (`create`, `write`, …).
        op: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// The run directory exists and neither `--force` nor `--resume` was given. Exit code 2.
    #[error(
        "run directory {0} already exists: pass --force to replace it, or --out to write elsewhere"
    )]
    RunExists(PathBuf),

    /// Another live process holds the run directory's lock. Exit code 2.
    #[error("run directory {dir} is in use by process {pid} (lock file {dir}/.lock); wait for it or stop it")]
    Locked {
        /// The run directory.
        dir: PathBuf,
        /// The process holding its lock.
        pid: u32,
    },

    /// The run was interrupted; finished jobs are journalled. Exit code 130.
    #[error("interrupted after {done} of {total} jobs; finished jobs are saved. Resume with:\n  {resume}")]
    Interrupted {
        /// Jobs finished (and journalled) before the run stopped.
        done: usize,
        /// Jobs of the whole run.
        total: usize,
        /// The command that resumes the run.
        resume: String,
    },

    /// A tensor operation failed. Exit code 1.
    #[error("tensor operation failed: {0}")]
    Candle(#[from] candle_core::Error),

    /// Writing a CSV table failed. Exit code 1.
    #[error("csv: {0}")]
    Csv(#[from] csv::Error),

    /// The run would need more memory than is available (estimated before any training).
    /// Exit code 2.
    #[error("{0}")]
    Memory(String),

    /// The experiment does not suit its data (e.g. more folds than rows of a class).
    /// Exit code 2.
    #[error("{field}: {message}")]
    Mismatch {
        /// The experiment's field (or the model) that does not suit the data.
        field: String,
        /// Why.
        message: String,
    },

    /// A request that cannot be carried out as asked, though each file in it is valid: resuming
    /// a run whose configuration or data changed, merging shards that are missing, unfinished
    /// or of another configuration, comparing runs on different data, a model that does not
    /// fit the data it is evaluated on, an unknown figure format. Exit code 2.
    #[error("{0}")]
    Usage(String),

    /// The environment cannot support the request: `sbatch` failed, no cache directory can be
    /// found, a thread pool cannot be started, another process keeps taking a lock.
    /// Exit code 3.
    #[error("{0}")]
    Environment(String),

    /// A bug in prunecv: a worker task panicked, or an internal invariant (tensor shapes, a
    /// figure that cannot be drawn) does not hold; reported as an error so the run stops
    /// cleanly. Exit code 1.
    #[error("internal error (a bug in prunecv; please report it): {0}")]
    Internal(String),
}

/// Shorthand result type.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn config(file: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config {
            file: file.into(),
            message: message.into(),
        }
    }

    pub(crate) fn data(file: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Data {
            file: file.into(),
            message: message.into(),
        }
    }

    /// The process exit code for this error (the README's "Exit codes" table): `2` bad input,
    /// `1` the run failed, `3` the environment failed it, `130` interrupted.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Config { .. }
            | Error::Data { .. }
            | Error::RunExists(_)
            | Error::Locked { .. }
            | Error::Memory(_)
            | Error::Mismatch { .. }
            | Error::Usage(_) => 2,
            Error::Candle(_) | Error::Csv(_) | Error::Internal(_) => 1,
            Error::Io { .. } | Error::Environment(_) => 3,
            Error::Interrupted { .. } => 130,
        }
    }
}
