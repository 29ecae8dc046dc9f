//! Plots and the Markdown report, rendered from a real run directory: the tiny experiment is
//! swept with `write: true` (as the binary runs it), then the figures and the report are
//! rendered from the CSV files it wrote.

use super::plot::{render_all, HEIGHT, WIDTH};
use crate::sweep::{self, RunOptions};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

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

/// Parse a CSV file into a header and rows of string cells.
fn table(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|x| x.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

/// Decode an 8-bit RGB PNG (what prunecv writes) into its width, height and pixel bytes.
fn decode_png(path: &Path) -> (u32, u32, Vec<u8>) {
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

const METHODS: [&str; 2] = ["magnitude", "random"];
/// Okabe–Ito blue and vermillion: the first two methods' colours.
const COLOURS: [&str; 2] = ["#0072B2", "#D55E00"];

/// Sweep the tiny experiment into a temporary directory, writing its run directory as the
/// binary does; returns the temporary directory and the run directory.
fn tiny_run() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let exp = crate::config::parse(TINY, "tiny.yaml", &[]).unwrap();
    let opts = RunOptions {
        write: true,
        out_root: Some(tmp.path().join("results")),
        ..RunOptions::default()
    };
    let dir = sweep::run(&exp, &opts).unwrap().dir.unwrap();
    assert_eq!(dir, tmp.path().join("results/tiny"));
    (tmp, dir)
}

fn stems(paths: &[PathBuf]) -> BTreeSet<String> {
    paths
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

fn expected_files(extra: &[&str]) -> BTreeSet<String> {
    let mut names = vec![
        "accuracy_vs_sparsity",
        "cv_magnitude",
        "cv_random",
        "layer_sparsity",
        // From sensitivity.csv and speed.csv (src/report/plot/effects.rs).
        "sensitivity_magnitude",
        "sensitivity_random",
        "speed_vs_accuracy",
    ];
    names.extend_from_slice(extra);
    names
        .iter()
        .flat_map(|n| [format!("{n}.svg"), format!("{n}.png"), format!("{n}.pdf")])
        .collect()
}

/// Decode a PNG and check its size and that it holds a drawing, not a blank canvas.
fn check_png(path: &Path) {
    let (w, h, rgb) = decode_png(path);
    assert_eq!((w, h), (WIDTH, HEIGHT), "{}", path.display());
    let pixels = || rgb.chunks_exact(3).map(|p| [p[0], p[1], p[2]]);
    let colours: BTreeSet<[u8; 3]> = pixels().collect();
    let ink = pixels().filter(|p| *p != [255, 255, 255]).count();
    let share = ink as f64 / (WIDTH * HEIGHT) as f64;
    assert!(
        colours.len() > 30,
        "{}: only {} colours",
        path.display(),
        colours.len()
    );
    assert!(
        (0.02..0.6).contains(&share),
        "{}: {:.1} % non-white pixels",
        path.display(),
        share * 100.0
    );
}

fn svg(dir: &Path, stem: &str) -> String {
    std::fs::read_to_string(dir.join("plots").join(format!("{stem}.svg"))).unwrap()
}

#[test]
fn render_all_writes_every_chart_as_png_svg_and_pdf() {
    let (_sb, dir) = tiny_run();
    let written = render_all(&dir).unwrap();
    assert_eq!(stems(&written), expected_files(&[]));
    for p in &written {
        assert_eq!(p.parent().unwrap(), dir.join("plots"));
        if p.extension().unwrap() == "png" {
            check_png(p);
        }
    }
    // No temporary files left behind by the atomic writes.
    let on_disk: Vec<PathBuf> = std::fs::read_dir(dir.join("plots"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(stems(&on_disk), expected_files(&[]));

    // Axis titles with units, and one series per method (legend label and its colour).
    let acc = svg(&dir, "accuracy_vs_sparsity");
    for needle in [
        "sparsity (% of prunable weights removed)",
        "validation accuracy (%)",
        "compression ratio 1 / (1 − sparsity)",
        "dense baseline",
    ] {
        assert!(
            acc.contains(needle),
            "accuracy_vs_sparsity.svg lacks {needle:?}"
        );
    }
    for (m, c) in METHODS.iter().zip(COLOURS) {
        assert!(
            acc.contains(&format!(">\n{m}\n</text>")),
            "legend lacks {m}"
        );
        assert!(acc.contains(c), "no series in {m}'s colour {c}");
    }
    for m in METHODS {
        let cv = svg(&dir, &format!("cv_{m}"));
        for needle in [
            "threshold τ (multiples of the score std)",
            "validation accuracy (%)",
            "mean sparsity at τ (% of prunable weights removed)",
        ] {
            assert!(cv.contains(needle), "cv_{m}.svg lacks {needle:?}");
        }
        // The τ chosen by the rules, labelled on the chart (TINY picks one τ for both rules,
        // or two distinct ones).
        assert!(
            cv.contains("best = one-SE: τ = ")
                || (cv.contains("best: τ = ") && cv.contains("one-SE: τ = ")),
            "cv_{m}.svg has no chosen-τ labels"
        );
    }
    let layers = svg(&dir, "layer_sparsity");
    for needle in [
        "sparsity (% of layer weights removed)",
        "fc1",
        "fc2",
        "one-SE",
    ] {
        assert!(
            layers.contains(needle),
            "layer_sparsity.svg lacks {needle:?}"
        );
    }
    for m in METHODS {
        assert!(
            layers.contains(&format!(">\n{m}\n</text>")),
            "legend lacks {m}"
        );
    }
}

#[test]
fn rendering_twice_gives_identical_files() {
    let (_sb, dir) = tiny_run();
    let first: Vec<(PathBuf, Vec<u8>)> = render_all(&dir)
        .unwrap()
        .into_iter()
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    let again = render_all(&dir).unwrap();
    assert_eq!(again.len(), first.len());
    for (p, bytes) in first {
        let now = std::fs::read(&p).unwrap();
        if p.extension().unwrap() == "pdf" {
            // svg2pdf writes the same objects, but may order font and resource entries
            // differently from one conversion to the next (its maps are hash maps): the PDF
            // of an identical SVG has the same size and content, not always the same bytes.
            assert_eq!(now.len(), bytes.len(), "{} changed size", p.display());
        } else {
            assert_eq!(now, bytes, "{} changed", p.display());
        }
    }
}

#[test]
fn trajectory_chart_appears_only_with_trajectory_csv() {
    let (_sb, dir) = tiny_run();
    let traj = dir.join("trajectory.csv");
    if !traj.exists() {
        // Two folds, three rounds of an iterative schedule per method at τ = 1.5.
        let mut csv = String::from("repeat,fold,method,tau,round,sparsity,val_acc\n");
        for m in METHODS {
            for fold in 0..2 {
                for round in 1..=3 {
                    let sp = 0.2 * round as f64;
                    let acc = 0.95 - 0.05 * round as f64 + 0.01 * fold as f64;
                    csv.push_str(&format!("0,{fold},{m},1.5,{round},{sp},{acc}\n"));
                }
            }
        }
        std::fs::write(&traj, csv).unwrap();
    }
    let written = render_all(&dir).unwrap();
    assert_eq!(stems(&written), expected_files(&["trajectory"]));
    check_png(&dir.join("plots/trajectory.png"));
    let t = svg(&dir, "trajectory");
    for needle in ["pruning round", "sparsity (%)", "validation accuracy (%)"] {
        assert!(t.contains(needle), "trajectory.svg lacks {needle:?}");
    }
    for m in METHODS {
        assert!(t.contains(&format!(">\n{m}\n</text>")), "legend lacks {m}");
    }
    std::fs::remove_file(&traj).unwrap();
    std::fs::remove_dir_all(dir.join("plots")).unwrap();
    assert_eq!(stems(&render_all(&dir).unwrap()), expected_files(&[]));
}

#[test]
fn render_all_without_tables_is_a_data_error() {
    let sb = tempfile::tempdir().unwrap();
    let e = render_all(sb.path()).unwrap_err();
    assert_eq!(e.exit_code(), 2, "{e}");
    assert!(e.to_string().contains("summary.csv"), "{e}");
}

/// Rendering must not depend on system fonts: the embedded DejaVu Sans is used. The check runs
/// in a child process (this test binary, filtered to `child_renders_with_empty_fontconfig`)
/// whose environment points fontconfig at an empty configuration and empty font directories, so
/// the environment of the other tests is left alone.
#[test]
fn renders_without_system_fonts() {
    let (sb, dir) = tiny_run();
    let empty_conf = sb.path().join("empty-fonts.conf");
    std::fs::write(&empty_conf, "").unwrap();
    let no_fonts = sb.path().join("no-fonts");
    std::fs::create_dir_all(&no_fonts).unwrap();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            // The test's full name in this binary: its module path without the crate.
            concat!(module_path!(), "::child_renders_with_empty_fontconfig")
                .split_once("::")
                .map_or("child_renders_with_empty_fontconfig", |(_, name)| name),
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("FONTCONFIG_FILE", &empty_conf)
        .env("FONTCONFIG_PATH", &no_fonts)
        .env("XDG_DATA_HOME", &no_fonts)
        .env("XDG_DATA_DIRS", &no_fonts)
        .env("HOME", &no_fonts)
        .env("PRUNECV_PLOT_TEST_RUN_DIR", &dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("1 passed"),
        "child test did not run:\n{stdout}"
    );
    assert!(stdout.contains("rendered without system fonts"), "{stdout}");
    for name in expected_files(&[]) {
        if name.ends_with(".png") {
            check_png(&dir.join("plots").join(name));
        }
    }
}

/// The child half of `renders_without_system_fonts`; does nothing when run on its own.
#[test]
#[ignore = "run by renders_without_system_fonts in a child process"]
fn child_renders_with_empty_fontconfig() {
    let Some(dir) = std::env::var_os("PRUNECV_PLOT_TEST_RUN_DIR") else {
        return;
    };
    assert!(std::env::var_os("FONTCONFIG_FILE").is_some());
    let written = render_all(Path::new(&dir)).unwrap();
    assert_eq!(stems(&written), expected_files(&[]));
    println!("rendered without system fonts");
}

#[test]
fn markdown_reports_the_selection() {
    let (_sb, dir) = tiny_run();
    let md = super::write_reports(&dir).unwrap();
    assert_eq!(md, super::write_reports(&dir).unwrap(), "not deterministic");
    assert!(md.starts_with("# Pruning report: tiny\n"), "{md}");
    let (h, rows) = table(&std::fs::read_to_string(dir.join("selection.csv")).unwrap());
    let col = |name: &str| h.iter().position(|c| c == name).unwrap();
    let f = |s: &str| s.parse::<f64>().unwrap();
    let dense = &rows[0];
    assert_eq!(dense[col("method")], "dense");
    assert!(md.contains(&format!(
        "- Test accuracy: {:.4}",
        f(&dense[col("test_acc")])
    )));
    for r in &rows[1..] {
        let line = format!(
            "| {} | `{}` | {} ({}) | {:.4} ± {:.4} | {:.1} % | {:.4} | {:.1} % | {} (",
            r[col("method")],
            r[col("rule")],
            r[col("tau")],
            r[col("tau_unit")],
            f(&r[col("cv_mean_val_acc")]),
            f(&r[col("cv_se_val_acc")]),
            f(&r[col("cv_mean_sparsity")]) * 100.0,
            f(&r[col("test_acc")]),
            f(&r[col("test_sparsity")]) * 100.0,
            r[col("params_left")],
        );
        assert!(md.contains(&line), "no row {line:?} in\n{md}");
    }
    for m in METHODS {
        assert!(md.contains(&format!("](plots/cv_{m}.png)")), "{md}");
    }
    assert!(md.contains("](plots/accuracy_vs_sparsity.png)"));
    assert!(md.contains("](plots/layer_sparsity.png)"));
}
