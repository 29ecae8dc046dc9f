//! A lock file (`.lock`, holding the owner's pid) that stops two processes from writing the same
//! run directory. A lock whose process no longer exists is stale and is taken over.

use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Held for as long as the value lives; the file is removed on drop.
pub struct RunLock {
    path: PathBuf,
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// The pid holding `dir`'s lock, if a live process does.
pub fn holder(dir: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(dir.join(".lock")).ok()?;
    let pid: u32 = text.trim().parse().ok()?;
    (pid != std::process::id() && alive(pid)).then_some(pid)
}

impl RunLock {
    /// Take the lock of `dir` (which must exist).
    pub fn acquire(dir: &Path) -> Result<RunLock> {
        let path = dir.join(".lock");
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    write!(f, "{}", std::process::id())
                        .map_err(|e| Error::io("write lock file", &path, e))?;
                    return Ok(RunLock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if let Some(pid) = holder(dir) {
                        return Err(Error::Locked {
                            dir: dir.to_path_buf(),
                            pid,
                        });
                    }
                    // Stale: its process is gone.
                    std::fs::remove_file(&path)
                        .map_err(|e| Error::io("remove stale lock file", &path, e))?;
                }
                Err(e) => return Err(Error::io("create lock file", &path, e)),
            }
        }
        Err(Error::Environment(format!(
            "cannot take the lock {}",
            path.display()
        )))
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_locks_are_taken_over_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        // No process has pid 4_000_000 (above Linux's pid_max limit).
        std::fs::write(dir.path().join(".lock"), "4000000").unwrap();
        let lock = RunLock::acquire(dir.path()).unwrap();
        let text = std::fs::read_to_string(dir.path().join(".lock")).unwrap();
        assert_eq!(text, std::process::id().to_string());
        drop(lock);
        assert!(!dir.path().join(".lock").exists());
    }

    #[test]
    fn a_live_holder_is_named() {
        let dir = tempfile::tempdir().unwrap();
        // pid 1 is always alive.
        std::fs::write(dir.path().join(".lock"), "1").unwrap();
        let err = RunLock::acquire(dir.path()).err().unwrap().to_string();
        assert!(err.contains("process 1"), "{err}");
    }
}
