//! `prunecv bench --speedup`: the speed-up tables of `docs/benchmarks.md`, LeNet-300-100
//! (784-300-100-10, [`Forward`]) and LeNet-5 (20-50-500-10, [`ConvForward`]). Weights are drawn
//! at random (PyTorch's default initialisation; the values do not matter for speed) and pruned by
//! magnitude per layer to each sparsity for the dense and CSR kernels; the shrunk column removes
//! whole hidden units (channels of the convolutions) instead — the same share in every hidden
//! layer, as structured pruning would — until the same fraction of weights is gone, and runs the
//! smaller dense network. One thread, [`Protocol::BENCH`].

use super::conv::ConvForward;
use super::forward::{Forward, Kernel, Net};
use super::timing::{time_interleaved, Protocol};
use crate::config::{Activation, MethodKind, Scope, TauUnit};
use crate::error::Result;
use crate::model::graph::{presets, Graph};
use crate::model::{Architecture, Masks, Params};
use crate::prune::{self, Granularity, MaskContext, ScoreContext};
use crate::rng::Rng;
use serde::Serialize;

/// Sparsities of the table.
pub const SPARSITIES: [f64; 11] = [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99];

/// One line of the table: medians in microseconds per forward pass of the batch.
#[derive(Debug, Clone, Serialize)]
pub struct SpeedupRow {
    pub sparsity: f64,
    pub batch: usize,
    pub dense_us: f64,
    pub csr_us: f64,
    pub shrunk_us: f64,
    /// Sparsity the shrunk network actually has (whole units make it step).
    pub shrunk_sparsity: f64,
    pub csr_speedup: f64,
    pub shrunk_speedup: f64,
}

/// The networks of the tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchNet {
    /// LeNet-300-100, 784-300-100-10, ReLU ([`Forward`]).
    LeNet300,
    /// LeNet-5 at Han's widths, 20-50-500-10 ([`ConvForward`]).
    LeNet5,
}

impl BenchNet {
    pub const ALL: [BenchNet; 2] = [BenchNet::LeNet300, BenchNet::LeNet5];

    pub fn title(self) -> &'static str {
        match self {
            BenchNet::LeNet300 => "LeNet-300-100 (784-300-100-10)",
            BenchNet::LeNet5 => "LeNet-5 (conv 5×5 ×20, conv 5×5 ×50, fc 500, 10)",
        }
    }
}

/// Masks removing whole units from every hidden layer (not the output layer): units
/// `keep[l]..` of the `l`-th, with their rows, biases and the next layer's inputs from them
/// ([`prune::expand`]).
fn unit_masks(arch: &dyn Architecture, params: &Params, keep: &[usize]) -> Masks {
    let mut m = Masks::dense(params);
    let layers = arch.layers();
    for (layer, &k) in layers.iter().filter(|l| !l.is_output).zip(keep) {
        let pruned: Vec<bool> = (0..layer.units).map(|u| u >= k).collect();
        prune::expand(Granularity::Unit, layer, &pruned, params, &mut m);
    }
    m
}

/// The structured masks whose sparsity is closest to `s`: the same share of units kept in every
/// hidden layer (at least one), stepped one unit of the widest hidden layer at a time.
fn structured(arch: &dyn Architecture, params: &Params, s: f64) -> Masks {
    let layers = arch.layers();
    let hidden: Vec<usize> = layers
        .iter()
        .filter(|l| !l.is_output)
        .map(|l| l.units)
        .collect();
    let widest = hidden.iter().copied().max().unwrap_or(1);
    let mut best: Option<(f64, Masks)> = None;
    let mut tried = std::collections::HashSet::new();
    for k in 1..=widest {
        let keep: Vec<usize> = hidden
            .iter()
            .map(|&u| ((k as f64 / widest as f64) * u as f64).round().max(1.0) as usize)
            .collect();
        if !tried.insert(keep.clone()) {
            continue;
        }
        let m = unit_masks(arch, params, &keep);
        let gap = (m.sparsity(&layers) - s).abs();
        if best.as_ref().is_none_or(|(g, _)| gap < *g) {
            best = Some((gap, m));
        }
    }
    best.expect("at least one width").1
}

/// Measure `net`'s table. `quick` uses [`Protocol::RUN`] and three sparsities (a smoke test).
pub fn speedup_table(net: BenchNet, quick: bool) -> Result<Vec<SpeedupRow>> {
    let graph = |input: &[usize], layers: Vec<_>| {
        Graph::new(input, &layers, 10).expect("a preset of 10 classes resolves")
    };
    match net {
        BenchNet::LeNet300 => {
            let mlp = graph(&[784], presets::lenet300(Activation::Relu));
            let params = mlp.init(&mut Rng::new(300));
            table(net, &mlp, &params, quick, |m, k| {
                Forward::build(&mlp, &params, m, k).expect("LeNet-300-100 is an MLP")
            })
        }
        BenchNet::LeNet5 => {
            let l5 = graph(&presets::LENET_INPUT, presets::lenet5());
            let params = l5.init(&mut Rng::new(5));
            table(net, &l5, &params, quick, |m, k| {
                ConvForward::build(&l5, &params, m, k).expect("LeNet-5 is LeNet-5")
            })
        }
    }
}

/// The table of `arch` with random `params`, each kernel's network made by `build`.
fn table<N: Net>(
    net: BenchNet,
    arch: &dyn Architecture,
    params: &Params,
    quick: bool,
    build: impl Fn(&Masks, Kernel) -> N,
) -> Result<Vec<SpeedupRow>> {
    let layers = arch.layers();
    let method = prune::build(
        MethodKind::Magnitude,
        &crate::config::parse("name: b\n", "b", &[])?.prune,
    );
    let scores = method.scores(&mut ScoreContext::plain(arch, params, &layers, Rng::new(1)))?;
    let ctx = MaskContext::one_shot(arch, params, &layers, TauUnit::Quantile, Scope::Layer);
    let (proto, sparsities): (Protocol, Vec<f64>) = if quick {
        (Protocol::RUN, vec![0.5, 0.9, 0.99])
    } else {
        (Protocol::BENCH, SPARSITIES.to_vec())
    };
    // Magnitude masks for dense and CSR, structured ones for shrunk, per sparsity.
    let masks = sparsities
        .iter()
        .map(|&s| Ok((method.masks(&ctx, &scores, s)?, structured(arch, params, s))))
        .collect::<Result<Vec<_>>>()?;
    let dense = build(&Masks::dense(params), Kernel::Dense);
    let mut rng = Rng::new(7);
    let mut out = Vec::new();
    for batch in super::measure::BATCHES {
        let x: Vec<f32> = (0..arch.input_dim() * batch)
            .map(|_| rng.next_f32())
            .collect();
        let xin = dense.input(&x, batch);
        for (masks, sm) in &masks {
            let csr = build(masks, Kernel::Csr);
            let shrunk = build(sm, Kernel::Shrunk);
            // Dense, CSR and shrunk samples alternate, so that the machine's load moves all
            // three numbers of a row alike.
            let (mut b1, mut b2, mut b3) = (
                dense.buffers(batch),
                csr.buffers(batch),
                shrunk.buffers(batch),
            );
            let t = time_interleaved(
                proto,
                &mut [
                    &mut || {
                        std::hint::black_box(dense.run(std::hint::black_box(&xin), batch, &mut b1));
                    },
                    &mut || {
                        std::hint::black_box(csr.run(std::hint::black_box(&xin), batch, &mut b2));
                    },
                    &mut || {
                        std::hint::black_box(shrunk.run(
                            std::hint::black_box(&xin),
                            batch,
                            &mut b3,
                        ));
                    },
                ],
            );
            let (dense_us, csr_us, shrunk_us) =
                (t[0].median * 1e6, t[1].median * 1e6, t[2].median * 1e6);
            let row = SpeedupRow {
                sparsity: masks.sparsity(&layers),
                batch,
                dense_us,
                csr_us,
                shrunk_us,
                shrunk_sparsity: sm.sparsity(&layers),
                csr_speedup: dense_us / csr_us,
                shrunk_speedup: dense_us / shrunk_us,
            };
            eprintln!(
                "  {net:?} batch {batch:3} sparsity {:.3}: dense {dense_us:9.1} µs  csr {csr_us:9.1} µs ({:.2}×)  shrunk {shrunk_us:9.1} µs ({:.2}×, {:.3} sparse)",
                row.sparsity, row.csr_speedup, row.shrunk_speedup, row.shrunk_sparsity
            );
            out.push(row);
        }
    }
    Ok(out)
}

/// The lowest sparsity at which CSR is at least as fast as dense at `batch`, interpolated
/// linearly between the measured sparsities; `None` if it never is.
pub fn break_even(rows: &[SpeedupRow], batch: usize) -> Option<f64> {
    let r: Vec<&SpeedupRow> = rows.iter().filter(|r| r.batch == batch).collect();
    for (i, row) in r.iter().enumerate() {
        if row.csr_speedup >= 1.0 {
            if i == 0 {
                return Some(row.sparsity);
            }
            let p = r[i - 1];
            let t = (1.0 - p.csr_speedup) / (row.csr_speedup - p.csr_speedup);
            return Some(p.sparsity + t * (row.sparsity - p.sparsity));
        }
    }
    None
}

/// The table as Markdown, with the break-even sparsities.
pub fn markdown(rows: &[SpeedupRow]) -> String {
    let mut o = String::from(
        "| batch | sparsity | dense µs | CSR µs | CSR speed-up | shrunk µs (its sparsity) | shrunk speed-up |\n|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        o.push_str(&format!(
            "| {} | {:.0} % | {:.1} | {:.1} | {:.2}× | {:.1} ({:.1} %) | {:.2}× |\n",
            r.batch,
            100.0 * r.sparsity,
            r.dense_us,
            r.csr_us,
            r.csr_speedup,
            r.shrunk_us,
            100.0 * r.shrunk_sparsity,
            r.shrunk_speedup
        ));
    }
    for b in super::measure::BATCHES {
        o.push_str(&match break_even(rows, b) {
            Some(s) => format!(
                "\nCSR break-even at batch {b}: {:.1} % sparsity.",
                100.0 * s
            ),
            None => format!("\nCSR break-even at batch {b}: none up to 99 % sparsity."),
        });
    }
    o.push('\n');
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(s: f64, up: f64) -> SpeedupRow {
        SpeedupRow {
            sparsity: s,
            batch: 1,
            dense_us: 1.0,
            csr_us: 1.0 / up,
            shrunk_us: 1.0,
            shrunk_sparsity: s,
            csr_speedup: up,
            shrunk_speedup: 1.0,
        }
    }

    #[test]
    fn break_even_interpolates() {
        let rows = vec![row(0.5, 0.25), row(0.8, 0.5), row(0.9, 1.5)];
        assert!((break_even(&rows, 1).unwrap() - 0.85).abs() < 1e-12);
        assert_eq!(break_even(&rows[..2], 1), None);
        assert_eq!(break_even(&rows, 256), None);
    }

    #[test]
    fn structured_masks_remove_whole_units() {
        let mlp = crate::model::testing::mlp(6, &[4, 2], 3, Activation::Relu);
        let p = mlp.init(&mut Rng::new(0));
        let m = unit_masks(&mlp, &p, &[3, 1]);
        // fc1: unit 3 gone (6 weights); fc2: column 3 of both rows and unit 1's row (4 + 1 more
        // from row 1's other 3 columns… counted by hand: row 1 = 4 masked, row 0 col 3 = 1);
        // fc3: column 1 of 3 rows.
        let masked = 6 + 5 + 3;
        let total = 24 + 8 + 6;
        assert!((m.sparsity(&mlp.layers()) - masked as f64 / total as f64).abs() < 1e-12);
        let shrunk = crate::model::graph::shrink::shrink(&mlp, &p, &m).0;
        assert_eq!(shrunk.describe(), "mlp 6-3-1-3");
    }

    /// LeNet-5's structured masks remove the same share of conv1 and conv2 channels and fc1
    /// units, close to the asked sparsity.
    #[test]
    fn structured_lenet5_masks_remove_channels_alike() {
        let l5 = crate::model::testing::lenet5(20, 50, 500, 10);
        let p = l5.init(&mut Rng::new(0));
        let m = structured(&l5, &p, 0.9);
        assert!((m.sparsity(&l5.layers()) - 0.9).abs() < 0.005);
        let units: Vec<usize> = crate::model::graph::shrink::shrink(&l5, &p, &m)
            .0
            .layers()
            .iter()
            .map(|l| l.units)
            .collect();
        let share = units[2] as f64 / 500.0;
        assert_eq!(units[0], (share * 20.0).round() as usize);
        assert_eq!(units[1], (share * 50.0).round() as usize);
        assert_eq!(units[3], 10);
    }
}
