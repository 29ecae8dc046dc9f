//! `data.source: csv`: numeric features and an integer class label per row. A header row is
//! detected when its first line has a non-numeric cell. Every problem names the file, the row
//! (1-based, as an editor shows it) and the column.

use super::{Dataset, Table};
use crate::error::{Error, Result};
use std::path::Path;

/// Read a CSV data set; `label` is `last`, a 0-based column index or a header name.
pub fn load(path: &Path, label: &str) -> Result<Dataset> {
    let file = path.display().to_string();
    let bytes = crate::fsio::read(path)?;
    let text = String::from_utf8(bytes).map_err(|_| Error::data(&file, "not UTF-8 text"))?;
    let table = parse(&text, label, &file)?;
    Ok(Dataset {
        name: path
            .file_stem()
            .map_or("csv".into(), |s| s.to_string_lossy().into_owned()),
        pool: table,
        test: None,
    })
}

/// Parse CSV text (see [`load`]).
pub fn parse(text: &str, label: &str, file: &str) -> Result<Table> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .peekable();
    let first = lines
        .peek()
        .map(|(_, l)| {
            l.split(',')
                .map(|c| c.trim().to_string())
                .collect::<Vec<_>>()
        })
        .ok_or_else(|| Error::data(file, "no rows"))?;
    let header = first.iter().any(|c| c.parse::<f64>().is_err());
    if header {
        lines.next();
    }
    let width = first.len();
    if width < 2 {
        return Err(Error::data(
            file,
            "need at least one feature column and a label column",
        ));
    }
    let label_col = match label {
        "last" => width - 1,
        s => match s.parse::<usize>() {
            Ok(i) if i < width => i,
            Ok(i) => {
                return Err(Error::data(
                    file,
                    format!(
                    "data.label: column index {i} is out of range (the file has {width} columns)"
                ),
                ))
            }
            Err(_) if header => first.iter().position(|h| h == s).ok_or_else(|| {
                Error::data(
                    file,
                    format!(
                        "data.label: no column named {s:?}; columns are {}",
                        first.join(", ")
                    ),
                )
            })?,
            Err(_) => {
                return Err(Error::data(
                    file,
                    format!("data.label: {s:?} names a column, but the file has no header row"),
                ))
            }
        },
    };
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for (ln, line) in lines {
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        if cells.len() != width {
            return Err(Error::data(
                file,
                format!(
                    "row {}: {} columns, expected {width} (ragged row)",
                    ln + 1,
                    cells.len()
                ),
            ));
        }
        for (j, c) in cells.iter().enumerate() {
            if j == label_col {
                let v: u32 = c.parse().map_err(|_| {
                    Error::data(
                        file,
                        format!(
                            "row {}, column {}: label {c:?} is not a class index (0, 1, 2, ...)",
                            ln + 1,
                            j + 1
                        ),
                    )
                })?;
                y.push(v);
            } else {
                let v: f32 = c
                    .parse()
                    .ok()
                    .filter(|v: &f32| v.is_finite())
                    .ok_or_else(|| {
                        Error::data(
                            file,
                            format!(
                                "row {}, column {}: {c:?} is not a finite number",
                                ln + 1,
                                j + 1
                            ),
                        )
                    })?;
                x.push(v);
            }
        }
    }
    let classes = y.iter().max().map_or(0, |m| *m as usize + 1);
    let distinct = {
        let mut v = y.clone();
        v.sort_unstable();
        v.dedup();
        v.len()
    };
    if distinct < 2 {
        return Err(Error::data(
            file,
            format!("the label column holds {distinct} class(es); at least 2 are needed"),
        ));
    }
    Ok(Table {
        n: y.len(),
        x,
        y,
        d: width - 1,
        classes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_label_by_name_and_index() {
        let t = parse("a,cls,b\n1,0,2\n3,1,4\n", "cls", "f.csv").unwrap();
        assert_eq!((t.n, t.d, t.classes), (2, 2, 2));
        assert_eq!(t.x, vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(t.y, vec![0, 1]);
        let t = parse("1,0,2\n3,1,4\n", "last", "f.csv").unwrap();
        assert_eq!(t.y, vec![2, 4]);
        assert_eq!(parse("1,0,2\n3,1,4\n", "1", "f.csv").unwrap().y, vec![0, 1]);
    }

    #[test]
    fn malformed_input_names_file_row_and_column() {
        let e = parse("1,2,0\n1,x,1\n", "last", "f.csv")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "f.csv: row 2, column 2: \"x\" is not a finite number");
        let e = parse("1,2,0\n1,1\n", "last", "f.csv")
            .unwrap_err()
            .to_string();
        assert!(e.contains("row 2") && e.contains("ragged"), "{e}");
        let e = parse("1,2,0\n1,1,\n", "last", "f.csv")
            .unwrap_err()
            .to_string();
        assert!(e.contains("row 2, column 3") && e.contains("label"), "{e}");
        let e = parse("1,2,0\n1,1,0\n", "last", "f.csv")
            .unwrap_err()
            .to_string();
        assert!(e.contains("at least 2"), "{e}");
        let e = parse("a,b\n1,0\n2,1\n", "c", "f.csv")
            .unwrap_err()
            .to_string();
        assert!(e.contains("no column named \"c\""), "{e}");
    }
}
