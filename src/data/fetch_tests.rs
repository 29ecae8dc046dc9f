//! The downloader against a loopback HTTP server that each test starts (good file, truncated
//! file then resume, a server ignoring `Range`, wrong checksum, server errors and fail-over
//! between mirrors), and the CIFAR-10 binary loader on small generated batches. No test needs
//! the internet. (The same through the binary: `tests/suite/fetch.rs`.)

use super::{cifar, fetch};
use std::net::TcpListener;
use std::path::Path;

#[path = "../../tests/suite/common/downloads.rs"]
mod downloads;
use downloads::{batch, listing, pattern, sha256, Reply, Server};

fn remote(name: &str, bytes: &[u8]) -> fetch::RemoteFile {
    fetch::RemoteFile {
        name: name.into(),
        size: bytes.len() as u64,
        sha256: sha256(bytes),
    }
}

fn entry(name: &str, format: fetch::Format, files: Vec<fetch::RemoteFile>) -> fetch::Entry {
    fetch::Entry {
        name: name.into(),
        title: "test data".into(),
        format,
        mirrors: vec!["http://127.0.0.1:9/unused/".into()],
        files,
    }
}

fn run_fetch(
    e: &fetch::Entry,
    cache: &Path,
    mirrors: &[&String],
) -> (crate::Result<std::path::PathBuf>, Vec<String>) {
    let mirrors: Vec<String> = mirrors.iter().map(|m| m.to_string()).collect();
    let mut lines = Vec::new();
    let r = fetch::fetch(e, cache, Some(&mirrors), &mut |l| lines.push(l.to_string()));
    (r, lines)
}

/// The names in a directory, sorted.
// ---------------------------------------------------------------------------------------------
// fetch through the library.

#[test]
fn good_files_land_verified_and_a_second_fetch_downloads_nothing() {
    let a = pattern(100_000, 1);
    let b = pattern(777, 2);
    let srv = Server::start(vec![
        ("a.gz", vec![Reply::Ok(a.clone())]),
        ("b.gz", vec![Reply::Ok(b.clone())]),
    ]);
    let e = entry(
        "set",
        fetch::Format::Idx,
        vec![remote("a.gz", &a), remote("b.gz", &b)],
    );
    let cache = tempfile::tempdir().unwrap();
    let (r, lines) = run_fetch(&e, cache.path(), &[&srv.base]);
    let dir = r.unwrap();
    assert_eq!(dir, cache.path().join("set"));
    assert_eq!(listing(&dir), ["a.gz", "b.gz"]);
    assert_eq!(std::fs::read(dir.join("a.gz")).unwrap(), a);
    assert_eq!(fetch::sha256_file(&dir.join("b.gz")).unwrap(), sha256(&b));
    assert!(
        lines[0].starts_with(&format!(
            "a.gz: downloaded from {}a.gz (100000 bytes)",
            srv.base
        )),
        "{lines:?}"
    );
    assert_eq!(srv.requests().len(), 2);
    let (r, lines) = run_fetch(&e, cache.path(), &[&srv.base]);
    r.unwrap();
    assert_eq!(srv.requests().len(), 2, "nothing is downloaded again");
    assert_eq!(lines[0], "a.gz: already present, SHA-256 ok");
}

#[test]
fn a_truncated_download_is_kept_and_resumed_with_a_range_request() {
    let a = pattern(50_000, 3);
    let srv = Server::start(vec![(
        "a.gz",
        vec![Reply::Truncated(a.clone(), 20_000), Reply::Ok(a.clone())],
    )]);
    let e = entry("set", fetch::Format::Idx, vec![remote("a.gz", &a)]);
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path().join("set");
    let (r, _) = run_fetch(&e, cache.path(), &[&srv.base]);
    let err = r.unwrap_err().to_string();
    assert!(
        err.starts_with("a.gz: download failed from every mirror: ")
            && err.contains(&format!(
                "{}a.gz: truncated: received 20000 of 50000 bytes",
                srv.base
            ))
            && err.contains("the next fetch resumes there"),
        "{err}"
    );
    assert!(!err.contains('\n'), "one line: {err}");
    assert_eq!(listing(&dir), ["a.gz.part"], "no final file yet");
    assert_eq!(std::fs::read(dir.join("a.gz.part")).unwrap(), a[..20_000]);

    let (r, lines) = run_fetch(&e, cache.path(), &[&srv.base]);
    r.unwrap();
    assert_eq!(
        srv.requests()[1],
        ("/data/a.gz".to_string(), Some("bytes=20000-".to_string()))
    );
    assert!(lines[0].contains("resumed at byte 20000"), "{lines:?}");
    assert_eq!(listing(&dir), ["a.gz"]);
    assert_eq!(std::fs::read(dir.join("a.gz")).unwrap(), a);
}

#[test]
fn a_server_ignoring_the_range_restarts_from_the_first_byte() {
    let a = pattern(30_000, 4);
    let srv = Server::start(vec![(
        "a.gz",
        vec![
            Reply::Truncated(a.clone(), 7_000),
            Reply::IgnoreRange(a.clone()),
        ],
    )]);
    let e = entry("set", fetch::Format::Idx, vec![remote("a.gz", &a)]);
    let cache = tempfile::tempdir().unwrap();
    assert!(run_fetch(&e, cache.path(), &[&srv.base]).0.is_err());
    let (r, lines) = run_fetch(&e, cache.path(), &[&srv.base]);
    let dir = r.unwrap();
    assert_eq!(srv.requests()[1].1.as_deref(), Some("bytes=7000-"));
    assert!(
        lines
            .iter()
            .any(|l| l.contains("ignored the request to resume at byte 7000")),
        "{lines:?}"
    );
    assert!(!lines.iter().any(|l| l.contains("resumed")), "{lines:?}");
    assert_eq!(
        std::fs::read(dir.join("a.gz")).unwrap(),
        a,
        "not appended twice"
    );
}

#[test]
fn a_wrong_checksum_is_refused_and_nothing_is_left() {
    let a = pattern(4_000, 5);
    let mut bad = a.clone();
    bad[1234] ^= 1;
    let srv = Server::start(vec![("a.gz", vec![Reply::Ok(bad.clone())])]);
    let e = entry("set", fetch::Format::Idx, vec![remote("a.gz", &a)]);
    let cache = tempfile::tempdir().unwrap();
    let (r, _) = run_fetch(&e, cache.path(), &[&srv.base]);
    let err = r.unwrap_err();
    assert!(matches!(err, crate::Error::Data { .. }), "{err:?}");
    let err = err.to_string();
    assert_eq!(
        err,
        format!(
            "a.gz: download failed from every mirror: {}a.gz: SHA-256 of the download is {}, \
             expected {} (download deleted)",
            srv.base,
            sha256(&bad),
            sha256(&a)
        )
    );
    assert!(listing(&cache.path().join("set")).is_empty());
}

#[test]
fn server_errors_fall_over_to_the_next_mirror_and_name_every_url() {
    let a = pattern(2_000, 6);
    let broken = Server::start(vec![("a.gz", vec![Reply::Status(500)])]);
    let good = Server::start(vec![("a.gz", vec![Reply::Ok(a.clone())])]);
    let e = entry("set", fetch::Format::Idx, vec![remote("a.gz", &a)]);
    let cache = tempfile::tempdir().unwrap();
    let (r, lines) = run_fetch(&e, cache.path(), &[&broken.base, &good.base]);
    let dir = r.unwrap();
    assert_eq!(std::fs::read(dir.join("a.gz")).unwrap(), a);
    assert!(
        lines[0].contains(&format!("downloaded from {}a.gz", good.base)),
        "{lines:?}"
    );
    assert_eq!(broken.requests().len(), 1);

    let cache = tempfile::tempdir().unwrap();
    let missing = Server::start(vec![]);
    let (r, _) = run_fetch(&e, cache.path(), &[&broken.base, &missing.base]);
    assert_eq!(
        r.unwrap_err().to_string(),
        format!(
            "a.gz: download failed from every mirror: {}a.gz: HTTP 500 Internal Server Error; \
             {}a.gz: HTTP 404 Not Found",
            broken.base, missing.base
        )
    );
}

#[test]
fn a_refused_connection_is_named_and_the_next_mirror_tried() {
    // A port that was free a moment ago: nothing listens there any more.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/data/", l.local_addr().unwrap())
    };
    let a = pattern(500, 7);
    let good = Server::start(vec![("a.gz", vec![Reply::Ok(a.clone())])]);
    let e = entry("set", fetch::Format::Idx, vec![remote("a.gz", &a)]);
    let cache = tempfile::tempdir().unwrap();
    let (r, _) = run_fetch(&e, cache.path(), &[&closed, &good.base]);
    r.unwrap();
    let cache = tempfile::tempdir().unwrap();
    let (r, _) = run_fetch(&e, cache.path(), &[&closed]);
    let err = r.unwrap_err().to_string();
    assert!(err.contains(&format!("{closed}a.gz: ")), "{err}");
}

/// The six batch files with 3, 2, 2, 1, 2 training records and 4 test records.
fn batches() -> Vec<(&'static str, Vec<u8>)> {
    cifar::FILES
        .iter()
        .zip([3, 2, 2, 1, 2, 4])
        .enumerate()
        .map(|(s, (f, n))| (*f, batch(n, s)))
        .collect()
}

fn write_batches(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for (f, b) in batches() {
        std::fs::write(dir.join(f), b).unwrap();
    }
}

#[test]
fn cifar_batches_load_in_order_with_pixels_over_255() {
    let tmp = tempfile::tempdir().unwrap();
    write_batches(tmp.path());
    // The generated batches are laid out as the reader expects.
    assert_eq!(downloads::CIFAR_FILES, cifar::FILES);
    assert_eq!(downloads::CIFAR_RECORD, cifar::RECORD);
    let ds = cifar::load(tmp.path(), None).unwrap();
    assert_eq!((ds.pool.n, ds.pool.d, ds.pool.classes), (10, 3072, 10));
    // Batch 1 (seed 0) records 0..3, then batch 2 (seed 1) records 0..2, ...
    assert_eq!(ds.pool.y, [0, 1, 2, 1, 2, 2, 3, 3, 4, 5]);
    assert_eq!(ds.pool.row(0)[0], 0.0);
    assert_eq!(ds.pool.row(0)[255], 1.0);
    assert_eq!(ds.pool.row(1)[1], 8.0 / 255.0); // i = 1, k = 1: 7 + 1
    assert_eq!(ds.pool.row(3)[2048], ((2048 + 1) % 256) as f32 / 255.0); // blue channel
    let test = ds.test.unwrap();
    assert_eq!((test.n, test.d), (4, 3072));
    assert_eq!(test.y, [5, 6, 7, 8]);
    assert_eq!(test.row(3)[3071], ((21 + 3071 + 5) % 256) as f32 / 255.0);

    let limited = cifar::load(tmp.path(), Some(4)).unwrap();
    assert_eq!(limited.pool.y, [0, 1, 2, 1]);
    assert_eq!(limited.pool.x, ds.pool.x[..4 * 3072]);
    assert_eq!(limited.test.unwrap().n, 4);

    // The archive's own subdirectory is found too.
    let outer = tempfile::tempdir().unwrap();
    write_batches(&outer.path().join("cifar-10-batches-bin"));
    assert_eq!(cifar::load(outer.path(), None).unwrap().pool.y, ds.pool.y);
}

#[test]
fn bad_cifar_batches_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    write_batches(tmp.path());
    let bad = tmp.path().join("data_batch_3.bin");
    let mut b = batch(2, 0);
    b.truncate(2 * 3073 - 5);
    std::fs::write(&bad, &b).unwrap();
    let err = cifar::load(tmp.path(), None).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "{}: 6141 bytes is not a positive multiple of the 3073-byte record (1 label byte + \
             3×32×32 pixels); 1 whole records and 3068 bytes left over (truncated or not a \
             CIFAR-10 binary batch?)",
            bad.display()
        )
    );
    let mut b = batch(2, 0);
    b[3073] = 10;
    std::fs::write(&bad, &b).unwrap();
    let err = cifar::load(tmp.path(), None).unwrap_err().to_string();
    assert!(
        err.starts_with(&bad.display().to_string())
            && err.contains("record 1 (0-based, at byte 3073) has label 10"),
        "{err}"
    );
    std::fs::remove_file(&bad).unwrap();
    let err = cifar::load(tmp.path(), None).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("{}: not found", bad.display()))
            && err.contains("prunecv data fetch cifar10"),
        "{err}"
    );
}

fn tar_gz(members: &[(String, Vec<u8>)]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut t = tar::Builder::new(gz);
    for (path, bytes) in members {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        // Written by hand: the builder refuses names with `..`, which a hostile archive may hold.
        h.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
        h.set_cksum();
        t.append(&h, bytes.as_slice()).unwrap();
    }
    t.into_inner().unwrap().finish().unwrap()
}

#[test]
fn cifar_fetch_unpacks_the_verified_archive() {
    let mut members: Vec<(String, Vec<u8>)> = batches()
        .into_iter()
        .map(|(f, b)| (format!("cifar-10-batches-bin/{f}"), b))
        .collect();
    members.insert(
        0,
        (
            "cifar-10-batches-bin/batches.meta.txt".into(),
            b"airplane\n".to_vec(),
        ),
    );
    members.push(("../escape.bin".into(), vec![1, 2, 3]));
    let archive = tar_gz(&members);
    let srv = Server::start(vec![("cifar.tar.gz", vec![Reply::Ok(archive.clone())])]);
    let e = entry(
        "cifar10",
        fetch::Format::Cifar10,
        vec![remote("cifar.tar.gz", &archive)],
    );
    let cache = tempfile::tempdir().unwrap();
    let (r, lines) = run_fetch(&e, cache.path(), &[&srv.base]);
    let dir = r.unwrap();
    let mut want: Vec<String> = cifar::FILES.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(listing(&dir), want, "only the batches, the archive removed");
    assert!(!cache.path().join("escape.bin").exists());
    assert!(lines.last().unwrap().contains("unpacked"), "{lines:?}");
    let ds = cifar::load(&dir, None).unwrap();
    assert_eq!(ds.pool.y, [0, 1, 2, 1, 2, 2, 3, 3, 4, 5]);
    // Already there: no second download.
    let (r, lines) = run_fetch(&e, cache.path(), &[&srv.base]);
    r.unwrap();
    assert_eq!(srv.requests().len(), 1);
    assert!(lines[0].contains("already present"), "{lines:?}");
}
