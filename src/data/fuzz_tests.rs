//! Fuzzing the data readers with arbitrary input (proptest): no CSV text and no mutated IDX file
//! may panic or allocate without bound. Errors are fine. `PROPTEST_CASES=200000 cargo test
//! --release --lib fuzz_tests` runs a long campaign. (The experiment-file reader's fuzzing:
//! `tests/suite/fuzz.rs`.)

use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn csv_parsing_never_panics(s in "[0-9a-z,.\\- \n]{0,200}", label in prop::sample::select(vec!["last", "0", "3", "y", "99"])) {
        let _ = crate::data::csv::parse(&s, &crate::data::csv::CsvOptions::with_label(label), "fuzz.csv");
    }
}

/// A valid IDX file: header (magic, dims) then `body`.
fn idx(magic: u32, dims: &[u32], body: &[u8]) -> Vec<u8> {
    let mut v = magic.to_be_bytes().to_vec();
    for d in dims {
        v.extend_from_slice(&d.to_be_bytes());
    }
    v.extend_from_slice(body);
    v
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Valid tiny MNIST-layout files, then one of them mutated (bytes overwritten, truncated or
    /// extended, header words replaced, optionally gzipped): loading must return, never panic or
    /// allocate without bound.
    #[test]
    fn idx_loading_never_panics(
        which in 0usize..4,
        edits in prop::collection::vec((0usize..64, any::<u8>()), 0..6),
        cut in prop::option::of(0usize..64),
        extra in prop::collection::vec(any::<u8>(), 0..8),
        header_word in prop::option::of((0usize..4, any::<u32>())),
        zipped in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (n, r, c) = (6u32, 2u32, 3u32);
        let labels: Vec<u8> = (0..n as u8).map(|i| i % 3).collect();
        let pixels: Vec<u8> = (0..(n * r * c) as u8).collect();
        let mut files = [
            ("train-images-idx3-ubyte", idx(0x803, &[n, r, c], &pixels)),
            ("train-labels-idx1-ubyte", idx(0x801, &[n], &labels)),
            ("t10k-images-idx3-ubyte", idx(0x803, &[n, r, c], &pixels)),
            ("t10k-labels-idx1-ubyte", idx(0x801, &[n], &labels)),
        ];
        let f = &mut files[which].1;
        for (pos, b) in edits {
            if pos < f.len() {
                f[pos] = b;
            }
        }
        if let Some((w, v)) = header_word {
            if 4 * w + 4 <= f.len() {
                f[4 * w..4 * w + 4].copy_from_slice(&v.to_be_bytes());
            }
        }
        if let Some(c) = cut {
            f.truncate(c);
        }
        f.extend_from_slice(&extra);
        for (i, (name, bytes)) in files.iter().enumerate() {
            if zipped && i == which {
                std::fs::write(dir.path().join(format!("{name}.gz")), gzip(bytes)).unwrap();
            } else {
                std::fs::write(dir.path().join(name), bytes).unwrap();
            }
        }
        let _ = crate::data::idx::load(dir.path(), &Default::default(), None);
    }
}
