//! The data sets compiled into the binary: scikit-learn's copies of UCI digits and iris
//! (BSD-3-Clause; see `src/data/builtin/README.md`).

use super::Dataset;
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
        // Its first line, "150,4,setosa,versicolor,virginica", is read as a header.
        BuiltinName::Iris => ("builtin:iris", IRIS_CSV.to_string()),
    };
    let pool = super::csv::parse(&text, &super::csv::CsvOptions::default(), label)?.table;
    Ok(Dataset {
        name: label.trim_start_matches("builtin:").to_string(),
        pool,
        test: None,
        class_names: None,
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
