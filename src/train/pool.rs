//! `POOL × POOL` max-pooling (stride `POOL`) of a convolution's output, forward and backward, on
//! host buffers; shared by the LeNet-5 training engine ([`super::conv_engine`]) and the inference
//! kernels ([`crate::speed::conv`]).
//!
//! The input is a convolution's output `c × (g·o·o)` without its bias (`g` images, rows as
//! [`super::im2col`] lays out columns); [`max_pool`] adds the bias to each maximum — the same
//! value as pooling the biased output, since rounding is monotone — and writes the pooled maps
//! wherever [`Strides`] say. It can record, per pooled value, which window entries attain the
//! maximum ([`Ties`]), for [`max_unpool`].
//!
//! The gradient is the maximum's: the pooled gradient goes to the window entry that attains the
//! maximum, split evenly when `k` entries tie (each gets 1/k, so a window passes on exactly its
//! gradient, as PyTorch's does, which gives it all to one of them). The graph's candle forward
//! ([`crate::model::graph::forward`]) computes the same thing. (candle 0.11's own `max_pool2d`
//! backward gives every tied entry `k/4` of the gradient — a quarter of it to a unique maximum —
//! and is therefore not used there.)

use crate::model::lenet::POOL;

// The kernels below are written out for 2×2 windows (whose ties fit in a u8).
const _: () = assert!(
    POOL == 2,
    "max_pool and max_unpool are written for 2×2 windows"
);

/// Where pooled value `(channel, image, position)` goes: index `offset + channel·channel_stride
/// + image·image_stride + position·pos_stride`, position `qy·q + qx`.
#[derive(Debug, Clone, Copy)]
pub struct Strides {
    pub channel: usize,
    pub image: usize,
    pub pos: usize,
    pub offset: usize,
}

impl Strides {
    /// Maps `(c, g, q, q)` of the `g` images pooled together.
    pub fn maps(g: usize, q: usize) -> Strides {
        Strides {
            channel: g * q * q,
            image: q * q,
            pos: 1,
            offset: 0,
        }
    }

    /// Images `first..` as columns of feature-major features `(c·q·q) × batch`, row `c·q·q + s`.
    pub fn feature_major(batch: usize, first: usize, q: usize) -> Strides {
        Strides {
            channel: q * q * batch,
            image: 1,
            pos: batch,
            offset: first,
        }
    }

    /// Images as rows of `c·q·q` features, channel-major (`c·q·q + s`), from the first row.
    pub fn rows(c: usize, q: usize) -> Strides {
        Strides {
            channel: q * q,
            image: c * q * q,
            pos: 1,
            offset: 0,
        }
    }

    fn base(&self, ch: usize, b: usize) -> usize {
        self.offset + ch * self.channel + b * self.image
    }
}

/// For each pooled value (indexed as the pooled output), bit `dy·2 + dx` set when window entry
/// `(dy, dx)` equals the maximum.
pub type Ties = [u8];

/// Max-pool `y` (`c × (g·o·o)`, maps of side `o`) into `out` at `to`, adding `bias[ch]` (if
/// given) to each maximum; record the window's maxima in `ties` (indexed as `out`) if given.
#[allow(clippy::too_many_arguments)]
pub fn max_pool(
    y: &[f32],
    c: usize,
    g: usize,
    o: usize,
    bias: Option<&[f32]>,
    out: &mut [f32],
    to: Strides,
    mut ties: Option<&mut Ties>,
) {
    let q = o / POOL;
    for ch in 0..c {
        let b_ch = bias.map_or(0.0, |b| b[ch]);
        for b in 0..g {
            let map = &y[(ch * g + b) * o * o..][..o * o];
            let base = to.base(ch, b);
            for qy in 0..q {
                let (r0, r1) = map[2 * qy * o..][..2 * o].split_at(o);
                let pairs = r0.chunks_exact(2).zip(r1.chunks_exact(2)).take(q);
                for (qx, (top, bot)) in pairs.enumerate() {
                    let m = max(max(top[0], top[1]), max(bot[0], bot[1]));
                    let at = base + (qy * q + qx) * to.pos;
                    out[at] = m + b_ch;
                    if let Some(t) = ties.as_deref_mut() {
                        t[at] = u8::from(top[0] == m)
                            | u8::from(top[1] == m) << 1
                            | u8::from(bot[0] == m) << 2
                            | u8::from(bot[1] == m) << 3;
                    }
                }
            }
        }
    }
}

/// The larger of `a` and `b` (`b` when they are equal or either is NaN): one instruction.
#[inline(always)]
fn max(a: f32, b: f32) -> f32 {
    if a > b {
        a
    } else {
        b
    }
}

/// The gradient of [`max_pool`]: `dy` (`c × (g·o·o)`, overwritten) from the pooled gradient
/// `dout` and the `ties` recorded by the forward pass, both read at `from`: each window's
/// gradient to its maximum, split evenly among tied maxima.
pub fn max_unpool(
    dout: &[f32],
    ties: &Ties,
    c: usize,
    g: usize,
    o: usize,
    from: Strides,
    dy: &mut [f32],
) {
    let q = o / POOL;
    let pick = |bits: u8, i: u8, v: f32| if bits >> i & 1 == 1 { v } else { 0.0 };
    for ch in 0..c {
        for b in 0..g {
            let map = &mut dy[(ch * g + b) * o * o..][..o * o];
            let base = from.base(ch, b);
            for qy in 0..q {
                let (r0, r1) = map[2 * qy * o..][..2 * o].split_at_mut(o);
                let pairs = r0.chunks_exact_mut(2).zip(r1.chunks_exact_mut(2)).take(q);
                for (qx, (top, bot)) in pairs.enumerate() {
                    let at = base + (qy * q + qx) * from.pos;
                    let bits = ties[at];
                    // At least one entry attains the maximum, so `bits` is never 0.
                    let v = dout[at] / bits.count_ones() as f32;
                    top[0] = pick(bits, 0, v);
                    top[1] = pick(bits, 1, v);
                    bot[0] = pick(bits, 2, v);
                    bot[1] = pick(bits, 3, v);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pool a 1-channel, 2-image, 4×4 output: each image's maxima as maps, as feature-major
    /// columns and as rows; ties recorded; the gradient routed to the maxima.
    #[test]
    fn pool_layouts_ties_and_gradient() {
        let y: Vec<f32> = (0..32).map(|v| ((v * 7) % 32) as f32).collect();
        let mut maps = vec![0.0; 8];
        max_pool(&y, 1, 2, 4, None, &mut maps, Strides::maps(2, 2), None);
        // As images 1 and 2 of a batch of 3.
        let mut flat = vec![f32::NAN; 12];
        let to = Strides::feature_major(3, 1, 2);
        max_pool(&y, 1, 2, 4, Some(&[0.5]), &mut flat, to, None);
        let mut rows = vec![0.0; 8];
        let mut ties = vec![0u8; 8];
        let rs = Strides::rows(1, 2);
        max_pool(&y, 1, 2, 4, None, &mut rows, rs, Some(&mut ties));
        for b in 0..2 {
            for s in 0..4 {
                let (qy, qx) = (s / 2, s % 2);
                let want = [0, 1, 4, 5]
                    .iter()
                    .map(|d| y[b * 16 + qy * 8 + qx * 2 + d])
                    .fold(f32::NEG_INFINITY, f32::max);
                assert_eq!(maps[b * 4 + s], want);
                assert_eq!(rows[b * 4 + s], want);
                assert_eq!(flat[s * 3 + 1 + b], want + 0.5);
                assert!(flat[s * 3].is_nan(), "image 0 is not written");
                assert_eq!(ties[b * 4 + s].count_ones(), 1);
            }
        }
        // Window (0, 0) of image 0 is [0, 7, 28, 3]: the maximum 28 is entry (1, 0).
        assert_eq!(ties[0], 1 << 2);
        // A window of equal values: all four are maxima and each gets the whole gradient (candle).
        let flat_y = vec![1.0f32; 4];
        let (mut p, mut t) = (vec![0.0; 1], vec![0u8; 1]);
        max_pool(
            &flat_y,
            1,
            1,
            2,
            None,
            &mut p,
            Strides::maps(1, 1),
            Some(&mut t),
        );
        assert_eq!(t[0], 0b1111);
        let mut dy = vec![f32::NAN; 4];
        max_unpool(&[2.0], &t, 1, 1, 2, Strides::maps(1, 1), &mut dy);
        // Four tied maxima share the gradient evenly: the window passes on exactly 2.
        assert_eq!(dy, vec![0.5; 4]);
        // A unique maximum gets all of it, the rest nothing.
        let mut dy = vec![f32::NAN; 32];
        let d: Vec<f32> = (0..8).map(|v| v as f32).collect();
        max_unpool(&d, &ties, 1, 2, 4, rs, &mut dy);
        // Window (0, 1) of image 0 is [14, 21, 10, 17]: entry (0, 1), map index 3.
        assert_eq!(dy[3], 1.0);
        assert_eq!(dy[2], 0.0);
        assert_eq!(dy.iter().filter(|v| **v != 0.0).count(), 7);
        assert_eq!(dy.iter().sum::<f32>(), (0..8).sum::<i32>() as f32);
    }
}
