//! The fading-squares figures: the loss curve, the 10 x 10 grid of samples, the top
//! eigenvalues of `A A^T` (linear bars and log scale), the eigenvalue trajectory and the 1-D
//! embedding with image thumbnails.
//!
//! Every figure is drawn by a backend-generic `draw_*` function so tests can render into
//! memory; the `render_*` functions write the files (charts as PNG and SVG, the two figures of
//! images as PNG only: they are drawn pixel by pixel).

use std::path::Path;

use plotters::chart::SeriesLabelPosition;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{FadingSquaresFigures, GRID, PIXELS, SIDE, TOP_EIGENVALUES};
use crate::plot::{FONT, ensure_fonts, fmt_sig, palette, series_color, subscript, superscript};

/// Pixel size of `loss.png`.
pub const LOSS_SIZE: (u32, u32) = (1800, 800);
/// Pixel size of `eigenvalues.png` and `eigenvalues_log.png`.
pub const EIGEN_SIZE: (u32, u32) = (1400, 800);
/// Pixel size of `eigen_trajectory.png`.
pub const TRAJECTORY_SIZE: (u32, u32) = (1400, 800);
/// Pixel size of `embedding.png`.
pub const EMBEDDING_SIZE: (u32, u32) = (1800, 1120);
/// Pixel size of `samples.png`.
pub const SAMPLES_SIZE: (u32, u32) = (
    2 * GRID_MARGIN + GRID as u32 * CELL + (GRID as u32 - 1) * CELL_GAP,
    GRID_TITLE_H + 2 * GRID_MARGIN + GRID as u32 * CELL + (GRID as u32 - 1) * CELL_GAP,
);

/// Screen pixels per image pixel in the sample grid.
const GRID_SCALE: u32 = 3;
/// Side of one image of the grid.
const CELL: u32 = SIDE as u32 * GRID_SCALE;
/// Gap between images of the grid.
const CELL_GAP: u32 = 8;
/// Margin around the grid.
const GRID_MARGIN: u32 = 24;
/// Height of the grid's title band.
const GRID_TITLE_H: u32 = 92;
/// Thumbnails along the embedding's axis.
const THUMBNAILS: usize = 15;
/// Screen pixels per image pixel of a thumbnail.
const THUMB_SCALE: u32 = 3;
/// Leading eigenvalues drawn per record in the trajectory.
const TRAJECTORY_LINES: usize = 5;
/// Width of the running mean drawn over the losses.
const LOSS_SMOOTHING: usize = 50;

/// Render `loss.png` and `loss.svg` into `out_dir`.
pub fn render_loss(out_dir: &Path, f: &FadingSquaresFigures) -> anyhow::Result<()> {
    render_both(out_dir, "loss", LOSS_SIZE, |root| draw_loss(root, f), |root| draw_loss(root, f))
}

/// Render `samples.png` into `out_dir`.
pub fn render_samples(out_dir: &Path, f: &FadingSquaresFigures) -> anyhow::Result<()> {
    ensure_fonts()?;
    let path = out_dir.join("samples.png");
    let root = BitMapBackend::new(&path, SAMPLES_SIZE).into_drawing_area();
    draw_samples(&root, f)?;
    root.present()?;
    Ok(())
}

/// Render `eigenvalues.{png,svg}` (linear bars) and `eigenvalues_log.{png,svg}` into `out_dir`.
pub fn render_eigenvalues(out_dir: &Path, f: &FadingSquaresFigures) -> anyhow::Result<()> {
    render_both(
        out_dir,
        "eigenvalues",
        EIGEN_SIZE,
        |root| draw_eigenvalues(root, f, Scale::Linear),
        |root| draw_eigenvalues(root, f, Scale::Linear),
    )?;
    render_both(
        out_dir,
        "eigenvalues_log",
        EIGEN_SIZE,
        |root| draw_eigenvalues(root, f, Scale::Log),
        |root| draw_eigenvalues(root, f, Scale::Log),
    )
}

/// Render `eigen_trajectory.png` and `eigen_trajectory.svg` into `out_dir`.
pub fn render_trajectory(out_dir: &Path, f: &FadingSquaresFigures) -> anyhow::Result<()> {
    render_both(
        out_dir,
        "eigen_trajectory",
        TRAJECTORY_SIZE,
        |root| draw_trajectory(root, f),
        |root| draw_trajectory(root, f),
    )
}

/// Render `embedding.png` into `out_dir`.
pub fn render_embedding(out_dir: &Path, f: &FadingSquaresFigures) -> anyhow::Result<()> {
    ensure_fonts()?;
    let path = out_dir.join("embedding.png");
    let root = BitMapBackend::new(&path, EMBEDDING_SIZE).into_drawing_area();
    draw_embedding(&root, f)?;
    root.present()?;
    Ok(())
}

/// Draw one figure into `<stem>.png` and `<stem>.svg` (one closure per backend type).
fn render_both(
    out_dir: &Path,
    stem: &str,
    size: (u32, u32),
    png: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> anyhow::Result<()>,
    svg: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    ensure_fonts()?;
    let path = out_dir.join(format!("{stem}.png"));
    let root = BitMapBackend::new(&path, size).into_drawing_area();
    png(&root)?;
    root.present()?;
    let path = out_dir.join(format!("{stem}.svg"));
    let root = SVGBackend::new(&path, size).into_drawing_area();
    svg(&root)?;
    root.present()?;
    Ok(())
}

/// Linear or logarithmic value axis of the spectrum chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// Bars from 0.
    Linear,
    /// Points on a log axis, with the thresholds of the read-off.
    Log,
}

/// The text style used for a given size.
fn text(size: f64) -> TextStyle<'static> {
    TextStyle::from((FONT, size).into_font()).color(&palette::INK)
}

/// A bold caption style.
fn caption(size: f64) -> TextStyle<'static> {
    TextStyle::from((FONT, size, FontStyle::Bold).into_font()).color(&palette::INK)
}

/// Tick label of a linear axis: integers plainly with a true minus sign, else 2 decimals.
fn tick(v: f64) -> String {
    let s = if (v - v.round()).abs() < 1e-9 { format!("{:.0}", v.round() + 0.0) } else { format!("{v:.2}") };
    s.replace('-', "\u{2212}")
}

/// Tick label of a log axis: powers of ten as `10⁻³`, others with two significant digits.
fn log_tick(v: f64) -> String {
    let e = v.log10();
    if (e - e.round()).abs() < 1e-6 { format!("10{}", superscript(&format!("{:.0}", e.round()))) } else { fmt_sig(v) }
}

/// The grey of a pixel value (0 black, 1 white), clipped to `[0, 1]`; non-finite values are
/// drawn red so they cannot pass for data.
fn grey(v: f64) -> RGBColor {
    if !v.is_finite() {
        return RGBColor(0xD0, 0x20, 0x20);
    }
    let g = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    RGBColor(g, g, g)
}

/// Draw one 32 x 32 image (row-major pixels) with its top-left corner at `(x, y)`, each image
/// pixel a `scale x scale` square, framed by a thin grey line.
fn draw_image<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    pixels: impl Fn(usize) -> f64,
    (x, y): (i32, i32),
    scale: u32,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let s = i32::try_from(scale)?;
    for r in 0..SIDE {
        for c in 0..SIDE {
            let (px, py) = (x + s * i32::try_from(c)?, y + s * i32::try_from(r)?);
            area.draw(&Rectangle::new([(px, py), (px + s, py + s)], grey(pixels(r * SIDE + c)).filled()))?;
        }
    }
    let side = s * i32::try_from(SIDE)?;
    area.draw(&Rectangle::new([(x - 1, y - 1), (x + side, y + side)], palette::PRIOR.stroke_width(1)))?;
    Ok(())
}

/// Draw the loss curve onto `root` (`LOSS_SIZE` expected): on the left the loss of every
/// step, its running mean, the floor, the plateau target and the printed reference values; on
/// the right a zoom on the last fifth of the run, where the plateau is judged.
pub fn draw_loss<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, f: &FadingSquaresFigures) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let (w, _) = root.dim_in_pixel();
    let (title_area, body) = root.split_vertically(64);
    title_area.draw(&Text::new(
        format!("Training loss · fading squares ({})", f.run_label),
        (i32::try_from(w / 2)?, 36),
        caption(28.0).pos(Pos::new(HPos::Center, VPos::Center)),
    ))?;
    let (left, right) = body.split_horizontally(w * 62 / 100);
    let n = f.losses.len();

    // Whole run.
    let finite: Vec<f64> = f.losses.iter().copied().filter(|v| v.is_finite()).collect();
    let refs = f.references.iter().flat_map(|r| r.points.iter().filter(|p| p.0 < n.max(1)).map(|p| p.1));
    let values: Vec<f64> = finite.iter().copied().chain([f.loss_floor, f.plateau_target]).chain(refs).collect();
    let (y0, y1) = padded_range(&values, 0.05);
    let x1 = (n.max(2) - 1) as f64;
    let mut chart = ChartBuilder::on(&left)
        .caption("whole run", caption(22.0))
        .margin(16)
        .x_label_area_size(70)
        .y_label_area_size(100)
        .build_cartesian_2d(0.0..x1, y0..y1)?;
    loss_mesh(&mut chart)?;
    draw_loss_series(&mut chart, f, 0, x1, true)?;
    // The loss starts near 960 and ends near the floor (or, in a short run, stays high): the
    // middle of the right edge is empty either way.
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::MiddleRight)
        .margin(14)
        .legend_area_size(34)
        .label_font(text(19.0))
        .background_style(WHITE.mix(0.9))
        .border_style(palette::INK.mix(0.25))
        .draw()?;

    // The last fifth: the plateau (and the target band, when the run came near it).
    let from = n - n / 5;
    let tail: Vec<f64> = f.losses[from..].iter().copied().filter(|v| v.is_finite()).collect();
    let near = tail.iter().copied().fold(f64::INFINITY, f64::min) < f.plateau_target + 200.0;
    let band = 0.005 * f.plateau_target.abs();
    let mut values = vec![
        crate::plot::quantile(tail.iter().copied(), 0.0).unwrap_or(f64::NAN),
        crate::plot::quantile(tail.iter().copied(), 0.98).unwrap_or(f64::NAN),
    ];
    if near {
        values.extend([f.loss_floor, f.plateau_target - band, f.plateau_target + band]);
    }
    let (z0, z1) = padded_range(&values, 0.08);
    let mut zoom = ChartBuilder::on(&right)
        .caption(format!("zoom: last {} steps", n - from), caption(22.0))
        .margin(16)
        .margin_right(30)
        .x_label_area_size(70)
        .y_label_area_size(100)
        .build_cartesian_2d(from as f64..x1.max(from as f64 + 1.0), z0..z1)?;
    loss_mesh(&mut zoom)?;
    if near {
        let lo = (f.plateau_target - band).max(z0);
        let hi = (f.plateau_target + band).min(z1);
        let shade = palette::ACCENT.mix(0.1).filled();
        zoom.draw_series(std::iter::once(Rectangle::new([(from as f64, lo), (x1, hi)], shade)))?
            .label("target band (±0.5%)")
            .legend(move |(x, y)| Rectangle::new([(x - 12, y - 8), (x + 12, y + 8)], shade));
    }
    draw_loss_series(&mut zoom, f, from, x1, false)?;
    zoom.configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .margin(14)
        .legend_area_size(34)
        .label_font(text(17.0))
        .background_style(WHITE.mix(0.9))
        .border_style(palette::INK.mix(0.25))
        .draw()?;
    Ok(())
}

/// `[lo, hi]` of the finite values widened by `pad` of the width each side (at least 1).
fn padded_range(values: &[f64], pad: f64) -> (f64, f64) {
    let lo = values.iter().copied().filter(|v| v.is_finite()).fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().filter(|v| v.is_finite()).fold(f64::NEG_INFINITY, f64::max);
    if !(lo.is_finite() && hi.is_finite()) {
        return (-1.0, 1.0);
    }
    let p = pad * (hi - lo).max(1.0);
    (lo - p, hi + p)
}

type LossChart<'a, DB> =
    ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>>;

/// Axes and grid of a loss chart.
fn loss_mesh<DB: DrawingBackend>(chart: &mut LossChart<'_, DB>) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    chart
        .configure_mesh()
        .light_line_style(palette::GRID.mix(0.5))
        .bold_line_style(palette::GRID)
        .axis_style(palette::INK.mix(0.8))
        .x_labels(7)
        .y_labels(10)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| tick(*v))
        .x_desc("training step")
        .y_desc("loss (mean over the batch)")
        .label_style(text(19.0))
        .axis_desc_style(text(21.0))
        .draw()?;
    Ok(())
}

/// The losses from step `from` on, their running mean, the floor and target lines and (with
/// `references`) the printed values.
fn draw_loss_series<DB: DrawingBackend>(
    chart: &mut LossChart<'_, DB>,
    f: &FadingSquaresFigures,
    from: usize,
    x1: f64,
    references: bool,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let n = f.losses.len();
    let raw_style = palette::SPREAD.mix(0.35).stroke_width(1);
    chart
        .draw_series(LineSeries::new(
            f.losses.iter().enumerate().skip(from).filter(|(_, v)| v.is_finite()).map(|(i, &v)| (i as f64, v)),
            raw_style,
        ))?
        .label("loss of each step")
        .legend(move |(x, y)| PathElement::new(vec![(x - 12, y), (x + 12, y)], raw_style));
    let mean_style = palette::SPREAD.stroke_width(3);
    chart
        .draw_series(LineSeries::new(
            running_mean(&f.losses, LOSS_SMOOTHING).into_iter().filter(|p| p.0 >= from as f64),
            mean_style,
        ))?
        .label(format!("running mean of {LOSS_SMOOTHING} steps"))
        .legend(move |(x, y)| PathElement::new(vec![(x - 12, y), (x + 12, y)], mean_style));
    let (y_lo, y_hi) = {
        let r = chart.y_range();
        (r.start, r.end)
    };
    let lines = [
        (f.plateau_target, palette::ACCENT.stroke_width(2), format!("plateau target {}", tick(f.plateau_target))),
        (f.loss_floor, palette::INK.mix(0.7).stroke_width(2), format!("floor D/2·ln(2πs²) = {:.1}", f.loss_floor)),
    ];
    for (y, style, label) in lines {
        if !(y > y_lo && y < y_hi) {
            continue;
        }
        chart
            .draw_series(DashedLineSeries::new([(from as f64, y), (x1, y)], 12, 8, style))?
            .label(label.replace('-', "\u{2212}"))
            .legend(move |(x, y)| PathElement::new(vec![(x - 12, y), (x + 12, y)], style));
    }
    if !references {
        return Ok(());
    }
    let marks = [palette::BASELINE, palette::DATA];
    for (k, r) in f.references.iter().enumerate() {
        let color = marks[k % marks.len()];
        let points: Vec<(f64, f64)> = r.points.iter().filter(|p| p.0 < n.max(1)).map(|&(s, v)| (s as f64, v)).collect();
        if points.is_empty() {
            continue;
        }
        let size = 9 - 3 * i32::try_from(k.min(1))?;
        chart
            .draw_series(points.into_iter().map(move |p| Circle::new(p, size, color.stroke_width(3))))?
            .label(r.label.clone())
            .legend(move |(x, y)| Circle::new((x, y), size, color.stroke_width(3)));
    }
    Ok(())
}

/// `(step, mean of the finite losses in the trailing window of `w` steps)` for every step.
fn running_mean(values: &[f64], w: usize) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(values.len());
    let (mut sum, mut count) = (0.0, 0_usize);
    for (i, &v) in values.iter().enumerate() {
        if v.is_finite() {
            sum += v;
            count += 1;
        }
        if i >= w && values[i - w].is_finite() {
            sum -= values[i - w];
            count -= 1;
        }
        if count > 0 {
            out.push((i as f64, sum / count as f64));
        }
    }
    out
}

/// Draw the `GRID x GRID` grid of samples onto `root` (`SAMPLES_SIZE` expected).
pub fn draw_samples<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, f: &FadingSquaresFigures) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let s = &f.samples;
    let shown = s.nrows().min(GRID * GRID);
    let values = (0..shown).flat_map(|i| (0..PIXELS).map(move |j| s[(i, j)]));
    let (mut outside, mut total) = (0_usize, 0_usize);
    for v in values {
        total += 1;
        if !(0.0..=1.0).contains(&v) {
            outside += 1;
        }
    }
    let (w, _) = root.dim_in_pixel();
    let cx = i32::try_from(w / 2)?;
    root.draw(&Text::new(
        "Samples f(z), z ~ N(0, AAᵀ)",
        (cx, 30),
        caption(28.0).pos(Pos::new(HPos::Center, VPos::Center)),
    ))?;
    let subtitle = format!(
        "{} · 32×32, grey = pixel value, clipped to [0, 1] for display ({:.2}% of pixels outside)",
        f.run_label,
        100.0 * outside as f64 / total.max(1) as f64
    );
    root.draw(&Text::new(
        subtitle,
        (cx, 66),
        text(18.0).color(&palette::INK.mix(0.75)).pos(Pos::new(HPos::Center, VPos::Center)),
    ))?;
    let step = i32::try_from(CELL + CELL_GAP)?;
    let (x0, y0) = (i32::try_from(GRID_MARGIN)?, i32::try_from(GRID_TITLE_H + GRID_MARGIN)?);
    for i in 0..shown {
        let (r, c) = (i32::try_from(i / GRID)?, i32::try_from(i % GRID)?);
        draw_image(root, |j| s[(i, j)], (x0 + c * step, y0 + r * step), GRID_SCALE)?;
    }
    Ok(())
}

/// Draw the top eigenvalues of `A A^T` onto `root` (`EIGEN_SIZE` expected): bars of the EMA
/// spectrum on a linear axis, or the EMA and raw spectra of `A A^T` and the encoded data's
/// spectrum on a log axis with the read-off thresholds. The legend and the leading values sit
/// in a panel on the right, clear of the data whatever the spectrum looks like.
pub fn draw_eigenvalues<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    f: &FadingSquaresFigures,
    scale: Scale,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let sp = &f.spectra;
    let k = TOP_EIGENVALUES.min(sp.ema.len().max(sp.raw.len()).max(sp.data.len())).max(1);
    let top = |v: &[f64]| -> Vec<f64> { v.iter().take(k).copied().collect() };
    let (ema, raw, data) = (top(&sp.ema), top(&sp.raw), top(&sp.data));
    let lambda1 = ema.first().copied().unwrap_or(f64::NAN);
    let relative = f.tau * lambda1;
    let above = sp.ema.iter().filter(|&&v| v > relative).count();
    let title = match scale {
        Scale::Linear => format!("Top {k} eigenvalues of AAᵀ (moving average of A) · {}", f.run_label),
        Scale::Log => format!("Top {k} eigenvalues, log scale · {}", f.run_label),
    };
    let (w, _) = root.dim_in_pixel();
    let (title_area, body) = root.split_vertically(64);
    title_area.draw(&Text::new(
        title,
        (i32::try_from(w / 2)?, 36),
        caption(26.0).pos(Pos::new(HPos::Center, VPos::Center)),
    ))?;
    let (plot_area, side) = body.split_horizontally(w - SIDE_PANEL_W);
    let x_range = 0.0..(k as f64 + 1.0);
    let bar = |rank: usize, lo: f64, v: f64, style: ShapeStyle| {
        let x = rank as f64 + 1.0;
        Rectangle::new([(x - 0.4, lo), (x + 0.4, v)], style)
    };
    let mut legend: Vec<(Mark, String)> = Vec::new();
    let mut note = vec![
        "moving average of A:".to_owned(),
        format!("  λ₁ = {}", sig(&ema, 0)),
        format!("  λ₂ = {}", sig(&ema, 1)),
        format!("  λ₃ = {}", sig(&ema, 2)),
        format!("  {above} of {} above τ·λ₁ (τ = {})", sp.ema.len(), f.tau),
        "final A:".to_owned(),
        format!("  λ₁ = {}, λ₂ = {}", sig(&raw, 0), sig(&raw, 1)),
    ];
    match scale {
        Scale::Linear => {
            let hi = ema.iter().copied().filter(|v| v.is_finite()).fold(0.0, f64::max).max(1e-12) * 1.08;
            let mut chart = ChartBuilder::on(&plot_area)
                .margin(16)
                .x_label_area_size(70)
                .y_label_area_size(110)
                .build_cartesian_2d(x_range, 0.0..hi)?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .bold_line_style(palette::GRID)
                .light_line_style(palette::GRID.mix(0.0))
                .axis_style(palette::INK.mix(0.8))
                .x_labels(11)
                .y_labels(8)
                .x_label_formatter(&|v| format!("{v:.0}"))
                .y_label_formatter(&|v| tick(*v))
                .x_desc("rank")
                .y_desc("eigenvalue")
                .label_style(text(20.0))
                .axis_desc_style(text(23.0))
                .draw()?;
            let style = palette::SPREAD.filled();
            chart.draw_series(
                ema.iter().enumerate().filter(|(_, v)| v.is_finite()).map(|(i, &v)| bar(i, 0.0, v, style)),
            )?;
            legend.push((Mark::Bar(palette::SPREAD), "AAᵀ, moving average of A".into()));
        }
        Scale::Log => {
            let s2 = f.s * f.s;
            let noise = f.c * s2;
            let positive = ema.iter().chain(&raw).chain(&data).copied().filter(|v| v.is_finite() && *v > 0.0);
            let vmax = positive.clone().fold(f64::NEG_INFINITY, f64::max);
            let vmin = positive.fold(f64::INFINITY, f64::min);
            let lo_c = [vmin, s2, relative].into_iter().filter(|v| v.is_finite() && *v > 0.0);
            let lo = lo_c.fold(f64::INFINITY, f64::min);
            let hi = [vmax, noise].into_iter().filter(|v| v.is_finite()).fold(f64::NEG_INFINITY, f64::max);
            let (lo, hi) =
                if lo.is_finite() && hi.is_finite() && hi > lo { (lo / 4.0, hi * 4.0) } else { (1e-8, 10.0) };
            let zeros = ema.iter().chain(&raw).chain(&data).filter(|&&v| v.is_nan() || v <= 0.0).count();
            if zeros > 0 {
                note.push(format!("{zeros} value(s) ≤ 0 drawn at the bottom"));
            }
            let mut chart = ChartBuilder::on(&plot_area)
                .margin(16)
                .x_label_area_size(70)
                .y_label_area_size(110)
                .build_cartesian_2d(x_range, (lo..hi).log_scale())?;
            chart
                .configure_mesh()
                .light_line_style(palette::GRID.mix(0.5))
                .bold_line_style(palette::GRID)
                .axis_style(palette::INK.mix(0.8))
                .x_labels(11)
                .y_labels(10)
                .x_label_formatter(&|v| format!("{v:.0}"))
                .y_label_formatter(&|v| log_tick(*v))
                .x_desc("rank")
                .y_desc("eigenvalue (log scale)")
                .label_style(text(20.0))
                .axis_desc_style(text(23.0))
                .draw()?;
            let lines = [
                (relative, palette::SPREAD.stroke_width(2), format!("τ·λ₁ = {} (rule 1, AAᵀ)", fmt_sig(relative))),
                (noise, palette::ACCENT.stroke_width(2), format!("c·s² = {} (rule 3, cov g(x))", fmt_sig(noise))),
                (s2, palette::INK.mix(0.6).stroke_width(2), format!("s² = {} (noise level)", fmt_sig(s2))),
            ];
            for (y, style, label) in lines {
                if !(y > lo && y < hi) {
                    continue;
                }
                chart.draw_series(DashedLineSeries::new([(0.0, y), (k as f64 + 1.0, y)], 12, 8, style))?;
                legend.push((Mark::Dash(style), label));
            }
            let clamp = move |v: f64| if v > 0.0 { v.clamp(lo, hi) } else { lo };
            // The EMA underneath in large light dots, the final A on top, then the data.
            let series: [(&[f64], ShapeStyle, &str, u32); 3] = [
                (&ema, palette::SPREAD.mix(0.45).filled(), "AAᵀ, moving average of A (read-off)", 7),
                (&raw, palette::DATA.filled(), "AAᵀ, final A", 3),
                (&data, palette::BASELINE.mix(0.9).filled(), "cov(g(x)), fresh images", 3),
            ];
            for (values, style, label, r) in series {
                if values.is_empty() {
                    continue;
                }
                chart.draw_series(
                    values
                        .iter()
                        .enumerate()
                        .filter(|(_, v)| !v.is_nan())
                        .map(move |(i, &v)| Circle::new((i as f64 + 1.0, clamp(v)), r, style)),
                )?;
                legend.push((Mark::Dot(style, r), label.to_owned()));
            }
        }
    }
    draw_side_panel(&side, &legend, &note)?;
    Ok(())
}

/// Width of the legend panel right of the spectrum charts.
const SIDE_PANEL_W: u32 = 420;

/// A legend entry's marker.
#[derive(Clone, Copy)]
enum Mark {
    /// A filled square.
    Bar(RGBColor),
    /// A dot of this style and radius.
    Dot(ShapeStyle, u32),
    /// A dashed line.
    Dash(ShapeStyle),
}

/// The legend (one marker and label per line) and then the note, top-aligned in `area`.
fn draw_side_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    legend: &[(Mark, String)],
    note: &[String],
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let style = text(19.0);
    let line_h = 30;
    let mut y = 30;
    for (mark, label) in legend {
        let (mx, my) = (22, y);
        match *mark {
            Mark::Bar(color) => area.draw(&Rectangle::new([(mx - 8, my - 8), (mx + 8, my + 8)], color.filled()))?,
            Mark::Dot(style, r) => area.draw(&Circle::new((mx, my), i32::try_from(r.max(4))?, style))?,
            Mark::Dash(style) => {
                area.draw(&PathElement::new(vec![(mx - 16, my), (mx - 4, my)], style))?;
                area.draw(&PathElement::new(vec![(mx + 4, my), (mx + 16, my)], style))?;
            }
        }
        area.draw(&Text::new(label.clone(), (48, y), style.pos(Pos::new(HPos::Left, VPos::Center))))?;
        y += line_h;
    }
    y += 20;
    for l in note {
        area.draw(&Text::new(l.clone(), (12, y), style.pos(Pos::new(HPos::Left, VPos::Center))))?;
        y += line_h;
    }
    Ok(())
}

/// `values[i]` for a figure, `-` when missing.
fn sig(values: &[f64], i: usize) -> String {
    values.get(i).map_or_else(|| "-".to_owned(), |&v| fmt_sig(v))
}

/// Draw the trajectory of the leading eigenvalues onto `root` (`TRAJECTORY_SIZE` expected):
/// raw (solid) and EMA (dashed) per rank on a log axis, with `tau lambda_1` of the raw
/// spectrum and `s^2`.
pub fn draw_trajectory<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    f: &FadingSquaresFigures,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let t = &f.trajectory;
    let k = t.top().min(TRAJECTORY_LINES);
    let s2 = f.s * f.s;
    let positive: Vec<f64> = t
        .raw
        .iter()
        .chain(&t.ema)
        .flat_map(|r| r.iter().take(k).copied())
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect();
    let vmin = positive.iter().copied().fold(f64::INFINITY, f64::min).min(s2);
    let vmax = positive.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) =
        if vmin.is_finite() && vmax.is_finite() && vmax > vmin { (vmin / 4.0, vmax * 4.0) } else { (1e-8, 10.0) };
    let x0 = t.steps.first().copied().unwrap_or(0) as f64;
    let x1 = (t.steps.last().copied().unwrap_or(1) as f64).max(x0 + 1.0);

    let mut chart = ChartBuilder::on(root)
        .caption(format!("Leading eigenvalues of AAᵀ during training · {}", f.run_label), caption(26.0))
        .margin(24)
        .margin_right(40)
        .x_label_area_size(70)
        .y_label_area_size(110)
        .build_cartesian_2d(x0..x1, (lo..hi).log_scale())?;
    chart
        .configure_mesh()
        .light_line_style(palette::GRID.mix(0.5))
        .bold_line_style(palette::GRID)
        .axis_style(palette::INK.mix(0.8))
        .x_labels(10)
        .y_labels(10)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| log_tick(*v))
        .x_desc("training step")
        .y_desc("eigenvalue (log scale)")
        .label_style(text(20.0))
        .axis_desc_style(text(23.0))
        .draw()?;

    let clamp = move |v: f64| if v > 0.0 { v.clamp(lo, hi) } else { lo };
    for i in 0..k {
        let color = series_color(i);
        let solid = color.stroke_width(3);
        let raw: Vec<(f64, f64)> = t.steps.iter().zip(&t.raw).map(|(&s, r)| (s as f64, clamp(r[i]))).collect();
        chart
            .draw_series(LineSeries::new(raw.iter().copied(), solid))?
            .label(format!("λ{}", subscript(i + 1)))
            .legend(move |(x, y)| PathElement::new(vec![(x - 12, y), (x + 12, y)], solid));
        chart.draw_series(raw.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
        let ema: Vec<(f64, f64)> = t.steps.iter().zip(&t.ema).map(|(&s, r)| (s as f64, clamp(r[i]))).collect();
        chart.draw_series(DashedLineSeries::new(ema, 10, 7, color.mix(0.8).stroke_width(2)))?;
    }
    let ink = palette::INK.mix(0.7).stroke_width(3);
    chart
        .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())?
        .label("solid: A at that step")
        .legend(move |(x, y)| PathElement::new(vec![(x - 12, y), (x + 12, y)], ink));
    let ink_dashed = palette::INK.mix(0.7).stroke_width(2);
    chart.draw_series(std::iter::empty::<PathElement<(f64, f64)>>())?.label("dashed: moving average of A").legend(
        move |(x, y)| {
            EmptyElement::at((x, y))
                + PathElement::new(vec![(-12, 0), (-3, 0)], ink_dashed)
                + PathElement::new(vec![(3, 0), (12, 0)], ink_dashed)
        },
    );
    let relative: Vec<(f64, f64)> =
        t.steps.iter().zip(&t.raw).filter_map(|(&s, r)| r.first().map(|&l| (s as f64, clamp(f.tau * l)))).collect();
    let rel_style = palette::ACCENT.stroke_width(2);
    chart
        .draw_series(DashedLineSeries::new(relative, 4, 6, rel_style))?
        .label(format!("τ·λ₁ of A at that step (τ = {})", f.tau))
        .legend(move |(x, y)| PathElement::new(vec![(x - 12, y), (x + 12, y)], rel_style));
    if s2 > lo && s2 < hi {
        let style = palette::INK.mix(0.6).stroke_width(2);
        chart
            .draw_series(DashedLineSeries::new([(x0, s2), (x1, s2)], 12, 8, style))?
            .label(format!("s² = {}", fmt_sig(s2)))
            .legend(move |(x, y)| PathElement::new(vec![(x - 12, y), (x + 12, y)], style));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .margin(14)
        .legend_area_size(30)
        .label_font(text(19.0))
        .background_style(WHITE.mix(0.9))
        .border_style(palette::INK.mix(0.25))
        .draw()?;
    Ok(())
}

/// Draw the 1-D embedding onto `root` (`EMBEDDING_SIZE` expected): each fresh image at
/// (projection on the top eigenvector, brightness), and below the chart `THUMBNAILS` (15)
/// images in projection order, each tied by a line to its place on the axis.
pub fn draw_embedding<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, f: &FadingSquaresFigures) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let e = &f.embedding;
    let n = e.projection.len();
    let ok: Vec<usize> = (0..n).filter(|&i| e.projection[i].is_finite() && e.brightness[i].is_finite()).collect();
    let (plo, phi) = ok
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &i| (a.min(e.projection[i]), b.max(e.projection[i])));
    let (plo, phi) = if plo.is_finite() && phi > plo {
        let pad = 0.04 * (phi - plo);
        (plo - pad, phi + pad)
    } else if plo.is_finite() {
        (plo - 1.0, plo + 1.0)
    } else {
        (-1.0, 1.0)
    };
    let strip_h = THUMB_SCALE * SIDE as u32 + 150;
    let (_, h) = root.dim_in_pixel();
    let (upper, _) = root.split_vertically(h - strip_h);

    let mut chart = ChartBuilder::on(&upper)
        .caption(
            format!(
                "1-D embedding: g(x) projected on the top eigenvector of AAᵀ · Spearman ρ = {} ({} fresh images) · {}",
                if f.spearman.is_finite() { format!("{:.4}", f.spearman) } else { "n/a".into() },
                n,
                f.run_label
            ),
            caption(25.0),
        )
        .margin(24)
        .margin_right(60)
        .x_label_area_size(70)
        .y_label_area_size(100)
        .build_cartesian_2d(plo..phi, -0.04..1.04)?;
    chart
        .configure_mesh()
        .light_line_style(palette::GRID.mix(0.5))
        .bold_line_style(palette::GRID)
        .axis_style(palette::INK.mix(0.8))
        .x_labels(10)
        .y_labels(6)
        .x_label_formatter(&|v| fmt_sig(*v).replace('-', "\u{2212}"))
        .y_label_formatter(&|v| format!("{v:.1}"))
        .x_desc("projection (g(x) − μ)·u₁ (the sign of u₁ is arbitrary)")
        .y_desc("brightness v of the square")
        .label_style(text(20.0))
        .axis_desc_style(text(22.0))
        .draw()?;
    let style = palette::SPREAD.mix(0.7).filled();
    chart.draw_series(ok.iter().map(|&i| Circle::new((e.projection[i], e.brightness[i]), 5, style)))?;

    // Thumbnails: evenly spaced ranks of the projection, in order, across the plot's width.
    let mut order = ok.clone();
    order.sort_by(|&a, &b| e.projection[a].total_cmp(&e.projection[b]));
    let m = THUMBNAILS.min(order.len());
    if m == 0 {
        return Ok(());
    }
    let picks: Vec<usize> = (0..m).map(|k| order[if m > 1 { k * (order.len() - 1) / (m - 1) } else { 0 }]).collect();
    let (ax0, axis_y) = chart.backend_coord(&(plo, -0.04));
    let (ax1, _) = chart.backend_coord(&(phi, -0.04));
    let side = i32::try_from(THUMB_SCALE * SIDE as u32)?;
    let slot = f64::from(ax1 - ax0) / m as f64;
    let top = i32::try_from(h - strip_h)? + 80;
    root.draw(&Text::new(
        format!(
            "{m} of the {} images at evenly spaced ranks of the projection, in order, with their brightness v",
            ok.len()
        ),
        (ax0, top - 30),
        text(19.0).color(&palette::INK.mix(0.75)),
    ))?;
    for (k, &i) in picks.iter().enumerate() {
        let cx = ax0 + (slot * (k as f64 + 0.5)) as i32;
        let (px, py) = chart.backend_coord(&(e.projection[i], e.brightness[i]));
        root.draw(&PathElement::new(
            vec![(px, py), (px, axis_y), (cx, top - 4)],
            palette::INK.mix(0.35).stroke_width(1),
        ))?;
        draw_image(root, |j| e.images[(i, j)], (cx - side / 2, top), THUMB_SCALE)?;
        root.draw(&Text::new(
            format!("v = {:.2}", e.brightness[i]),
            (cx, top + side + 18),
            text(18.0).pos(Pos::new(HPos::Center, VPos::Center)),
        ))?;
    }
    Ok(())
}
