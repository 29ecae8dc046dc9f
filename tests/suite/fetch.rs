//! `prunecv data fetch` through the binary against a small HTTP server on loopback that each
//! test starts (server errors and fail-over between mirrors, wrong checksum, a truncated
//! download resumed), experiments naming a fetched data set, a tiny sweep on generated CIFAR-10
//! batches, and the cache directory. No test needs the internet. (The downloader and the
//! CIFAR-10 reader through the library: `src/data/fetch_tests.rs`.)

use crate::common;

use common::downloads::{batch, listing, sha256, Reply, Server, CIFAR_FILES};
use common::Sandbox;
use std::path::Path;

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
    for (i, f) in CIFAR_FILES.iter().enumerate() {
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
    for f in CIFAR_FILES {
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
