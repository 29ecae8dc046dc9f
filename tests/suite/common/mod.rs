//! Helpers shared by the integration tests: run the real binary in a temporary directory.

#![allow(dead_code)]

pub mod downloads;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        Sandbox {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Write a file relative to the sandbox and return its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path().join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, text).unwrap();
        p
    }

    /// Run `prunecv` with `args` in the sandbox directory.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_prunecv"))
            .args(args)
            .current_dir(self.path())
            .output()
            .expect("spawn prunecv")
    }

    /// Run and assert success, returning stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "prunecv {args:?} failed ({:?}):\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }
}

/// Parse a CSV file into a header and rows of string cells.
pub fn table(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|x| x.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

/// A small, fast experiment on the built-in iris data.
pub const TINY: &str = "name: tiny
seed: 3
data: {source: builtin, name: iris, holdout: 0.2}
model: {kind: mlp, hidden: [16]}
train: {optimizer: sgd, lr: 0.05, epochs: 20, batch_size: 16}
prune:
  methods: [magnitude, random]
  tau: {unit: std, scope: layer, linspace: [0.0, 2.0, 5]}
cv: {folds: 3, select: [best, one_se]}
";

/// Assert two texts are equal, reporting the first differing line instead of both texts.
pub fn assert_same(a: &str, b: &str, what: &str) {
    if a == b {
        return;
    }
    let (la, lb): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    for (i, (x, y)) in la.iter().zip(&lb).enumerate() {
        assert_eq!(x, y, "{what}: first difference at line {}", i + 1);
    }
    panic!("{what}: {} lines vs {} lines", la.len(), lb.len());
}

/// The tables a run must reproduce exactly (timings and the manifest excluded).
pub const TABLES: [&str; 6] = [
    "runs.csv",
    "summary.csv",
    "selection.csv",
    "folds.csv",
    "layers.csv",
    "sensitivity.csv",
];

/// Assert two run directories (relative to the sandbox) hold byte-identical tables.
pub fn assert_same_tables(sb: &Sandbox, a: &str, b: &str) {
    for t in TABLES {
        assert_same(
            &sb.read(&format!("{a}/{t}")),
            &sb.read(&format!("{b}/{t}")),
            t,
        );
    }
}

/// Decode an 8-bit RGB PNG (what prunecv writes) into its width, height and pixel bytes.
pub fn decode_png(path: &Path) -> (u32, u32, Vec<u8>) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader
        .next_frame(&mut buf)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        (info.color_type, info.bit_depth),
        (png::ColorType::Rgb, png::BitDepth::Eight),
        "{}",
        path.display()
    );
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

/// Run `file` with `--jobs 1` into `a/` and again from scratch with `--jobs 2` into `b/`, and
/// assert that the run `name` wrote byte-identical tables both times.
pub fn sweep_twice_identically(sb: &Sandbox, file: &str, name: &str) {
    sb.ok(&["run", file, "-q", "--out", "a", "--jobs", "1"]);
    sb.ok(&["run", file, "-q", "--out", "b", "--jobs", "2", "--no-cache"]);
    assert_same_tables(sb, &format!("a/{name}"), &format!("b/{name}"));
}
