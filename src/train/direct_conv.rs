//! A direct `K × K` convolution (stride 1, no padding) of single-channel maps, forward and
//! weight gradient, for the first layer of a convolutional network ([`super::conv_engine`]).
//!
//! With one input channel a patch has only `K·K` = 25 entries, too few for an im2col product to
//! run well (`gemm` spends its time packing and storing a 25-deep product); here each output row
//! is computed in registers instead — four output channels × a whole row of `O` positions
//! accumulate one kernel tap after another — and the input is read in place, with no column
//! matrix. Rows of 8, 16 or 24 positions only ([`supports`]); other sides go through im2col.
//!
//! Maps are held `(images, side, side)`, outputs and their gradients `(channels, images, o, o)`,
//! as [`super::im2col`] lays them out. Each output value is one fused multiply-add chain over
//! the taps in order; each weight gradient sums, per position within a row, over images and
//! rows in order, then over the row's positions in order. The kernels use AVX2 and FMA when the
//! CPU has them (chosen at run time, as `gemm` chooses its kernels; the weight gradient then by
//! explicit intrinsics), portable code with separate multiply and add otherwise.

use crate::model::lenet::K;

const TAPS: usize = K * K;
/// Output channels computed together.
const CB: usize = 4;

/// Whether the kernels handle output rows of `o` positions.
pub fn supports(o: usize) -> bool {
    matches!(o, 8 | 16 | 24)
}

/// Whether to use fused multiply-adds (the CPU has them).
fn fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("fma") && std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `y` (`cout × (g·o·o)`, no bias) = the convolution of the `g` maps `x` (`g × side × side`)
/// with `w` (`cout × K·K`), o = side − K + 1.
///
/// # Panics
/// When `o` is not [`supported`](supports) or a buffer is too short.
pub fn forward(x: &[f32], g: usize, side: usize, w: &[f32], cout: usize, y: &mut [f32]) {
    let o = side + 1 - K;
    assert!(x.len() >= g * side * side && w.len() >= cout * TAPS && y.len() >= cout * g * o * o);
    #[cfg(target_arch = "x86_64")]
    if fma() {
        // SAFETY: the CPU has AVX2 and FMA (checked just above).
        unsafe { forward_fma(x, g, side, w, cout, y) };
        return;
    }
    forward_with::<false>(x, g, side, w, cout, y);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn forward_fma(x: &[f32], g: usize, side: usize, w: &[f32], cout: usize, y: &mut [f32]) {
    forward_with::<true>(x, g, side, w, cout, y);
}

#[inline(always)]
fn forward_with<const FMA: bool>(
    x: &[f32],
    g: usize,
    side: usize,
    w: &[f32],
    cout: usize,
    y: &mut [f32],
) {
    match side + 1 - K {
        24 => forward_rows::<FMA, 24>(x, g, side, w, cout, y),
        16 => forward_rows::<FMA, 16>(x, g, side, w, cout, y),
        8 => forward_rows::<FMA, 8>(x, g, side, w, cout, y),
        o => panic!("direct convolution: output side {o} not supported"),
    }
}

#[inline(always)]
fn madd<const FMA: bool>(a: f32, b: f32, acc: f32) -> f32 {
    if FMA {
        a.mul_add(b, acc)
    } else {
        acc + a * b
    }
}

#[inline(always)]
fn forward_rows<const FMA: bool, const O: usize>(
    x: &[f32],
    g: usize,
    side: usize,
    w: &[f32],
    cout: usize,
    y: &mut [f32],
) {
    for c0 in (0..cout).step_by(CB) {
        let nc = CB.min(cout - c0);
        // The block's weights tap-major, zero for channels past `cout`.
        let mut wb = [[0f32; CB]; TAPS];
        for (t, taps) in wb.iter_mut().enumerate() {
            for (c, v) in taps.iter_mut().enumerate().take(nc) {
                *v = w[(c0 + c) * TAPS + t];
            }
        }
        for b in 0..g {
            let map = &x[b * side * side..][..side * side];
            for oy in 0..O {
                let mut acc = [[0f32; O]; CB];
                for ky in 0..K {
                    let row = &map[(oy + ky) * side..][..side];
                    for kx in 0..K {
                        let xs: &[f32; O] = row[kx..kx + O].try_into().expect("O values");
                        let wt = &wb[ky * K + kx];
                        for (a, &wv) in acc.iter_mut().zip(wt) {
                            for (a, &xv) in a.iter_mut().zip(xs) {
                                *a = madd::<FMA>(wv, xv, *a);
                            }
                        }
                    }
                }
                for (c, a) in acc.iter().enumerate().take(nc) {
                    y[((c0 + c) * g + b) * O * O + oy * O..][..O].copy_from_slice(a);
                }
            }
        }
    }
}

/// `dw` (`cout × K·K`, overwritten) = the gradient of [`forward`]'s weights given its output's
/// gradient `dy` (`cout × (g·o·o)`) and its input `x`.
///
/// # Panics
/// When `o` is not [`supported`](supports) or a buffer is too short.
pub fn weight_grad(x: &[f32], g: usize, side: usize, dy: &[f32], cout: usize, dw: &mut [f32]) {
    let o = side + 1 - K;
    assert!(x.len() >= g * side * side && dy.len() >= cout * g * o * o && dw.len() >= cout * TAPS);
    #[cfg(target_arch = "x86_64")]
    if fma() {
        // SAFETY: the CPU has AVX2 and FMA (checked just above).
        unsafe { weight_grad_fma(x, g, side, dy, cout, dw) };
        return;
    }
    weight_grad_with::<false>(x, g, side, dy, cout, dw);
}

/// [`weight_grad`] with AVX2 and FMA: per kernel row, `K` columns × `O / 8` vectors of
/// accumulators stay in registers while the images and rows stream past.
///
/// # Safety
/// The CPU must have AVX2 and FMA, and the buffers the lengths [`weight_grad`] asserts.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn weight_grad_fma(
    x: &[f32],
    g: usize,
    side: usize,
    dy: &[f32],
    cout: usize,
    dw: &mut [f32],
) {
    match side + 1 - K {
        24 => weight_grad_avx::<3>(x, g, side, dy, cout, dw),
        16 => weight_grad_avx::<2>(x, g, side, dy, cout, dw),
        8 => weight_grad_avx::<1>(x, g, side, dy, cout, dw),
        o => panic!("direct convolution: output side {o} not supported"),
    }
}

/// # Safety
/// As [`weight_grad_fma`]; output rows of `8·S` positions.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn weight_grad_avx<const S: usize>(
    x: &[f32],
    g: usize,
    side: usize,
    dy: &[f32],
    cout: usize,
    dw: &mut [f32],
) {
    use std::arch::x86_64::*;
    let o = 8 * S;
    for c in 0..cout {
        for ky in 0..K {
            let mut acc = [[_mm256_setzero_ps(); S]; K];
            for b in 0..g {
                let map = x.as_ptr().add(b * side * side);
                let d_map = dy.as_ptr().add((c * g + b) * o * o);
                for oy in 0..o {
                    // SAFETY: row oy + ky < side of image b < g, read at columns
                    // kx + 8s .. kx + 8s + 8 ≤ K − 1 + o = side; dy's row oy of (c, b): the
                    // lengths were asserted by `weight_grad`.
                    let row = map.add((oy + ky) * side);
                    let d_row = d_map.add(oy * o);
                    for s in 0..S {
                        let d = _mm256_loadu_ps(d_row.add(8 * s));
                        for (kx, a) in acc.iter_mut().enumerate() {
                            let xv = _mm256_loadu_ps(row.add(kx + 8 * s));
                            a[s] = _mm256_fmadd_ps(d, xv, a[s]);
                        }
                    }
                }
            }
            for (kx, a) in acc.iter().enumerate() {
                let mut lanes = [0f32; 8];
                let mut sum = 0f32;
                for v in a {
                    _mm256_storeu_ps(lanes.as_mut_ptr(), *v);
                    sum = lanes.iter().fold(sum, |t, l| t + l);
                }
                dw[c * TAPS + ky * K + kx] = sum;
            }
        }
    }
}

#[inline(always)]
fn weight_grad_with<const FMA: bool>(
    x: &[f32],
    g: usize,
    side: usize,
    dy: &[f32],
    cout: usize,
    dw: &mut [f32],
) {
    match side + 1 - K {
        24 => weight_grad_rows::<FMA, 24>(x, g, side, dy, cout, dw),
        16 => weight_grad_rows::<FMA, 16>(x, g, side, dy, cout, dw),
        8 => weight_grad_rows::<FMA, 8>(x, g, side, dy, cout, dw),
        o => panic!("direct convolution: output side {o} not supported"),
    }
}

#[inline(always)]
fn weight_grad_rows<const FMA: bool, const O: usize>(
    x: &[f32],
    g: usize,
    side: usize,
    dy: &[f32],
    cout: usize,
    dw: &mut [f32],
) {
    for c in 0..cout {
        for ky in 0..K {
            // One accumulator per kernel column and output position of a row.
            let mut acc = [[0f32; O]; K];
            for b in 0..g {
                let map = &x[b * side * side..][..side * side];
                let d_map = &dy[(c * g + b) * O * O..][..O * O];
                for oy in 0..O {
                    let d: &[f32; O] = d_map[oy * O..][..O].try_into().expect("O values");
                    let row = &map[(oy + ky) * side..][..side];
                    for (kx, a) in acc.iter_mut().enumerate() {
                        let xs: &[f32; O] = row[kx..kx + O].try_into().expect("O values");
                        for ((a, &dv), &xv) in a.iter_mut().zip(d).zip(xs) {
                            *a = madd::<FMA>(dv, xv, *a);
                        }
                    }
                }
            }
            for (kx, a) in acc.iter().enumerate() {
                dw[c * TAPS + ky * K + kx] = a.iter().fold(0.0, |s, v| s + v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// Both kernels against the definition (in f64), at every supported side, for a channel
    /// count that leaves a partial block of channels; and with and without FMA.
    #[test]
    fn direct_convolution_matches_the_definition() {
        let mut rng = Rng::new(3);
        for o in [8, 16, 24] {
            let (side, g, cout) = (o + K - 1, 3, 6);
            let x: Vec<f32> = (0..g * side * side)
                .map(|_| rng.uniform_f32(-1.0, 1.0))
                .collect();
            let w: Vec<f32> = (0..cout * TAPS)
                .map(|_| rng.uniform_f32(-1.0, 1.0))
                .collect();
            let dy: Vec<f32> = (0..cout * g * o * o)
                .map(|_| rng.uniform_f32(-1.0, 1.0))
                .collect();
            let xat = |b: usize, r: usize, c: usize| f64::from(x[(b * side + r) * side + c]);
            let mut y = vec![f32::NAN; cout * g * o * o];
            let mut dw = vec![f32::NAN; cout * TAPS];
            forward(&x, g, side, &w, cout, &mut y);
            weight_grad(&x, g, side, &dy, cout, &mut dw);
            let (mut y0, mut dw0) = (y.clone(), dw.clone());
            forward_with::<false>(&x, g, side, &w, cout, &mut y0);
            weight_grad_with::<false>(&x, g, side, &dy, cout, &mut dw0);
            for c in 0..cout {
                for b in 0..g {
                    for oy in 0..o {
                        for ox in 0..o {
                            let want: f64 = (0..TAPS)
                                .map(|t| {
                                    f64::from(w[c * TAPS + t]) * xat(b, oy + t / K, ox + t % K)
                                })
                                .sum();
                            let i = ((c * g + b) * o + oy) * o + ox;
                            for got in [y[i], y0[i]] {
                                assert!((f64::from(got) - want).abs() < 1e-5, "o {o} y {i}");
                            }
                        }
                    }
                }
                for t in 0..TAPS {
                    let want: f64 = (0..g * o * o)
                        .map(|p| {
                            let (b, oy, ox) = (p / (o * o), p / o % o, p % o);
                            f64::from(dy[(c * g + b) * o * o + oy * o + ox])
                                * xat(b, oy + t / K, ox + t % K)
                        })
                        .sum();
                    for got in [dw[c * TAPS + t], dw0[c * TAPS + t]] {
                        assert!((f64::from(got) - want).abs() < 1e-4, "o {o} dw {c} {t}");
                    }
                }
            }
        }
        assert!(!supports(12) && supports(24));
    }
}
