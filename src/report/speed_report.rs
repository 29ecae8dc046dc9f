//! The report's measured-speed section, from `speed.csv` (absent: nothing): per selected model
//! and batch, each kernel's speed-up over the dense model, and a plain sentence wherever the
//! sparse kernel is slower than dense.

use crate::report::plot::data::parse_rows;
use serde::Deserialize;
use std::fmt::Write;
use std::path::Path;

#[derive(Debug, Clone, Deserialize)]
struct Row {
    method: String,
    rule: String,
    sparsity: f64,
    kernel: String,
    batch: usize,
    median_us: f64,
    speedup: f64,
}

/// Append the section for `run_dir`'s `speed.csv`, if it has one.
pub fn write(o: &mut String, run_dir: &Path) -> std::fmt::Result {
    let Ok(text) = std::fs::read_to_string(run_dir.join("speed.csv")) else {
        return Ok(());
    };
    let Ok(rows) = parse_rows::<Row>(&text, "speed.csv") else {
        return Ok(());
    };
    if rows.is_empty() {
        return Ok(());
    }
    writeln!(o, "## Measured inference speed")?;
    writeln!(o)?;
    writeln!(
        o,
        "Median time of one forward pass on this CPU, one thread (`speed.csv` has the spread and \
         the repetitions); speed-up = the dense model's median ÷ this one, at the same batch. \
         `dense` runs the pruned weights as a dense matrix, `shrunk` the network with removed \
         units cut out, `csr` our sparse kernel. Timings vary between runs and machines, so they \
         are kept out of the other tables."
    )?;
    writeln!(o)?;
    writeln!(
        o,
        "| method | rule | sparsity | batch | kernel | median µs | speed-up |"
    )?;
    writeln!(o, "|---|---|---|---|---|---|---|")?;
    for r in &rows {
        writeln!(
            o,
            "| {} | `{}` | {:.1} % | {} | {} | {:.1} | {:.2}× |",
            r.method,
            r.rule,
            100.0 * r.sparsity,
            r.batch,
            r.kernel,
            r.median_us,
            r.speedup
        )?;
    }
    writeln!(o)?;
    let slower: Vec<String> = rows
        .iter()
        .filter(|r| r.kernel == "csr" && r.speedup < 1.0)
        .map(|r| {
            format!(
                "{} `{}` at batch {} ({:.0} % sparse, {:.2}×)",
                r.method,
                r.rule,
                r.batch,
                100.0 * r.sparsity,
                r.speedup
            )
        })
        .collect();
    if !slower.is_empty() {
        writeln!(
            o,
            "**The sparse (CSR) kernel is slower than dense** for {}. Published break-even points \
             for CSR on CPUs sit around 80–95 % sparsity; below that, store the weights dense \
             (or shrink the network, where whole units were removed).",
            slower.join("; ")
        )?;
        writeln!(o)?;
    }
    Ok(())
}
