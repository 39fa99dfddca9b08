//! The fading-squares figures: the loss curve, the 10 x 10 grid of samples, the top
//! eigenvalues of `A A^T` (linear bars and log scale), the eigenvalue trajectory and the 1-D
//! embedding with image thumbnails.
//!
//! Every figure is drawn by a backend-generic `draw_*` function so tests can render into
//! memory; the `render_*` functions write the files (charts as PNG and SVG, the two figures of
//! images as PNG only: they are drawn pixel by pixel). Axes, legends, tick labels and the
//! trajectory chart ([`crate::plot::EigenTrajectoryChart`]) are the shared ones of
//! [`crate::plot`]; this file holds the loss layout, the image grids and the spectrum's side
//! panel.

use std::path::Path;

use plotters::chart::SeriesLabelPosition;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{FadingSquaresFigures, GRID, PIXELS, SIDE, TOP_EIGENVALUES};
use crate::plot::{
    Axes, Axis, DashedLine, EigenTrajectoryChart, LegendBox, Level, Marker, RankLine, Ticks, bold, centred, fmt_sig,
    label_series, left_centred, log_range, muted, palette, positive_extent, quantile, text, write_png,
    write_png_and_svg,
};

pub use crate::plot::TRAJECTORY_SIZE;

/// Pixel size of `loss.png`.
pub const LOSS_SIZE: (u32, u32) = (1800, 800);
/// Pixel size of `eigenvalues.png` and `eigenvalues_log.png`.
pub const EIGEN_SIZE: (u32, u32) = (1400, 800);
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
    write_png_and_svg(out_dir, "loss", LOSS_SIZE, |root| draw_loss(root, f), |root| draw_loss(root, f))
}

/// Render `samples.png` into `out_dir`.
pub fn render_samples(out_dir: &Path, f: &FadingSquaresFigures) -> anyhow::Result<()> {
    write_png(out_dir, "samples", SAMPLES_SIZE, |root| draw_samples(root, f))
}

/// Render `eigenvalues.{png,svg}` (linear bars) and `eigenvalues_log.{png,svg}` into `out_dir`.
pub fn render_eigenvalues(out_dir: &Path, f: &FadingSquaresFigures) -> anyhow::Result<()> {
    for (stem, scale) in [("eigenvalues", Scale::Linear), ("eigenvalues_log", Scale::Log)] {
        write_png_and_svg(
            out_dir,
            stem,
            EIGEN_SIZE,
            |root| draw_eigenvalues(root, f, scale),
            |root| draw_eigenvalues(root, f, scale),
        )?;
    }
    Ok(())
}

/// Render `eigen_trajectory.png` and `eigen_trajectory.svg` into `out_dir`.
pub fn render_trajectory(out_dir: &Path, f: &FadingSquaresFigures) -> anyhow::Result<()> {
    write_png_and_svg(
        out_dir,
        "eigen_trajectory",
        TRAJECTORY_SIZE,
        |root| draw_trajectory(root, f),
        |root| draw_trajectory(root, f),
    )
}

/// Render `embedding.png` into `out_dir`.
pub fn render_embedding(out_dir: &Path, f: &FadingSquaresFigures) -> anyhow::Result<()> {
    write_png(out_dir, "embedding", EMBEDDING_SIZE, |root| draw_embedding(root, f))
}

/// Linear or logarithmic value axis of the spectrum chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// Bars from 0.
    Linear,
    /// Points on a log axis, with the thresholds of the read-off.
    Log,
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
        centred(bold(28.0)),
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
        .caption("whole run", bold(22.0))
        .margin(16)
        .x_label_area_size(70)
        .y_label_area_size(100)
        .build_cartesian_2d(0.0..x1, y0..y1)?;
    loss_axes().draw(&mut chart)?;
    draw_loss_series(&mut chart, f, 0, x1, true)?;
    // The loss starts near 960 and ends near the floor (or, in a short run, stays high): the
    // middle of the right edge is empty either way.
    LegendBox::new(SeriesLabelPosition::MiddleRight, 19.0).draw(&mut chart)?;

    // The last fifth: the plateau (and the target band, when the run came near it).
    let from = n - n / 5;
    let tail: Vec<f64> = f.losses[from..].iter().copied().filter(|v| v.is_finite()).collect();
    let near = tail.iter().copied().fold(f64::INFINITY, f64::min) < f.plateau_target + 200.0;
    let band = 0.005 * f.plateau_target.abs();
    let mut values = vec![
        quantile(tail.iter().copied(), 0.0).unwrap_or(f64::NAN),
        quantile(tail.iter().copied(), 0.98).unwrap_or(f64::NAN),
    ];
    if near {
        values.extend([f.loss_floor, f.plateau_target - band, f.plateau_target + band]);
    }
    let (z0, z1) = padded_range(&values, 0.08);
    let mut zoom = ChartBuilder::on(&right)
        .caption(format!("zoom: last {} steps", n - from), bold(22.0))
        .margin(16)
        .margin_right(30)
        .x_label_area_size(70)
        .y_label_area_size(100)
        .build_cartesian_2d(from as f64..x1.max(from as f64 + 1.0), z0..z1)?;
    loss_axes().draw(&mut zoom)?;
    if near {
        let lo = (f.plateau_target - band).max(z0);
        let hi = (f.plateau_target + band).min(z1);
        let shade = palette::ACCENT.mix(0.1).filled();
        let drawn = zoom.draw_series(std::iter::once(Rectangle::new([(from as f64, lo), (x1, hi)], shade)))?;
        label_series(drawn, "target band (±0.5%)", Marker::Band(shade));
    }
    draw_loss_series(&mut zoom, f, from, x1, false)?;
    LegendBox::new(SeriesLabelPosition::UpperRight, 17.0).draw(&mut zoom)
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
fn loss_axes() -> Axes<'static> {
    let x = Axis::new("training step", 7, Ticks::Fixed(0));
    let y = Axis::new("loss (mean over the batch)", 10, Ticks::Trimmed(2));
    Axes { label_size: 19.0, desc_size: 21.0, ..Axes::new(x, y) }
}

/// The losses from step `from` on, their running mean, the floor and target lines and (with
/// `references`) the printed values.
fn draw_loss_series<'a, DB: DrawingBackend + 'a>(
    chart: &mut LossChart<'a, DB>,
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
    let raw = chart.draw_series(LineSeries::new(
        f.losses.iter().enumerate().skip(from).filter(|(_, v)| v.is_finite()).map(|(i, &v)| (i as f64, v)),
        raw_style,
    ))?;
    label_series(raw, "loss of each step", Marker::Line(raw_style, 12));
    let mean_style = palette::SPREAD.stroke_width(3);
    let mean = chart.draw_series(LineSeries::new(
        running_mean(&f.losses, LOSS_SMOOTHING).into_iter().filter(|p| p.0 >= from as f64),
        mean_style,
    ))?;
    label_series(mean, format!("running mean of {LOSS_SMOOTHING} steps"), Marker::Line(mean_style, 12));
    let y_range = {
        let r = chart.y_range();
        (r.start, r.end)
    };
    let target = format!("plateau target {}", Ticks::Trimmed(2).label(f.plateau_target));
    let floor = format!("floor D/2·ln(2πs²) = {:.1}", f.loss_floor);
    let levels = [
        Level::new(f.plateau_target, palette::ACCENT.stroke_width(2), target.replace('-', "\u{2212}")),
        Level::new(f.loss_floor, palette::INK.mix(0.7).stroke_width(2), floor.replace('-', "\u{2212}")),
    ];
    for line in levels.into_iter().filter_map(|level| level.line_inside((from as f64, x1), y_range)) {
        line.draw(chart)?;
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
        let style = color.stroke_width(3);
        let dots = chart.draw_series(points.into_iter().map(move |p| Circle::new(p, size, style)))?;
        label_series(dots, r.label.as_str(), Marker::Dot(style, size));
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
    root.draw(&Text::new("Samples f(z), z ~ N(0, AAᵀ)", (cx, 30), centred(bold(28.0))))?;
    let subtitle = format!(
        "{} · 32×32, grey = pixel value, clipped to [0, 1] for display ({:.2}% of pixels outside)",
        f.run_label,
        100.0 * outside as f64 / total.max(1) as f64
    );
    root.draw(&Text::new(subtitle, (cx, 66), centred(muted(18.0))))?;
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
    title_area.draw(&Text::new(title, (i32::try_from(w / 2)?, 36), centred(bold(26.0))))?;
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
            let y = Axis::new("eigenvalue", 8, Ticks::Trimmed(2));
            Axes { light_grid: 0.0, vertical_grid: false, ..Axes::new(RANK_AXIS, y) }.draw(&mut chart)?;
            let style = palette::SPREAD.filled();
            chart.draw_series(
                ema.iter().enumerate().filter(|(_, v)| v.is_finite()).map(|(i, &v)| bar(i, 0.0, v, style)),
            )?;
            legend.push((Mark::Bar(palette::SPREAD), "AAᵀ, moving average of A".into()));
        }
        Scale::Log => {
            let s2 = f.s * f.s;
            let noise = f.c * s2;
            let values = || ema.iter().chain(&raw).chain(&data).copied();
            // The lines below the spectrum and the noise threshold above it stay in view.
            let (lo, _) = positive_extent(values().chain([s2, relative]));
            let (_, hi) = positive_extent(values().chain([noise]));
            let (lo, hi) = log_range(lo, hi, 4.0, (1e-8, 10.0));
            let zeros = ema.iter().chain(&raw).chain(&data).filter(|&&v| v.is_nan() || v <= 0.0).count();
            if zeros > 0 {
                note.push(format!("{zeros} value(s) ≤ 0 drawn at the bottom"));
            }
            let mut chart = ChartBuilder::on(&plot_area)
                .margin(16)
                .x_label_area_size(70)
                .y_label_area_size(110)
                .build_cartesian_2d(x_range, (lo..hi).log_scale())?;
            Axes::new(RANK_AXIS, Axis::new("eigenvalue (log scale)", 10, Ticks::Log)).draw(&mut chart)?;
            let levels = [
                Level::new(
                    relative,
                    palette::SPREAD.stroke_width(2),
                    format!("τ·λ₁ = {} (rule 1, AAᵀ)", fmt_sig(relative)),
                ),
                Level::new(
                    noise,
                    palette::ACCENT.stroke_width(2),
                    format!("c·s² = {} (rule 3, cov g(x))", fmt_sig(noise)),
                ),
                Level::new(s2, palette::INK.mix(0.6).stroke_width(2), format!("s² = {} (noise level)", fmt_sig(s2))),
            ];
            // Their legend goes into the side panel (the chart's own legend box is not drawn).
            for line in levels.into_iter().filter_map(|level| level.line_inside((0.0, k as f64 + 1.0), (lo, hi))) {
                legend.push((Mark::Dash(line.style), line.label.clone()));
                line.draw(&mut chart)?;
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

/// The rank axis of the spectrum charts.
const RANK_AXIS: Axis<'static> = Axis { desc: Some("rank"), labels: 11, ticks: Ticks::Fixed(0) };

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
    let style = left_centred(text(19.0));
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
        area.draw(&Text::new(label.clone(), (48, y), style.clone()))?;
        y += line_h;
    }
    y += 20;
    for l in note {
        area.draw(&Text::new(l.clone(), (12, y), style.clone()))?;
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
    let t = &f.trajectory;
    let k = t.top().min(TRAJECTORY_LINES);
    let s2 = f.s * f.s;
    let (vmin, vmax) = positive_extent(t.raw.iter().chain(&t.ema).flat_map(|r| r.iter().take(k).copied()));
    let (lo, hi) = log_range(vmin.min(s2), vmax, 4.0, (1e-8, 10.0));
    // Values at or below 0 (and NaN) are drawn at the bottom.
    let clamp = move |v: f64| if v > 0.0 { v.clamp(lo, hi) } else { lo };
    let over_steps = |records: &[Vec<f64>], i: usize| -> Vec<(f64, f64)> {
        t.steps.iter().zip(records).map(|(&s, r)| (s as f64, clamp(r[i]))).collect()
    };
    let rank =
        |i: usize| RankLine { points: over_steps(&t.raw, i), dots: Some(4), average: Some(over_steps(&t.ema, i)) };
    let relative: Vec<(f64, f64)> =
        t.steps.iter().zip(&t.raw).filter_map(|(&s, r)| r.first().map(|&l| (s as f64, clamp(f.tau * l)))).collect();
    let ink = palette::INK.mix(0.7);
    EigenTrajectoryChart {
        title: format!("Leading eigenvalues of AAᵀ during training · {}", f.run_label),
        title_size: 26.0,
        steps: &t.steps,
        step_labels: 10,
        range: (lo, hi),
        ranks: (0..k).map(rank).collect(),
        explanations: vec![
            ("solid: A at that step".to_owned(), Marker::Line(ink.stroke_width(3), 12)),
            ("dashed: moving average of A".to_owned(), Marker::Dashed(ink.stroke_width(2))),
        ],
        curves: vec![DashedLine {
            dash: (4, 6),
            ..DashedLine::new(
                relative,
                palette::ACCENT.stroke_width(2),
                format!("τ·λ₁ of A at that step (τ = {})", f.tau),
            )
        }],
        levels: vec![Level::new(s2, palette::INK.mix(0.6).stroke_width(2), format!("s² = {}", fmt_sig(s2)))],
        not_counted: None,
        legend: LegendBox { marker_width: 30, ..LegendBox::new(SeriesLabelPosition::LowerLeft, 19.0) },
    }
    .draw(root)
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
            bold(25.0),
        )
        .margin(24)
        .margin_right(60)
        .x_label_area_size(70)
        .y_label_area_size(100)
        .build_cartesian_2d(plo..phi, -0.04..1.04)?;
    let x = Axis::new("projection (g(x) − μ)·u₁ (the sign of u₁ is arbitrary)", 10, Ticks::Significant);
    let y = Axis::new("brightness v of the square", 6, Ticks::Fixed(1));
    Axes { desc_size: 22.0, ..Axes::new(x, y) }.draw(&mut chart)?;
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
        muted(19.0),
    ))?;
    for (k, &i) in picks.iter().enumerate() {
        let cx = ax0 + (slot * (k as f64 + 0.5)) as i32;
        let (px, py) = chart.backend_coord(&(e.projection[i], e.brightness[i]));
        root.draw(&PathElement::new(
            vec![(px, py), (px, axis_y), (cx, top - 4)],
            palette::INK.mix(0.35).stroke_width(1),
        ))?;
        draw_image(root, |j| e.images[(i, j)], (cx - side / 2, top), THUMB_SCALE)?;
        root.draw(&Text::new(format!("v = {:.2}", e.brightness[i]), (cx, top + side + 18), centred(text(18.0))))?;
    }
    Ok(())
}
