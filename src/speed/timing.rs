//! How a kernel is timed: warm-up, then repeated samples, each the mean of enough calls to last
//! a measurable time; the median and the spread (25th and 75th percentiles, minimum) of the
//! per-call times are reported. Wall-clock time on the calling thread; nothing else of the run
//! is executing meanwhile.

use std::time::{Duration, Instant};

/// Per-call seconds of one timed kernel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    pub median: f64,
    pub p25: f64,
    pub p75: f64,
    pub min: f64,
    /// Timed samples.
    pub samples: usize,
    /// Calls per sample.
    pub inner: usize,
}

/// The protocol's knobs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Protocol {
    /// Warm-up wall time (at least 3 calls).
    pub warmup: Duration,
    /// Timed samples.
    pub samples: usize,
    /// Minimum duration of one sample; calls per sample are chosen from the warm-up to reach it.
    pub min_sample: Duration,
}

impl Protocol {
    /// In a run: ~5 ms warm-up, 9 samples of ≥ 1 ms (a few tens of ms per kernel).
    pub const RUN: Protocol = Protocol {
        warmup: Duration::from_millis(5),
        samples: 9,
        min_sample: Duration::from_millis(1),
    };
    /// `prunecv bench --speedup`: 50 ms warm-up, 21 samples of ≥ 5 ms.
    pub const BENCH: Protocol = Protocol {
        warmup: Duration::from_millis(50),
        samples: 21,
        min_sample: Duration::from_millis(5),
    };
}

/// The `q` quantile of sorted values (nearest rank).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i]
}

/// Time `f` under `p` (one kernel of [`time_interleaved`]).
pub fn time<F: FnMut()>(p: Protocol, mut f: F) -> Timing {
    time_interleaved(p, &mut [&mut f])
        .pop()
        .expect("one kernel, one timing")
}

/// Time several kernels under `p` with their samples interleaved (A B C A B C …), so that a
/// change in the machine's load affects all of them alike; ratios of their medians are then
/// steadier than those of kernels timed one after the other.
pub fn time_interleaved(p: Protocol, fs: &mut [&mut dyn FnMut()]) -> Vec<Timing> {
    let inner: Vec<usize> = fs
        .iter_mut()
        .map(|f| {
            let start = Instant::now();
            let mut calls = 0usize;
            while calls < 3 || start.elapsed() < p.warmup {
                f();
                calls += 1;
            }
            let per_call = start.elapsed().as_secs_f64() / calls as f64;
            ((p.min_sample.as_secs_f64() / per_call.max(1e-9)).ceil() as usize).max(1)
        })
        .collect();
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); fs.len()];
    for _ in 0..p.samples.max(1) {
        for (i, f) in fs.iter_mut().enumerate() {
            let t = Instant::now();
            for _ in 0..inner[i] {
                f();
            }
            samples[i].push(t.elapsed().as_secs_f64() / inner[i] as f64);
        }
    }
    samples
        .into_iter()
        .zip(inner)
        .map(|(mut s, inner)| {
            s.sort_by(f64::total_cmp);
            Timing {
                median: quantile(&s, 0.5),
                p25: quantile(&s, 0.25),
                p75: quantile(&s, 0.75),
                min: s[0],
                samples: s.len(),
                inner,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_and_call_counts() {
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.5), 3.0);
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.25), 2.0);
        let mut n = 0usize;
        let t = time(
            Protocol {
                warmup: Duration::ZERO,
                samples: 4,
                min_sample: Duration::ZERO,
            },
            || n += 1,
        );
        // 3 warm-up calls, then 4 samples of one call each; the order statistics are ordered.
        assert_eq!((n, t.samples, t.inner), (7, 4, 1));
        assert!(t.min <= t.p25 && t.p25 <= t.median && t.median <= t.p75);
    }
}
