//! From runs to a paper: `prunecv compare` on two tiny runs (exact comparison.csv, refused
//! different data), the PDF figures (page size, embedded font, text size) and report.tex's
//! structure. The PDF checks read the file itself (MediaBox, font descriptor) and, with
//! poppler-utils installed (`.ci/run` installs it; required when `CI` is set), `pdfinfo`,
//! `pdffonts` and `pdftotext -bbox`.

use crate::common;

use common::{table, Sandbox, TINY};
use std::path::Path;
use std::process::Command;

/// TINY with a wider hidden layer: same data, seed and folds, another model.
fn tiny_wide() -> String {
    TINY.replace("name: tiny", "name: tiny-wide")
        .replace("hidden: [16]", "hidden: [32]")
}

fn two_runs() -> Sandbox {
    let sb = Sandbox::new();
    sb.write("tiny.yaml", TINY);
    sb.write("tiny-wide.yaml", &tiny_wide());
    sb.ok(&["run", "tiny.yaml", "--quiet"]);
    sb.ok(&["run", "tiny-wide.yaml", "--quiet"]);
    sb
}

#[test]
fn comparison_csv_holds_both_runs_summaries_exactly() {
    let sb = two_runs();
    let out = sb.ok(&[
        "compare",
        "results/tiny",
        "results/tiny-wide",
        "--out",
        "figs",
    ]);
    for f in [
        "comparison.csv",
        "comparison.svg",
        "comparison.png",
        "comparison.pdf",
    ] {
        assert!(out.contains(f), "{out}");
        assert!(sb.path().join("figs").join(f).exists(), "{f}");
    }
    // Both runs measured their selected models' speed: accuracy against measured speed-up,
    // one series per run and method.
    for f in [
        "comparison_speed.svg",
        "comparison_speed.png",
        "comparison_speed.pdf",
    ] {
        assert!(out.contains(f), "{out}");
    }
    let speed_svg = sb.read("figs/comparison_speed.svg");
    for label in ["tiny · magnitude", "tiny-wide · magnitude"] {
        assert!(speed_svg.contains(label), "{label}");
    }
    let text = sb.read("figs/comparison.csv");
    let (header, rows) = table(&text);
    assert_eq!(
        header,
        [
            "run",
            "method",
            "tau",
            "tau_unit",
            "sparsity",
            "mean_val_acc",
            "se_val_acc",
            "n"
        ]
    );
    // Row for row, each run's summary.csv (dense first, then magnitude and random at the five
    // τ of TINY's grid), its cells copied verbatim.
    let mut want = Vec::new();
    for run in ["tiny", "tiny-wide"] {
        let (h, s) = table(&sb.read(&format!("results/{run}/summary.csv")));
        let c = |n: &str| h.iter().position(|x| x == n).unwrap();
        for r in s {
            want.push(vec![
                run.to_string(),
                r[c("method")].clone(),
                r[c("tau")].clone(),
                r[c("tau_unit")].clone(),
                r[c("mean_sparsity")].clone(),
                r[c("mean_val_acc")].clone(),
                r[c("se_val_acc")].clone(),
                r[c("n")].clone(),
            ]);
        }
    }
    assert_eq!(rows, want);
    assert_eq!(rows.len(), 2 * (1 + 2 * 5));
    assert_eq!(
        (
            rows[0][1].as_str(),
            rows[0][2].as_str(),
            rows[0][4].as_str(),
            rows[0][7].as_str()
        ),
        ("dense", "", "0.0", "3")
    );
    assert_eq!(
        (rows[1][1].as_str(), rows[1][2].as_str()),
        ("magnitude", "0.0")
    );
    assert_eq!(
        (rows[11][0].as_str(), rows[11][1].as_str()),
        ("tiny-wide", "dense")
    );
    // The legend lists the methods (colour and marker) and the runs (line dash) once each;
    // same command, same bytes.
    let svg = sb.read("figs/comparison.svg");
    for label in ["magnitude", "random", "tiny", "tiny-wide"] {
        assert_eq!(
            svg.matches(&format!(">\n{label}\n</text>")).count(),
            1,
            "legend: {label:?}"
        );
    }
    // The dense baselines are lines labelled with their CV accuracy: one per distinct accuracy,
    // named by run when the runs' baselines differ.
    let denses: Vec<(&str, f64)> = rows
        .iter()
        .filter(|r| r[1] == "dense")
        .map(|r| (r[0].as_str(), r[5].parse().unwrap()))
        .collect();
    let same = denses.iter().all(|d| d.1 == denses[0].1);
    for (run, acc) in if same { &denses[..1] } else { &denses[..] } {
        // One decimal, trailing zeros dropped (as the chart's tick labels).
        let pct = format!("{:.1}", acc * 100.0);
        let pct = pct.trim_end_matches('0').trim_end_matches('.');
        let label = if same {
            format!("dense {pct} %")
        } else {
            format!("dense {pct} % · {run}")
        };
        assert_eq!(
            svg.matches(&format!(">\n{label}\n</text>")).count(),
            1,
            "legend: {label:?}"
        );
    }
    // --methods keeps only those methods (and the dense baselines).
    sb.ok(&[
        "compare",
        "results/tiny",
        "results/tiny-wide",
        "--out",
        "only",
        "--methods",
        "random",
    ]);
    let (_, only) = table(&sb.read("only/comparison.csv"));
    let kept: Vec<&Vec<String>> = rows.iter().filter(|r| r[1] != "magnitude").collect();
    assert_eq!(only.iter().collect::<Vec<_>>(), kept);
    let out = sb.run(&[
        "compare",
        "results/tiny",
        "--out",
        "x",
        "--methods",
        "magnitud",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let before: Vec<Vec<u8>> = ["comparison.csv", "comparison.svg", "comparison.pdf"]
        .iter()
        .map(|f| std::fs::read(sb.path().join("figs").join(f)).unwrap())
        .collect();
    sb.ok(&[
        "compare",
        "results/tiny",
        "results/tiny-wide",
        "--out",
        "figs",
    ]);
    for (f, b) in ["comparison.csv", "comparison.svg", "comparison.pdf"]
        .iter()
        .zip(before)
    {
        let now = std::fs::read(sb.path().join("figs").join(f)).unwrap();
        // svg2pdf may order font and resource entries differently between conversions of the
        // same SVG: a PDF keeps its size and content, the other files their bytes.
        if f.ends_with(".pdf") {
            assert_eq!(now.len(), b.len(), "{f}");
        } else {
            assert_eq!(now, b, "{f}");
        }
    }
}

#[test]
fn runs_on_different_data_are_refused_unless_allowed() {
    let sb = Sandbox::new();
    sb.write("tiny.yaml", TINY);
    sb.write(
        "other.yaml",
        &TINY
            .replace("name: tiny", "name: other")
            .replace("holdout: 0.2", "holdout: 0.3"),
    );
    sb.ok(&["run", "tiny.yaml", "--quiet"]);
    sb.ok(&["run", "other.yaml", "--quiet"]);
    let out = sb.run(&["compare", "results/tiny", "results/other", "--out", "figs"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("different data") && err.contains("--allow-different-data"),
        "{err}"
    );
    assert!(!sb.path().join("figs/comparison.csv").exists());
    sb.ok(&[
        "compare",
        "results/tiny",
        "results/other",
        "--out",
        "figs",
        "--allow-different-data",
    ]);
    assert!(sb.read("figs/comparison.csv").contains("\nother,dense,"));
    // A comparison file does the same; its paths are relative to it.
    sb.write(
        "cmp/paper.yaml",
        "compare:\n  runs: [../results/tiny, ../results/other]\n  out: ../figs2\n  allow_different_data: true\nplots: {width_in: 3.3, font_pt: 8}\n",
    );
    sb.ok(&["compare", "cmp/paper.yaml"]);
    assert_eq!(
        sb.read("figs2/comparison.csv"),
        sb.read("figs/comparison.csv")
    );
    // Not a run directory: bad input, naming the file.
    let out = sb.run(&["compare", "results/tiny", "nowhere", "--out", "figs"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("summary.csv"));
}

/// The MediaBox of a one-page PDF, read from the file (pdf-writer leaves page objects
/// uncompressed).
fn media_box(pdf: &[u8]) -> [f64; 4] {
    let text = String::from_utf8_lossy(pdf);
    let at = text.find("/MediaBox [").expect("a MediaBox") + "/MediaBox [".len();
    let end = at + text[at..].find(']').unwrap();
    let v: Vec<f64> = text[at..end]
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    [v[0], v[1], v[2], v[3]]
}

fn tool(name: &str, args: &[&str]) -> Option<String> {
    match Command::new(name).args(args).output() {
        Ok(o) => {
            assert!(
                o.status.success(),
                "{name} {args:?}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            Some(String::from_utf8_lossy(&o.stdout).into_owned())
        }
        Err(_) if std::env::var_os("CI").is_none() => {
            eprintln!("{name} not found: install poppler-utils for the full PDF checks");
            None
        }
        Err(e) => panic!("{name}: {e} (CI must install poppler-utils)"),
    }
}

/// Check a PDF figure: page `w` × `h` pt, DejaVu Sans embedded (a subset), tick labels of
/// `font_pt` points.
fn check_pdf(path: &Path, w: f64, h: f64, font_pt: f64) {
    let bytes = std::fs::read(path).unwrap();
    assert!(bytes.starts_with(b"%PDF-"), "{}", path.display());
    let mb = media_box(&bytes);
    assert_eq!(mb[0..2], [0.0, 0.0]);
    assert!(
        (mb[2] - w).abs() < 0.01 && (mb[3] - h).abs() < 0.01,
        "{mb:?}"
    );
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("+DejaVuSans"), "no DejaVu Sans subset");
    assert!(
        text.contains("/FontFile2"),
        "the font program is not embedded"
    );
    let p = path.to_str().unwrap();
    if let Some(info) = tool("pdfinfo", &[p]) {
        assert!(
            info.contains(&format!(
                "Page size:       {} x {} pts",
                fmt_pt(w),
                fmt_pt(h)
            )),
            "{info}"
        );
        assert!(info.contains("Pages:           1"), "{info}");
    }
    if let Some(fonts) = tool("pdffonts", &[p]) {
        let lines: Vec<&str> = fonts.lines().skip(2).collect();
        assert!(!lines.is_empty(), "{fonts}");
        for l in lines {
            // name type encoding emb sub uni object ID
            let cols: Vec<&str> = l.split_whitespace().collect();
            assert!(
                cols[0].ends_with("+DejaVuSans") || cols[0].ends_with("+DejaVuSans-Bold"),
                "{fonts}"
            );
            assert_eq!(
                &cols[cols.len() - 5..cols.len() - 2],
                ["yes", "yes", "yes"],
                "{fonts}"
            );
        }
    }
    if let Some(bbox) = tool("pdftotext", &["-bbox", p, "-"]) {
        // Word boxes are one font size high (see EM_BOX); the commonest height is the tick
        // labels'.
        let mut heights: Vec<i64> = bbox
            .lines()
            .filter(|l| l.trim_start().starts_with("<word "))
            .map(|l| {
                let g = |k: &str| -> f64 {
                    let at = l.find(&format!("{k}=\"")).unwrap() + k.len() + 2;
                    l[at..at + l[at..].find('"').unwrap()].parse().unwrap()
                };
                ((g("yMax") - g("yMin")) * 1000.0).round() as i64
            })
            .collect();
        heights.sort_unstable();
        let mode = mode(&heights) as f64 / 1000.0;
        let size = mode / EM_BOX;
        assert!(
            (size - font_pt).abs() < 0.05,
            "tick labels are {size} pt, not {font_pt}"
        );
    }
}

/// Height of poppler's word box per point of font size for DejaVu Sans (measured: the 8 pt
/// subtitle's words are 8.0047 pt high, the 9.5 pt axis titles' 9.5056).
const EM_BOX: f64 = 1.0006;

fn mode(v: &[i64]) -> i64 {
    let mut best = (0, 0);
    let mut i = 0;
    while i < v.len() {
        let j = v[i..].iter().take_while(|&&x| x == v[i]).count();
        if j > best.1 {
            best = (v[i], j);
        }
        i += j;
    }
    best.0
}

/// pdfinfo's page-size number: up to 4 significant decimals, trailing zeros dropped.
fn fmt_pt(v: f64) -> String {
    let s = format!("{v:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[test]
fn pdf_figures_have_the_paper_size_and_the_embedded_font() {
    let sb = two_runs();
    sb.ok(&[
        "compare",
        "results/tiny",
        "results/tiny-wide",
        "--out",
        "figs",
        "--width-in",
        "3.3",
        "--font-pt",
        "8",
    ]);
    // 3.3 in = 237.6 pt wide, two thirds as high: 158.4 pt.
    check_pdf(&sb.path().join("figs/comparison.pdf"), 237.6, 158.4, 8.0);
    // A run's own figures follow its `plots:` section; without one, 7.75 in × 8 pt (the
    // 900 × 600 px canvas).
    check_pdf(
        &sb.path()
            .join("results/tiny/plots/accuracy_vs_sparsity.pdf"),
        558.0,
        372.0,
        8.0,
    );
    sb.write(
        "col.yaml",
        &format!(
            "{}plots: {{width_in: 6.9, height_in: 3, font_pt: 9}}\n",
            TINY.replace("name: tiny", "name: col")
        ),
    );
    sb.ok(&["run", "col.yaml", "--quiet"]);
    check_pdf(
        &sb.path().join("results/col/plots/cv_magnitude.pdf"),
        496.8,
        216.0,
        9.0,
    );
    let (w, h, _) = common::decode_png(&sb.path().join("results/col/plots/cv_magnitude.png"));
    // 496.8 pt · (16/1.24)/9 px/pt = 712.3 → 712; 216 · 1.43369 = 309.7 → 310.
    assert_eq!((w, h), (712, 310));
}

#[test]
fn report_tex_is_balanced_escaped_and_has_the_tables() {
    let sb = Sandbox::new();
    sb.write("t.yaml", &TINY.replace("name: tiny", "name: tiny_run"));
    sb.ok(&["run", "t.yaml", "--quiet"]);
    let tex = sb.read("results/tiny_run/report.tex");
    assert!(tex.is_ascii(), "report.tex is not ASCII");
    // Balanced environments, in order.
    let mut stack = Vec::new();
    for l in tex.lines() {
        for (kw, open) in [("\\begin{", true), ("\\end{", false)] {
            let mut rest = l;
            while let Some(at) = rest.find(kw) {
                let name = &rest[at + kw.len()..];
                let name = &name[..name.find('}').unwrap()];
                if open {
                    stack.push(name.to_string());
                } else {
                    assert_eq!(
                        stack.pop().as_deref(),
                        Some(name),
                        "unbalanced \\end{{{name}}}"
                    );
                }
                rest = &rest[at + kw.len()..];
            }
        }
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    assert_eq!(tex.matches("\\begin{tabular}").count(), 2);
    assert_eq!(tex.matches("\\toprule").count(), 2);
    assert_eq!(tex.matches("\\midrule").count(), 2);
    assert_eq!(tex.matches("\\bottomrule").count(), 2);
    assert!(!tex.contains("\\hline"));
    assert!(tex.contains("\\usepackage{booktabs}"));
    // The run name's underscore is escaped; no bare specials in text.
    assert!(
        tex.contains("\\section*{Pruning report: tiny\\_run}"),
        "{tex}"
    );
    assert!(!tex.contains("tiny_run"), "unescaped _");
    // One row per selected model, with CV mean ± SE and test accuracy from selection.csv.
    let (h, rows) = table(&sb.read("results/tiny_run/selection.csv"));
    let c = |n: &str| h.iter().position(|x| x == n).unwrap();
    let f = |s: &str| s.parse::<f64>().unwrap();
    for r in rows.iter().filter(|r| r[c("method")] != "dense") {
        let line = format!(
            "{} & {} & {} & ${:.4} \\pm {:.4}$ & {:.1}\\% & {:.4} & {:.1}\\% & {} \\\\",
            r[c("method")],
            r[c("rule")].replace('_', "\\_"),
            r[c("tau")],
            f(&r[c("cv_mean_val_acc")]),
            f(&r[c("cv_se_val_acc")]),
            f(&r[c("cv_mean_sparsity")]) * 100.0,
            f(&r[c("test_acc")]),
            f(&r[c("test_sparsity")]) * 100.0,
            r[c("params_left")],
        );
        assert!(tex.contains(&line), "no row {line:?} in\n{tex}");
    }
    let dense = &rows[0];
    let (sh, srows) = table(&sb.read("results/tiny_run/summary.csv"));
    let sc = |n: &str| sh.iter().position(|x| x == n).unwrap();
    let line = format!(
        "dense & ${:.4} \\pm {:.4}$ & {:.4} & {} & {} \\\\",
        f(&srows[0][sc("mean_val_acc")]),
        f(&srows[0][sc("se_val_acc")]),
        f(&dense[c("test_acc")]),
        dense[c("params_left")],
        dense[c("flops_left")],
    );
    assert!(tex.contains(&line), "no row {line:?} in\n{tex}");
    // The paired comparison sentence and the Nadeau–Bengio caveat, escaped.
    assert!(tex.contains("\\subsection*{Paired comparisons}"));
    assert!(tex.contains("Nadeau \\& Bengio"));
    assert!(tex.contains("$\\pm$"));
    // `prunecv report` rewrites the same bytes, and pairwise.csv with them.
    let pw = sb.read("results/tiny_run/pairwise.csv");
    sb.ok(&["report", "results/tiny_run"]);
    assert_eq!(sb.read("results/tiny_run/report.tex"), tex);
    assert_eq!(sb.read("results/tiny_run/pairwise.csv"), pw);
    let (ph, prow) = table(&pw);
    assert_eq!(ph[0..4], ["method_a", "method_b", "sparsity", "n"]);
    assert!(prow
        .iter()
        .all(|r| r[0] == "magnitude" && r[1] == "random" && r[3] == "3"));
}
