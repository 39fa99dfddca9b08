//! Small CSV writers for the raw numbers behind every figure: a header row, then one row per
//! sample, numbers printed in a shortest round-trip form (`NaN` / `inf` when not finite).
//! Point sets go through [`datasets::write_csv`]; [`write_rows`] covers small tables whose
//! integer columns (steps, ranks) should print without a decimal point. Both write through
//! [`crate::atomic`] (temporary file, then rename).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use faer::MatRef;

/// Write `rows` under a header row. Every row must be as long as `header`.
///
/// # Panics
/// If a row's length differs from the header's.
#[track_caller]
pub fn write_rows<R: AsRef<[f64]>>(
    path: &Path,
    header: &[&str],
    rows: impl IntoIterator<Item = R>,
) -> anyhow::Result<()> {
    let rows: Vec<R> = rows.into_iter().collect();
    crate::atomic::write_with(path, |tmp| write_rows_to(tmp, path, header, rows))
}

/// The body of [`write_rows`]: write to `tmp`, naming `path` in a panic message.
#[track_caller]
fn write_rows_to<R: AsRef<[f64]>>(tmp: &Path, path: &Path, header: &[&str], rows: Vec<R>) -> anyhow::Result<()> {
    let mut w = BufWriter::new(File::create(tmp)?);
    writeln!(w, "{}", header.join(","))?;
    let mut line = String::new();
    for (i, row) in rows.into_iter().enumerate() {
        let row = row.as_ref();
        assert_eq!(
            row.len(),
            header.len(),
            "{}: row {i} has {} values for {} columns",
            path.display(),
            row.len(),
            header.len()
        );
        line.clear();
        for (j, x) in row.iter().enumerate() {
            if j > 0 {
                line.push(',');
            }
            line.push_str(&x.to_string());
        }
        writeln!(w, "{line}")?;
    }
    w.flush()?;
    Ok(())
}

/// Write an `n x d` matrix (one sample per row) under a header of `d` column names, through
/// [`datasets::write_csv`] (shortest round-trip formatting, so `datasets::read_csv` recovers
/// the values bit for bit).
///
/// # Panics
/// If `header.len() != m.ncols()`.
#[track_caller]
pub fn write_matrix(path: &Path, header: &[&str], m: MatRef<'_, f64>) -> anyhow::Result<()> {
    assert_eq!(
        header.len(),
        m.ncols(),
        "{}: {} column names for an {} x {} matrix",
        path.display(),
        header.len(),
        m.nrows(),
        m.ncols()
    );
    crate::atomic::write_with(path, |tmp| datasets::write_csv(tmp, m, Some(header)).map_err(anyhow::Error::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_round_trip() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("p.csv");
        let m = faer::Mat::from_fn(3, 2, |i, j| (i as f64) * 0.1 + j as f64);
        write_matrix(&path, &["x1", "x2"], m.as_ref())?;
        let text = std::fs::read_to_string(&path)?;
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "x1,x2");
        assert_eq!(lines.len(), 4);
        for (i, l) in lines[1..].iter().enumerate() {
            let v: Vec<f64> = l.split(',').map(str::parse).collect::<Result<_, _>>()?;
            assert_eq!(v, vec![m[(i, 0)], m[(i, 1)]], "exact round trip");
        }
        write_rows(&path, &["step", "v"], [[1.0, f64::NAN]])?;
        assert_eq!(std::fs::read_to_string(&path)?, "step,v\n1,NaN\n");
        // A missing folder: one message with the path and the cause, nothing left behind.
        let missing = dir.path().join("nope").join("q.csv");
        let err = write_matrix(&missing, &["x1", "x2"], m.as_ref()).err().map(|e| format!("{e:#}")).unwrap_or_default();
        assert!(err.starts_with(&format!("cannot write {}: ", missing.display())), "{err}");
        assert_eq!(err.matches(&missing.display().to_string()).count(), 1, "{err}");
        Ok(())
    }
}
