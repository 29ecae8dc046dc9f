//! A bounds-checked, strided single-precision matrix product on host buffers: the one place that
//! calls the `gemm` crate (which picks AVX-512, AVX2 or scalar kernels at run time) directly.

use gemm::Parallelism;

/// A read-only matrix over a slice: element `(r, c)` is `data[r * rs + c * cs]`. Crate-private,
/// with private fields: every constructor ([`View::row_major`], [`View::padded`]) checks with
/// overflow-checked arithmetic that each element lies inside the slice and that each stride fits
/// an `isize`, and [`View::t`] only swaps the two axes, so a `View` that exists is always in
/// bounds. [`matmul`] checks again before it calls `gemm`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct View<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

impl<'a> View<'a> {
    /// A view with the given strides, or `None` when an element would lie past the slice or a
    /// stride does not fit an `isize` (the one constructor; the others unwrap it).
    fn checked(data: &'a [f32], rows: usize, cols: usize, rs: usize, cs: usize) -> Option<Self> {
        let v = View {
            data,
            rows,
            cols,
            rs,
            cs,
        };
        v.fits().then_some(v)
    }

    /// A row-major `rows × cols` matrix.
    ///
    /// # Panics
    /// When `rows × cols` values do not fit in `data` (or the product overflows).
    pub(crate) fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self::checked(data, rows, cols, cols, 1).unwrap_or_else(|| {
            panic!(
                "matmul: a {rows}×{cols} view reaches past its slice of {}",
                data.len()
            )
        })
    }

    /// A `rows × cols` matrix whose rows start `rs ≥ cols` apart (rows padded, as an im2col
    /// column matrix is so that its rows do not all fall into the same cache sets).
    ///
    /// # Panics
    /// When `rs < cols`, or the last row's last value lies past `data`.
    pub(crate) fn padded(data: &'a [f32], rows: usize, cols: usize, rs: usize) -> Self {
        assert!(rs >= cols, "matmul: row stride {rs} < {cols} columns");
        Self::checked(data, rows, cols, rs, 1).unwrap_or_else(|| {
            panic!(
                "matmul: a {rows}×{cols} view with row stride {rs} reaches past its slice of {}",
                data.len()
            )
        })
    }

    /// The transpose (no copy; in bounds because `self` is).
    pub(crate) fn t(self) -> Self {
        View {
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
            ..self
        }
    }

    /// Whether every element lies inside `data` and every stride fits an `isize` (computed with
    /// checked arithmetic: a wrapped product must not pass the test).
    fn fits(&self) -> bool {
        let strides_ok = isize::try_from(self.rs).is_ok() && isize::try_from(self.cs).is_ok();
        let last = (self.rows.saturating_sub(1))
            .checked_mul(self.rs)
            .zip((self.cols.saturating_sub(1)).checked_mul(self.cs))
            .and_then(|(a, b)| a.checked_add(b));
        strides_ok
            && (self.rows == 0 || self.cols == 0 || last.is_some_and(|l| l < self.data.len()))
    }
}

/// `c = a · b` (or `c += a · b` when `accumulate`), `c` row-major `a.rows × b.cols`, computed on
/// `threads` threads of the current rayon pool (1: on the calling thread).
///
/// # Panics
/// When the shapes disagree or a view reaches past its slice.
pub(crate) fn matmul(c: &mut [f32], a: View, b: View, accumulate: bool, threads: usize) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(b.rows, k, "matmul: inner dimensions {k} and {}", b.rows);
    let mn = m.checked_mul(n).expect("matmul: output size overflows");
    assert!(c.len() >= mn, "matmul: output of {} < {m}×{n}", c.len());
    assert!(
        isize::try_from(n).is_ok(),
        "matmul: {n} columns overflow a stride"
    );
    assert!(
        a.fits() && b.fits(),
        "matmul: a view reaches past its slice"
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c[..mn].fill(0.0);
        }
        return;
    }
    let par = if threads > 1 {
        Parallelism::Rayon(threads)
    } else {
        Parallelism::None
    };
    // SAFETY: the asserts above keep every index of `a`, `b` and `c` in bounds; `c` is borrowed
    // mutably, so it cannot alias `a` or `b`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            par,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shapes whose extent overflows `usize` are refused when the view is built, not wrapped
    /// past the bounds check.
    #[test]
    #[should_panic(expected = "reaches past its slice")]
    fn an_extent_that_would_wrap_around_is_refused() {
        let a = [1.0f32; 4];
        // (rows − 1) · 2 overflows: with wrapping arithmetic the extent would look tiny.
        View::row_major(&a, usize::MAX / 2 + 2, 2);
    }

    /// No constructor hands out a view that reaches past its slice or whose strides overflow:
    /// short slices, wrapping extents and strides beyond `isize` are all refused, and the exact
    /// fit (and empty views over empty slices) accepted.
    #[test]
    fn bad_views_are_refused() {
        let a = [1.0f32; 6];
        assert!(View::checked(&a, 2, 3, 3, 1).is_some());
        assert!(View::checked(&a, 2, 4, 4, 1).is_none(), "short slice");
        assert!(
            View::checked(&a, 3, 2, 3, 1).is_none(),
            "padded rows past the end"
        );
        assert!(
            View::checked(&a, 2, 2, usize::MAX, 1).is_none(),
            "extent wraps"
        );
        assert!(
            View::checked(&a, 1, 1, usize::MAX, 1).is_none(),
            "stride over isize"
        );
        assert!(
            View::checked(&a, usize::MAX, 2, 2, 1).is_none(),
            "rows × stride wraps"
        );
        assert!(View::checked(&[], 0, 5, 5, 1).is_some());
        assert!(View::checked(&[], 5, 0, 0, 1).is_some());
        let ok = View::row_major(&a, 3, 2);
        assert!(ok.t().fits() && ok.t().t().fits());
        let short = std::panic::catch_unwind(|| View::padded(&a, 2, 2, 5));
        assert!(
            short.is_err(),
            "row 1 starts at 5, its second value is past the slice"
        );
    }

    fn naive(a: View, b: View) -> Vec<f32> {
        let mut c = vec![0.0; a.rows * b.cols];
        for i in 0..a.rows {
            for j in 0..b.cols {
                for p in 0..a.cols {
                    c[i * b.cols + j] += a.data[i * a.rs + p * a.cs] * b.data[p * b.rs + j * b.cs];
                }
            }
        }
        c
    }

    #[test]
    fn products_and_transposes_match_the_definition() {
        // a: 3×4, b: 4×5 (small integers, so every sum is exact in f32).
        let a: Vec<f32> = (0..12).map(|v| (v % 5) as f32 - 2.0).collect();
        let b: Vec<f32> = (0..20).map(|v| (v % 7) as f32 - 3.0).collect();
        let (av, bv) = (View::row_major(&a, 3, 4), View::row_major(&b, 4, 5));
        let mut c = vec![0.0; 15];
        matmul(&mut c, av, bv, false, 1);
        assert_eq!(c, naive(av, bv));
        // c += a·b doubles it.
        matmul(&mut c, av, bv, true, 1);
        assert_eq!(c, naive(av, bv).iter().map(|v| 2.0 * v).collect::<Vec<_>>());
        // (bᵀ aᵀ) = (a b)ᵀ, with both operands read transposed.
        let mut ct = vec![0.0; 15];
        matmul(&mut ct, bv.t(), av.t(), false, 2);
        for i in 0..3 {
            for j in 0..5 {
                assert_eq!(ct[j * 3 + i], c[i * 5 + j] / 2.0);
            }
        }
        // By hand: row 0 of a is [-2, -1, 0, 1], column 0 of b is [-3, 2, 0, -2]; a·b = 2, twice 4.
        assert_eq!(c[0], 4.0);
        // b's rows padded to 8 values: the padding (NaN) is never read.
        let bp: Vec<f32> = (0..4 * 8)
            .map(|i| {
                if i % 8 < 5 {
                    b[i / 8 * 5 + i % 8]
                } else {
                    f32::NAN
                }
            })
            .collect();
        let mut cp = vec![0.0; 15];
        matmul(&mut cp, av, View::padded(&bp, 4, 5, 8), false, 1);
        assert_eq!(cp, naive(av, bv));
    }

    #[test]
    fn blocked_and_threaded_products_match_the_definition() {
        // Big enough for gemm's blocked kernels; small integers keep every sum exact, so the
        // result must be bit-identical for any thread count. `b` is read transposed.
        let (m, k, n) = (67, 129, 33);
        let a: Vec<f32> = (0..m * k).map(|v| (v % 7) as f32 - 3.0).collect();
        let bt: Vec<f32> = (0..n * k).map(|v| (v % 5) as f32 - 2.0).collect();
        let (av, bv) = (View::row_major(&a, m, k), View::row_major(&bt, n, k).t());
        let want = naive(av, bv);
        for threads in [1, 2, 4] {
            let mut c = vec![f32::NAN; m * n];
            matmul(&mut c, av, bv, false, threads);
            assert_eq!(c, want, "{threads} threads");
        }
        // An empty inner dimension gives zeros (or leaves an accumulator alone).
        let mut c = vec![5.0; 6];
        matmul(
            &mut c,
            View::row_major(&[], 2, 0),
            View::row_major(&[], 0, 3),
            true,
            1,
        );
        assert_eq!(c, vec![5.0; 6]);
        matmul(
            &mut c,
            View::row_major(&[], 2, 0),
            View::row_major(&[], 0, 3),
            false,
            1,
        );
        assert_eq!(c, vec![0.0; 6]);
    }

    /// Random (inexact) products big enough for gemm to split over threads give the same bits on
    /// 1, 2 and 3 threads: gemm divides the output among threads, never the inner dimension, so
    /// every element is the same sequence of operations — what keeps training byte-identical
    /// whatever the kernel threads ([`crate::par::kernel_threads`]).
    #[test]
    fn threaded_products_are_bit_identical() {
        let mut rng = crate::rng::Rng::new(17);
        for (m, k, n) in [(128, 800, 500), (500, 128, 800), (50, 1024, 500)] {
            let a: Vec<f32> = (0..m * k).map(|_| rng.uniform_f32(-1.0, 1.0)).collect();
            let b: Vec<f32> = (0..k * n).map(|_| rng.uniform_f32(-1.0, 1.0)).collect();
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(3)
                .build()
                .unwrap();
            let run = |threads: usize, bt: bool| {
                let mut c = vec![0.5f32; m * n];
                let bv = if bt {
                    View::row_major(&b, n, k).t()
                } else {
                    View::row_major(&b, k, n)
                };
                pool.install(|| matmul(&mut c, View::row_major(&a, m, k), bv, true, threads));
                c
            };
            for bt in [false, true] {
                let one = run(1, bt);
                assert_eq!(one, run(2, bt), "{m}×{k}×{n}");
                assert_eq!(one, run(3, bt), "{m}×{k}×{n}");
            }
        }
    }

    #[test]
    #[should_panic(expected = "past its slice")]
    fn a_short_slice_is_refused() {
        let a = vec![1.0; 5];
        let b = vec![1.0; 6];
        View::row_major(&b, 3, 2);
        View::row_major(&a, 2, 3);
    }
}
