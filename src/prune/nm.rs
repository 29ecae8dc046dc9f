//! N:M semi-structured sparsity (as in NVIDIA's 2:4 sparse tensor cores): within every output
//! row of a layer's weight, each run of `m` consecutive entries keeps at most its `n`
//! highest-scoring ones. For a convolution the row is the filter flattened as `[in, kh, kw]`,
//! the order of the im2col reduction. A last run shorter than `m` also keeps at most `n`.
//!
//! Ranking within a run: live entries before dead ones (in iterative schedules), then higher
//! score, then earlier position — so the pattern is deterministic under ties.

use crate::config::NmSpec;

/// Which entries of `scores` (rows of length `row`) the N:M pattern removes.
pub fn pruned(scores: &[f32], alive: &[bool], row: usize, nm: NmSpec) -> Vec<bool> {
    let mut out = vec![false; scores.len()];
    let row = row.max(1);
    for start in (0..scores.len()).step_by(row) {
        let end = (start + row).min(scores.len());
        for g in (start..end).step_by(nm.m) {
            let mut run: Vec<usize> = (g..(g + nm.m).min(end)).collect();
            run.sort_by(|&a, &b| {
                alive[b]
                    .cmp(&alive[a])
                    .then(scores[b].total_cmp(&scores[a]))
                    .then(a.cmp(&b))
            });
            for &i in run.iter().skip(nm.n) {
                out[i] = true;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_of_four_by_hand() {
        // Two rows of 6: runs [0..4) and [4..6) in each row.
        let s = [
            0.1, 0.9, 0.5, 0.2, /* short run */ 0.3, 0.4, //
            0.0, 0.0, 0.7, 0.0, /* short run */ 0.8, 0.1,
        ];
        let nm = NmSpec { n: 2, m: 4 };
        let p = pruned(&s, &[true; 12], 6, nm);
        let want = [
            true, false, false, true, false, false, //
            false, true, false, true, false, false,
        ];
        assert_eq!(p, want, "ties (row 2's zeros) keep the earlier position");
    }

    #[test]
    fn dead_entries_go_first_and_every_run_keeps_n() {
        let s = [5.0, 4.0, 3.0, 2.0, 1.0, 0.5, 0.25, 0.125];
        let alive = [false, true, true, true, true, true, true, true];
        let p = pruned(&s, &alive, 8, NmSpec { n: 4, m: 8 });
        assert_eq!(
            p,
            [true, false, false, false, false, true, true, true],
            "the dead 5.0 is not kept; the next four highest are"
        );
        let s: Vec<f32> = (0..64).map(|i| ((i * 37) % 64) as f32).collect();
        let p = pruned(&s, &[true; 64], 16, NmSpec { n: 2, m: 4 });
        for run in p.chunks(4) {
            assert_eq!(run.iter().filter(|&&x| !x).count(), 2);
        }
    }
}
