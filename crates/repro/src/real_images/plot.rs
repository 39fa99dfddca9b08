//! The figures of the image experiments: sample grids, nearest training images, accuracy
//! against `K`, intrinsic-dimension bars, the spectrum of `A A^T` and the training curves.
//! Each is written as PNG and SVG through [`crate::plot::write_png_and_svg`].

use std::path::Path;

use faer::MatRef;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::ModelKind;
use super::judge::mean_sd;
use super::measure::{FigureImages, Measurements};
use crate::image_metrics::squared_distances;
use crate::plot::{
    Axes, Axis, LegendBox, Level, Marker, Ticks, bold, centred, label_series, muted, palette, series_color,
    write_png_and_svg,
};

/// Images per row of a grid.
const PER_ROW: usize = 10;
/// Gap between images in pixels.
const GAP: u32 = 4;
/// Margin around a grid.
const MARGIN: u32 = 16;
/// Height of a figure's title band.
const TITLE_H: u32 = 84;
/// Training images shown next to each sample in the nearest-neighbour figure.
const NEIGHBOURS: usize = 5;
/// Samples per model in the nearest-neighbour figure.
const NEAREST_SAMPLES: usize = 4;
/// Width of the row labels of the nearest-neighbour figure.
const LABEL_W: u32 = 150;
/// Size of the line and bar charts.
const CHART_SIZE: (u32, u32) = (1400, 640);

/// Screen pixels per image pixel: about 56 px per image.
fn scale(side: usize) -> u32 {
    (56 / side.max(1)).max(1) as u32
}

fn grey(v: f64) -> RGBColor {
    let g = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    RGBColor(g, g, g)
}

/// Draw the row-major image `pixels` with its top-left corner at `(x, y)`.
fn draw_image<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    pixels: impl Fn(usize) -> f64,
    side: usize,
    (x, y): (i32, i32),
    s: i32,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    for r in 0..side {
        for c in 0..side {
            let (px, py) = (x + s * c as i32, y + s * r as i32);
            area.draw(&Rectangle::new([(px, py), (px + s, py + s)], grey(pixels(r * side + c)).filled()))?;
        }
    }
    Ok(())
}

fn grid_size(side: usize) -> (u32, u32) {
    let cell = side as u32 * scale(side);
    let w = 2 * MARGIN + PER_ROW as u32 * (cell + GAP);
    (w.max(520), TITLE_H + 2 * MARGIN + PER_ROW as u32 * (cell + GAP))
}

fn draw_grid<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    images: MatRef<'_, f64>,
    side: usize,
    title: &str,
    subtitle: &str,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let (w, _) = root.dim_in_pixel();
    let cx = (w / 2) as i32;
    root.draw(&Text::new(title.to_owned(), (cx, 28), centred(bold(22.0))))?;
    root.draw(&Text::new(subtitle.to_owned(), (cx, 60), centred(muted(15.0))))?;
    let s = scale(side) as i32;
    let step = side as i32 * s + GAP as i32;
    for i in 0..images.nrows().min(PER_ROW * PER_ROW) {
        let (r, c) = ((i / PER_ROW) as i32, (i % PER_ROW) as i32);
        draw_image(
            root,
            |j| images[(i, j)],
            side,
            (MARGIN as i32 + c * step, (TITLE_H + MARGIN) as i32 + r * step),
            s,
        )?;
    }
    Ok(())
}

/// Write the grids: `test_images`, `samples_{standard,spread}_t{1,0.7}`.
fn write_grids(dir: &Path, f: &FigureImages, side: usize, seed: u64) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    let mut jobs: Vec<(String, MatRef<'_, f64>, String, String)> =
        vec![("test_images".into(), f.test.as_ref(), "Test images".into(), "for reference".into())];
    for (k, kind) in [ModelKind::Standard, ModelKind::Spread].into_iter().enumerate() {
        for (t, temp) in [(0, "1"), (1, "0.7")] {
            jobs.push((
                format!("samples_{}_t{temp}", kind.name()),
                f.samples[k][t].as_ref(),
                format!("Samples of the {} flow, temperature {temp}", kind.name()),
                format!("seed {seed}; pixels clipped to [0, 1]"),
            ));
        }
    }
    for (stem, images, title, subtitle) in jobs {
        let size = grid_size(side);
        write_png_and_svg(
            dir,
            &stem,
            size,
            |root| draw_grid(root, images, side, &title, &subtitle),
            |root| draw_grid(root, images, side, &title, &subtitle),
        )?;
        out.push(format!("{stem}.png"));
        out.push(format!("{stem}.svg"));
    }
    Ok(out)
}

/// The nearest training images (Euclidean, pixels) of the first samples of each model.
fn nearest(f: &FigureImages) -> Vec<(ModelKind, usize, Vec<usize>)> {
    let mut out = Vec::new();
    for (k, kind) in [ModelKind::Standard, ModelKind::Spread].into_iter().enumerate() {
        let s = &f.samples[k][0];
        let n = NEAREST_SAMPLES.min(s.nrows());
        let d = squared_distances(s.get(..n, ..), f.train.as_ref());
        for i in 0..n {
            let mut idx: Vec<usize> = (0..f.train.nrows()).collect();
            idx.sort_by(|&a, &b| d[(i, a)].total_cmp(&d[(i, b)]));
            idx.truncate(NEIGHBOURS);
            out.push((kind, i, idx));
        }
    }
    out
}

fn draw_nearest<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, f: &FigureImages, side: usize) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let (w, _) = root.dim_in_pixel();
    let cx = (w / 2) as i32;
    root.draw(&Text::new("Samples and their 5 nearest training images", (cx, 28), centred(bold(22.0))))?;
    root.draw(&Text::new(
        "left: a sample (temperature 1); right: the closest training images in pixel distance",
        (cx, 60),
        centred(muted(15.0)),
    ))?;
    let s = scale(side) as i32;
    let cell = side as i32 * s;
    let step = cell + GAP as i32;
    for (row, (kind, i, idx)) in nearest(f).into_iter().enumerate() {
        let k = kind as usize;
        let y = (TITLE_H + MARGIN) as i32 + row as i32 * step;
        root.draw(&Text::new(
            format!("{} #{}", kind.name(), i + 1),
            (MARGIN as i32, y + cell / 2),
            crate::plot::left_centred(crate::plot::text(16.0)),
        ))?;
        let x0 = LABEL_W as i32;
        let sample = &f.samples[k][0];
        draw_image(root, |j| sample[(i, j)], side, (x0, y), s)?;
        for (c, &t) in idx.iter().enumerate() {
            draw_image(root, |j| f.train[(t, j)], side, (x0 + (c as i32 + 1) * step + 2 * GAP as i32, y), s)?;
        }
    }
    Ok(())
}

fn nearest_size(side: usize) -> (u32, u32) {
    let cell = side as u32 * scale(side) + GAP;
    (
        LABEL_W + (NEIGHBOURS as u32 + 1) * cell + 2 * GAP + MARGIN + 40,
        TITLE_H + 2 * MARGIN + 2 * NEAREST_SAMPLES as u32 * cell,
    )
}

/// A labelled line of points and its colour.
type Series = (String, Vec<(f64, f64)>, RGBColor);

/// Mean over seeds at each K of one model, as `(mean K, mean accuracy)` points sorted by K.
fn model_points(m: &Measurements, kind: ModelKind, probe: bool) -> Vec<(f64, f64)> {
    let n_k = m.seeds.first().map_or(0, |s| s.spread.repr.len());
    let mut pts: Vec<(f64, f64)> = (0..n_k)
        .map(|i| {
            let rows: Vec<_> = m
                .seeds
                .iter()
                .map(|s| if kind == ModelKind::Spread { &s.spread.repr[i] } else { &s.standard.repr[i] })
                .collect();
            let k: Vec<f64> = rows.iter().map(|r| r.k as f64).collect();
            let a: Vec<f64> = rows.iter().map(|r| if probe { r.probe } else { r.knn }).collect();
            (mean_sd(&k).0, mean_sd(&a).0)
        })
        .collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    pts
}

fn draw_representation<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, m: &Measurements) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let (title, body) = root.split_vertically(60);
    let (w, _) = title.dim_in_pixel();
    title.draw(&Text::new(
        "Representation: test accuracy against K (mean over seeds)",
        ((w / 2) as i32, 30),
        centred(bold(22.0)),
    ))?;
    let panels = body.split_evenly((1, 2));
    for (panel, (probe, name)) in panels.iter().zip([(true, "linear probe"), (false, "5-NN")]) {
        let series: Vec<Series> = vec![
            ("spread flow".into(), model_points(m, ModelKind::Spread, probe), palette::SPREAD),
            ("standard flow".into(), model_points(m, ModelKind::Standard, probe), palette::BASELINE),
            (
                "PCA of pixels".into(),
                m.pca.values().map(|r| (r.k as f64, if probe { r.probe } else { r.knn })).collect(),
                palette::DATA,
            ),
        ];
        let raw = if probe { m.raw.probe } else { m.raw.knn };
        let all: Vec<f64> =
            series.iter().flat_map(|s| s.1.iter().map(|p| p.1)).chain([raw]).filter(|v| v.is_finite()).collect();
        let lo = all.iter().copied().fold(1.0, f64::min);
        let kmax = series.iter().flat_map(|s| s.1.iter().map(|p| p.0)).fold(1.0, f64::max);
        let mut chart = ChartBuilder::on(panel)
            .margin(16)
            .caption(name, bold(20.0))
            .x_label_area_size(60)
            .y_label_area_size(80)
            .build_cartesian_2d(0.0..kmax + 2.0, (lo - 0.05).max(0.0)..1.0)?;
        Axes::new(
            Axis::new("K (dimensions kept)", 8, Ticks::Trimmed(0)),
            Axis::new("test accuracy", 6, Ticks::Fixed(2)),
        )
        .draw(&mut chart)?;
        for (label, pts, color) in series {
            chart.draw_series(LineSeries::new(pts.clone(), color.stroke_width(3)))?;
            let s = chart.draw_series(pts.iter().map(|&p| Circle::new(p, 5, color.filled())))?;
            label_series(s, label, Marker::Line(color.stroke_width(3), 12));
        }
        Level::new(raw, palette::INK.stroke_width(2), "raw pixels").line((0.0, kmax + 2.0)).draw(&mut chart)?;
        LegendBox::new(SeriesLabelPosition::LowerRight, 16.0).draw(&mut chart)?;
    }
    Ok(())
}

fn draw_id<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, m: &Measurements) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let groups: Vec<(String, Vec<f64>)> = std::iter::once({
        let flow: Vec<f64> = m.seeds.iter().map(|s| s.readoff() as f64).collect();
        (
            "all".to_owned(),
            vec![mean_sd(&flow).0, m.classical.mle[0], m.classical.mle[1], m.classical.mle[2], m.classical.twonn],
        )
    })
    .chain(m.classical_classes.iter().enumerate().map(|(c, cl)| {
        let flow: Vec<f64> = m.seeds.iter().map(|s| s.id_classes[c].estimate() as f64).collect();
        (c.to_string(), vec![mean_sd(&flow).0, cl.mle[0], cl.mle[1], cl.mle[2], cl.twonn])
    }))
    .collect();
    let names = ["spread flow, default read-off (mean over seeds)", "MLE k = 5", "MLE k = 10", "MLE k = 20", "TwoNN"];
    let hi = groups.iter().flat_map(|g| g.1.iter()).copied().filter(|v| v.is_finite()).fold(1.0, f64::max) * 1.15;
    let mut chart = ChartBuilder::on(root)
        .margin(16)
        .caption("Intrinsic dimension: overall and per class", bold(22.0))
        .x_label_area_size(60)
        .y_label_area_size(80)
        .build_cartesian_2d(-0.5..groups.len() as f64 - 0.5, 0.0..hi)?;
    let group_labels: Vec<String> = groups.iter().map(|g| g.0.clone()).collect();
    let x_label = move |v: &f64| {
        let i = v.round();
        if (v - i).abs() < 1e-6 && i >= 0.0 {
            group_labels.get(i as usize).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .bold_line_style(palette::GRID)
        .light_line_style(palette::GRID.mix(0.0))
        .x_labels(groups.len() * 2 + 1)
        .x_label_formatter(&x_label)
        .x_desc("images (all, then per class)")
        .y_desc("intrinsic dimension")
        .label_style(crate::plot::text(18.0))
        .axis_desc_style(crate::plot::text(20.0))
        .draw()?;
    let width = 0.8 / names.len() as f64;
    for (b, name) in names.iter().enumerate() {
        let color = series_color(b);
        let bars = groups.iter().enumerate().filter(|(_, g)| g.1[b].is_finite()).map(|(i, g)| {
            let x = i as f64 - 0.4 + b as f64 * width;
            Rectangle::new([(x, 0.0), (x + width * 0.9, g.1[b])], color.filled())
        });
        let s = chart.draw_series(bars)?;
        label_series(s, *name, Marker::Band(color.filled()));
    }
    LegendBox::new(SeriesLabelPosition::UpperRight, 15.0).draw(&mut chart)?;
    Ok(())
}

fn draw_spectrum<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, m: &Measurements) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let Some(first) = m.seeds.first() else { return Ok(()) };
    let (s, c) = (first.id.spread, first.id.config.noise_c);
    let values: Vec<f64> = m
        .seeds
        .iter()
        .flat_map(|r| r.id.ema_prior_eigenvalues.iter().copied())
        .filter(|v| *v > 0.0 && v.is_finite())
        .collect();
    let lo = values.iter().copied().fold(s * s * 0.1, f64::min) * 0.5;
    let hi = values.iter().copied().fold(c * s * s, f64::max) * 2.0;
    let d = first.id.ema_prior_eigenvalues.len() as f64;
    let mut chart = ChartBuilder::on(root)
        .margin(16)
        .caption("Eigenvalues of AAᵀ (moving average), largest first, with the read-off thresholds", bold(20.0))
        .x_label_area_size(60)
        .y_label_area_size(100)
        .build_cartesian_2d(0.0..d + 1.0, (lo..hi).log_scale())?;
    Axes::new(Axis::new("rank", 10, Ticks::Trimmed(0)), Axis::new("eigenvalue (standardised units)", 8, Ticks::Log))
        .draw(&mut chart)?;
    for (i, r) in m.seeds.iter().enumerate() {
        let color = series_color(i);
        let pts: Vec<(f64, f64)> =
            r.id.ema_prior_eigenvalues
                .iter()
                .enumerate()
                .filter(|(_, v)| **v > 0.0)
                .map(|(k, v)| ((k + 1) as f64, *v))
                .collect();
        let series = chart.draw_series(LineSeries::new(pts, color.stroke_width(2)))?;
        label_series(
            series,
            format!("seed {} (read-off {})", r.seed, r.readoff()),
            Marker::Line(color.stroke_width(2), 12),
        );
    }
    Level::new(s * s, palette::PRIOR.stroke_width(2), "s²").line((0.0, d + 1.0)).draw(&mut chart)?;
    Level::new(c * s * s, palette::ACCENT.stroke_width(2), format!("c s² (c = {c})"))
        .line((0.0, d + 1.0))
        .draw(&mut chart)?;
    LegendBox::new(SeriesLabelPosition::UpperRight, 15.0).draw(&mut chart)?;
    Ok(())
}

fn draw_training<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, m: &Measurements) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let Some(r) = m.seeds.iter().find(|s| s.seed == m.figure_seed).or(m.seeds.first()) else { return Ok(()) };
    let panels = root.split_evenly((1, 2));
    for (panel, model) in panels.iter().zip([&r.standard, &r.spread]) {
        let train: Vec<(f64, f64)> =
            model.log.iter().map(|l| (l.step as f64, l.loss)).filter(|p| p.1.is_finite()).collect();
        let val: Vec<(f64, f64)> =
            model.validation.iter().map(|&(s, v)| (s as f64, v)).filter(|p| p.1.is_finite()).collect();
        let ys: Vec<f64> = train.iter().chain(&val).map(|p| p.1).collect();
        let (lo, hi) = ys.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &y| (a.min(y), b.max(y)));
        let (lo, hi) = if lo.is_finite() && hi > lo { (lo, hi) } else { (0.0, 1.0) };
        let pad = 0.05 * (hi - lo);
        let xmax = train.iter().chain(&val).map(|p| p.0).fold(1.0, f64::max);
        let mut chart = ChartBuilder::on(panel)
            .margin(16)
            .caption(format!("{} flow, seed {}", model.kind.name(), model.seed), bold(20.0))
            .x_label_area_size(60)
            .y_label_area_size(90)
            .build_cartesian_2d(0.0..xmax, lo - pad..hi + pad)?;
        Axes::new(
            Axis::new("step", 6, Ticks::Trimmed(0)),
            Axis::new("loss (standardised units)", 6, Ticks::Significant),
        )
        .draw(&mut chart)?;
        let s = chart.draw_series(LineSeries::new(train, palette::DATA.stroke_width(2)))?;
        label_series(s, "training (mean per interval)", Marker::Line(palette::DATA.stroke_width(2), 12));
        let s = chart.draw_series(LineSeries::new(val, palette::ACCENT.stroke_width(2)))?;
        label_series(s, "validation", Marker::Line(palette::ACCENT.stroke_width(2), 12));
        LegendBox::new(SeriesLabelPosition::UpperRight, 15.0).draw(&mut chart)?;
    }
    Ok(())
}

/// Write every figure into `dir`; returns the file names.
pub(crate) fn write_all(dir: &Path, m: &Measurements) -> anyhow::Result<Vec<String>> {
    let mut out = write_grids(dir, &m.figures, m.side, m.figure_seed)?;
    let side = m.side;
    write_png_and_svg(
        dir,
        "nearest",
        nearest_size(side),
        |r| draw_nearest(r, &m.figures, side),
        |r| draw_nearest(r, &m.figures, side),
    )?;
    write_png_and_svg(dir, "representation", CHART_SIZE, |r| draw_representation(r, m), |r| draw_representation(r, m))?;
    write_png_and_svg(dir, "intrinsic_dimension", CHART_SIZE, |r| draw_id(r, m), |r| draw_id(r, m))?;
    write_png_and_svg(dir, "spectrum", CHART_SIZE, |r| draw_spectrum(r, m), |r| draw_spectrum(r, m))?;
    write_png_and_svg(dir, "training", CHART_SIZE, |r| draw_training(r, m), |r| draw_training(r, m))?;
    for stem in ["nearest", "representation", "intrinsic_dimension", "spectrum", "training"] {
        out.push(format!("{stem}.png"));
        out.push(format!("{stem}.svg"));
    }
    Ok(out)
}
