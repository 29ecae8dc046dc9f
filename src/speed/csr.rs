//! Compressed sparse row (CSR) weights and their product with a dense activation block, our own
//! kernel (one thread): for a Linear layer `y = W x + b` with activations held feature-major,
//! `H (in × batch)`, each output row `o` is `b[o] + Σ_k v_k · H[col_k, :]` — a run of axpys over
//! contiguous batch rows (vectorised), or, at batch 1, a gather dot product. The inner loops are
//! compiled three times (AVX-512, AVX2+FMA, baseline) and the widest the CPU supports is picked
//! at run time, as the `gemm` crate does for the dense kernel.

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

    /// Against a plain triple loop, at batch 1, 7 and 256, for several sparsities.
    #[test]
    fn matches_dense_product() {
        let mut rng = Rng::new(9);
        let (rows, cols) = (37, 53);
        for density in [1.0, 0.5, 0.1, 0.0] {
            let w: Vec<f32> = (0..rows * cols)
                .map(|_| {
                    let v = rng.uniform_f32(-1.0, 1.0);
                    if rng.next_f32() < density {
                        v
                    } else {
                        0.0
                    }
                })
                .collect();
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
