//! Compressed sparse row (CSR) weights and their product with a dense activation block, our own
//! kernel (one thread): for a Linear layer `y = W x + b` with activations held feature-major,
//! `H (in × batch)`, each output row `o` is `b[o] + Σ_k v_k · H[col_k, :]` — a run of axpys over
//! contiguous batch rows (vectorised), or, at batch 1, a gather dot product. The inner loops are
//! compiled three times (AVX-512, AVX2+FMA, baseline) and the widest the CPU supports is picked
//! at run time, as the `gemm` crate does for the dense kernel.
//!
//! A convolution's im2col column matrix is far wider than a batch (`batch · oh · ow` columns,
//! megabytes at batch 256), so [`Csr::matmul_cols`] has its own loop: the column matrix is walked
//! in panels of columns that fit the L2 cache ([`cache_panel`]), every weight row within a panel
//! before the next, so that it is read from memory once rather than once per output row; within
//! a panel, 64 columns are accumulated in eight 256-bit registers with fused multiply-adds
//! (AVX2+FMA intrinsics, chosen at run time; AVX-512 machines run the same loop), streaming the
//! rows of the column matrix that the weight row keeps.

/// A `rows × cols` matrix keeping only its non-zero (kept) entries.
#[derive(Debug, Clone, PartialEq)]
pub struct Csr {
    pub rows: usize,
    pub cols: usize,
    /// Row `r`'s entries are `indptr[r]..indptr[r + 1]`.
    pub indptr: Vec<u32>,
    pub indices: Vec<u32>,
    pub values: Vec<f32>,
}

impl Csr {
    /// From a row-major dense matrix, keeping the entries whose `keep` flag is set (`None`:
    /// the non-zero entries).
    pub fn from_dense(w: &[f32], rows: usize, cols: usize, keep: Option<&[bool]>) -> Csr {
        assert_eq!(
            w.len(),
            rows * cols,
            "csr: {} values for {rows}×{cols}",
            w.len()
        );
        let mut indptr = Vec::with_capacity(rows + 1);
        let (mut indices, mut values) = (Vec::new(), Vec::new());
        indptr.push(0u32);
        for r in 0..rows {
            for c in 0..cols {
                let i = r * cols + c;
                if keep.map_or(w[i] != 0.0, |k| k[i]) {
                    indices.push(c as u32);
                    values.push(w[i]);
                }
            }
            indptr.push(indices.len() as u32);
        }
        Csr {
            rows,
            cols,
            indptr,
            indices,
            values,
        }
    }

    /// Stored entries.
    pub fn nnz(&self) -> usize {
        self.values.len()
    }

    /// `out (rows × batch) = self · h (cols × batch) + bias`, all row-major.
    pub fn matmul_fm(&self, h: &[f32], batch: usize, bias: &[f32], out: &mut [f32]) {
        assert!(h.len() >= self.cols * batch && out.len() >= self.rows * batch);
        assert_eq!(bias.len(), self.rows);
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU supports the features the function is compiled for.
                return unsafe { kernel_avx512(self, h, batch, bias, out) };
            }
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                // SAFETY: as above.
                return unsafe { kernel_avx2(self, h, batch, bias, out) };
            }
        }
        kernel(self, h, batch, bias, out)
    }

    /// `out (rows × n) = self · h (cols × n) + bias` for a wide `h` whose rows start `ld ≥ n`
    /// apart (an im2col column matrix), `out` row-major: column panels of
    /// [`cache_panel`]`(cols)`, every row within a panel before the next panel.
    pub fn matmul_cols(&self, h: &[f32], ld: usize, n: usize, bias: &[f32], out: &mut [f32]) {
        self.matmul_panels(h, Shape::new(ld, n, cache_panel(self.cols)), bias, out)
    }

    fn matmul_panels(&self, h: &[f32], s: Shape, bias: &[f32], out: &mut [f32]) {
        assert!(s.ld >= s.n && out.len() >= self.rows * s.n);
        assert!(self.cols == 0 || h.len() >= (self.cols - 1) * s.ld + s.n);
        assert_eq!(bias.len(), self.rows);
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                // SAFETY: the CPU supports the features the function is compiled for, and the
                // asserts above are the bounds it relies on.
                return unsafe { cols_avx2(self, h, s, bias, out) };
            }
        }
        cols_generic(self, h, s, bias, out, 0)
    }
}

/// Column panel of [`Csr::matmul_cols`] for a right-hand side of `cols` rows: whole register
/// blocks, as many as keep the panel's `cols × panel` values within 256 KiB (half of a 512 KiB
/// L2 cache, leaving room for the output panel and the weights).
pub fn cache_panel(cols: usize) -> usize {
    const PANEL_BYTES: usize = 256 * 1024;
    let fit = PANEL_BYTES / (4 * cols.max(1));
    (fit / BLOCK).max(1) * BLOCK
}

/// The right-hand side's row stride `ld`, its columns `n` and the column panel.
#[derive(Debug, Clone, Copy)]
struct Shape {
    ld: usize,
    n: usize,
    panel: usize,
}

impl Shape {
    fn new(ld: usize, n: usize, panel: usize) -> Shape {
        Shape {
            ld,
            n,
            panel: panel.max(1),
        }
    }
}

/// [`Csr::matmul_cols`] from column `from` on, any CPU: per panel and row, blocks of [`BLOCK`]
/// columns accumulated in an array (vectorised by the compiler), then the panel's last columns.
fn cols_generic(m: &Csr, h: &[f32], s: Shape, bias: &[f32], out: &mut [f32], from: usize) {
    let Shape { ld, n, panel } = s;
    let mut p0 = from;
    while p0 < n {
        let p1 = (p0 + panel).min(n);
        for r in 0..m.rows {
            let (b, e) = (m.indptr[r] as usize, m.indptr[r + 1] as usize);
            let (idx, val) = (&m.indices[b..e], &m.values[b..e]);
            let y = &mut out[r * n..(r + 1) * n];
            let mut j0 = p0;
            while j0 + BLOCK <= p1 {
                let mut acc = [bias[r]; BLOCK];
                for (c, v) in idx.iter().zip(val) {
                    let x = &h[*c as usize * ld + j0..][..BLOCK];
                    for (a, x) in acc.iter_mut().zip(x) {
                        *a += v * x;
                    }
                }
                y[j0..j0 + BLOCK].copy_from_slice(&acc);
                j0 += BLOCK;
            }
            if j0 < p1 {
                let y = &mut y[j0..p1];
                y.fill(bias[r]);
                for (c, v) in idx.iter().zip(val) {
                    let x = &h[*c as usize * ld + j0..*c as usize * ld + p1];
                    for (yy, xx) in y.iter_mut().zip(x) {
                        *yy += v * *xx;
                    }
                }
            }
        }
        p0 = p1;
    }
}

/// [`Csr::matmul_cols`] with AVX2+FMA: the full 64-column blocks of each panel in eight `ymm`
/// accumulators, one broadcast weight and eight loads and fused multiply-adds per stored entry;
/// the columns after the last full block by [`cols_generic`].
///
/// # Safety
/// The CPU supports AVX2 and FMA; `h` holds `(cols − 1)·ld + n` values with `ld ≥ n`, `out`
/// `rows·n`, `bias` `rows` (asserted by [`Csr::matmul_panels`]); `m`'s column indices are below
/// `cols` (as [`Csr::from_dense`] stores them).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn cols_avx2(m: &Csr, h: &[f32], s: Shape, bias: &[f32], out: &mut [f32]) {
    use std::arch::x86_64::*;
    let Shape { ld, n, panel } = s;
    // Whole blocks only; panels are whole blocks too (but the last), so no block straddles two.
    let full = n / BLOCK * BLOCK;
    let (hp, yp) = (h.as_ptr(), out.as_mut_ptr());
    let mut p0 = 0;
    while p0 < full {
        let p1 = (p0 + panel.max(BLOCK) / BLOCK * BLOCK).min(full);
        for r in 0..m.rows {
            let (b, e) = (m.indptr[r] as usize, m.indptr[r + 1] as usize);
            let (idx, val) = (&m.indices[b..e], &m.values[b..e]);
            let bias = _mm256_set1_ps(bias[r]);
            let mut j0 = p0;
            while j0 < p1 {
                let mut a = [bias; 8];
                for (c, v) in idx.iter().zip(val) {
                    // SAFETY: c < cols and j0 + 64 ≤ n, so x..x + 64 lies in h.
                    let x = hp.add(*c as usize * ld + j0);
                    let v = _mm256_set1_ps(*v);
                    a[0] = _mm256_fmadd_ps(v, _mm256_loadu_ps(x), a[0]);
                    a[1] = _mm256_fmadd_ps(v, _mm256_loadu_ps(x.add(8)), a[1]);
                    a[2] = _mm256_fmadd_ps(v, _mm256_loadu_ps(x.add(16)), a[2]);
                    a[3] = _mm256_fmadd_ps(v, _mm256_loadu_ps(x.add(24)), a[3]);
                    a[4] = _mm256_fmadd_ps(v, _mm256_loadu_ps(x.add(32)), a[4]);
                    a[5] = _mm256_fmadd_ps(v, _mm256_loadu_ps(x.add(40)), a[5]);
                    a[6] = _mm256_fmadd_ps(v, _mm256_loadu_ps(x.add(48)), a[6]);
                    a[7] = _mm256_fmadd_ps(v, _mm256_loadu_ps(x.add(56)), a[7]);
                }
                // SAFETY: r < rows and j0 + 64 ≤ n: inside out's row r.
                let y = yp.add(r * n + j0);
                for (t, a) in a.iter().enumerate() {
                    _mm256_storeu_ps(y.add(8 * t), *a);
                }
                j0 += BLOCK;
            }
        }
        p0 = p1;
    }
    cols_generic(m, h, s, bias, out, full);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn kernel_avx512(m: &Csr, h: &[f32], batch: usize, bias: &[f32], out: &mut [f32]) {
    kernel(m, h, batch, bias, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn kernel_avx2(m: &Csr, h: &[f32], batch: usize, bias: &[f32], out: &mut [f32]) {
    kernel(m, h, batch, bias, out)
}

/// Columns of the batch accumulated in registers at once.
const BLOCK: usize = 64;

#[inline(always)]
fn kernel(m: &Csr, h: &[f32], batch: usize, bias: &[f32], out: &mut [f32]) {
    if batch == 1 {
        let h = &h[..m.cols];
        for r in 0..m.rows {
            let (s, e) = (m.indptr[r] as usize, m.indptr[r + 1] as usize);
            let (idx, val) = (&m.indices[s..e], &m.values[s..e]);
            let mut acc = [0.0f32; 8];
            let (ic, vc) = (idx.chunks_exact(8), val.chunks_exact(8));
            let (it, vt) = (ic.remainder(), vc.remainder());
            for (i8, v8) in ic.zip(vc) {
                for j in 0..8 {
                    // SAFETY: `from_dense` stores column indices < cols, and h has cols values.
                    acc[j] += v8[j] * unsafe { *h.get_unchecked(i8[j] as usize) };
                }
            }
            let mut tail = 0.0f32;
            for (i, v) in it.iter().zip(vt) {
                tail += v * h[*i as usize];
            }
            let sum =
                ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
            out[r] = bias[r] + sum + tail;
        }
        return;
    }
    for r in 0..m.rows {
        let (s, e) = (m.indptr[r] as usize, m.indptr[r + 1] as usize);
        let (idx, val) = (&m.indices[s..e], &m.values[s..e]);
        let y = &mut out[r * batch..(r + 1) * batch];
        let mut j0 = 0;
        // Full blocks: the block's accumulators stay in registers over the whole row.
        while j0 + BLOCK <= batch {
            let mut acc = [bias[r]; BLOCK];
            for (c, v) in idx.iter().zip(val) {
                let x: &[f32; BLOCK] = h[*c as usize * batch + j0..][..BLOCK]
                    .try_into()
                    .expect("a block");
                for t in 0..BLOCK {
                    acc[t] += v * x[t];
                }
            }
            y[j0..j0 + BLOCK].copy_from_slice(&acc);
            j0 += BLOCK;
        }
        if j0 < batch {
            let y = &mut y[j0..];
            y.fill(bias[r]);
            for (c, v) in idx.iter().zip(val) {
                let x = &h[*c as usize * batch + j0..(*c as usize + 1) * batch];
                for (yy, xx) in y.iter_mut().zip(x) {
                    *yy += v * *xx;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn layout_by_hand() {
        // [[1 0 2], [0 0 0], [0 3 0]]
        let m = Csr::from_dense(&[1.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0, 3.0, 0.0], 3, 3, None);
        assert_eq!(m.indptr, vec![0, 2, 2, 3]);
        assert_eq!(m.indices, vec![0, 2, 1]);
        assert_eq!(m.values, vec![1.0, 2.0, 3.0]);
        // h = [1, 2, 3]ᵀ, bias [0.5, 1, 0] → [1+6+.5, 1, 6]
        let mut y = vec![0.0; 3];
        m.matmul_fm(&[1.0, 2.0, 3.0], 1, &[0.5, 1.0, 0.0], &mut y);
        assert_eq!(y, vec![7.5, 1.0, 6.0]);
    }

    /// `n` weights uniform in [−1, 1), each kept with probability `density` (zero otherwise).
    fn sparse_weights(rng: &mut Rng, n: usize, density: f32) -> Vec<f32> {
        (0..n)
            .map(|_| {
                let v = rng.uniform_f32(-1.0, 1.0);
                if rng.next_f32() < density {
                    v
                } else {
                    0.0
                }
            })
            .collect()
    }

    /// `matmul_cols` (and its panels) against a plain triple loop, on column matrices with
    /// padded rows (the padding, NaN, is never read), widths with and without a partial block.
    #[test]
    fn column_matrix_product() {
        let mut rng = Rng::new(3);
        for (rows, cols, n, ld) in [(5, 7, 150, 161), (9, 500, 256, 272), (3, 2, 64, 64)] {
            for density in [1.0, 0.3, 0.0] {
                let w = sparse_weights(&mut rng, rows * cols, density);
                let m = Csr::from_dense(&w, rows, cols, None);
                let h: Vec<f32> = (0..(cols - 1) * ld + n)
                    .map(|i| {
                        if i % ld < n {
                            rng.uniform_f32(-1.0, 1.0)
                        } else {
                            f32::NAN
                        }
                    })
                    .collect();
                let b: Vec<f32> = (0..rows).map(|_| rng.uniform_f32(-1.0, 1.0)).collect();
                // The cache-sized panel, then one block, two blocks and an odd width.
                for panel in [cache_panel(cols), 64, 128, 37] {
                    let mut y = vec![f32::NAN; rows * n];
                    if panel == cache_panel(cols) {
                        m.matmul_cols(&h, ld, n, &b, &mut y);
                    } else {
                        m.matmul_panels(&h, Shape::new(ld, n, panel), &b, &mut y);
                    }
                    for r in 0..rows {
                        for j in 0..n {
                            let want: f32 = b[r]
                                + (0..cols)
                                    .map(|c| w[r * cols + c] * h[c * ld + j])
                                    .sum::<f32>();
                            let got = y[r * n + j];
                            assert!(
                                (got - want).abs() < 1e-4,
                                "{rows}×{cols} n {n} density {density} panel {panel}: {got} vs {want}"
                            );
                        }
                    }
                }
                // The generic loop alone, as a CPU without AVX2 runs it.
                let mut y = vec![f32::NAN; rows * n];
                cols_generic(&m, &h, Shape::new(ld, n, 64), &b, &mut y, 0);
                let mut z = vec![f32::NAN; rows * n];
                m.matmul_cols(&h, ld, n, &b, &mut z);
                for (a, c) in y.iter().zip(&z) {
                    assert!((a - c).abs() < 1e-4);
                }
            }
        }
        assert_eq!(
            (cache_panel(25), cache_panel(500), cache_panel(5000)),
            (2560, 128, 64)
        );
    }

    /// Against a plain triple loop, at batch 1, 7 and 256, for several sparsities.
    #[test]
    fn matches_dense_product() {
        let mut rng = Rng::new(9);
        let (rows, cols) = (37, 53);
        for density in [1.0, 0.5, 0.1, 0.0] {
            let w = sparse_weights(&mut rng, rows * cols, density);
            let b: Vec<f32> = (0..rows).map(|_| rng.uniform_f32(-1.0, 1.0)).collect();
            let m = Csr::from_dense(&w, rows, cols, None);
            for batch in [1, 7, 256] {
                let h: Vec<f32> = (0..cols * batch)
                    .map(|_| rng.uniform_f32(-1.0, 1.0))
                    .collect();
                let mut y = vec![0.0; rows * batch];
                m.matmul_fm(&h, batch, &b, &mut y);
                for r in 0..rows {
                    for j in 0..batch {
                        let want: f32 = b[r]
                            + (0..cols)
                                .map(|c| w[r * cols + c] * h[c * batch + j])
                                .sum::<f32>();
                        assert!((y[r * batch + j] - want).abs() < 1e-5, "{density} {batch}");
                    }
                }
            }
        }
    }
}
