//! `prunecv data fetch` against a small HTTP server on loopback that each test starts (good file,
//! truncated file then resume, a server ignoring `Range`, wrong checksum, server errors and
//! fail-over between mirrors), through the library and through the binary; experiments naming a
//! fetched data set; the CIFAR-10 binary loader on small generated batches, and a tiny sweep on
//! them. No test needs the internet.

use crate::common;

use common::Sandbox;
use prunecv::data::{cifar, fetch};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// A loopback HTTP server: each path answers with a queue of replies (the last one repeats).

#[derive(Clone, Debug)]
enum Reply {
    /// 200 with the whole body, or 206 with the rest when the request has `Range: bytes=N-`.
    Ok(Vec<u8>),
    /// 200 with the whole body, whatever the request asks.
    IgnoreRange(Vec<u8>),
    /// Announces the whole body's length but sends only its first `n` bytes, then closes.
    Truncated(Vec<u8>, usize),
    /// This status and a short text body.
    Status(u16),
}

/// (path, Range header) of every request, in order.
type Requests = Arc<Mutex<Vec<(String, Option<String>)>>>;

struct Server {
    base: String,
    log: Requests,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Serve `routes` on 127.0.0.1 at a free port until dropped (or 60 s at most).
    fn start(routes: Vec<(&str, Vec<Reply>)>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}/data/", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let mut routes: HashMap<String, Vec<Reply>> = routes
            .into_iter()
            .map(|(p, r)| (format!("/data/{p}"), r))
            .collect();
        let (log2, stop2) = (log.clone(), stop.clone());
        listener.set_nonblocking(true).unwrap();
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            while !stop2.load(Ordering::SeqCst) && Instant::now() < deadline {
                match listener.accept() {
                    Ok((stream, _)) => {
                        stream.set_nonblocking(false).unwrap();
                        let _ = handle(stream, &mut routes, &log2);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Server {
            base,
            log,
            stop,
            thread: Some(thread),
        }
    }

    fn requests(&self) -> Vec<(String, Option<String>)> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn handle(
    mut stream: TcpStream,
    routes: &mut HashMap<String, Vec<Reply>>,
    log: &Mutex<Vec<(String, Option<String>)>>,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut range = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("range") {
                range = Some(v.trim().to_string());
            }
        }
    }
    log.lock().unwrap().push((path.clone(), range.clone()));
    let reply = match routes.get_mut(&path) {
        Some(q) if q.len() > 1 => q.remove(0),
        Some(q) => q[0].clone(),
        None => Reply::Status(404),
    };
    let head = |status: &str, len: usize, extra: &str| {
        format!("HTTP/1.1 {status}\r\nContent-Length: {len}\r\n{extra}Connection: close\r\n\r\n")
    };
    match reply {
        Reply::Ok(body) => {
            let from = range
                .as_deref()
                .and_then(|r| r.strip_prefix("bytes="))
                .and_then(|r| r.strip_suffix('-'))
                .and_then(|r| r.parse::<usize>().ok());
            match from {
                Some(n) if n < body.len() => {
                    let cr = format!(
                        "Content-Range: bytes {n}-{}/{}\r\n",
                        body.len() - 1,
                        body.len()
                    );
                    stream
                        .write_all(head("206 Partial Content", body.len() - n, &cr).as_bytes())?;
                    stream.write_all(&body[n..])?;
                }
                _ => {
                    stream.write_all(head("200 OK", body.len(), "").as_bytes())?;
                    stream.write_all(&body)?;
                }
            }
        }
        Reply::IgnoreRange(body) => {
            stream.write_all(head("200 OK", body.len(), "").as_bytes())?;
            stream.write_all(&body)?;
        }
        Reply::Truncated(body, n) => {
            stream.write_all(head("200 OK", body.len(), "").as_bytes())?;
            stream.write_all(&body[..n])?;
        }
        Reply::Status(code) => {
            let text = format!("error {code}\n");
            let status = format!("{code} Error");
            stream.write_all(head(&status, text.len(), "").as_bytes())?;
            stream.write_all(text.as_bytes())?;
        }
    }
    stream.flush()?;
    stream.shutdown(std::net::Shutdown::Both)
}

// ---------------------------------------------------------------------------------------------
// Helpers.

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `n` bytes of a fixed pseudo-random pattern.
fn pattern(n: usize, seed: u32) -> Vec<u8> {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s >> 24) as u8
        })
        .collect()
}

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
) -> (prunecv::Result<std::path::PathBuf>, Vec<String>) {
    let mirrors: Vec<String> = mirrors.iter().map(|m| m.to_string()).collect();
    let mut lines = Vec::new();
    let r = fetch::fetch(e, cache, Some(&mirrors), &mut |l| lines.push(l.to_string()));
    (r, lines)
}

/// The names in a directory, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

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
    assert!(matches!(err, prunecv::Error::Data { .. }), "{err:?}");
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

// ---------------------------------------------------------------------------------------------
// CIFAR-10 binary batches.

/// A batch of `n` records: record i has label `(i + seed) % 10` and pixel k = (i·7 + k + seed) % 256.
fn batch(n: usize, seed: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(n * cifar::RECORD);
    for i in 0..n {
        v.push(((i + seed) % 10) as u8);
        v.extend((0..cifar::FEATURES).map(|k| ((i * 7 + k + seed) % 256) as u8));
    }
    v
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

// ---------------------------------------------------------------------------------------------
// Through the binary.

fn run_env(sb: &Sandbox, args: &[&str], env: &[(&str, &Path)]) -> std::process::Output {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_prunecv"));
    c.args(args).current_dir(sb.path());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn binary_names_every_url_on_server_errors_and_exits_2() {
    let a = Server::start(vec![]);
    let b = Server::start(vec![(
        "train-images-idx3-ubyte.gz",
        vec![Reply::Status(503)],
    )]);
    let sb = Sandbox::new();
    let out = sb.run(&[
        "data",
        "fetch",
        "mnist",
        "--dir",
        "cache",
        "--mirror",
        &a.base,
        "--mirror",
        b.base.trim_end_matches('/'),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(
        err,
        format!(
            "error: train-images-idx3-ubyte.gz: download failed from every mirror: \
             {}train-images-idx3-ubyte.gz: HTTP 404 Not Found; {}train-images-idx3-ubyte.gz: \
             HTTP 503 Service Unavailable\n",
            a.base, b.base
        )
    );
    assert!(listing(&sb.path().join("cache/mnist")).is_empty());
}

#[test]
fn binary_refuses_a_wrong_checksum() {
    // The real size of MNIST's training images, but not its bytes.
    let fake = vec![0u8; 9_912_422];
    let srv = Server::start(vec![(
        "train-images-idx3-ubyte.gz",
        vec![Reply::Ok(fake.clone())],
    )]);
    let sb = Sandbox::new();
    let cache = sb.path().join("c");
    let out = run_env(
        &sb,
        &["data", "fetch", "mnist", "--mirror", &srv.base],
        &[("PRUNECV_DATA", &cache)],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "error: train-images-idx3-ubyte.gz: download failed from every mirror: \
             {}train-images-idx3-ubyte.gz: SHA-256 of the download is {}, expected \
             440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609 (download deleted)\n",
            srv.base,
            sha256(&fake)
        )
    );
    assert!(listing(&cache.join("mnist")).is_empty(), "nothing left");
}

#[test]
fn binary_rejects_unknown_names_with_a_hint() {
    let sb = Sandbox::new();
    let out = sb.run(&["data", "fetch", "fashion-mnst", "--dir", "c"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "error: fashion-mnst: unknown data set; `prunecv data fetch` knows mnist, \
         fashion_mnist, kmnist, cifar10 (did you mean `fashion_mnist`?)\n"
    );
    assert!(!sb.path().join("c").exists());
}

/// Four tiny IDX files (raw) with 20 training and 6 test images of 2×2 pixels.
fn write_idx(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let images = |n: u32| {
        let mut v = 0x0803u32.to_be_bytes().to_vec();
        for d in [n, 2, 2] {
            v.extend(d.to_be_bytes());
        }
        v.extend((0..n * 4).map(|k| (k * 13 % 256) as u8));
        v
    };
    let labels = |n: u32| {
        let mut v = 0x0801u32.to_be_bytes().to_vec();
        v.extend(n.to_be_bytes());
        v.extend((0..n).map(|i| (i % 2) as u8));
        v
    };
    std::fs::write(dir.join("train-images-idx3-ubyte"), images(20)).unwrap();
    std::fs::write(dir.join("train-labels-idx1-ubyte"), labels(20)).unwrap();
    std::fs::write(dir.join("t10k-images-idx3-ubyte"), images(6)).unwrap();
    std::fs::write(dir.join("t10k-labels-idx1-ubyte"), labels(6)).unwrap();
}

const TINY_RUN: &str = "model: {kind: mlp, hidden: [8]}
train: {optimizer: sgd, lr: 0.05, epochs: 2, batch_size: 8}
prune: {methods: [magnitude], tau: {unit: quantile, values: [0.0, 0.5]}}
cv: {folds: 2, select: [best]}
";

#[test]
fn an_experiment_names_a_fetched_set_and_is_told_to_fetch_it() {
    let sb = Sandbox::new();
    let cache = sb.path().join("cache");
    sb.write(
        "e.yaml",
        &format!("name: named\ndata: {{source: idx, name: mnist}}\n{TINY_RUN}"),
    );
    let out = run_env(&sb, &["run", "e.yaml", "-q"], &[("PRUNECV_DATA", &cache)]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "error: {}: data set `mnist` is not downloaded here (the cache directory is \
             $PRUNECV_DATA or the platform cache); run `prunecv data fetch mnist` first\n",
            cache.join("mnist").display()
        )
    );
    assert!(!sb.path().join("results/named").exists());

    write_idx(&cache.join("mnist"));
    let out = run_env(&sb, &["run", "e.yaml", "-q"], &[("PRUNECV_DATA", &cache)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let resolved = sb.read("results/named/resolved.yaml");
    assert!(
        resolved.contains("source: idx") && resolved.contains("name: mnist"),
        "{resolved}"
    );
    assert!(
        !resolved.contains("cache"),
        "the cache path is not recorded: {resolved}"
    );

    // `dir` and `name` together, and a misspelt name, are configuration errors.
    for (data, says) in [
        (
            "{source: idx, name: mnist, dir: d}",
            "field `data.name`: expected one of `dir`",
        ),
        ("{source: idx, name: mnst}", "did you mean `mnist`"),
        (
            "{source: idx, name: cifar10}",
            "CIFAR-10 is `source: cifar10`",
        ),
        (
            "{source: builtin, name: kmnist}",
            "`source: idx, name: kmnist`",
        ),
        ("{source: cifar10, sha256: {a: b}}", "field `data.sha256`"),
    ] {
        sb.write("bad.yaml", &format!("name: bad\ndata: {data}\n"));
        let out = sb.run(&["check", "bad.yaml"]);
        assert_eq!(out.status.code(), Some(2), "{data}");
        let err = stderr(&out);
        assert!(
            err.starts_with("error: bad.yaml: ") && err.contains(says),
            "{data}: {err}"
        );
    }
}

#[test]
fn a_tiny_sweep_on_generated_cifar_batches() {
    let sb = Sandbox::new();
    let cache = sb.path().join("cache");
    let dir = cache.join("cifar10");
    std::fs::create_dir_all(&dir).unwrap();
    for (i, f) in cifar::FILES.iter().enumerate() {
        // Enough images that the 30 kept (data.limit) hold every class twice (2 folds).
        let n = if i == 5 { 10 } else { 12 };
        std::fs::write(dir.join(f), batch(n, i)).unwrap();
    }
    sb.write(
        "c.yaml",
        &format!("name: tinycifar\ndata: {{source: cifar10, limit: 30}}\n{TINY_RUN}"),
    );
    let out = run_env(&sb, &["run", "c.yaml", "-q"], &[("PRUNECV_DATA", &cache)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let resolved = sb.read("results/tinycifar/resolved.yaml");
    assert!(
        resolved.contains("source: cifar10") && resolved.contains("limit: 30"),
        "{resolved}"
    );
    // 30 training images (data.limit) in the folds, the 10 of test_batch.bin as the test split,
    // with their labels.
    let (header, rows) = common::table(&sb.read("results/tinycifar/folds.csv"));
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (role, label) = (col("role"), col("label"));
    let test: Vec<&str> = rows
        .iter()
        .filter(|r| r[role] == "test")
        .map(|r| r[label].as_str())
        .collect();
    assert_eq!(test, ["5", "6", "7", "8", "9", "0", "1", "2", "3", "4"]);
    assert_eq!(rows.iter().filter(|r| r[role] == "cv").count(), 30);
    assert!(sb.path().join("results/tinycifar/selection.csv").is_file());

    // The same directory given as `dir`, with a record cut short: exit 2 naming the file.
    std::fs::write(dir.join("data_batch_2.bin"), &batch(8, 1)[..100]).unwrap();
    sb.write(
        "d.yaml",
        &format!("name: d\ndata: {{source: cifar10, dir: cache/cifar10}}\n{TINY_RUN}"),
    );
    let out = sb.run(&["run", "d.yaml", "-q"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.starts_with("error: ")
            && err.contains("data_batch_2.bin: 100 bytes is not a positive multiple")
            && err.lines().count() == 1,
        "{err}"
    );
}

#[test]
fn binary_keeps_a_truncated_download_and_resumes_it_next_time() {
    // MNIST's real size but not its bytes: the resume is real, the checksum then refuses it.
    let fake = vec![7u8; 9_912_422];
    let srv = Server::start(vec![(
        "train-images-idx3-ubyte.gz",
        vec![Reply::Truncated(fake.clone(), 1_000_000), Reply::Ok(fake)],
    )]);
    let sb = Sandbox::new();
    let args = [
        "data", "fetch", "mnist", "--dir", "c", "--mirror", &srv.base,
    ];
    let out = sb.run(&args);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    let part = sb.path().join("c/mnist/train-images-idx3-ubyte.gz.part");
    assert!(
        err.contains("train-images-idx3-ubyte.gz: truncated: received 1000000 of 9912422 bytes")
            && err.ends_with(&format!(
                "; the 1000000 bytes received are kept in {} and the next fetch resumes there\n",
                Path::new("c/mnist/train-images-idx3-ubyte.gz.part").display()
            ))
            && err.lines().count() == 1,
        "{err}"
    );
    assert_eq!(std::fs::metadata(&part).unwrap().len(), 1_000_000);

    let out = sb.run(&args);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        srv.requests()[1].1.as_deref(),
        Some("bytes=1000000-"),
        "the second run resumes"
    );
    assert!(
        stderr(&out).contains("SHA-256 of the download is"),
        "{}",
        stderr(&out)
    );
    assert!(listing(&sb.path().join("c/mnist")).is_empty());
}

#[test]
fn binary_cache_directory_precedence_and_list() {
    let sb = Sandbox::new();
    let list = |args: &[&str], env: &[(&str, &Path)]| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_prunecv"));
        c.args(args)
            .current_dir(sb.path())
            .env_remove("PRUNECV_DATA")
            .env("XDG_CACHE_HOME", sb.path().join("xdg"));
        for (k, v) in env {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    let first = |s: String| s.lines().next().unwrap().to_string();
    let xdg = sb.path().join("xdg/prunecv");
    assert_eq!(
        first(list(&["data", "list"], &[])),
        format!("cache directory: {}", xdg.display())
    );
    let env_dir = sb.path().join("env");
    assert_eq!(
        first(list(&["data", "list"], &[("PRUNECV_DATA", &env_dir)])),
        format!("cache directory: {}", env_dir.display())
    );
    assert_eq!(
        first(list(
            &["data", "list", "--dir", "/explicit"],
            &[("PRUNECV_DATA", &env_dir)]
        )),
        "cache directory: /explicit"
    );
    // A CIFAR-10 directory holding whole batches counts as downloaded.
    let dir = xdg.join("cifar10");
    std::fs::create_dir_all(&dir).unwrap();
    for f in cifar::FILES {
        std::fs::write(dir.join(f), batch(1, 0)).unwrap();
    }
    let out = list(&["data", "list"], &[]);
    let row = |name: &str| {
        out.lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap()
            .to_string()
    };
    assert!(row("cifar10").contains(" downloaded "), "{out}");
    assert!(row("mnist").contains("  -  "), "{out}");
    assert!(row("mnist").contains("11.6 MB"), "{out}");
}
