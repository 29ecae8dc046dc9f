//! Sharded runs for clusters: `--shard i/n` runs every n-th (fold, method) job starting at i
//! (round-robin over the deterministic job list, so shards are balanced), training only the dense
//! models its jobs need (plus the refit model, which defines `auto` grids). Each shard writes its
//! own journal under `<run dir>/shards/<i>-of-<n>/` and a `done` marker when it has finished all
//! its jobs; dense models go to the shared cache. `prunecv merge` checks that every shard is
//! done, then aggregates, selects τ, refits and tests exactly as a single-machine run does.

use super::ids::JobKey;
use super::journal::{Entry, Journal};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Shard `index` of `count` (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard (0-based, below `count`).
    pub index: usize,
    /// Shards in all.
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("expected I/N (e.g. 0/4), found {s:?}"))?;
        let index: usize = i
            .trim()
            .parse()
            .map_err(|_| format!("shard index {i:?} is not a number"))?;
        let count: usize = n
            .trim()
            .parse()
            .map_err(|_| format!("shard count {n:?} is not a number"))?;
        if count == 0 || index >= count {
            return Err(format!("shard {index}/{count}: need 0 <= I < N"));
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// This shard's directory inside the run directory.
    pub(crate) fn dir(&self, run_dir: &Path) -> PathBuf {
        run_dir
            .join("shards")
            .join(format!("{}-of-{}", self.index, self.count))
    }

    /// Whether job number `j` of the deterministic job list belongs to this shard.
    pub(crate) fn owns(&self, j: usize) -> bool {
        j % self.count == self.index
    }
}

/// Written when a shard has finished every job it owns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Done {
    pub config_hash: String,
    pub jobs: Vec<JobKey>,
}

pub fn write_done(shard_dir: &Path, done: &Done) -> Result<()> {
    let json = serde_json::to_vec_pretty(done).expect("done marker serialises");
    crate::fsio::write_atomic(&shard_dir.join("done"), &json)
}

/// Collect the journals of all shards of a run, checking that every shard of one sharding
/// finished for this configuration. Errors name the missing or unfinished shard.
pub fn collect(
    run_dir: &Path,
    config_hash: &str,
    data_fingerprint: &str,
) -> Result<BTreeMap<JobKey, Entry>> {
    let shards_dir = run_dir.join("shards");
    let mut counts = std::collections::BTreeSet::new();
    // No shards/ at all is reported like an empty one: no shard ran.
    let entries = match std::fs::read_dir(&shards_dir) {
        Ok(entries) => entries.flatten().collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => {
            return Err(Error::data(
                shards_dir.display().to_string(),
                format!("cannot list it: {e}"),
            ))
        }
    };
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some((_, n)) = name.split_once("-of-") {
            if let Ok(n) = n.parse::<usize>() {
                counts.insert(n);
            }
        }
    }
    let count = match counts.len() {
        0 => {
            return Err(Error::Usage(format!(
                "{}: no shard directories (<i>-of-<n>); run the shards first",
                shards_dir.display()
            )))
        }
        1 => *counts.iter().next().expect("one count"),
        _ => {
            return Err(Error::Usage(format!(
                "{}: shards of different shardings ({:?}); remove the stale ones",
                shards_dir.display(),
                counts
            )))
        }
    };
    let mut all = BTreeMap::new();
    for index in 0..count {
        let s = Shard { index, count };
        let dir = s.dir(run_dir);
        if !dir.is_dir() {
            return Err(Error::Usage(format!(
                "shard {s} is missing: {} does not exist (the shard never started)",
                dir.display()
            )));
        }
        let done_path = dir.join("done");
        let done: Done = match std::fs::read(&done_path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| {
                Error::data(done_path.display().to_string(), format!("corrupt done marker: {e}"))
            })?,
            Err(_) => {
                return Err(Error::Usage(format!(
                    "shard {s} did not finish (no {}); see its log, then rerun it with --shard {s} --resume",
                    done_path.display()
                )))
            }
        };
        if done.config_hash != config_hash {
            return Err(Error::Usage(format!(
                "shard {s} ran a different configuration (hash {} vs {config_hash})",
                done.config_hash
            )));
        }
        super::journal::check_data(&dir, data_fingerprint)?;
        let (_, entries) = Journal::open(&dir)?;
        for job in &done.jobs {
            let e = entries.get(job).ok_or_else(|| {
                Error::Usage(format!(
                    "shard {s}: job `{job}` is marked done but missing from its journal"
                ))
            })?;
            all.insert(*job, e.clone());
        }
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_assign() {
        let s: Shard = "1/3".parse().unwrap();
        assert_eq!((s.index, s.count), (1, 3));
        let owned: Vec<usize> = (0..8).filter(|&j| s.owns(j)).collect();
        assert_eq!(owned, vec![1, 4, 7]);
        assert!("3/3".parse::<Shard>().is_err());
        assert!("x/3".parse::<Shard>().is_err());
        assert!("1".parse::<Shard>().is_err());
    }

    #[test]
    fn missing_and_unfinished_shards_are_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("shards/0-of-2")).unwrap();
        let err = collect(dir.path(), "h", "d").unwrap_err().to_string();
        assert!(err.contains("shard 0/2 did not finish"), "{err}");
        write_done(
            &dir.path().join("shards/0-of-2"),
            &Done {
                config_hash: "h".into(),
                jobs: vec![],
            },
        )
        .unwrap();
        let err = collect(dir.path(), "h", "d").unwrap_err().to_string();
        assert!(err.contains("shard 1/2 is missing"), "{err}");
    }
}
