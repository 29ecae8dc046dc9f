//! Data: an in-memory labelled table, the built-in data sets, CSV and MNIST-format IDX files,
//! CIFAR-10 binary batches, `prunecv data fetch`, stratified splits and standardisation fitted on
//! training rows only.

pub mod builtin;
pub mod cifar;
pub mod csv;
pub mod fetch;
pub mod idx;
pub mod split;
pub mod standardize;

#[cfg(test)]
mod fetch_tests;
#[cfg(test)]
mod fuzz_tests;

/// Dense row-major features with integer class labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// `n × d` features, row-major.
    pub x: Vec<f32>,
    /// `n` labels in `0..classes`.
    pub y: Vec<u32>,
    pub n: usize,
    pub d: usize,
    pub classes: usize,
}

impl Table {
    /// One row's features.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.x[i * self.d..(i + 1) * self.d]
    }

    /// The sub-table of the given rows, in that order.
    pub fn select(&self, rows: &[usize]) -> Table {
        let mut x = Vec::with_capacity(rows.len() * self.d);
        for &r in rows {
            x.extend_from_slice(self.row(r));
        }
        Table {
            x,
            y: rows.iter().map(|&r| self.y[r]).collect(),
            n: rows.len(),
            d: self.d,
            classes: self.classes,
        }
    }

    /// Per-class row counts.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut c = vec![0; self.classes];
        for &y in &self.y {
            c[y as usize] += 1;
        }
        c
    }
}

/// A loaded data set: the training pool and, when the data set has one, its own test split.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The data set's name (`digits`, `mnist`, the CSV file's stem, …); only tests read it.
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "read by the loaders' tests only")
    )]
    pub name: String,
    pub pool: Table,
    pub test: Option<Table>,
    /// Class names by class index, when the labels were names (CSV).
    pub class_names: Option<Vec<String>>,
}

/// Labels must be class indices 0…k−1, each present in the training file: a gap would be an
/// empty class (and one huge label would allocate billions of them).
fn check_class_indices(t: &Table, file: &str) -> crate::error::Result<()> {
    let mut seen = t.y.clone();
    seen.sort_unstable();
    seen.dedup();
    match seen.iter().enumerate().find(|&(i, &v)| v as usize != i) {
        Some((missing, _)) => Err(crate::error::Error::data(
            file,
            format!(
                "no row has label {missing}, but labels go up to {}; labels must be class \
                 indices 0…k−1, each present in the training file",
                seen.last().copied().unwrap_or_default()
            ),
        )),
        None => Ok(()),
    }
}

/// Every class named in `data.classes` must occur in the training file.
fn check_classes_present(ds: &Dataset, file: &str) -> crate::error::Result<()> {
    let counts = ds.pool.class_counts();
    match counts.iter().position(|&c| c == 0) {
        Some(i) => Err(crate::error::Error::data(
            file,
            format!(
                "class {:?} (data.classes) has no row in the training file",
                ds.class_names.as_ref().map_or("", |n| &n[i])
            ),
        )),
        None => Ok(()),
    }
}

/// Load the data set an experiment names. A file that cannot be read is bad input like a file
/// that cannot be parsed: both are [`Error::Data`](crate::error::Error::Data) naming the file.
pub fn load(spec: &crate::config::DataSpec) -> crate::error::Result<Dataset> {
    load_source(spec).map_err(|e| match e {
        crate::error::Error::Io { path, source, .. } => crate::error::Error::data(
            path.display().to_string(),
            format!("cannot read it: {source}"),
        ),
        e => e,
    })
}

fn load_source(spec: &crate::config::DataSpec) -> crate::error::Result<Dataset> {
    use crate::config::data::{IdxFiles, Source};
    match &spec.source {
        Source::Builtin { name, .. } => builtin::load(*name),
        Source::Csv(c) => load_csv(c),
        Source::Idx(i) => {
            let dir = match &i.files {
                IdxFiles::Dir(d) => d.into(),
                IdxFiles::Fetched(name) => fetch::fetched_dir(name.as_str())?,
            };
            idx::load(&dir, &i.sha256, i.limit)
        }
        Source::Cifar10 { dir, limit } => {
            let dir = match dir {
                Some(d) => d.into(),
                None => fetch::fetched_dir("cifar10")?,
            };
            cifar::load(&dir, *limit)
        }
    }
}

/// The CSV file and, when given, its test file, whose labels map to the training file's classes.
fn load_csv(spec: &crate::config::data::CsvSource) -> crate::error::Result<Dataset> {
    let path = spec.path.as_str();
    let mut ds = csv::load(std::path::Path::new(path), &spec.options)?;
    if ds.class_names.is_none() {
        check_class_indices(&ds.pool, path)?;
    } else {
        check_classes_present(&ds, path)?;
    }
    if let Some(tp) = &spec.test_path {
        let opts = csv::CsvOptions {
            classes: ds.class_names.clone(),
            ..spec.options.clone()
        };
        let test = csv::load(std::path::Path::new(tp), &opts)?.pool;
        if test.d != ds.pool.d {
            return Err(crate::error::Error::data(
                tp,
                format!(
                    "{} feature columns, but the training file has {}",
                    test.d, ds.pool.d
                ),
            ));
        }
        if test.classes > ds.pool.classes {
            return Err(crate::error::Error::data(
                tp,
                format!(
                    "label {} never occurs in the training file (its labels are 0…{})",
                    test.classes - 1,
                    ds.pool.classes - 1
                ),
            ));
        }
        let classes = ds.pool.classes;
        ds.test = Some(Table { classes, ..test });
    }
    Ok(ds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(path: &str, test_path: Option<&str>) -> crate::config::DataSpec {
        let yaml = "name: t\ndata: {source: csv, path: a.csv}\n";
        let mut d = crate::config::parse(yaml, "t.yaml", &[]).unwrap().data;
        let crate::config::data::Source::Csv(c) = &mut d.source else {
            panic!("a CSV source")
        };
        c.path = path.into();
        c.test_path = test_path.map(Into::into);
        d
    }

    #[test]
    fn labels_must_be_dense_class_indices_seen_in_training() {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p.display().to_string()
        };
        let ok = file("ok.csv", "1,0\n2,1\n3,2\n");
        assert_eq!(load(&spec(&ok, None)).unwrap().pool.classes, 3);
        // Label 2 is missing from 0, 1, 3; a label near u32::MAX is refused, not allocated.
        let gap = file("gap.csv", "1,0\n2,1\n3,3\n");
        let err = load(&spec(&gap, None)).unwrap_err().to_string();
        assert!(
            err.contains("gap.csv") && err.contains("no row has label 2, but labels go up to 3"),
            "{err}"
        );
        let huge = file("huge.csv", "1,0\n2,4294967295\n");
        let err = load(&spec(&huge, None)).unwrap_err().to_string();
        assert!(err.contains("no row has label 1"), "{err}");
        // A test file may lack classes, but not show one the training file never does.
        let test_ok = file("t1.csv", "1,0\n2,2\n");
        let ds = load(&spec(&ok, Some(&test_ok))).unwrap();
        assert_eq!((ds.pool.classes, ds.test.unwrap().classes), (3, 3));
        let test_bad = file("t2.csv", "1,0\n2,3\n");
        let err = load(&spec(&ok, Some(&test_bad))).unwrap_err().to_string();
        assert!(
            err.contains("t2.csv") && err.contains("label 3 never occurs"),
            "{err}"
        );
    }
}
