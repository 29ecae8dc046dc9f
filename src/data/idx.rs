//! `data.source: idx`: MNIST-format data (MNIST, Fashion-MNIST, ...) in LeCun's IDX format.
//!
//! `data.dir` holds four files, each raw or gzip-compressed (`<name>.gz`; compression is
//! detected by the gzip magic bytes `1f 8b`, not by the name; when both `<name>` and
//! `<name>.gz` exist the uncompressed one is read):
//!
//! | file | role |
//! |---|---|
//! | `train-images-idx3-ubyte`, `train-labels-idx1-ubyte` | the training pool |
//! | `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte` | the data set's own test split |
//!
//! Layout (big-endian): images are the magic number `0x00000803`, then count, rows and cols as
//! u32, then count·rows·cols unsigned bytes (row-major, one image after another); labels are
//! `0x00000801`, count, then one byte per image, a class in `0..=9`.
//!
//! **Features:** each image becomes one row of rows·cols features in row-major pixel order, each
//! pixel's byte value **divided by 255**, so every feature lies in [0, 1]. (The sweep may
//! standardise them further with statistics of its training rows.) There are always 10 classes.
//!
//! **Validation.** Bad magic numbers, truncated files, trailing bytes, zero-sized or absurdly
//! large headers, image/label count mismatches, differing image sizes between the splits, labels
//! ≥ 10 and `data.sha256` mismatches (the hash is of the *uncompressed* content) are errors naming
//! the file. A header is checked before anything proportional to it is allocated: the size it
//! implies must be at most [`MAX_BYTES`], and the content is read through a reader bounded to that
//! size plus one byte, so a lying header costs at most what the file really holds.
//!
//! `data.limit` keeps only the first N training images (after the whole file was validated).

use super::{Dataset, Table};
use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The four file names (without `.gz`), in the order they are read.
pub const FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// Number of classes of MNIST-format data.
pub const CLASSES: usize = 10;

/// The largest content (after the header, uncompressed) a file may claim: 1 GiB, about 1.37
/// million 28×28 images, 23 times MNIST's training set.
pub const MAX_BYTES: u64 = 1 << 30;

const IMAGES_MAGIC: u32 = 0x0000_0803;
const LABELS_MAGIC: u32 = 0x0000_0801;

/// Images of one file: `n` images of `rows × cols` bytes.
struct Images {
    n: usize,
    rows: usize,
    cols: usize,
    pixels: Vec<u8>,
}

/// Load an IDX data set from `dir`. `sha256` maps file names (without `.gz`) to the expected
/// lower-case hex digest of their uncompressed content; `limit` keeps the first N training images.
pub fn load(
    dir: &Path,
    sha256: &BTreeMap<String, String>,
    limit: Option<usize>,
) -> Result<Dataset> {
    if !dir.is_dir() {
        return Err(Error::data(
            dir.display().to_string(),
            format!(
                "data.dir: not a directory; expected one holding {}",
                FILES.join(", ")
            ),
        ));
    }
    let paths: Vec<PathBuf> = FILES
        .iter()
        .map(|name| locate(dir, name))
        .collect::<Result<_>>()?;
    let hash = |i: usize| sha256.get(FILES[i]).map(String::as_str);
    let train_images = read_images(&paths[0], hash(0))?;
    let train_labels = read_labels(&paths[1], hash(1))?;
    let test_images = read_images(&paths[2], hash(2))?;
    let test_labels = read_labels(&paths[3], hash(3))?;
    for (images, labels, ipath, lpath) in [
        (&train_images, &train_labels, &paths[0], &paths[1]),
        (&test_images, &test_labels, &paths[2], &paths[3]),
    ] {
        if labels.len() != images.n {
            return Err(Error::data(
                lpath.display().to_string(),
                format!(
                    "{} labels, but {} holds {} images (expected one label per image)",
                    labels.len(),
                    ipath.display(),
                    images.n
                ),
            ));
        }
    }
    if (test_images.rows, test_images.cols) != (train_images.rows, train_images.cols) {
        return Err(Error::data(
            paths[2].display().to_string(),
            format!(
                "images are {}×{}, but the training images in {} are {}×{}",
                test_images.rows,
                test_images.cols,
                paths[0].display(),
                train_images.rows,
                train_images.cols
            ),
        ));
    }
    let n_train = limit.map_or(train_images.n, |l| l.min(train_images.n));
    let pool = table(&train_images, &train_labels, n_train);
    if pool.class_counts().iter().filter(|&&c| c > 0).count() < 2 {
        return Err(Error::data(
            paths[1].display().to_string(),
            format!(
                "the {n_train} training images used (data.limit: {limit:?}) hold fewer than 2 \
                 classes; at least 2 are needed"
            ),
        ));
    }
    let test = table(&test_images, &test_labels, test_images.n);
    Ok(Dataset {
        name: dir
            .file_name()
            .map_or("idx".into(), |s| s.to_string_lossy().into_owned()),
        pool,
        test: Some(test),
        class_names: None,
    })
}

/// The first `n` images as a table of pixels / 255.
fn table(images: &Images, labels: &[u8], n: usize) -> Table {
    let d = images.rows * images.cols;
    Table {
        x: images.pixels[..n * d]
            .iter()
            .map(|&p| p as f32 / 255.0)
            .collect(),
        y: labels[..n].iter().map(|&l| l as u32).collect(),
        n,
        d,
        classes: CLASSES,
    }
}

/// `dir/name` if it exists, else `dir/name.gz`.
fn locate(dir: &Path, name: &str) -> Result<PathBuf> {
    let raw = dir.join(name);
    if raw.is_file() {
        return Ok(raw);
    }
    let gz = dir.join(format!("{name}.gz"));
    if gz.is_file() {
        return Ok(gz);
    }
    Err(Error::data(
        raw.display().to_string(),
        format!("not found (nor {name}.gz) in data.dir"),
    ))
}

fn read_images(path: &Path, sha256: Option<&str>) -> Result<Images> {
    let file = path.display().to_string();
    let (dims, pixels) = read_idx(path, IMAGES_MAGIC, sha256)?;
    let (n, rows, cols) = (dims[0], dims[1], dims[2]);
    if rows == 0 || cols == 0 {
        return Err(Error::data(
            file,
            format!("header says images are {rows}×{cols}; expected a positive size"),
        ));
    }
    if n == 0 {
        return Err(Error::data(
            file,
            "header says 0 images; expected at least one",
        ));
    }
    Ok(Images {
        n,
        rows,
        cols,
        pixels,
    })
}

fn read_labels(path: &Path, sha256: Option<&str>) -> Result<Vec<u8>> {
    let (_, labels) = read_idx(path, LABELS_MAGIC, sha256)?;
    if let Some((i, l)) = labels
        .iter()
        .enumerate()
        .find(|(_, &l)| l as usize >= CLASSES)
    {
        return Err(Error::data(
            path.display().to_string(),
            format!(
                "label {l} of image {i} (0-based) is out of range: expected a class in 0..={}",
                CLASSES - 1
            ),
        ));
    }
    Ok(labels)
}

/// What an IDX magic number stands for, for messages.
fn describe_magic(magic: u32) -> &'static str {
    match magic {
        IMAGES_MAGIC => "IDX images: unsigned bytes, 3 dimensions",
        LABELS_MAGIC => "IDX labels: unsigned bytes, 1 dimension",
        _ => "not an IDX unsigned-byte file",
    }
}

/// Read an unsigned-byte IDX file (raw or gzip) whose magic must be `magic` (its last byte is
/// the number of dimensions). Returns the dimensions and the content after the header.
fn read_idx(path: &Path, magic: u32, sha256: Option<&str>) -> Result<(Vec<usize>, Vec<u8>)> {
    let file = path.display().to_string();
    let f = std::fs::File::open(path).map_err(|e| Error::io("open", path, e))?;
    let mut f = std::io::BufReader::new(f);
    // Sniff the gzip magic, then put the sniffed bytes back in front of the stream.
    let mut sniff = Vec::with_capacity(2);
    read_up_to(&mut f, &mut sniff, 2, path, false)?;
    let gz = sniff == [0x1f, 0x8b];
    let stream = std::io::Cursor::new(sniff).chain(f);
    let mut reader: Box<dyn Read> = if gz {
        Box::new(flate2::read::MultiGzDecoder::new(stream))
    } else {
        Box::new(stream)
    };
    let mut header = Vec::with_capacity(16);
    read_up_to(&mut reader, &mut header, 4, path, gz)?;
    if header.len() < 4 {
        return Err(Error::data(
            file,
            format!(
                "truncated: {} bytes, too short for the 4-byte IDX magic number 0x{magic:08x} \
                 ({})",
                header.len(),
                describe_magic(magic)
            ),
        ));
    }
    let found = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
    if found != magic {
        let hint = match found {
            IMAGES_MAGIC => "; it looks like an image file",
            LABELS_MAGIC => "; it looks like a label file",
            _ => "",
        };
        return Err(Error::data(
            file,
            format!(
                "bad magic number 0x{found:08x}, expected 0x{magic:08x} ({}){hint}",
                describe_magic(magic)
            ),
        ));
    }
    let ndims = (magic & 0xff) as usize;
    let header_len = 4 + 4 * ndims;
    read_up_to(&mut reader, &mut header, header_len, path, gz)?;
    if header.len() < header_len {
        return Err(Error::data(
            file,
            format!(
                "truncated: the file ends inside its {header_len}-byte header ({} bytes)",
                header.len()
            ),
        ));
    }
    let dims: Vec<u64> = header[4..]
        .chunks(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as u64)
        .collect();
    let what = if magic == IMAGES_MAGIC {
        format!(
            "{} images of {}×{} pixels",
            dims[0],
            dims.get(1).unwrap_or(&0),
            dims.get(2).unwrap_or(&0)
        )
    } else {
        format!("{} labels", dims[0])
    };
    let total = dims
        .iter()
        .try_fold(1u64, |a, &d| a.checked_mul(d))
        .filter(|&t| t <= MAX_BYTES)
        .ok_or_else(|| {
            Error::data(
                &file,
                format!(
                    "header claims {what}, more than the {MAX_BYTES} bytes of content this \
                     loader accepts (a corrupt header?)"
                ),
            )
        })?;
    let mut body = Vec::new();
    read_up_to(&mut reader, &mut body, total as usize + 1, path, gz)?;
    if (body.len() as u64) < total {
        return Err(Error::data(
            file,
            format!(
                "truncated: the header promises {what} ({total} bytes after the {header_len}-byte \
                 header), but only {} bytes follow",
                body.len()
            ),
        ));
    }
    if body.len() as u64 > total {
        return Err(Error::data(
            file,
            format!(
                "longer than its header says: {what} ({total} bytes after the {header_len}-byte \
                 header), but more bytes follow"
            ),
        ));
    }
    if let Some(want) = sha256 {
        let mut h = Sha256::new();
        h.update(&header);
        h.update(&body);
        let got = crate::config::hex(&h.finalize());
        if got != want {
            return Err(Error::data(
                file,
                format!(
                    "SHA-256 of the uncompressed content is {got}, expected {want} (data.sha256)"
                ),
            ));
        }
    }
    Ok((dims.iter().map(|&d| d as usize).collect(), body))
}

/// Append bytes from `r` to `buf` until it holds `want` bytes or the stream ends. A read error
/// names the file (for gzip input it is a corrupt or truncated compressed stream).
fn read_up_to(
    r: &mut dyn Read,
    buf: &mut Vec<u8>,
    want: usize,
    path: &Path,
    gz: bool,
) -> Result<()> {
    let need = want.saturating_sub(buf.len()) as u64;
    r.take(need).read_to_end(buf).map_err(|e| {
        if gz {
            Error::data(
                path.display().to_string(),
                format!("cannot decompress (corrupt or truncated gzip stream): {e}"),
            )
        } else {
            Error::io("read", path, e)
        }
    })?;
    Ok(())
}

#[cfg(test)]
mod tests;
