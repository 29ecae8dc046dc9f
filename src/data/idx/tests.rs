//! `data.source: idx`: MNIST-format files written here (raw and gzip) load with pixels / 255, and
//! every malformed file is an error naming it. The last test reads the real MNIST from
//! `../shared/data/mnist` when it exists.

use crate::data::idx;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

const TRAIN_IMAGES: &str = "train-images-idx3-ubyte";
const TRAIN_LABELS: &str = "train-labels-idx1-ubyte";
const TEST_IMAGES: &str = "t10k-images-idx3-ubyte";
const TEST_LABELS: &str = "t10k-labels-idx1-ubyte";

fn images_bytes(n: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
    let mut v = 0x0000_0803u32.to_be_bytes().to_vec();
    for d in [n, rows, cols] {
        v.extend_from_slice(&d.to_be_bytes());
    }
    v.extend_from_slice(pixels);
    v
}

fn labels_bytes(n: u32, labels: &[u8]) -> Vec<u8> {
    let mut v = 0x0000_0801u32.to_be_bytes().to_vec();
    v.extend_from_slice(&n.to_be_bytes());
    v.extend_from_slice(labels);
    v
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Five 3×2 training images (pixel k of image i = 50·i + k, so 0..=205; image 4 ends in 255)
/// with labels 0 1 2 1 0, and two test images.
fn files() -> BTreeMap<&'static str, Vec<u8>> {
    let mut train_px: Vec<u8> = (0..5u8)
        .flat_map(|i| (0..6u8).map(move |k| 50 * i + k))
        .collect();
    train_px[29] = 255;
    let test_px: Vec<u8> = (0..12).map(|k| 20 * k as u8).collect();
    BTreeMap::from([
        (TRAIN_IMAGES, images_bytes(5, 3, 2, &train_px)),
        (TRAIN_LABELS, labels_bytes(5, &[0, 1, 2, 1, 0])),
        (TEST_IMAGES, images_bytes(2, 3, 2, &test_px)),
        (TEST_LABELS, labels_bytes(2, &[9, 3])),
    ])
}

/// Write `files` into a fresh directory, gzip-compressing (as `<name>.gz`) those in `gz`.
fn write_dir(files: &BTreeMap<&str, Vec<u8>>, gz: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        if gz.contains(name) {
            std::fs::write(dir.path().join(format!("{name}.gz")), gzip(bytes)).unwrap();
        } else {
            std::fs::write(dir.path().join(name), bytes).unwrap();
        }
    }
    dir
}

fn load(dir: &Path) -> crate::Result<crate::data::Dataset> {
    idx::load(dir, &BTreeMap::new(), None)
}

/// Loading fails with a data error naming `file`; returns the message.
fn fails_naming(dir: &Path, file: &str) -> String {
    fails_naming_with(dir, file, &BTreeMap::new())
}

fn fails_naming_with(dir: &Path, file: &str, sha: &BTreeMap<String, String>) -> String {
    let err = idx::load(dir, sha, None).unwrap_err();
    assert!(
        matches!(err, crate::Error::Data { .. }),
        "not a data error: {err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains(file), "error does not name {file}: {msg}");
    msg
}

#[test]
fn loads_raw_and_gzip_and_scales_pixels_by_255() {
    let f = files();
    let raw = write_dir(&f, &[]);
    let ds = load(raw.path()).unwrap();
    assert_eq!((ds.pool.n, ds.pool.d, ds.pool.classes), (5, 6, 10));
    assert_eq!(ds.pool.y, vec![0, 1, 2, 1, 0]);
    assert_eq!(
        ds.pool.row(1),
        &[
            50.0 / 255.0,
            51.0 / 255.0,
            52.0 / 255.0,
            53.0 / 255.0,
            54.0 / 255.0,
            55.0 / 255.0
        ]
    );
    assert_eq!(ds.pool.x[0], 0.0);
    assert_eq!(ds.pool.x[29], 1.0);
    assert!(ds.pool.x.iter().all(|v| (0.0..=1.0).contains(v)));
    let test = ds.test.as_ref().expect("t10k files are the test split");
    assert_eq!((test.n, test.d, test.classes), (2, 6, 10));
    assert_eq!(test.y, vec![9, 3]);
    assert_eq!(test.row(1)[0], 120.0 / 255.0);
    // All gzip, and a mix: the same data.
    for gz in [
        &[TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS][..],
        &[TRAIN_IMAGES, TEST_LABELS][..],
    ] {
        let dir = write_dir(&f, gz);
        let other = load(dir.path()).unwrap();
        assert_eq!(other.pool, ds.pool);
        assert_eq!(other.test, ds.test);
    }
    // Compression is detected from the content, not the name.
    let dir = write_dir(&f, &[]);
    std::fs::write(dir.path().join(TRAIN_IMAGES), gzip(&f[TRAIN_IMAGES])).unwrap();
    assert_eq!(load(dir.path()).unwrap().pool, ds.pool);
}

#[test]
fn limit_keeps_the_first_training_images() {
    let dir = write_dir(&files(), &[TRAIN_IMAGES]);
    let all = load(dir.path()).unwrap();
    let ds = idx::load(dir.path(), &BTreeMap::new(), Some(3)).unwrap();
    assert_eq!(ds.pool, all.pool.select(&[0, 1, 2]));
    assert_eq!(ds.test, all.test, "the test split is never limited");
    let ds = idx::load(dir.path(), &BTreeMap::new(), Some(50)).unwrap();
    assert_eq!(ds.pool.n, 5);
    // One class is not a classification problem.
    let msg = idx::load(dir.path(), &BTreeMap::new(), Some(1))
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains(TRAIN_LABELS) && msg.contains("2 classes"),
        "{msg}"
    );
}

#[test]
fn through_the_experiment_file_with_a_relative_dir() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data/mnist");
    std::fs::create_dir_all(&data).unwrap();
    for (name, bytes) in files() {
        std::fs::write(data.join(format!("{name}.gz")), gzip(&bytes)).unwrap();
    }
    let exp_dir = root.path().join("experiments");
    std::fs::create_dir(&exp_dir).unwrap();
    let file = exp_dir.join("e.yaml");
    std::fs::write(
        &file,
        "name: t\ndata: {source: idx, dir: ../data/mnist, limit: 4}\nmodel: {kind: mlp}\n",
    )
    .unwrap();
    let exp = crate::config::load(&file, &[]).unwrap();
    let ds = crate::data::load(&exp.data).unwrap();
    assert_eq!((ds.pool.n, ds.test.unwrap().n), (4, 2));
    assert_eq!(ds.name, "mnist");
}

#[test]
fn bad_magic_numbers_are_named() {
    let mut f = files();
    // A label file where images belong.
    f.insert(TRAIN_IMAGES, labels_bytes(5, &[0; 5]));
    let msg = fails_naming(write_dir(&f, &[]).path(), TRAIN_IMAGES);
    assert!(
        msg.contains("bad magic number 0x00000801, expected 0x00000803"),
        "{msg}"
    );
    let mut f = files();
    f.get_mut(TEST_LABELS).unwrap()[3] = 0x02;
    let msg = fails_naming(write_dir(&f, &[TEST_LABELS]).path(), TEST_LABELS);
    assert!(msg.contains("bad magic number 0x00000802"), "{msg}");
    // Not IDX at all (a CSV file), and an empty file.
    let mut f = files();
    f.insert(TRAIN_LABELS, b"0,1,2\n3,4,5\n".to_vec());
    let msg = fails_naming(write_dir(&f, &[]).path(), TRAIN_LABELS);
    assert!(msg.contains("magic"), "{msg}");
    let mut f = files();
    f.insert(TEST_IMAGES, Vec::new());
    let msg = fails_naming(write_dir(&f, &[]).path(), TEST_IMAGES);
    assert!(msg.contains("truncated"), "{msg}");
}

#[test]
fn image_and_label_counts_must_match() {
    let mut f = files();
    f.insert(TRAIN_LABELS, labels_bytes(4, &[0, 1, 2, 1]));
    let msg = fails_naming(write_dir(&f, &[TRAIN_LABELS]).path(), TRAIN_LABELS);
    assert!(
        msg.contains("4 labels") && msg.contains("5 images"),
        "{msg}"
    );
}

#[test]
fn truncated_files_are_named() {
    let f = files();
    // Body shorter than the header says, raw and gzip.
    for gz in [false, true] {
        let mut g = f.clone();
        let cut = g[TRAIN_IMAGES].len() - 3;
        g.get_mut(TRAIN_IMAGES).unwrap().truncate(cut);
        let dir = write_dir(&g, if gz { &[TRAIN_IMAGES] } else { &[] });
        let msg = fails_naming(dir.path(), TRAIN_IMAGES);
        assert!(
            msg.contains("truncated") && msg.contains("30 bytes") && msg.contains("27"),
            "{msg}"
        );
    }
    // The file ends inside the header.
    let mut g = f.clone();
    g.get_mut(TEST_IMAGES).unwrap().truncate(10);
    let msg = fails_naming(write_dir(&g, &[]).path(), TEST_IMAGES);
    assert!(msg.contains("truncated") && msg.contains("header"), "{msg}");
    // A cut-off gzip stream.
    let dir = write_dir(&f, &[]);
    let gz = gzip(&f[TRAIN_LABELS]);
    std::fs::remove_file(dir.path().join(TRAIN_LABELS)).unwrap();
    std::fs::write(
        dir.path().join(format!("{TRAIN_LABELS}.gz")),
        &gz[..gz.len() / 2],
    )
    .unwrap();
    fails_naming(dir.path(), &format!("{TRAIN_LABELS}.gz"));
}

#[test]
fn trailing_bytes_are_an_error() {
    let mut f = files();
    f.get_mut(TEST_LABELS).unwrap().push(1);
    let msg = fails_naming(write_dir(&f, &[TEST_LABELS]).path(), TEST_LABELS);
    assert!(msg.contains("longer than its header says"), "{msg}");
}

#[test]
fn absurd_headers_fail_before_allocating() {
    // 4.3 billion images of 28×28: 3.4 TB claimed by a 16-byte header.
    let mut f = files();
    f.insert(TRAIN_IMAGES, images_bytes(u32::MAX, 28, 28, &[]));
    let msg = fails_naming(write_dir(&f, &[TRAIN_IMAGES]).path(), TRAIN_IMAGES);
    assert!(
        msg.contains("4294967295 images") && msg.contains("more than"),
        "{msg}"
    );
    // Labels too.
    let mut f = files();
    f.insert(TRAIN_LABELS, labels_bytes(u32::MAX, &[1, 2]));
    let msg = fails_naming(write_dir(&f, &[]).path(), TRAIN_LABELS);
    assert!(msg.contains("more than"), "{msg}");
    // A large but admissible claim (1,000,000 images, 784 MB) over a few real bytes is a
    // truncation found after reading only what is there.
    let mut f = files();
    f.insert(TRAIN_IMAGES, images_bytes(1_000_000, 28, 28, &[7; 100]));
    let msg = fails_naming(write_dir(&f, &[TRAIN_IMAGES]).path(), TRAIN_IMAGES);
    assert!(
        msg.contains("truncated") && msg.contains("only 100 bytes"),
        "{msg}"
    );
    // Zero-sized images.
    let mut f = files();
    f.insert(TRAIN_IMAGES, images_bytes(5, 0, 2, &[]));
    let msg = fails_naming(write_dir(&f, &[]).path(), TRAIN_IMAGES);
    assert!(msg.contains("0×2"), "{msg}");
}

#[test]
fn labels_must_be_digits() {
    let mut f = files();
    f.insert(TEST_LABELS, labels_bytes(2, &[3, 10]));
    let msg = fails_naming(write_dir(&f, &[TEST_LABELS]).path(), TEST_LABELS);
    assert!(msg.contains("label 10 of image 1"), "{msg}");
}

#[test]
fn test_images_must_match_training_size() {
    let mut f = files();
    f.insert(TEST_IMAGES, images_bytes(2, 2, 3, &[0; 12]));
    let msg = fails_naming(write_dir(&f, &[]).path(), TEST_IMAGES);
    assert!(msg.contains("2×3") && msg.contains("3×2"), "{msg}");
}

#[test]
fn missing_files_are_named() {
    let f = files();
    let dir = write_dir(&f, &[]);
    std::fs::remove_file(dir.path().join(TEST_LABELS)).unwrap();
    let msg = fails_naming(dir.path(), TEST_LABELS);
    assert!(msg.contains("not found"), "{msg}");
    let gone = dir.path().join("nowhere");
    let msg = fails_naming(&gone, "nowhere");
    assert!(msg.contains("not a directory"), "{msg}");
}

#[test]
fn sha256_checks_the_uncompressed_content() {
    let f = files();
    let dir = write_dir(&f, &[TRAIN_IMAGES]);
    let digest = |b: &[u8]| crate::config::hex(&Sha256::digest(b));
    let mut sha: BTreeMap<String, String> = f
        .iter()
        .map(|(name, bytes)| (name.to_string(), digest(bytes)))
        .collect();
    idx::load(dir.path(), &sha, None).unwrap();
    // The hash of the .gz bytes is not the hash of the content.
    sha.insert(TRAIN_IMAGES.into(), digest(&gzip(&f[TRAIN_IMAGES])));
    let msg = fails_naming_with(dir.path(), &format!("{TRAIN_IMAGES}.gz"), &sha);
    assert!(msg.contains("SHA-256"), "{msg}");
    let mut sha = BTreeMap::new();
    sha.insert(TEST_LABELS.to_string(), "0".repeat(64));
    let msg = fails_naming_with(dir.path(), TEST_LABELS, &sha);
    assert!(msg.contains(&digest(&f[TEST_LABELS])), "{msg}");
}

/// The real MNIST, when `../shared/data/mnist` exists: counts, classes, hashes and scaling.
#[test]
fn real_mnist_when_present() {
    let dir: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/mnist");
    if !dir.is_dir() {
        eprintln!(
            "skipping real_mnist_when_present: {} does not exist",
            dir.display()
        );
        return;
    }
    let sha: BTreeMap<String, String> = [
        (
            TRAIN_IMAGES,
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        ),
        (
            TRAIN_LABELS,
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        ),
        (
            TEST_IMAGES,
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        ),
        (
            TEST_LABELS,
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let ds = idx::load(&dir, &sha, None).unwrap();
    let test = ds.test.as_ref().unwrap();
    assert_eq!((ds.pool.n, ds.pool.d, ds.pool.classes), (60_000, 784, 10));
    assert_eq!((test.n, test.d, test.classes), (10_000, 784, 10));
    assert_eq!(
        ds.pool.class_counts(),
        vec![5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    assert_eq!(
        test.class_counts(),
        vec![980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
    let max = ds.pool.x.iter().cloned().fold(0f32, f32::max);
    let min = ds.pool.x.iter().cloned().fold(1f32, f32::min);
    assert_eq!((min, max), (0.0, 1.0));
}
