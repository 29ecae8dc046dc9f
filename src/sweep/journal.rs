//! The journal: one JSON line per finished (fold, method) job, appended and flushed as jobs
//! finish, so a killed run loses only the jobs that were running. `--resume` reads it back; a
//! torn last line (the process died mid-write) is ignored and that job runs again.
//!
//! Journalled records are only valid for the data they were computed on, so `data.sha256` beside
//! the journal names that data's fingerprint, and a resume (or a merge of shards) over different
//! data is refused.

use super::ids::JobKey;
use super::records::{RunRecord, TrajectoryRow};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// One finished job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub job: JobKey,
    pub records: Vec<RunRecord>,
    pub trajectory: Vec<TrajectoryRow>,
    /// Per record, the input features that still reach the output (effective masks), as
    /// [`super::stability::to_hex`] bits: what mask stability compares across folds. Empty in
    /// journals of older versions (stability is then recomputed).
    #[serde(default)]
    pub features: Vec<String>,
}

/// An append-only journal file.
pub struct Journal {
    path: PathBuf,
    file: Mutex<std::fs::File>,
}

/// Record `fingerprint` (see [`super::prepare::Prepared`]) as the data of `dir`'s journal, or,
/// when `dir` already names one, refuse a different one.
pub fn check_data(dir: &Path, fingerprint: &str) -> Result<()> {
    let path = dir.join("data.sha256");
    match std::fs::read_to_string(&path) {
        Ok(before) if before.trim() == fingerprint => Ok(()),
        Ok(before) => Err(Error::Usage(format!(
            "{}: the data changed since these jobs were journalled (fingerprint {} then, {} now); \
             use --force to start over or --out for a new directory",
            dir.display(),
            before.trim(),
            fingerprint
        ))),
        Err(_) => crate::fsio::write_atomic(&path, format!("{fingerprint}\n").as_bytes()),
    }
}

impl Journal {
    /// Open `dir/journal.jsonl` for appending and return the entries already in it.
    pub fn open(dir: &Path) -> Result<(Journal, BTreeMap<JobKey, Entry>)> {
        let path = dir.join("journal.jsonl");
        let mut done = BTreeMap::new();
        let mut valid_len = 0usize;
        if let Ok(text) = std::fs::read(&path) {
            let mut offset = 0;
            for line in text.split_inclusive(|b| *b == b'\n') {
                offset += line.len();
                if !line.ends_with(b"\n") {
                    break; // torn last line
                }
                match serde_json::from_slice::<Entry>(line) {
                    Ok(e) => {
                        done.insert(e.job, e);
                        valid_len = offset;
                    }
                    Err(_) => break,
                }
            }
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Error::io("open journal", &path, e))?;
        // Drop a torn tail so new lines start on a line boundary.
        file.set_len(valid_len as u64)
            .map_err(|e| Error::io("truncate torn journal tail", &path, e))?;
        Ok((
            Journal {
                path,
                file: Mutex::new(file),
            },
            done,
        ))
    }

    /// Append one finished job and flush it to disk.
    pub fn append(&self, e: &Entry) -> Result<()> {
        let mut line = serde_json::to_vec(e).expect("journal entry serialises");
        line.push(b'\n');
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        f.write_all(&line)
            .and_then(|_| f.sync_data())
            .map_err(|er| Error::io("append to journal", &self.path, er))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::config::MethodKind;

    fn key(fold: usize) -> JobKey {
        JobKey {
            repeat: 0,
            fold,
            method: MethodKind::Magnitude,
        }
    }

    fn entry(fold: usize) -> Entry {
        Entry {
            job: key(fold),
            records: vec![RunRecord {
                repeat: 0,
                fold,
                method: MethodKind::Magnitude.into(),
                tau: Some(0.1 + 0.2),
                tau_unit: "std".into(),
                sparsity: 1.0 / 3.0,
                neurons_removed: 0,
                params_left: 7,
                flops_left: 5,
                val_loss: 0.123456789012345,
                // 29/30 is a value that a fast, inexact float parser reads back wrong.
                val_acc: 29.0 / 30.0,
                regrown: 0,
                diverged: false,
                effective_sparsity: 0.5,
            }],
            trajectory: vec![],
            features: vec!["a5".into()],
        }
    }

    #[test]
    fn entries_round_trip_exactly_and_torn_lines_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (j, done) = Journal::open(dir.path()).unwrap();
            assert!(done.is_empty());
            j.append(&entry(0)).unwrap();
            j.append(&entry(1)).unwrap();
        }
        // Simulate a crash in the middle of a third line.
        let p = dir.path().join("journal.jsonl");
        let mut bytes = std::fs::read(&p).unwrap();
        bytes.extend_from_slice(b"{\"job\":{\"repeat\":0,\"fold\":2},\"rec");
        std::fs::write(&p, bytes).unwrap();
        let (j, done) = Journal::open(dir.path()).unwrap();
        assert_eq!(
            done.keys().copied().collect::<Vec<_>>(),
            vec![key(0), key(1)]
        );
        assert_eq!(done[&key(0)], entry(0), "floats round-trip bit for bit");
        j.append(&entry(2)).unwrap();
        let (_, done) = Journal::open(dir.path()).unwrap();
        assert_eq!(done.len(), 3);
    }

    /// A journal line as versions before structured keys wrote it (the key as text) reads as
    /// the same job, so a run journalled by an older version resumes.
    #[test]
    fn older_text_keys_read_as_structured_keys() {
        let dir = tempfile::tempdir().unwrap();
        let mut new = serde_json::to_string(&entry(1)).unwrap();
        assert!(new.starts_with(r#"{"job":{"repeat":0,"fold":1,"method":"magnitude"},"#));
        let old = new.replacen(
            r#"{"repeat":0,"fold":1,"method":"magnitude"}"#,
            r#""repeat 0 fold 1 magnitude""#,
            1,
        );
        new.push('\n');
        std::fs::write(dir.path().join("journal.jsonl"), old + "\n").unwrap();
        let (_, done) = Journal::open(dir.path()).unwrap();
        assert_eq!(done.len(), 1);
        assert_eq!(done[&key(1)], entry(1));
    }
}
