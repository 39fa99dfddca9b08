//! The one chart module every experiment draws with: the embedded DejaVu fonts (no system font
//! or fontconfig needed), the colour palette, text styles, writing a figure as PNG and SVG, and
//! (in the submodules, re-exported here) tick labels, axis ranges, axes, legends, dashed
//! reference lines and the eigenvalue-trajectory chart.
//!
//! The experiments' own `plot` modules keep only what is theirs: the layout of fig1's panels,
//! fading-squares' image grids and spectrum side panel, the spread study's heat maps.

mod chart;
mod range;
mod ticks;
mod trajectory;

#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, RGBColor, register_font};

pub use chart::{Axes, Axis, DASH, DashedLine, LegendBox, Level, Marker, label_series, legend_only};
pub use range::{log_range, positive_extent, quantile, robust_range, thin};
pub use ticks::{Ticks, fmt_sig, subscript, superscript};
pub use trajectory::{EigenTrajectoryChart, RankLine, TRAJECTORY_SIZE};

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

/// Regular text of `size` pixels in ink.
pub fn text(size: f64) -> TextStyle<'static> {
    TextStyle::from((FONT, size).into_font()).color(&palette::INK)
}

/// Bold text of `size` pixels in ink: figure and panel titles.
pub fn bold(size: f64) -> TextStyle<'static> {
    TextStyle::from((FONT, size, FontStyle::Bold).into_font()).color(&palette::INK)
}

/// Regular text of `size` pixels in a lighter ink: subtitles and captions of a figure's parts.
pub fn muted(size: f64) -> TextStyle<'static> {
    TextStyle { color: palette::INK.mix(0.75).to_backend_color(), ..text(size) }
}

/// `style` anchored at the centre of its text (both ways).
pub fn centred(style: TextStyle<'static>) -> TextStyle<'static> {
    style.pos(Pos::new(HPos::Center, VPos::Center))
}

/// `style` anchored at the left end of its text, centred vertically.
pub fn left_centred(style: TextStyle<'static>) -> TextStyle<'static> {
    style.pos(Pos::new(HPos::Left, VPos::Center))
}

/// Draw one figure of `size` pixels into `<stem>.png` and `<stem>.svg` in `out_dir`. The two
/// backends are distinct types and a closure cannot be generic over them, so the same drawing
/// is passed once per backend (`|root| draw(root, data)` twice). Each file is written to a
/// temporary name and renamed ([`crate::atomic`]); an error names the file and the cause.
pub fn write_png_and_svg(
    out_dir: &Path,
    stem: &str,
    size: (u32, u32),
    png: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> anyhow::Result<()>,
    svg: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    write_png(out_dir, stem, size, png)?;
    let path = out_dir.join(format!("{stem}.svg"));
    crate::atomic::write_with(&path, |tmp| {
        let root = SVGBackend::new(tmp, size).into_drawing_area();
        svg(&root)?;
        root.present()?;
        Ok(())
    })
}

/// Draw one figure of `size` pixels into `<stem>.png` in `out_dir` only (figures drawn pixel
/// by pixel, whose SVG would hold one rectangle per pixel).
pub fn write_png(
    out_dir: &Path,
    stem: &str,
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    ensure_fonts()?;
    let path = out_dir.join(format!("{stem}.png"));
    crate::atomic::write_with(&path, |tmp| {
        let root = BitMapBackend::new(tmp, size).into_drawing_area();
        draw(&root)?;
        root.present()?;
        Ok(())
    })
}

/// Width and height of a PNG from its signature and IHDR chunk, if the file is complete (its
/// last chunk is IEND): how the tests check the figures that were written.
#[cfg(test)]
pub(crate) fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    const SIG: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];
    if bytes.len() < 33 || bytes[..8] != SIG || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let w = u32::from_be_bytes(bytes[16..20].try_into().ok()?);
    let h = u32::from_be_bytes(bytes[20..24].try_into().ok()?);
    (&bytes[bytes.len() - 8..bytes.len() - 4] == b"IEND").then_some((w, h))
}
