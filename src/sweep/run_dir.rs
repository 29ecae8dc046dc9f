//! The run directory: opening it for a whole run, one shard or a merge, under a lock held until
//! the run ends, following the `--resume` / `--force` rules, and the command that resumes it.

use super::lock::{self, RunLock};
use super::shard::Shard;
use super::{Mode, RunOptions};
use crate::config::Experiment;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// An opened run directory.
pub struct RunDir {
    /// The run directory (tables, models, figures).
    pub dir: PathBuf,
    /// Where this process journals its jobs: the run directory, or a shard's own directory.
    pub work: PathBuf,
    _lock: RunLock,
}

impl RunDir {
    /// Open `dir` as `opts.mode` says.
    pub fn open(dir: &Path, exp: &Experiment, opts: &RunOptions) -> Result<RunDir> {
        let (work, lock) = match opts.mode {
            Mode::Full => (dir.to_path_buf(), open_full(dir, exp, opts)?),
            Mode::Shard(sh) => open_shard(dir, sh, exp, opts)?,
            Mode::Merge => (dir.to_path_buf(), open_merge(dir)?),
        };
        Ok(RunDir {
            dir: dir.to_path_buf(),
            work,
            _lock: lock,
        })
    }
}

/// A merge needs a finished run directory that no live process holds.
fn open_merge(dir: &Path) -> Result<RunLock> {
    if !dir.join("resolved.yaml").is_file() {
        return Err(Error::Usage(format!(
            "{} is not a run directory (no resolved.yaml)",
            dir.display()
        )));
    }
    if let Some(pid) = lock::holder(dir) {
        return Err(Error::Locked {
            dir: dir.to_path_buf(),
            pid,
        });
    }
    RunLock::acquire(dir)
}

/// Open the run directory: refuse to touch one another live process holds; on `--resume`,
/// require the same resolved configuration; otherwise refuse an existing directory unless
/// `--force`. Returns the lock, held until the run ends.
fn open_full(dir: &Path, exp: &Experiment, opts: &RunOptions) -> Result<RunLock> {
    if dir.exists() {
        if let Some(pid) = lock::holder(dir) {
            return Err(Error::Locked {
                dir: dir.to_path_buf(),
                pid,
            });
        }
        if opts.resume {
            let resolved = dir.join("resolved.yaml");
            let before = std::fs::read_to_string(&resolved).unwrap_or_default();
            if !exp.was_resolved_as(&before) {
                return Err(Error::Usage(format!(
                    "cannot resume {}: its resolved.yaml differs from this experiment (the \
                     configuration changed); use --force to start over or --out for a new directory",
                    dir.display()
                )));
            }
        } else if opts.force {
            std::fs::remove_dir_all(dir).map_err(|e| Error::io("remove", dir, e))?;
        } else {
            return Err(Error::RunExists(dir.to_path_buf()));
        }
    }
    crate::fsio::create_dir_all(&dir.join("models"))?;
    let lock = RunLock::acquire(dir)?;
    crate::fsio::write_atomic(&dir.join("resolved.yaml"), exp.to_yaml().as_bytes())?;
    Ok(lock)
}

/// Open a shard's directory inside the shared run directory. The run directory may already
/// exist (other shards) if its configuration is the same; the shard's own directory follows the
/// --resume / --force rules.
fn open_shard(
    dir: &Path,
    sh: Shard,
    exp: &Experiment,
    opts: &RunOptions,
) -> Result<(PathBuf, RunLock)> {
    let resolved = dir.join("resolved.yaml");
    if let Ok(before) = std::fs::read_to_string(&resolved) {
        if !exp.was_resolved_as(&before) {
            return Err(Error::Usage(format!(
                "{} holds a run of a different configuration; shards must share one experiment",
                dir.display()
            )));
        }
    }
    let sd = sh.dir(dir);
    if sd.exists() {
        if let Some(pid) = lock::holder(&sd) {
            return Err(Error::Locked { dir: sd, pid });
        }
        if opts.force {
            std::fs::remove_dir_all(&sd).map_err(|e| Error::io("remove", &sd, e))?;
        } else if !opts.resume {
            return Err(Error::RunExists(sd));
        }
    }
    crate::fsio::create_dir_all(&sd)?;
    crate::fsio::create_dir_all(&dir.join("models"))?;
    let lock = RunLock::acquire(&sd)?;
    crate::fsio::write_atomic(&resolved, exp.to_yaml().as_bytes())?;
    Ok((sd, lock))
}

/// The command that resumes this run.
pub fn resume_command(opts: &RunOptions) -> String {
    let mut args: Vec<String> = opts
        .command
        .iter()
        .filter(|a| *a != "--force" && *a != "--resume")
        .cloned()
        .collect();
    if args.is_empty() {
        args = vec!["prunecv".into(), "run".into(), opts.experiment_file.clone()];
    }
    args.push("--resume".into());
    args.iter()
        .map(|a| crate::slurm::shell_quote(a))
        .collect::<Vec<_>>()
        .join(" ")
}
