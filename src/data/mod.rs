//! Data: an in-memory labelled table, the built-in data sets, CSV and MNIST-format IDX files,
//! stratified splits and standardisation fitted on training rows only.

pub mod builtin;
pub mod csv;
pub mod idx;
pub mod split;
pub mod standardize;

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
    pub name: String,
    pub pool: Table,
    pub test: Option<Table>,
}

/// Load the data set an experiment names.
pub fn load(spec: &crate::config::DataSpec) -> crate::error::Result<Dataset> {
    match spec.source {
        crate::config::DataSource::Builtin => builtin::load(spec.name),
        crate::config::DataSource::Csv => {
            let path = spec.path.as_deref().unwrap_or_default();
            let mut ds = csv::load(std::path::Path::new(path), &spec.label)?;
            if let Some(tp) = &spec.test_path {
                let test = csv::load(std::path::Path::new(tp), &spec.label)?.pool;
                if test.d != ds.pool.d {
                    return Err(crate::error::Error::data(
                        tp,
                        format!(
                            "{} feature columns, but the training file has {}",
                            test.d, ds.pool.d
                        ),
                    ));
                }
                let classes = ds.pool.classes.max(test.classes);
                ds.pool.classes = classes;
                ds.test = Some(Table { classes, ..test });
            }
            Ok(ds)
        }
        crate::config::DataSource::Idx => idx::load(
            std::path::Path::new(spec.dir.as_deref().unwrap_or_default()),
            &spec.sha256,
            spec.limit,
        ),
    }
}
