//! Small CSV writers for the raw numbers behind every figure: a header row, then one row per
//! sample, numbers printed in a shortest round-trip form (`NaN` / `inf` when not finite).
//! Point sets go through [`datasets::write_csv`]; [`write_rows`] covers small tables whose
//! integer columns (steps, ranks) should print without a decimal point.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::Context as _;
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
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut w = BufWriter::new(file);
    let io = |e: std::io::Error| anyhow::Error::new(e).context(format!("writing {}", path.display()));
    writeln!(w, "{}", header.join(",")).map_err(io)?;
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
        writeln!(w, "{line}").map_err(io)?;
    }
    w.flush().map_err(io)?;
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
    datasets::write_csv(path, m, Some(header)).with_context(|| format!("cannot write {}", path.display()))
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
        Ok(())
    }
}
