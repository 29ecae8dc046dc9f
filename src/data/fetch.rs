//! `prunecv data fetch NAME`: download a standard data set into the local cache.
//!
//! **Registry.** [`registry`] lists every data set `fetch` knows, in one table: its name (also the
//! cache subdirectory and the `data.name` of an experiment), its format, the mirrors tried in
//! order, and each file's size and SHA-256 as downloaded (published in TensorFlow Datasets'
//! `url_checksums/*.txt` for exactly these files).
//!
//! **Cache directory** ([`cache_dir`]): `--dir DIR`, else `$PRUNECV_DATA`, else the platform cache
//! directory (`$XDG_CACHE_HOME/prunecv` or `~/.cache/prunecv` on Linux,
//! `~/Library/Caches/prunecv` on macOS, `%LOCALAPPDATA%\prunecv` on Windows). A data set lands
//! in `<cache>/<name>/`.
//!
//! **Download of one file** ([`fetch_file`]): mirrors are tried in order. Bytes go to
//! `<file>.part`; when a `.part` exists the request asks for the rest with a `Range` header (a
//! server answering `200` instead of `206` restarts from byte 0). The complete file's SHA-256 is
//! checked before it is renamed into place, so the final name only ever holds a verified file. A
//! wrong checksum deletes the `.part`; a server error, a refused connection or a wrong checksum
//! moves on to the next mirror; a body cut short keeps the `.part` so that the next mirror — or
//! the next `fetch` — resumes it. When every mirror failed, the error names each URL and why.
//!
//! Compressed bodies are never decoded in transit (no `Accept-Encoding`): the hash is of the file
//! as published. CIFAR-10's archive is unpacked by [`super::cifar::extract`] after it is verified.

use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The environment variable naming the cache directory.
pub const ENV_DATA: &str = "PRUNECV_DATA";

/// Files at least this large report their progress every tenth.
const PROGRESS_BYTES: u64 = 8 << 20;

/// The on-disk format of a data set, which decides how it is unpacked and loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// MNIST-format IDX files, kept gzip-compressed (`data.source: idx`).
    Idx,
    /// CIFAR-10's binary batches, unpacked from the downloaded archive (`data.source: cifar10`).
    Cifar10,
}

/// One file as published: its name on the mirrors, size in bytes and SHA-256 (lower-case hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFile {
    pub name: String,
    pub size: u64,
    pub sha256: String,
}

/// A data set `fetch` can download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its name: the `fetch` argument, the cache subdirectory and (for IDX sets) `data.name`.
    pub name: String,
    /// One line for `prunecv data fetch --help` and messages.
    pub title: String,
    pub format: Format,
    /// Base URLs (ending in `/`), tried in order; a file's URL is the base plus its name.
    pub mirrors: Vec<String>,
    pub files: Vec<RemoteFile>,
}

fn file(name: &str, size: u64, sha256: &str) -> RemoteFile {
    RemoteFile {
        name: name.into(),
        size,
        sha256: sha256.into(),
    }
}

fn entry(
    name: &str,
    title: &str,
    format: Format,
    mirrors: &[&str],
    files: Vec<RemoteFile>,
) -> Entry {
    Entry {
        name: name.into(),
        title: title.into(),
        format,
        mirrors: mirrors.iter().map(|m| m.to_string()).collect(),
        files,
    }
}

/// Every data set `fetch` knows. Sizes and SHA-256 values are those TensorFlow Datasets publishes
/// in `tensorflow_datasets/url_checksums/{mnist,fashion_mnist,kmnist,cifar10}.txt`; the MNIST
/// mirrors are torchvision's (ossci-datasets, then LeCun's site) plus the Google Cloud copy that
/// TensorFlow Datasets hashed.
pub fn registry() -> Vec<Entry> {
    vec![
        entry(
            "mnist",
            "MNIST handwritten digits (60,000 + 10,000 28×28 greyscale images, 10 classes)",
            Format::Idx,
            &[
                "https://ossci-datasets.s3.amazonaws.com/mnist/",
                "https://storage.googleapis.com/cvdf-datasets/mnist/",
                "http://yann.lecun.com/exdb/mnist/",
            ],
            vec![
                file(
                    "train-images-idx3-ubyte.gz",
                    9_912_422,
                    "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                ),
                file(
                    "train-labels-idx1-ubyte.gz",
                    28_881,
                    "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                ),
                file(
                    "t10k-images-idx3-ubyte.gz",
                    1_648_877,
                    "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                ),
                file(
                    "t10k-labels-idx1-ubyte.gz",
                    4_542,
                    "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
                ),
            ],
        ),
        entry(
            "fashion_mnist",
            "Fashion-MNIST (Zalando; 60,000 + 10,000 28×28 greyscale images of clothing, 10 classes)",
            Format::Idx,
            &["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
            vec![
                file(
                    "train-images-idx3-ubyte.gz",
                    26_421_880,
                    "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                ),
                file(
                    "train-labels-idx1-ubyte.gz",
                    29_515,
                    "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                ),
                file(
                    "t10k-images-idx3-ubyte.gz",
                    4_422_102,
                    "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                ),
                file(
                    "t10k-labels-idx1-ubyte.gz",
                    5_148,
                    "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
                ),
            ],
        ),
        entry(
            "kmnist",
            "Kuzushiji-MNIST (ROIS-DS CODH; 60,000 + 10,000 28×28 greyscale images of cursive \
             Japanese, 10 classes)",
            Format::Idx,
            &["http://codh.rois.ac.jp/kmnist/dataset/kmnist/"],
            vec![
                file(
                    "train-images-idx3-ubyte.gz",
                    18_165_135,
                    "51467d22d8cc72929e2a028a0428f2086b092bb31cfb79c69cc0a90ce135fde4",
                ),
                file(
                    "train-labels-idx1-ubyte.gz",
                    29_497,
                    "e38f9ebcd0f3ebcdec7fc8eabdcdaef93bb0df8ea12bee65224341c8183d8e17",
                ),
                file(
                    "t10k-images-idx3-ubyte.gz",
                    3_041_136,
                    "edd7a857845ad6bb1d0ba43fe7e794d164fe2dce499a1694695a792adfac43c5",
                ),
                file(
                    "t10k-labels-idx1-ubyte.gz",
                    5_120,
                    "20bb9a0ef54c7db3efc55a92eef5582c109615df22683c380526788f98e42a1c",
                ),
            ],
        ),
        entry(
            "cifar10",
            "CIFAR-10 (Krizhevsky 2009; 50,000 + 10,000 3×32×32 colour images, 10 classes), \
             binary version",
            Format::Cifar10,
            &["https://www.cs.toronto.edu/~kriz/"],
            vec![file(
                "cifar-10-binary.tar.gz",
                170_052_171,
                "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
            )],
        ),
    ]
}

/// The registry entry called `name`; an unknown name is an error listing the known ones, with a
/// did-you-mean hint (`fashion-mnist` is read as `fashion_mnist`).
pub fn find(name: &str) -> Result<Entry> {
    let all = registry();
    let wanted = name.replace('-', "_").to_ascii_lowercase();
    if let Some(e) = all.iter().find(|e| e.name == wanted) {
        return Ok(e.clone());
    }
    let names: Vec<&str> = all.iter().map(|e| e.name.as_str()).collect();
    let hint = crate::config::suggest(&wanted, &names)
        .map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default();
    Err(Error::data(
        name,
        format!(
            "unknown data set; `prunecv data fetch` knows {}{hint}",
            names.join(", ")
        ),
    ))
}

/// The cache directory: `explicit` if given, else `$PRUNECV_DATA`, else the platform cache
/// directory's `prunecv` subdirectory.
pub fn cache_dir(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(d) = explicit {
        return Ok(d.to_path_buf());
    }
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(d) = env(ENV_DATA) {
        return Ok(d);
    }
    let platform = if cfg!(windows) {
        env("LOCALAPPDATA")
    } else if cfg!(target_os = "macos") {
        env("HOME").map(|h| h.join("Library").join("Caches"))
    } else {
        env("XDG_CACHE_HOME")
            .filter(|p| p.is_absolute())
            .or_else(|| env("HOME").map(|h| h.join(".cache")))
    };
    platform.map(|p| p.join("prunecv")).ok_or_else(|| {
        Error::Environment(format!(
            "no cache directory: set {ENV_DATA} (or HOME), or pass --dir DIR"
        ))
    })
}

/// Where `fetch` puts the data set `name` and where experiments naming it look: `<cache>/<name>`.
pub fn dataset_dir(name: &str) -> Result<PathBuf> {
    Ok(cache_dir(None)?.join(name))
}

/// The `fetch` cache's directory of the data set `name` (`mnist`, …, or `cifar10`), which must
/// hold its files: if not, the error says how to fetch them.
pub fn fetched_dir(name: &str) -> crate::error::Result<std::path::PathBuf> {
    let dir = dataset_dir(name)?;
    let ready = match name {
        "cifar10" => super::cifar::present(&dir),
        _ => super::idx::FILES
            .iter()
            .all(|f| dir.join(f).is_file() || dir.join(format!("{f}.gz")).is_file()),
    };
    if !ready {
        return Err(crate::error::Error::data(
            dir.display().to_string(),
            format!(
                "data set `{name}` is not downloaded here (the cache directory is ${} or the \
                 platform cache); run `prunecv data fetch {name}` first",
                ENV_DATA
            ),
        ));
    }
    Ok(dir)
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It was already there with the right checksum; nothing was downloaded.
    Present,
    /// Downloaded (or finished downloading) from this URL.
    Downloaded { url: String, resumed_from: u64 },
}

/// Download every file of `entry` into `<cache>/<entry.name>/` (and unpack CIFAR-10). `mirrors`
/// replaces the entry's mirror list when given (tests point it at a loopback server). `log`
/// receives one line per step. Returns the data set's directory.
pub fn fetch(
    entry: &Entry,
    cache: &Path,
    mirrors: Option<&[String]>,
    log: &mut dyn FnMut(&str),
) -> Result<PathBuf> {
    let dir = cache.join(&entry.name);
    if entry.format == Format::Cifar10 && super::cifar::present(&dir) {
        log(&format!(
            "{}: already present in {}",
            entry.name,
            dir.display()
        ));
        return Ok(dir);
    }
    crate::fsio::create_dir_all(&dir)?;
    let mirrors = mirrors.unwrap_or(&entry.mirrors);
    for f in &entry.files {
        match fetch_file(f, mirrors, &dir, log)? {
            Outcome::Present => log(&format!("{}: already present, SHA-256 ok", f.name)),
            Outcome::Downloaded { url, resumed_from } => {
                let resumed = if resumed_from > 0 {
                    format!(", resumed at byte {resumed_from}")
                } else {
                    String::new()
                };
                log(&format!(
                    "{}: downloaded from {url} ({} bytes{resumed}), SHA-256 ok",
                    f.name, f.size
                ))
            }
        }
        if entry.format == Format::Cifar10 {
            let archive = dir.join(&f.name);
            super::cifar::extract(&archive, &dir)?;
            std::fs::remove_file(&archive).map_err(|e| Error::io("remove", &archive, e))?;
            log(&format!(
                "{}: unpacked {} into {}",
                f.name,
                super::cifar::FILES.join(", "),
                dir.display()
            ));
        }
    }
    Ok(dir)
}

/// SHA-256 (lower-case hex) of a file's content.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io("open", path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io("read", path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(crate::config::hex(&h.finalize()))
}

/// Why one mirror did not deliver the file; the `.part` file, if any, is still a valid prefix
/// that the next mirror may resume.
type Failure = String;

/// Make sure `dir/<file.name>` holds the verified file, downloading it if needed.
pub fn fetch_file(
    file: &RemoteFile,
    mirrors: &[String],
    dir: &Path,
    log: &mut dyn FnMut(&str),
) -> Result<Outcome> {
    let target = dir.join(&file.name);
    if target.is_file() {
        let got = sha256_file(&target)?;
        if got == file.sha256 {
            return Ok(Outcome::Present);
        }
        log(&format!(
            "{}: SHA-256 is {got}, expected {}; downloading it again",
            target.display(),
            file.sha256
        ));
    }
    let part = dir.join(format!("{}.part", file.name));
    let mut failures = Vec::new();
    for base in mirrors {
        let url = format!("{base}{}", file.name);
        let resumed_from = match download(&url, file, &part, log) {
            Ok(from) => from,
            Err(why) => {
                failures.push(format!("{url}: {why}"));
                continue;
            }
        };
        let got = sha256_file(&part)?;
        if got != file.sha256 {
            remove(&part)?;
            failures.push(format!(
                "{url}: SHA-256 of the download is {got}, expected {} (download deleted)",
                file.sha256
            ));
            continue;
        }
        std::fs::rename(&part, &target).map_err(|e| Error::io("rename into place", &target, e))?;
        sync_dir(dir);
        return Ok(Outcome::Downloaded { url, resumed_from });
    }
    let kept = match part_len(&part) {
        0 => String::new(),
        n => format!(
            "; the {n} bytes received are kept in {} and the next fetch resumes there",
            part.display()
        ),
    };
    Err(Error::data(
        file.name.clone(),
        format!(
            "download failed from every mirror: {}{kept}",
            failures.join("; ")
        ),
    ))
}

fn part_len(part: &Path) -> u64 {
    std::fs::metadata(part).map_or(0, |m| m.len())
}

fn remove(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io("remove", path, e)),
        _ => Ok(()),
    }
}

/// Make a rename durable (best effort: not every platform can open a directory).
fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// True when `url`'s host is this machine (proxies are never used for it).
fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host_port.split(':').next().unwrap_or(""),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn agent(url: &str) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .user_agent(concat!("prunecv/", env!("CARGO_PKG_VERSION")))
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .timeout_per_read(Some(Duration::from_secs(60)))
        .proxy(if is_loopback(url) {
            None
        } else {
            ureq::Proxy::try_from_env()
        })
        .build()
        .new_agent()
}

/// One attempt at one URL: append to (or restart) `part` until it holds `file.size` bytes.
/// Returns the byte it resumed at (0: downloaded from the start).
fn download(
    url: &str,
    file: &RemoteFile,
    part: &Path,
    log: &mut dyn FnMut(&str),
) -> std::result::Result<u64, Failure> {
    let mut offset = part_len(part);
    if offset > file.size {
        // Longer than the file can be: not a prefix of it.
        let _ = std::fs::remove_file(part);
        offset = 0;
    }
    if offset == file.size {
        // Complete already (a previous run stopped before checking it): let the hash decide.
        return Ok(offset);
    }
    let agent = agent(url);
    let mut req = agent.get(url);
    if offset > 0 {
        req = req.header("Range", format!("bytes={offset}-"));
    }
    let resp = req.call().map_err(|e| describe(&e))?;
    let status = resp.status().as_u16();
    let restart = match status {
        206 if offset > 0 => {
            let range = resp
                .headers()
                .get("content-range")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !range.starts_with(&format!("bytes {offset}-")) {
                return Err(format!(
                    "asked for bytes {offset}- but the server sent the range {range:?}"
                ));
            }
            false
        }
        416 => {
            let _ = std::fs::remove_file(part);
            return Err(format!(
                "HTTP 416 Range Not Satisfiable for bytes {offset}- (the partial download was \
                 deleted; the next attempt starts from byte 0)"
            ));
        }
        200 | 206 => {
            if offset > 0 {
                log(&format!(
                    "{url}: the server ignored the request to resume at byte {offset}; \
                     downloading from the start"
                ));
            }
            true
        }
        _ => {
            return Err(format!(
                "HTTP {status}{}",
                resp.status()
                    .canonical_reason()
                    .map(|r| format!(" {r}"))
                    .unwrap_or_default()
            ))
        }
    };
    if restart {
        offset = 0;
    }
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(!restart)
        .truncate(restart)
        .open(part)
        .map_err(|e| format!("cannot open {}: {e}", part.display()))?;
    let mut body = resp.into_body().into_reader();
    let mut buf = vec![0u8; 1 << 16];
    let mut have = offset;
    // Large files report progress every tenth.
    let tenth = |n: u64| n * 10 / file.size;
    let report = file.size >= PROGRESS_BYTES;
    let read_error = loop {
        match body.read(&mut buf) {
            Ok(0) => break None,
            Ok(n) => {
                if have + n as u64 > file.size {
                    drop(out);
                    let _ = std::fs::remove_file(part);
                    return Err(format!(
                        "the server sent more than the {} bytes the file has (download deleted)",
                        file.size
                    ));
                }
                out.write_all(&buf[..n])
                    .map_err(|e| format!("cannot write {}: {e}", part.display()))?;
                if report && tenth(have + n as u64) > tenth(have) && have + (n as u64) < file.size {
                    log(&format!(
                        "{}: {}0 % of {:.1} MB",
                        file.name,
                        tenth(have + n as u64),
                        file.size as f64 / 1e6
                    ));
                }
                have += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => break Some(e),
        }
    };
    out.sync_all()
        .map_err(|e| format!("cannot sync {}: {e}", part.display()))?;
    if have < file.size {
        let why = read_error.map_or("the connection closed".to_string(), |e| e.to_string());
        return Err(format!(
            "truncated: received {have} of {} bytes ({why})",
            file.size
        ));
    }
    Ok(offset)
}

/// A transport error in one line.
fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Io(io) => io.to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_names_are_unique_and_hashes_well_formed() {
        let all = registry();
        let mut names: Vec<&str> = all.iter().map(|e| e.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names, ["cifar10", "fashion_mnist", "kmnist", "mnist"]);
        for e in &all {
            assert!(!e.mirrors.is_empty(), "{}", e.name);
            assert!(e.mirrors.iter().all(|m| m.ends_with('/')), "{}", e.name);
            for f in &e.files {
                assert_eq!(f.sha256.len(), 64, "{} {}", e.name, f.name);
                assert!(f
                    .sha256
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
                assert!(f.size > 0);
            }
            if e.format == Format::Idx {
                let files: Vec<String> = e.files.iter().map(|f| f.name.clone()).collect();
                let want: Vec<String> = super::super::idx::FILES
                    .iter()
                    .map(|f| format!("{f}.gz"))
                    .collect();
                let mut sorted = files.clone();
                sorted.sort();
                let mut want_sorted = want.clone();
                want_sorted.sort();
                assert_eq!(sorted, want_sorted, "{}", e.name);
            }
        }
    }

    #[test]
    fn find_accepts_dashes_and_suggests() {
        assert_eq!(find("Fashion-MNIST").unwrap().name, "fashion_mnist");
        let err = find("mnsit").unwrap_err().to_string();
        assert!(err.starts_with("mnsit: unknown data set"), "{err}");
        assert!(err.contains("did you mean `mnist`"), "{err}");
    }

    #[test]
    fn cache_dir_prefers_the_explicit_directory() {
        assert_eq!(
            cache_dir(Some(Path::new("/x/y"))).unwrap(),
            PathBuf::from("/x/y")
        );
    }

    #[test]
    fn loopback_hosts_are_recognised() {
        assert!(is_loopback("http://127.0.0.1:8080/a/"));
        assert!(is_loopback("http://localhost/a"));
        assert!(is_loopback("http://[::1]:80/"));
        assert!(!is_loopback(
            "https://ossci-datasets.s3.amazonaws.com/mnist/"
        ));
        assert!(!is_loopback("http://127.example.com/"));
        assert!(!is_loopback("http://localhost.example.com/"));
    }
}
