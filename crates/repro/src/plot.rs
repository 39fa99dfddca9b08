//! Shared plotting style: the embedded DejaVu fonts (no system font or fontconfig needed), a
//! colour palette, text sizes and small helpers for robust axis ranges.

use std::sync::OnceLock;

use plotters::style::{FontStyle, RGBColor, register_font};

/// The font family every figure uses (registered from the `dejavu` crate's bytes).
pub const FONT: &str = "sans-serif";

/// Register DejaVu Sans (regular, bold, oblique) as [`FONT`], once per process. Every drawing
/// function calls this first; calling it again is free.
pub fn ensure_fonts() -> anyhow::Result<()> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| {
        register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).is_ok()
            && register_font(FONT, FontStyle::Bold, dejavu::sans::bold()).is_ok()
            && register_font(FONT, FontStyle::Oblique, dejavu::sans::oblique()).is_ok()
            && register_font(FONT, FontStyle::Italic, dejavu::sans::oblique()).is_ok()
    });
    anyhow::ensure!(ok, "the embedded DejaVu font could not be parsed");
    Ok(())
}

/// The palette (Tableau-like, colour-blind friendly): one colour per role.
pub mod palette {
    use plotters::style::RGBColor;

    /// The data and the standard flow's data-side points.
    pub const DATA: RGBColor = RGBColor(0x2F, 0x4B, 0x7C);
    /// The standard (baseline) flow.
    pub const BASELINE: RGBColor = RGBColor(0xE1, 0x57, 0x59);
    /// The spread flow.
    pub const SPREAD: RGBColor = RGBColor(0x1B, 0x9E, 0x77);
    /// Prior samples drawn underneath.
    pub const PRIOR: RGBColor = RGBColor(0x9A, 0xA5, 0xB1);
    /// Reference lines (true curve, thresholds).
    pub const INK: RGBColor = RGBColor(0x33, 0x33, 0x33);
    /// Light grid lines.
    pub const GRID: RGBColor = RGBColor(0xE6, 0xE6, 0xE6);
    /// A threshold / warning accent.
    pub const ACCENT: RGBColor = RGBColor(0xD9, 0x7B, 0x0B);
    /// Lines for a series of eigenvalues, largest first.
    pub const SERIES: [RGBColor; 8] = [
        RGBColor(0x1B, 0x9E, 0x77),
        RGBColor(0x75, 0x70, 0xB3),
        RGBColor(0xE7, 0x29, 0x8A),
        RGBColor(0x66, 0xA6, 0x1E),
        RGBColor(0xE6, 0xAB, 0x02),
        RGBColor(0xA6, 0x76, 0x1D),
        RGBColor(0x1F, 0x78, 0xB4),
        RGBColor(0x66, 0x66, 0x66),
    ];
}

/// The colour of the `i`-th series (cycling).
pub fn series_color(i: usize) -> RGBColor {
    palette::SERIES[i % palette::SERIES.len()]
}

/// The `q`-quantile (0..=1) of the finite values, by linear interpolation; `None` if there
/// are none.
pub fn quantile(values: impl IntoIterator<Item = f64>, q: f64) -> Option<f64> {
    let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let t = pos - lo as f64;
    Some(v[lo] * (1.0 - t) + v[hi] * t)
}

/// A robust range `[lo, hi]` of the finite values: the `q` and `1 - q` quantiles widened by
/// `pad` of the width on each side; `None` if there are no finite values.
pub fn robust_range(values: impl IntoIterator<Item = f64>, q: f64, pad: f64) -> Option<(f64, f64)> {
    let v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
    let lo = quantile(v.iter().copied(), q)?;
    let hi = quantile(v.iter().copied(), 1.0 - q)?;
    let w = (hi - lo).max(1e-12);
    Some((lo - pad * w, hi + pad * w))
}

/// Evenly thin `n` indices to at most `max` (every k-th), keeping the plots light; the CSVs
/// keep every point.
pub fn thin(n: usize, max: usize) -> impl Iterator<Item = usize> {
    let step = n.div_ceil(max.max(1)).max(1);
    (0..n).step_by(step)
}

/// Format a value for a figure: four significant digits, scientific when tiny or huge.
pub fn fmt_sig(x: f64) -> String {
    let a = x.abs();
    if a == 0.0 {
        "0".to_owned()
    } else if !(1e-2..1e4).contains(&a) {
        let s = format!("{x:.2e}");
        // 1.23e-5 -> 1.23·10⁻⁵ reads better on a figure.
        match s.split_once('e') {
            Some((m, e)) => format!("{m}·10{}", superscript(e)),
            None => s,
        }
    } else {
        format!("{x:.3}")
    }
}

/// Unicode superscript of an integer string such as `-5`.
pub fn superscript(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '-' => '⁻',
            '0' => '⁰',
            '1' => '¹',
            '2' => '²',
            '3' => '³',
            '4' => '⁴',
            '5' => '⁵',
            '6' => '⁶',
            '7' => '⁷',
            '8' => '⁸',
            '9' => '⁹',
            other => other,
        })
        .collect()
}

/// Unicode subscript of a non-negative integer (`12` -> `₁₂`).
pub fn subscript(n: usize) -> String {
    n.to_string()
        .chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => char::from_u32(0x2080 + d).unwrap_or(c),
            None => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() -> anyhow::Result<()> {
        ensure_fonts()?;
        ensure_fonts()?;
        assert_eq!(quantile([3.0, 1.0, f64::NAN, 2.0], 0.5), Some(2.0));
        assert_eq!(quantile([f64::NAN], 0.5), None);
        assert_eq!(robust_range([0.0, 1.0], 0.0, 0.5), Some((-0.5, 1.5)));
        assert_eq!(thin(10, 4).collect::<Vec<_>>(), vec![0, 3, 6, 9]);
        assert_eq!(thin(3, 10).count(), 3);
        assert_eq!(fmt_sig(2.5e-5), "2.50·10⁻⁵");
        assert_eq!(fmt_sig(0.9123), "0.912");
        assert_eq!(subscript(12), "₁₂");
        Ok(())
    }
}
