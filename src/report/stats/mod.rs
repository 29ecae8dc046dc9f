//! Small, dependency-free statistics for paired comparisons of pruning methods on shared folds:
//! the Student t and normal distributions ([`student`]), the Wilcoxon signed-rank test with
//! exact p-values ([`wilcoxon`]) and Holm's step-down correction ([`holm`]).
//!
//! Everything is computed here (no statistics crate): the t CDF through the regularised
//! incomplete beta function (Lentz's continued fraction, log-gamma by Lanczos), the normal CDF
//! through a Chebyshev fit of erfc (relative error below 1.2e-7), and the Wilcoxon null
//! distribution by exact enumeration of sign patterns (a dynamic programme over rank sums, ties
//! included) for up to [`wilcoxon::EXACT_MAX_N`] non-zero differences.

pub mod holm;
pub mod student;
pub mod wilcoxon;
