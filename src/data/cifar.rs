//! `data.source: cifar10`: CIFAR-10 in its binary format (Krizhevsky 2009).
//!
//! `data.dir` (default: the `fetch` cache's `cifar10/`, filled by `prunecv data fetch cifar10`)
//! holds the six batch files of `cifar-10-binary.tar.gz`, either directly or in its
//! `cifar-10-batches-bin/` subdirectory:
//!
//! | file | role |
//! |---|---|
//! | `data_batch_1.bin` … `data_batch_5.bin` | the training pool, in this order |
//! | `test_batch.bin` | the data set's own test split |
//!
//! Each file is a sequence of 3073-byte records: one label byte (a class in `0..=9`), then the
//! 3×32×32 image as 1024 red, 1024 green and 1024 blue bytes, each channel row-major.
//!
//! **Features:** each image becomes one row of 3072 features in that order (channel, row,
//! column), each byte **divided by 255**, so every feature lies in [0, 1]. There are 10 classes.
//!
//! **Validation,** before anything proportional to a file is allocated: its length must be a
//! positive multiple of 3073 bytes and at most [`MAX_BYTES`]; then labels ≥ 10 are errors naming
//! the file and the record. `data.limit` keeps only the first N training images (after every file
//! was validated).

use super::{Dataset, Table};
use crate::error::{Error, Result};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The training batches, in the order they are read.
pub const TRAIN_FILES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];

/// The test batch.
pub const TEST_FILE: &str = "test_batch.bin";

/// Every batch file: the five training batches, then the test batch.
pub const FILES: [&str; 6] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
    TEST_FILE,
];

/// The directory inside the published archive.
pub const ARCHIVE_DIR: &str = "cifar-10-batches-bin";

/// Features per image: 3 channels × 32 × 32.
pub const FEATURES: usize = 3 * 32 * 32;

/// Bytes per record: the label byte and the image.
pub const RECORD: usize = 1 + FEATURES;

/// Number of classes.
pub const CLASSES: usize = 10;

/// The largest batch file accepted: 1 GiB (about 350,000 images, 35 times a published batch).
pub const MAX_BYTES: u64 = 1 << 30;

/// Load CIFAR-10 from `dir`; `limit` keeps the first N training images.
pub fn load(dir: &Path, limit: Option<usize>) -> Result<Dataset> {
    let dir = batches_dir(dir)?;
    let mut pool_bytes = Vec::new();
    for name in TRAIN_FILES {
        pool_bytes.extend(read_batch(&dir.join(name))?);
    }
    let test_bytes = read_batch(&dir.join(TEST_FILE))?;
    let n_pool = pool_bytes.len() / RECORD;
    let n_train = limit.map_or(n_pool, |l| l.min(n_pool));
    let pool = table(&pool_bytes[..n_train * RECORD]);
    drop(pool_bytes);
    if pool.class_counts().iter().filter(|&&c| c > 0).count() < 2 {
        return Err(Error::data(
            dir.join(TRAIN_FILES[0]).display().to_string(),
            format!(
                "the {n_train} training images used (data.limit: {limit:?}) hold fewer than 2 \
                 classes; at least 2 are needed"
            ),
        ));
    }
    Ok(Dataset {
        name: "cifar10".into(),
        pool,
        test: Some(table(&test_bytes)),
        class_names: Some(CLASS_NAMES.iter().map(|s| s.to_string()).collect()),
    })
}

/// What labels 0–9 mean (the data set's `batches.meta.txt`).
pub const CLASS_NAMES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// True when `dir` holds every batch file, each a whole number of records (what `fetch` leaves
/// behind).
pub fn present(dir: &Path) -> bool {
    FILES.iter().all(|f| {
        std::fs::metadata(dir.join(f)).is_ok_and(|m| m.is_file() && whole_records(m.len()))
    })
}

/// A plausible batch length: a positive multiple of [`RECORD`], at most [`MAX_BYTES`].
fn whole_records(len: u64) -> bool {
    len > 0 && len % RECORD as u64 == 0 && len <= MAX_BYTES
}

/// `dir`, or its `cifar-10-batches-bin/` subdirectory when only that holds the batches.
fn batches_dir(dir: &Path) -> Result<PathBuf> {
    if !dir.is_dir() {
        return Err(Error::data(
            dir.display().to_string(),
            format!(
                "data.dir: not a directory; expected one holding {} (run `prunecv data fetch \
                 cifar10` to download them)",
                FILES.join(", ")
            ),
        ));
    }
    let sub = dir.join(ARCHIVE_DIR);
    if !dir.join(TRAIN_FILES[0]).exists() && sub.join(TRAIN_FILES[0]).exists() {
        return Ok(sub);
    }
    if let Some(missing) = FILES.iter().find(|f| !dir.join(f).is_file()) {
        return Err(Error::data(
            dir.join(missing).display().to_string(),
            format!(
                "not found; a CIFAR-10 directory holds {} (run `prunecv data fetch cifar10` to \
                 download them)",
                FILES.join(", ")
            ),
        ));
    }
    Ok(dir.to_path_buf())
}

/// Read and validate one batch file: its length first, then its labels.
fn read_batch(path: &Path) -> Result<Vec<u8>> {
    let file = path.display().to_string();
    let f = std::fs::File::open(path).map_err(|e| Error::io("open", path, e))?;
    let len = f
        .metadata()
        .map_err(|e| Error::io("read metadata of", path, e))?
        .len();
    if len == 0 || len % RECORD as u64 != 0 {
        return Err(Error::data(
            file,
            format!(
                "{len} bytes is not a positive multiple of the {RECORD}-byte record (1 label \
                 byte + 3×32×32 pixels); {} whole records and {} bytes left over (truncated or \
                 not a CIFAR-10 binary batch?)",
                len / RECORD as u64,
                len % RECORD as u64
            ),
        ));
    }
    if len > MAX_BYTES {
        return Err(Error::data(
            file,
            format!("{len} bytes, more than the {MAX_BYTES} bytes this loader accepts per file"),
        ));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    f.take(len + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io("read", path, e))?;
    if bytes.len() as u64 != len {
        return Err(Error::data(
            file,
            format!(
                "changed while being read ({len} bytes, then {} read)",
                bytes.len()
            ),
        ));
    }
    if let Some((i, l)) = bytes
        .chunks_exact(RECORD)
        .map(|r| r[0])
        .enumerate()
        .find(|&(_, l)| l as usize >= CLASSES)
    {
        return Err(Error::data(
            file,
            format!(
                "record {i} (0-based, at byte {}) has label {l}; expected a class in 0..={}",
                i * RECORD,
                CLASSES - 1
            ),
        ));
    }
    Ok(bytes)
}

/// Records (validated) as a table of pixels / 255.
fn table(records: &[u8]) -> Table {
    let n = records.len() / RECORD;
    let mut x = Vec::with_capacity(n * FEATURES);
    let mut y = Vec::with_capacity(n);
    for r in records.chunks_exact(RECORD) {
        y.push(r[0] as u32);
        x.extend(r[1..].iter().map(|&p| p as f32 / 255.0));
    }
    Table {
        x,
        y,
        n,
        d: FEATURES,
        classes: CLASSES,
    }
}

/// Unpack the batch files from the downloaded `cifar-10-binary.tar.gz` into `dir`, each written
/// to a temporary name, checked to be a whole number of records (the published batches hold
/// 10,000 each) and renamed into place. Other members of
/// the archive are skipped (so no archive path is ever written to).
pub fn extract(archive: &Path, dir: &Path) -> Result<()> {
    let file = archive.display().to_string();
    let f = std::fs::File::open(archive).map_err(|e| Error::io("open", archive, e))?;
    let gz = flate2::read::GzDecoder::new(std::io::BufReader::new(f));
    let mut tar = tar::Archive::new(gz);
    let bad = |e: std::io::Error| {
        Error::data(
            &file,
            format!("cannot unpack (corrupt tar.gz archive?): {e}"),
        )
    };
    let mut found = Vec::new();
    for member in tar.entries().map_err(bad)? {
        let mut member = member.map_err(bad)?;
        let path = member.path().map_err(bad)?.into_owned();
        let Some(name) = FILES
            .iter()
            .find(|f| path == Path::new(ARCHIVE_DIR).join(f))
        else {
            continue;
        };
        let want = member.size();
        if !whole_records(want) {
            return Err(Error::data(
                &file,
                format!(
                    "{} is {want} bytes in the archive, not a positive multiple of the \
                     {RECORD}-byte record",
                    path.display()
                ),
            ));
        }
        let target = dir.join(name);
        let tmp = dir.join(format!("{name}.part"));
        let mut out = std::fs::File::create(&tmp).map_err(|e| Error::io("create", &tmp, e))?;
        let copied = std::io::copy(&mut member, &mut out).map_err(bad)?;
        if copied != want {
            return Err(Error::data(
                &file,
                format!("{} ended after {copied} of {want} bytes", path.display()),
            ));
        }
        out.sync_all().map_err(|e| Error::io("sync", &tmp, e))?;
        drop(out);
        std::fs::rename(&tmp, &target).map_err(|e| Error::io("rename into place", &target, e))?;
        found.push(*name);
    }
    if let Some(missing) = FILES.iter().find(|f| !found.contains(f)) {
        return Err(Error::data(
            file,
            format!("the archive lacks {ARCHIVE_DIR}/{missing}"),
        ));
    }
    Ok(())
}
