//! The data sets compiled into the binary: scikit-learn's copies of UCI digits and iris
//! (BSD-3-Clause; see `src/data/builtin/README.md`).

use super::{Dataset, Table};
use crate::config::BuiltinName;
use crate::error::{Error, Result};
use std::io::Read;

const DIGITS_GZ: &[u8] = include_bytes!("builtin/digits.csv.gz");
const IRIS_CSV: &str = include_str!("builtin/iris.csv");

/// Load a built-in data set. Both ship without their own test split.
pub fn load(name: BuiltinName) -> Result<Dataset> {
    let (label, text) = match name {
        BuiltinName::Digits => {
            let mut s = String::new();
            flate2::read::GzDecoder::new(DIGITS_GZ)
                .read_to_string(&mut s)
                .map_err(|e| Error::data("builtin:digits", format!("cannot decompress: {e}")))?;
            ("builtin:digits", s)
        }
        BuiltinName::Iris => {
            // First line is a header "150,4,setosa,versicolor,virginica".
            let body = IRIS_CSV.split_once('\n').map(|x| x.1).unwrap_or("");
            ("builtin:iris", body.to_string())
        }
    };
    let pool = parse_numeric_csv(&text, label)?;
    Ok(Dataset {
        name: label.trim_start_matches("builtin:").to_string(),
        pool,
        test: None,
    })
}

/// Parse header-less numeric CSV whose last column is an integer class label.
fn parse_numeric_csv(text: &str, file: &str) -> Result<Table> {
    let mut x = Vec::new();
    let mut y = Vec::new();
    let mut d = None;
    for (ln, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split(',').collect();
        let width = *d.get_or_insert(cells.len() - 1);
        if cells.len() - 1 != width {
            return Err(Error::data(file, format!("row {}: ragged row", ln + 1)));
        }
        for (j, c) in cells[..width].iter().enumerate() {
            let v: f32 = c.trim().parse().map_err(|_| {
                Error::data(
                    file,
                    format!("row {}, column {}: not a number: {c:?}", ln + 1, j + 1),
                )
            })?;
            x.push(v);
        }
        let lab: u32 = cells[width].trim().parse().map_err(|_| {
            Error::data(file, format!("row {}: label is not a class index", ln + 1))
        })?;
        y.push(lab);
    }
    let d = d.unwrap_or(0);
    let classes = y.iter().max().map(|m| *m as usize + 1).unwrap_or(0);
    Ok(Table {
        n: y.len(),
        x,
        y,
        d,
        classes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_has_published_shape_and_class_counts() {
        let d = load(BuiltinName::Digits).unwrap();
        assert_eq!((d.pool.n, d.pool.d, d.pool.classes), (1797, 64, 10));
        assert_eq!(
            d.pool.class_counts(),
            vec![178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
        );
        assert_eq!(&d.pool.row(0)[..5], &[0.0, 0.0, 5.0, 13.0, 9.0]);
    }

    #[test]
    fn iris_has_published_shape() {
        let d = load(BuiltinName::Iris).unwrap();
        assert_eq!((d.pool.n, d.pool.d, d.pool.classes), (150, 4, 3));
        assert_eq!(d.pool.class_counts(), vec![50, 50, 50]);
    }
}
