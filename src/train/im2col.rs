//! The im2col layout of a `K × K` convolution (stride 1, no padding) on host buffers, shared by
//! the LeNet-5 training engine ([`super::conv_engine`]) and the inference kernels
//! ([`crate::speed::conv`]): [`im2col`] gathers every patch into a column matrix so that the
//! convolution is one matrix product, [`col2im`] scatter-adds a column matrix's gradient back onto
//! the maps, and [`padded`] spaces the column matrix's rows.
//!
//! Maps are held `(channels, images, side, side)`; the column matrix of `c` channels of `g`
//! images has `c·K·K` rows — row `(ci·K + ky)·K + kx` lines up with column `[ci, ky, kx]` of a
//! conv weight `[out, c, K, K]` — and `g·o·o` columns, o = side − K + 1, column `(b·o + oy)·o +
//! ox` for output position `(oy, ox)` of image `b`.

use crate::model::lenet::K;

/// Row stride of a column matrix of `n` columns: whole 64-byte cache lines, an odd number of
/// them, so that successive rows fall into different cache sets. (Unpadded, rows of a
/// power-of-two width — conv2's 16·64 columns are 4 KiB — all map to the same few sets of the
/// L1 and L2 caches, and a kernel that reads a few hundred rows at once evicts its own data.)
pub fn padded(n: usize) -> usize {
    (n.div_ceil(16) | 1) * 16
}

/// The column matrix of maps `x` held `(c, g, side, side)`, rows `ld ≥ g·o·o` apart, into
/// `cols`: entry (row `[ci, ky, kx]`, column `[b, oy, ox]`) is `x[ci, b, oy + ky, ox + kx]`.
pub fn im2col(x: &[f32], c: usize, g: usize, side: usize, ld: usize, cols: &mut [f32]) {
    // The sides LeNet-5 uses are spelt out, so that each row copy is a few moves, not a call.
    match side {
        28 => im2col_side(x, c, g, 28, ld, cols),
        12 => im2col_side(x, c, g, 12, ld, cols),
        _ => im2col_side(x, c, g, side, ld, cols),
    }
}

#[inline(always)]
fn im2col_side(x: &[f32], c: usize, g: usize, side: usize, ld: usize, cols: &mut [f32]) {
    let o = side - K + 1;
    let n = g * o * o;
    assert!(ld >= n && x.len() >= c * g * side * side && cols.len() >= c * K * K * ld);
    for ci in 0..c {
        for ky in 0..K {
            for kx in 0..K {
                let row = &mut cols[((ci * K + ky) * K + kx) * ld..][..n];
                for b in 0..g {
                    let map = &x[(ci * g + b) * side * side..][..side * side];
                    for oy in 0..o {
                        let src = &map[(oy + ky) * side + kx..][..o];
                        row[(b * o + oy) * o..][..o].copy_from_slice(src);
                    }
                }
            }
        }
    }
}

/// The adjoint of [`im2col`]: `dx` (maps `(c, g, side, side)`, overwritten) receives the sum,
/// over every patch entry that read it, of that entry of `dcols` (rows `ld` apart). Each map
/// value is summed in one fixed order (kernel offsets, then output positions), so the result
/// does not depend on how many images are processed together.
pub fn col2im(dcols: &[f32], c: usize, g: usize, side: usize, ld: usize, dx: &mut [f32]) {
    match side {
        12 => col2im_side(dcols, c, g, 12, ld, dx),
        _ => col2im_side(dcols, c, g, side, ld, dx),
    }
}

#[inline(always)]
fn col2im_side(dcols: &[f32], c: usize, g: usize, side: usize, ld: usize, dx: &mut [f32]) {
    let o = side - K + 1;
    let n = g * o * o;
    let dx = &mut dx[..c * g * side * side];
    assert!(ld >= n && dcols.len() >= (c * K * K - 1) * ld + n);
    dx.fill(0.0);
    for ci in 0..c {
        for ky in 0..K {
            for kx in 0..K {
                let row = &dcols[((ci * K + ky) * K + kx) * ld..][..n];
                for b in 0..g {
                    let map = &mut dx[(ci * g + b) * side * side..][..side * side];
                    for oy in 0..o {
                        let dst = &mut map[(oy + ky) * side + kx..][..o];
                        let src = &row[(b * o + oy) * o..][..o];
                        dst.iter_mut().zip(src).for_each(|(d, s)| *d += s);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The column matrix by hand on a 2-channel pair of 6×6 maps, and `col2im` as its adjoint:
    /// ⟨im2col(x), d⟩ = ⟨x, col2im(d)⟩ (small integers, so both sums are exact).
    #[test]
    fn im2col_layout_and_col2im_adjoint() {
        let (c, g, side) = (2, 2, 6);
        let x: Vec<f32> = (0..c * g * side * side).map(|v| v as f32).collect();
        let o = side - K + 1;
        let n = g * o * o;
        let ld = padded(n);
        assert_eq!((n, ld), (8, 16));
        assert_eq!(padded(16384), 16400);
        let mut cols = vec![0.0; c * K * K * ld];
        im2col(&x, c, g, side, ld, &mut cols);
        for (ci, ky, kx, b, oy, ox) in [(0, 0, 0, 0, 0, 0), (1, 4, 3, 1, 1, 0), (1, 2, 2, 0, 1, 1)]
        {
            let got = cols[((ci * K + ky) * K + kx) * ld + (b * o + oy) * o + ox];
            let want = x[((ci * g + b) * side + oy + ky) * side + ox + kx];
            assert_eq!(got, want);
        }
        let d: Vec<f32> = (0..cols.len())
            .map(|v| ((v * 7) % 5) as f32 - 2.0)
            .collect();
        let mut dx = vec![f32::NAN; x.len()];
        col2im(&d, c, g, side, ld, &mut dx);
        let lhs: f32 = (0..c * K * K)
            .flat_map(|r| (0..n).map(move |j| r * ld + j))
            .map(|i| cols[i] * d[i])
            .sum();
        let rhs: f32 = x.iter().zip(&dx).map(|(a, b)| a * b).sum();
        assert_eq!(lhs, rhs);
        // The corner pixel of image 0, channel 0, is read once: by kernel entry (0, 0) at (0, 0).
        assert_eq!(dx[0], d[0]);
    }
}
