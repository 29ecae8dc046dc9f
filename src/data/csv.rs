//! `data.source: csv`: numeric feature columns and one class-label column per row, read the way
//! real files are written: a header or not, description lines before it, `,` `;` tab or `|`
//! separators, quoted cells, and labels that are class indices or class names.
//!
//! Labels become classes in a stated order: class indices `0…k−1` as they are when every label
//! is one; otherwise the distinct names sorted by their bytes (as Python's `sorted` and
//! scikit-learn's `LabelEncoder` order them), or the order of `data.classes` when it is given.
//! Every problem names the file, the row (1-based, as an editor shows it) and the column.

use super::{Dataset, Table};
use crate::config::{ColumnRef, HeaderMode};
use crate::error::{Error, Result};
use serde::Serialize;
use std::path::Path;

/// How to read a CSV file: the `data` fields of `source: csv`, resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CsvOptions {
    /// The label column: `last`, `first`, a 0-based index or a header name.
    pub label: String,
    /// Whether the first row read is a header.
    pub header: HeaderMode,
    /// Lines skipped before the header or the first row (a description line, say).
    pub skip_rows: usize,
    /// The separator; `None` detects it from the first row read.
    pub delimiter: Option<u8>,
    /// Feature columns, in this order (default: every column but the label and `drop`).
    pub features: Option<Vec<ColumnRef>>,
    /// Columns that are neither features nor the label.
    pub drop: Vec<ColumnRef>,
    /// Class names in class-index order; labels are then matched against them as text.
    pub classes: Option<Vec<String>>,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            label: "last".into(),
            header: HeaderMode::Auto,
            skip_rows: 0,
            delimiter: None,
            features: None,
            drop: Vec::new(),
            classes: None,
        }
    }
}

impl CsvOptions {
    /// Options with only the label column set.
    #[cfg(test)]
    pub fn with_label(label: &str) -> Self {
        CsvOptions {
            label: label.into(),
            ..CsvOptions::default()
        }
    }
}

/// A parsed file: the table and, when labels were names, the class names by index.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub table: Table,
    pub class_names: Option<Vec<String>>,
}

/// Separators tried by detection, in order of preference when several fit.
const DETECTED: [u8; 4] = [b'\t', b';', b',', b'|'];

/// Read a CSV data set (see [`parse`]).
pub fn load(path: &Path, opts: &CsvOptions) -> Result<Dataset> {
    let file = path.display().to_string();
    let bytes = crate::fsio::read(path)?;
    let text = String::from_utf8(bytes).map_err(|_| Error::data(&file, "not UTF-8 text"))?;
    let parsed = parse(&text, opts, &file)?;
    Ok(Dataset {
        name: path
            .file_stem()
            .map_or("csv".into(), |s| s.to_string_lossy().into_owned()),
        pool: parsed.table,
        test: None,
        class_names: parsed.class_names,
    })
}

/// The separator of `line`: the first of tab, `;`, `,`, `|` that occurs in it (outside quotes
/// the count barely matters: a `;` file with decimal commas still has `;` in every line).
fn detect_delimiter(line: &str) -> u8 {
    DETECTED
        .into_iter()
        .find(|&d| line.as_bytes().contains(&d))
        .unwrap_or(b',')
}

/// One row of trimmed cells with its 1-based line number.
struct Row {
    line: usize,
    cells: ::csv::StringRecord,
}

/// The rows of `text` after `skip` lines, streamed; blank lines are skipped.
fn rows<'a>(
    text: &'a str,
    skip: usize,
    delimiter: u8,
    file: &'a str,
) -> impl Iterator<Item = Result<Row>> + 'a {
    let mut body = text;
    for _ in 0..skip {
        body = body.split_once('\n').map_or("", |(_, rest)| rest);
    }
    ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .trim(::csv::Trim::All)
        .from_reader(body.as_bytes())
        .into_records()
        .filter_map(move |rec| match rec {
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize) + skip;
                Some(Err(Error::data(file, format!("row {line}: {e}"))))
            }
            Ok(r) if r.iter().all(str::is_empty) => None,
            Ok(r) => Some(Ok(Row {
                line: r.position().map_or(0, |p| p.line() as usize) + skip,
                cells: r,
            })),
        })
}

fn is_number(c: &str) -> bool {
    c.parse::<f64>().is_ok()
}

/// `auto`: the first row is a header when one of its cells is not a number but the cell below
/// it is (a label column of names is text in every row, so it decides nothing).
fn has_header(mode: HeaderMode, rows: &[Row]) -> bool {
    match mode {
        HeaderMode::Yes => true,
        HeaderMode::No => false,
        HeaderMode::Auto => match rows {
            [] => false,
            [only] => only.cells.iter().any(|c| !is_number(c)),
            [first, second, ..] => first
                .cells
                .iter()
                .zip(&second.cells)
                .any(|(a, b)| !is_number(a) && is_number(b)),
        },
    }
}

/// Resolves column references against the header (if any) and the width.
struct Columns<'a> {
    header: Option<Vec<&'a str>>,
    width: usize,
    /// Line of the header (or of the first row), for messages.
    line: usize,
    file: &'a str,
}

impl Columns<'_> {
    fn err(&self, field: &str, msg: String) -> Error {
        Error::data(self.file, format!("row {}: data.{field}: {msg}", self.line))
    }

    fn resolve(&self, field: &str, c: &ColumnRef) -> Result<usize> {
        match c {
            ColumnRef::Index(i) if *i < self.width => Ok(*i),
            ColumnRef::Index(i) => Err(self.err(
                field,
                format!(
                    "column index {i} is out of range (the file has {} columns, 0…{})",
                    self.width,
                    self.width - 1
                ),
            )),
            ColumnRef::Name(s) => match &self.header {
                Some(h) => h.iter().position(|x| x == s).ok_or_else(|| {
                    self.err(
                        field,
                        format!("no column named {s:?}; columns are {}", h.join(", ")),
                    )
                }),
                None => Err(self.err(
                    field,
                    format!(
                        "{s:?} names a column, but the file has no header row \
                         (set data.header: yes if its first row is one)"
                    ),
                )),
            },
        }
    }

    fn label(&self, label: &str) -> Result<usize> {
        match label {
            "last" => Ok(self.width - 1),
            "first" => Ok(0),
            s => match s.parse::<usize>() {
                Ok(i) => self.resolve("label", &ColumnRef::Index(i)),
                Err(_) => self.resolve("label", &ColumnRef::Name(s.into())),
            },
        }
    }

    /// Feature columns in order: `features` as listed, else every column but the label and
    /// `drop`, in file order.
    fn features(&self, label: usize, opts: &CsvOptions) -> Result<Vec<usize>> {
        let drop = opts
            .drop
            .iter()
            .map(|c| self.resolve("drop", c))
            .collect::<Result<Vec<_>>>()?;
        if drop.contains(&label) {
            return Err(self.err("drop", "drops the label column".into()));
        }
        let cols = match &opts.features {
            Some(list) => {
                let cols = list
                    .iter()
                    .map(|c| self.resolve("features", c))
                    .collect::<Result<Vec<_>>>()?;
                if let Some(c) = cols.iter().find(|c| **c == label || drop.contains(c)) {
                    let what = if *c == label { "label" } else { "a dropped" };
                    return Err(self.err(
                        "features",
                        format!("column {c} is the {what} column, not a feature"),
                    ));
                }
                let mut seen = cols.clone();
                seen.sort_unstable();
                if let Some(w) = seen.windows(2).find(|w| w[0] == w[1]) {
                    return Err(self.err("features", format!("column {} is listed twice", w[0])));
                }
                cols
            }
            None => (0..self.width)
                .filter(|c| *c != label && !drop.contains(c))
                .collect(),
        };
        if cols.is_empty() {
            return Err(self.err("features", "no feature column is left".into()));
        }
        Ok(cols)
    }
}

/// Parse CSV text into a table (see the module docs for how labels become classes).
pub fn parse(text: &str, opts: &CsvOptions, file: &str) -> Result<Parsed> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let delimiter = opts.delimiter.unwrap_or_else(|| {
        let first = text
            .lines()
            .skip(opts.skip_rows)
            .find(|l| !l.trim().is_empty());
        detect_delimiter(first.unwrap_or(""))
    });
    let mut rows = rows(text, opts.skip_rows, delimiter, file);
    let mut head = rows.by_ref().take(2).collect::<Result<Vec<Row>>>()?;
    if head.is_empty() {
        return Err(Error::data(file, "no rows"));
    }
    let header_row = has_header(opts.header, &head).then(|| head.remove(0));
    let first = header_row.as_ref().or(head.first());
    let Some(first) = first else {
        return Err(Error::data(file, "no data rows after the header"));
    };
    let width = first.cells.len();
    if width < 2 {
        return Err(Error::data(
            file,
            format!(
                "row {}: one column; need at least one feature column and a label column \
                 (separator {:?}; set data.delimiter if it is another)",
                first.line, delimiter as char
            ),
        ));
    }
    let columns = Columns {
        header: header_row.as_ref().map(|h| h.cells.iter().collect()),
        width,
        line: first.line,
        file,
    };
    let label_col = columns.label(&opts.label)?;
    let feature_cols = columns.features(label_col, opts)?;
    let mut x = Vec::new();
    let mut labels: Vec<(usize, String)> = Vec::new();
    let first_line = first.line;
    for row in head.into_iter().map(Ok).chain(rows) {
        let row = row?;
        // Text in the first rows is often a description or header line the options missed.
        let hint = if row.line <= first_line + 1 {
            " (if the file starts with lines that are not data, set data.skip_rows or data.header)"
        } else {
            ""
        };
        if row.cells.len() != width {
            return Err(Error::data(
                file,
                format!(
                    "row {}: {} columns, expected {width} (ragged row)",
                    row.line,
                    row.cells.len()
                ),
            ));
        }
        for &j in &feature_cols {
            let c = &row.cells[j];
            let v: f32 = c
                .parse()
                .ok()
                .filter(|v: &f32| v.is_finite())
                .ok_or_else(|| {
                    Error::data(
                        file,
                        format!(
                            "row {}, column {}: {c:?} is not a finite number{hint}",
                            row.line,
                            j + 1
                        ),
                    )
                })?;
            x.push(v);
        }
        let label = &row.cells[label_col];
        if label.is_empty() {
            return Err(Error::data(
                file,
                format!(
                    "row {}, column {}: the label is empty",
                    row.line,
                    label_col + 1
                ),
            ));
        }
        labels.push((row.line, label.to_string()));
    }
    if labels.is_empty() {
        return Err(Error::data(file, "no data rows after the header"));
    }
    let (y, class_names) = classes(&labels, label_col, opts.classes.as_deref(), file)?;
    let classes = class_names
        .as_ref()
        .map_or_else(|| y.iter().max().map_or(0, |m| *m as usize + 1), Vec::len);
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
    Ok(Parsed {
        table: Table {
            n: y.len(),
            x,
            y,
            d: feature_cols.len(),
            classes,
        },
        class_names,
    })
}

/// Labels → class indices: against `given` names when set; as indices when every label is one;
/// else as names in sorted order.
fn classes(
    labels: &[(usize, String)],
    col: usize,
    given: Option<&[String]>,
    file: &str,
) -> Result<(Vec<u32>, Option<Vec<String>>)> {
    let names: Vec<String> = match given {
        Some(g) => g.to_vec(),
        None => {
            let is_index = |l: &str| l.parse::<u32>().is_ok();
            if labels.iter().all(|(_, l)| is_index(l)) {
                let y = labels.iter().map(|(_, l)| l.parse().expect("checked"));
                return Ok((y.collect(), None));
            }
            // Some indices and some names is most likely a typo, not a class of its own.
            let numeric = labels.iter().find(|(_, l)| is_index(l));
            if let (Some((nl, n)), Some((tl, t))) =
                (numeric, labels.iter().find(|(_, l)| !is_index(l)))
            {
                return Err(Error::data(
                    file,
                    format!(
                        "row {tl}, column {}: label {t:?} is a name, but row {nl} has the \
                         class index {n:?}; labels must be all indices or all names (list \
                         the names in data.classes to use both as names)",
                        col + 1
                    ),
                ));
            }
            let mut v: Vec<String> = labels.iter().map(|(_, l)| l.to_string()).collect();
            v.sort_unstable();
            v.dedup();
            v
        }
    };
    let index: std::collections::HashMap<&str, u32> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i as u32))
        .collect();
    let y = labels
        .iter()
        .map(|(line, l)| {
            index.get(l.as_str()).copied().ok_or_else(|| {
                let shown: Vec<&str> = names.iter().take(20).map(String::as_str).collect();
                Error::data(
                    file,
                    format!(
                        "row {line}, column {}: label {l:?} is not one of the classes {}{}",
                        col + 1,
                        shown.join(", "),
                        if names.len() > 20 { ", …" } else { "" }
                    ),
                )
            })
        })
        .collect::<Result<Vec<u32>>>()?;
    Ok((y, Some(names)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str, label: &str) -> Result<Table> {
        parse(text, &CsvOptions::with_label(label), "f.csv").map(|p| p.table)
    }

    #[test]
    fn header_label_by_name_and_index() {
        let t = p("a,cls,b\n1,0,2\n3,1,4\n", "cls").unwrap();
        assert_eq!((t.n, t.d, t.classes), (2, 2, 2));
        assert_eq!(t.x, vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(t.y, vec![0, 1]);
        let t = p("1,0,2\n3,1,4\n", "last").unwrap();
        assert_eq!(t.y, vec![2, 4]);
        assert_eq!(p("1,0,2\n3,1,4\n", "1").unwrap().y, vec![0, 1]);
        assert_eq!(
            p("0,5,2\n1,3,4\n", "first").unwrap().x,
            vec![5., 2., 3., 4.]
        );
    }

    #[test]
    fn malformed_input_names_file_row_and_column() {
        let e = p("1,2,0\n3,4,1\n1,x,1\n", "last").unwrap_err().to_string();
        assert_eq!(e, "f.csv: row 3, column 2: \"x\" is not a finite number");
        let e = p("1,2,0\n1,1\n", "last").unwrap_err().to_string();
        assert_eq!(e, "f.csv: row 2: 2 columns, expected 3 (ragged row)");
        let e = p("1,2,0\n1,1,\n", "last").unwrap_err().to_string();
        assert_eq!(e, "f.csv: row 2, column 3: the label is empty");
        let e = p("1,2,0\n1,1,0\n", "last").unwrap_err().to_string();
        assert!(e.contains("at least 2"), "{e}");
        let e = p("a,b\n1,0\n2,1\n", "c").unwrap_err().to_string();
        assert_eq!(
            e,
            "f.csv: row 1: data.label: no column named \"c\"; columns are a, b"
        );
    }

    /// scikit-learn's bundled CSVs: a description line, then a header, `;` separators and
    /// class names as labels, which map to classes in sorted order.
    #[test]
    fn description_line_semicolons_and_string_labels() {
        let text = "150;4;setosa;versicolor;virginica\n\
                    sepal length;sepal width;petal length;petal width;species\n\
                    5.1;3.5;1.4;0.2;setosa\n\
                    7.0;3.2;4.7;1.4;versicolor\n\
                    \n\
                    6.3;3.3;6.0;2.5;virginica\n\
                    4.9;3.0;1.4;0.2;setosa\n";
        let opts = CsvOptions {
            skip_rows: 1,
            label: "species".into(),
            ..CsvOptions::default()
        };
        let parsed = parse(text, &opts, "iris.csv").unwrap();
        assert_eq!(
            parsed.class_names,
            Some(vec![
                "setosa".into(),
                "versicolor".into(),
                "virginica".into()
            ])
        );
        assert_eq!(parsed.table.y, vec![0, 1, 2, 0]);
        assert_eq!(
            (parsed.table.n, parsed.table.d, parsed.table.classes),
            (4, 4, 3)
        );
        assert_eq!(&parsed.table.x[4..8], &[7.0, 3.2, 4.7, 1.4]);
        // Without skip_rows the description line is the header and the real header a bad row.
        let e = parse(text, &CsvOptions::with_label("last"), "iris.csv")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "iris.csv: row 1, column 3: \"setosa\" is not a finite number (if the file starts \
             with lines that are not data, set data.skip_rows or data.header)"
        );
    }

    #[test]
    fn given_class_order_features_drop_and_delimiters() {
        let text = "id\tx1\tx2\ty\n7\t1.5\t2\tno\n8\t3\t4\tyes\n";
        let opts = CsvOptions {
            drop: vec![ColumnRef::Name("id".into())],
            classes: Some(vec!["yes".into(), "no".into()]),
            ..CsvOptions::default()
        };
        let t = parse(text, &opts, "f.tsv").unwrap();
        assert_eq!(t.table.x, vec![1.5, 2.0, 3.0, 4.0]);
        assert_eq!(t.table.y, vec![1, 0]);
        let opts = CsvOptions {
            features: Some(vec![ColumnRef::Index(2), ColumnRef::Name("id".into())]),
            ..CsvOptions::default()
        };
        let t = parse(text, &opts, "f.tsv").unwrap();
        assert_eq!(t.table.x, vec![2.0, 7.0, 4.0, 8.0]);
        assert_eq!(t.class_names, Some(vec!["no".into(), "yes".into()]));
        // An explicit separator and header: the pipe file's first row is data despite its text.
        let opts = CsvOptions {
            delimiter: Some(b'|'),
            header: HeaderMode::No,
            ..CsvOptions::default()
        };
        let t = parse("1|2|b\n3|4|a\n", &opts, "f.psv").unwrap();
        assert_eq!((t.table.y.clone(), t.table.n), (vec![1, 0], 2));
        let e = p("1,2,0\n3,4,x\n", "last").unwrap_err().to_string();
        assert_eq!(
            e,
            "f.csv: row 2, column 3: label \"x\" is a name, but row 1 has the class index \
             \"0\"; labels must be all indices or all names (list the names in data.classes \
             to use both as names)"
        );
        // Quoted cells may hold the separator.
        let t = parse("\"1\",2,\"a,b\"\n3,4,c\n", &CsvOptions::default(), "q.csv").unwrap();
        assert_eq!(t.class_names, Some(vec!["a,b".into(), "c".into()]));
    }

    #[test]
    fn bad_column_choices_are_named() {
        let text = "a,b,c\n1,2,0\n3,4,1\n";
        let err = |o: CsvOptions| parse(text, &o, "f.csv").unwrap_err().to_string();
        assert_eq!(
            err(CsvOptions {
                features: Some(vec![ColumnRef::Name("c".into())]),
                ..CsvOptions::default()
            }),
            "f.csv: row 1: data.features: column 2 is the label column, not a feature"
        );
        assert_eq!(
            err(CsvOptions {
                drop: vec![ColumnRef::Index(9)],
                ..CsvOptions::default()
            }),
            "f.csv: row 1: data.drop: column index 9 is out of range (the file has 3 columns, 0…2)"
        );
        assert_eq!(
            err(CsvOptions {
                classes: Some(vec!["0".into(), "2".into()]),
                ..CsvOptions::default()
            }),
            "f.csv: row 3, column 3: label \"1\" is not one of the classes 0, 2"
        );
        assert_eq!(
            err(CsvOptions {
                drop: vec![ColumnRef::Index(0), ColumnRef::Index(1)],
                ..CsvOptions::default()
            }),
            "f.csv: row 1: data.features: no feature column is left"
        );
    }
}
