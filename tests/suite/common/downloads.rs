//! Support for the download tests: a loopback HTTP server that each test starts, generated
//! files, and small helpers. Used by `tests/suite/fetch.rs` (the binary) and, through
//! `#[path]`, by `src/data/fetch_tests.rs` (the library's downloader and CIFAR-10 reader).

#![allow(dead_code)]

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
pub enum Reply {
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
pub type Requests = Arc<Mutex<Vec<(String, Option<String>)>>>;

pub struct Server {
    pub base: String,
    log: Requests,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Serve `routes` on 127.0.0.1 at a free port until dropped (or 60 s at most).
    pub fn start(routes: Vec<(&str, Vec<Reply>)>) -> Server {
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

    pub fn requests(&self) -> Vec<(String, Option<String>)> {
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

pub fn handle(
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

pub fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `n` bytes of a fixed pseudo-random pattern.
pub fn pattern(n: usize, seed: u32) -> Vec<u8> {
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

pub fn listing(dir: &Path) -> Vec<String> {
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
// CIFAR-10 binary batches.

/// The six batch files of CIFAR-10's binary version, in the order the loader reads them.
pub const CIFAR_FILES: [&str; 6] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
    "test_batch.bin",
];

/// Features per image: 3 channels × 32 × 32.
pub const CIFAR_FEATURES: usize = 3 * 32 * 32;

/// Bytes per record: the label byte and the image.
pub const CIFAR_RECORD: usize = 1 + CIFAR_FEATURES;
/// A batch of `n` records: record i has label `(i + seed) % 10` and pixel k = (i·7 + k + seed) % 256.
pub fn batch(n: usize, seed: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(n * CIFAR_RECORD);
    for i in 0..n {
        v.push(((i + seed) % 10) as u8);
        v.extend((0..CIFAR_FEATURES).map(|k| ((i * 7 + k + seed) % 256) as u8));
    }
    v
}
