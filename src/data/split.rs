//! Stratified splits from seeded RNGs: the holdout test split (carved off first) and the
//! k-fold assignment of the remaining training pool.

use crate::rng::Rng;

/// Indices of the training pool and of the test split, both ascending.
#[derive(Debug, Clone, PartialEq)]
pub struct Holdout {
    pub pool: Vec<usize>,
    pub test: Vec<usize>,
}

fn by_class(y: &[u32], classes: usize) -> Vec<Vec<usize>> {
    let mut groups = vec![Vec::new(); classes];
    for (i, &c) in y.iter().enumerate() {
        groups[c as usize].push(i);
    }
    groups
}

/// Carve a stratified fraction `frac` of rows off as the test split: round(frac × count) rows of
/// every class.
pub fn holdout(y: &[u32], classes: usize, frac: f64, rng: &mut Rng) -> Holdout {
    let mut pool = Vec::new();
    let mut test = Vec::new();
    for mut g in by_class(y, classes) {
        rng.shuffle(&mut g);
        let k = (frac * g.len() as f64).round() as usize;
        test.extend_from_slice(&g[..k]);
        pool.extend_from_slice(&g[k..]);
    }
    pool.sort_unstable();
    test.sort_unstable();
    Holdout { pool, test }
}

/// Assign each row (by position in `y`) to one of `k` folds so that every class is spread as
/// evenly as possible: per class, fold counts differ by at most one, and the starting fold
/// rotates between classes so fold sizes also differ by at most one overall.
pub fn stratified_folds(y: &[u32], classes: usize, k: usize, rng: &mut Rng) -> Vec<usize> {
    let mut fold = vec![0; y.len()];
    let mut offset = 0;
    for mut g in by_class(y, classes) {
        rng.shuffle(&mut g);
        for (j, &i) in g.iter().enumerate() {
            fold[i] = (offset + j) % k;
        }
        offset = (offset + g.len()) % k;
    }
    fold
}

/// Positions (into the pool) of the training and validation rows of fold `f`.
pub fn fold_rows(fold_of: &[usize], f: usize) -> (Vec<usize>, Vec<usize>) {
    let mut train = Vec::new();
    let mut val = Vec::new();
    for (i, &g) in fold_of.iter().enumerate() {
        if g == f {
            val.push(i);
        } else {
            train.push(i);
        }
    }
    (train, val)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<u32> {
        // 3 classes with 10, 7 and 13 members, interleaved.
        let mut y = Vec::new();
        y.extend(std::iter::repeat_n(0, 10));
        y.extend(std::iter::repeat_n(1, 7));
        y.extend(std::iter::repeat_n(2, 13));
        Rng::new(5).shuffle(&mut y);
        y
    }

    #[test]
    fn folds_are_stratified_per_class() {
        let y = labels();
        let fold = stratified_folds(&y, 3, 4, &mut Rng::new(1));
        for c in 0..3u32 {
            let mut per_fold = [0usize; 4];
            for (i, &f) in fold.iter().enumerate() {
                if y[i] == c {
                    per_fold[f] += 1;
                }
            }
            let (mn, mx) = (
                per_fold.iter().min().unwrap(),
                per_fold.iter().max().unwrap(),
            );
            assert!(mx - mn <= 1, "class {c}: {per_fold:?}");
        }
        let mut sizes = [0usize; 4];
        fold.iter().for_each(|&f| sizes[f] += 1);
        // 30 rows into 4 folds: 8, 8, 7, 7 in some order.
        let mut s = sizes.to_vec();
        s.sort();
        assert_eq!(s, vec![7, 7, 8, 8]);
    }

    #[test]
    fn holdout_is_stratified_disjoint_and_complete() {
        let y = labels();
        let h = holdout(&y, 3, 0.2, &mut Rng::new(2));
        let count = |rows: &[usize], c: u32| rows.iter().filter(|&&i| y[i] == c).count();
        assert_eq!(count(&h.test, 0), 2);
        assert_eq!(count(&h.test, 1), 1); // round(1.4)
        assert_eq!(count(&h.test, 2), 3); // round(2.6)
        let mut all: Vec<usize> = h.pool.iter().chain(&h.test).copied().collect();
        all.sort();
        assert_eq!(all, (0..30).collect::<Vec<_>>());
    }

    #[test]
    fn fold_rows_partition() {
        let (tr, va) = fold_rows(&[0, 1, 0, 2, 1], 1);
        assert_eq!(tr, vec![0, 2, 3]);
        assert_eq!(va, vec![1, 4]);
    }

    #[test]
    fn same_seed_same_split() {
        let y = labels();
        assert_eq!(
            stratified_folds(&y, 3, 5, &mut Rng::new(9)),
            stratified_folds(&y, 3, 5, &mut Rng::new(9))
        );
        assert_ne!(
            stratified_folds(&y, 3, 5, &mut Rng::new(9)),
            stratified_folds(&y, 3, 5, &mut Rng::new(10))
        );
    }
}
