//! Learning-rate schedules (`train.lr_schedule`): the rate of each epoch of a training phase.
//!
//! A schedule spans one phase — dense training, fine-tuning, one iterative round, rewound
//! retraining — from its own base rate (`train.lr`, or `lr_scale × train.lr`) over its own
//! epochs. Rates change between epochs, as PyTorch's `StepLR`, `MultiStepLR` and
//! `CosineAnnealingLR` stepped once per epoch:
//! - `constant`: `lr` every epoch (the default; bit-identical to training without a schedule);
//! - `step` with `every: s`: `lr · γ^⌊e / s⌋`; with `milestones: [m₁, m₂, …]`: `lr · γ^k`, k the
//!   number of milestones ≤ e;
//! - `cosine`: `η_min + (lr − η_min)(1 + cos(π e / E)) / 2`, `η_min = min_lr_scale · lr`, E the
//!   phase's epochs (epoch 0 runs at `lr`).

use serde::Serialize;

/// A resolved learning-rate schedule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum LrSchedule {
    Constant,
    /// Multiply by `gamma` every `every` epochs.
    Step {
        every: usize,
        gamma: f64,
    },
    /// Multiply by `gamma` at each milestone epoch (sorted, distinct).
    MultiStep {
        milestones: Vec<usize>,
        gamma: f64,
    },
    /// Cosine annealing from the base rate to `min_scale ×` it over the phase.
    Cosine {
        min_scale: f64,
    },
}

impl LrSchedule {
    /// The `train.lr_schedule` section that gives this schedule; `None` for constant.
    pub fn to_raw(&self) -> Option<crate::config::raw::RawLrSchedule> {
        use crate::config::{raw::RawLrSchedule, LrScheduleKind};
        match self {
            LrSchedule::Constant => None,
            LrSchedule::Step { every, gamma } => Some(RawLrSchedule {
                kind: Some(LrScheduleKind::Step),
                every: Some(*every),
                gamma: Some(*gamma),
                ..RawLrSchedule::default()
            }),
            LrSchedule::MultiStep { milestones, gamma } => Some(RawLrSchedule {
                kind: Some(LrScheduleKind::Step),
                milestones: Some(milestones.clone()),
                gamma: Some(*gamma),
                ..RawLrSchedule::default()
            }),
            LrSchedule::Cosine { min_scale } => Some(RawLrSchedule {
                kind: Some(LrScheduleKind::Cosine),
                min_lr_scale: Some(*min_scale),
                ..RawLrSchedule::default()
            }),
        }
    }

    /// The rate of epoch `epoch` (0-based) of a phase of `epochs` epochs starting at `base`.
    pub fn rate(&self, base: f64, epoch: usize, epochs: usize) -> f64 {
        match self {
            LrSchedule::Constant => base,
            LrSchedule::Step { every, gamma } => base * gamma.powi((epoch / every) as i32),
            LrSchedule::MultiStep { milestones, gamma } => {
                let passed = milestones.iter().filter(|&&m| m <= epoch).count();
                base * gamma.powi(passed as i32)
            }
            LrSchedule::Cosine { min_scale } => {
                let min = min_scale * base;
                let t = epoch as f64 / epochs.max(1) as f64;
                // Written from the base down, so that epoch 0 runs at exactly `base`.
                base - (base - min) * (1.0 - (std::f64::consts::PI * t).cos()) / 2.0
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rates_by_hand() {
        let s = LrSchedule::Step {
            every: 2,
            gamma: 0.5,
        };
        let r: Vec<f64> = (0..5).map(|e| s.rate(0.08, e, 5)).collect();
        assert_eq!(r, vec![0.08, 0.08, 0.04, 0.04, 0.02]);
        let m = LrSchedule::MultiStep {
            milestones: vec![1, 3],
            gamma: 0.1,
        };
        let r: Vec<f64> = (0..4).map(|e| m.rate(1.0, e, 4)).collect();
        assert_eq!(r, vec![1.0, 0.1, 0.1, 0.1f64 * 0.1]);
        // Cosine over 4 epochs from 1.0 to 0.2: (1 + cos(π e / 4)) / 2 = 1, 0.8536, 0.5, 0.1464.
        let c = LrSchedule::Cosine { min_scale: 0.2 };
        let want = [
            1.0,
            0.2 + 0.8 * 0.853_553_390_593_273_7,
            0.6,
            0.2 + 0.8 * 0.146_446_609_406_726_3,
        ];
        for (e, w) in want.iter().enumerate() {
            assert!((c.rate(1.0, e, 4) - w).abs() < 1e-12, "epoch {e}");
        }
        assert_eq!(LrSchedule::Constant.rate(0.05, 7, 10), 0.05);
    }

    proptest! {
        /// Step: each epoch's rate is the base times γ to the number of completed periods, so
        /// it never increases (γ ≤ 1) and is constant within a period.
        #[test]
        fn step_rate_is_gamma_to_completed_periods(
            base in 1e-4f64..1.0, gamma in 0.01f64..1.0, every in 1usize..10, epochs in 1usize..60
        ) {
            let s = LrSchedule::Step { every, gamma };
            for e in 0..epochs {
                let r = s.rate(base, e, epochs);
                prop_assert!((r - base * gamma.powi((e / every) as i32)).abs() <= 1e-15 * base);
                if e > 0 {
                    prop_assert!(r <= s.rate(base, e - 1, epochs));
                }
                if e % every != 0 {
                    prop_assert_eq!(r, s.rate(base, e - 1, epochs));
                }
            }
        }

        /// Cosine: starts at the base, never increases, stays within [η_min, base], and is
        /// symmetric about the half-way point: rate(e) + rate(E − e) = base + η_min.
        #[test]
        fn cosine_rate_anneals_symmetrically(
            base in 1e-4f64..1.0, min_scale in 0.0f64..1.0, epochs in 1usize..80
        ) {
            let s = LrSchedule::Cosine { min_scale };
            let min = min_scale * base;
            prop_assert_eq!(s.rate(base, 0, epochs), base);
            for e in 0..=epochs {
                let r = s.rate(base, e, epochs);
                prop_assert!(r >= min - 1e-12 && r <= base + 1e-12);
                if e > 0 {
                    prop_assert!(r <= s.rate(base, e - 1, epochs) + 1e-15);
                }
                let mirror = s.rate(base, epochs - e, epochs);
                prop_assert!((r + mirror - (base + min)).abs() < 1e-12);
            }
        }
    }
}
