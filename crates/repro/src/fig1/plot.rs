//! The fig1 figures: `fig1.png` / `fig1.svg` (five square panels in one row) and
//! `eigen_trajectory.png` / `.svg` (the spectrum of `A A^T` against the training step).
//!
//! Both are drawn by backend-generic functions ([`draw_fig1`], [`draw_eigen_trajectory`]) so
//! tests can render into memory; [`render_fig1`] and [`render_eigen_trajectory`] write the
//! files. Data-space panels (a), (b), (d) share one range so they compare at a glance; the
//! latent panels (c), (e) use equal x/y ranges, so that on the square plot area circles look
//! like circles and the collapse of a direction is visible as a thin segment. Axes, legends,
//! tick labels and the trajectory chart itself ([`crate::plot::EigenTrajectoryChart`]) are the
//! shared ones of [`crate::plot`]; this file holds the panel layout.

use std::path::Path;

use faer::MatRef;
use plotters::chart::SeriesLabelPosition;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{EigenTrajectory, Fig1Panels};
use crate::plot::{
    Axes, Axis, EigenTrajectoryChart, LegendBox, Level, Marker, RankLine, Ticks, bold, centred, fmt_sig, label_series,
    legend_only, log_range, muted, palette, positive_extent, robust_range, subscript, text, thin, write_png_and_svg,
};

pub use crate::plot::TRAJECTORY_SIZE;

/// Pixel size of `fig1.png` (and the SVG's viewport).
pub const FIG1_SIZE: (u32, u32) =
    (5 * COL_W, SUPTITLE_H + TITLE_H + (COL_W - Y_LABEL_W - 2 * MARGIN) + X_LABEL_H + 2 * MARGIN);

/// Width of one panel column.
const COL_W: u32 = 470;
/// Height of the figure-wide title band.
const SUPTITLE_H: u32 = 64;
/// Height of each panel's title band (title and a one-line subtitle).
const TITLE_H: u32 = 66;
/// Height of the x-axis label area.
const X_LABEL_H: u32 = 62;
/// Width of the y-axis label area.
const Y_LABEL_W: u32 = 72;
/// Margin around each chart.
const MARGIN: u32 = 12;
/// At most this many points of each set are drawn (the CSVs keep all).
const MAX_DRAWN: usize = 3000;

/// Render `fig1.png` and `fig1.svg` into `out_dir`.
pub fn render_fig1(out_dir: &Path, panels: &Fig1Panels) -> anyhow::Result<()> {
    write_png_and_svg(
        out_dir,
        "fig1",
        FIG1_SIZE,
        |root| draw_fig1(root, panels).map(drop),
        |root| draw_fig1(root, panels).map(drop),
    )
}

/// Render `eigen_trajectory.png` and `eigen_trajectory.svg` into `out_dir`.
pub fn render_eigen_trajectory(out_dir: &Path, trajectory: &EigenTrajectory) -> anyhow::Result<()> {
    write_png_and_svg(
        out_dir,
        "eigen_trajectory",
        TRAJECTORY_SIZE,
        |root| draw_eigen_trajectory(root, trajectory),
        |root| draw_eigen_trajectory(root, trajectory),
    )
}

/// One set of points drawn as small semi-transparent dots.
struct Layer<'a> {
    points: MatRef<'a, f64>,
    color: RGBColor,
    alpha: f64,
    radius: u32,
    label: String,
}

/// Everything one panel shows.
struct Panel<'a> {
    title: String,
    axes: (&'static str, &'static str),
    x_range: (f64, f64),
    y_range: (f64, f64),
    /// Drawn in order, the first underneath.
    layers: Vec<Layer<'a>>,
    /// A reference line drawn under the dots (the true curve), with its legend label.
    curve: Option<(MatRef<'a, f64>, &'static str)>,
    /// A one-line subtitle under the title (the count of points outside the view is added).
    subtitle: String,
    /// Lines of a boxed note placed in an empty corner of the plot.
    note: Vec<String>,
}

/// Finite rows of an `n x 2` matrix as `(x, y)` pairs.
fn finite_points(m: MatRef<'_, f64>) -> impl Iterator<Item = (f64, f64)> + '_ {
    (0..m.nrows()).map(move |i| (m[(i, 0)], m[(i, 1)])).filter(|(x, y)| x.is_finite() && y.is_finite())
}

/// All finite x (column 0) or y (column 1) values of several sets.
fn coords<'a>(sets: &'a [MatRef<'a, f64>], col: usize) -> impl Iterator<Item = f64> + 'a {
    sets.iter().flat_map(move |m| (0..m.nrows()).map(move |i| m[(i, col)]))
}

/// A square range centred on the robust extent of `sets`, at least `min_half` wide on each
/// side of the centre.
fn square_range(sets: &[MatRef<'_, f64>], min_half: f64) -> ((f64, f64), (f64, f64)) {
    let (x0, x1) = robust_range(coords(sets, 0), 0.0, 0.06).unwrap_or((-1.0, 1.0));
    let (y0, y1) = robust_range(coords(sets, 1), 0.0, 0.06).unwrap_or((-1.0, 1.0));
    let half = (0.5 * (x1 - x0)).max(0.5 * (y1 - y0)).max(min_half);
    let (cx, cy) = (0.5 * (x0 + x1), 0.5 * (y0 + y1));
    ((cx - half, cx + half), (cy - half, cy + half))
}

/// The four corners, in order of preference for a legend.
const CORNERS: [SeriesLabelPosition; 4] = [
    SeriesLabelPosition::UpperLeft,
    SeriesLabelPosition::UpperRight,
    SeriesLabelPosition::LowerRight,
    SeriesLabelPosition::LowerLeft,
];

/// Corners sorted from emptiest to fullest, judged by the points of `panel` inside a box of
/// 45% x 30% of the plot at each corner.
fn corners_by_emptiness(panel: &Panel<'_>) -> Vec<SeriesLabelPosition> {
    let (x0, x1) = panel.x_range;
    let (y0, y1) = panel.y_range;
    let (wx, wy) = (0.45 * (x1 - x0), 0.30 * (y1 - y0));
    let count = |pos: &SeriesLabelPosition| -> usize {
        let left = matches!(pos, SeriesLabelPosition::UpperLeft | SeriesLabelPosition::LowerLeft);
        let upper = matches!(pos, SeriesLabelPosition::UpperLeft | SeriesLabelPosition::UpperRight);
        let in_x = |x: f64| if left { x < x0 + wx } else { x > x1 - wx };
        let in_y = |y: f64| if upper { y > y1 - wy } else { y < y0 + wy };
        let layer_hits: usize = panel
            .layers
            .iter()
            .map(|l| {
                let n = l.points.nrows();
                thin(n, 1000)
                    .map(|i| (l.points[(i, 0)], l.points[(i, 1)]))
                    .filter(|&(x, y)| in_x(x) && in_y(y) && x >= x0 && y <= y1)
                    .count()
                    * n.div_ceil(1000).max(1)
            })
            .sum();
        let curve_hits =
            panel.curve.map_or(0, |(c, _)| finite_points(c).filter(|&(x, y)| in_x(x) && in_y(y)).count() * 50);
        layer_hits + curve_hits
    };
    let mut ranked: Vec<(usize, usize)> = CORNERS.iter().enumerate().map(|(k, p)| (count(p), k)).collect();
    ranked.sort();
    ranked.into_iter().map(|(_, k)| CORNERS[k].clone()).collect()
}

/// Draw one panel into `area` (title band + chart).
fn draw_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, panel: &Panel<'_>) -> anyhow::Result<(u32, u32)>
where
    DB::ErrorType: 'static,
{
    let (title_area, chart_area) = area.split_vertically(TITLE_H);
    let (x0, x1) = panel.x_range;
    let (y0, y1) = panel.y_range;
    let inside = |&(x, y): &(f64, f64)| x >= x0 && x <= x1 && y >= y0 && y <= y1;
    let outside: usize =
        panel.layers.iter().map(|l| l.points.nrows() - finite_points(l.points).filter(|p| inside(p)).count()).sum();
    let mut subtitle = panel.subtitle.clone();
    if outside > 0 {
        if !subtitle.is_empty() {
            subtitle.push_str(" · ");
        }
        subtitle.push_str(&format!("{outside} outside the view"));
    }

    // The plot area is centred in the column, so centre the titles on it.
    let (tw, _) = title_area.dim_in_pixel();
    let cx = i32::try_from((tw + Y_LABEL_W) / 2)?;
    title_area.draw(&Text::new(panel.title.clone(), (cx, 22), centred(bold(25.0))))?;
    title_area.draw(&Text::new(subtitle, (cx, 52), centred(muted(18.0))))?;

    let mut chart = ChartBuilder::on(&chart_area)
        .margin(MARGIN)
        .x_label_area_size(X_LABEL_H)
        .y_label_area_size(Y_LABEL_W)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    let (x, y) = (Axis::new(panel.axes.0, 7, Ticks::Trimmed(1)), Axis::new(panel.axes.1, 7, Ticks::Trimmed(1)));
    Axes { label_size: 19.0, desc_size: 22.0, light_grid: 0.0, ..Axes::new(x, y) }.draw(&mut chart)?;

    // The reference curve goes under the dots; its legend entry comes after theirs.
    let curve_style = palette::INK.mix(0.7).stroke_width(2);
    if let Some((curve, _)) = panel.curve {
        chart.draw_series(LineSeries::new(finite_points(curve).filter(|p| inside(p)), curve_style))?;
    }
    for layer in &panel.layers {
        let n = layer.points.nrows();
        let style = layer.color.mix(layer.alpha).filled();
        let r = layer.radius;
        let dots = chart.draw_series(
            thin(n, MAX_DRAWN)
                .map(|i| (layer.points[(i, 0)], layer.points[(i, 1)]))
                .filter(|p| p.0.is_finite() && p.1.is_finite() && inside(p))
                .map(move |p| Circle::new(p, r, style)),
        )?;
        label_series(dots, layer.label.as_str(), Marker::Dot(layer.color.mix(0.85).filled(), 6));
    }
    if let Some((_, label)) = panel.curve {
        legend_only(&mut chart, label, Marker::Line(curve_style, 9))?;
    }

    let corners = corners_by_emptiness(panel);
    let legend_corner = corners.first().cloned().unwrap_or(SeriesLabelPosition::UpperLeft);
    LegendBox { margin: 10, marker_width: 26, ..LegendBox::new(legend_corner.clone(), 18.0) }.draw(&mut chart)?;

    let plot = chart.plotting_area().strip_coord_spec();
    if !panel.note.is_empty() {
        // Boxes are wide: put the note on the other side (top/bottom) from the legend.
        let upper =
            |p: &SeriesLabelPosition| matches!(p, SeriesLabelPosition::UpperLeft | SeriesLabelPosition::UpperRight);
        let corner = corners
            .iter()
            .skip(1)
            .find(|c| upper(c) != upper(&legend_corner))
            .cloned()
            .unwrap_or(SeriesLabelPosition::LowerRight);
        draw_note_box(&plot, &panel.note, &corner)?;
    }
    Ok(plot.dim_in_pixel())
}

/// A white box with lines of text in a corner of `plot`.
fn draw_note_box<DB: DrawingBackend>(
    plot: &DrawingArea<DB, Shift>,
    lines: &[String],
    corner: &SeriesLabelPosition,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let style = text(18.0);
    let (pw, ph) = plot.dim_in_pixel();
    let (pw, ph) = (i32::try_from(pw)?, i32::try_from(ph)?);
    let line_h = 24;
    let pad = 9;
    let mut w = 0;
    for l in lines {
        let (lw, _) = plot.estimate_text_size(l, &style)?;
        w = w.max(i32::try_from(lw)?);
    }
    let h = line_h * i32::try_from(lines.len())? + 2 * pad - 4;
    let w = w + 2 * pad;
    let margin = 10;
    let x = match corner {
        SeriesLabelPosition::UpperLeft | SeriesLabelPosition::LowerLeft => margin,
        _ => pw - w - margin,
    };
    let y = match corner {
        SeriesLabelPosition::UpperLeft | SeriesLabelPosition::UpperRight => margin,
        _ => ph - h - margin,
    };
    plot.draw(&Rectangle::new([(x, y), (x + w, y + h)], WHITE.mix(0.9).filled()))?;
    plot.draw(&Rectangle::new([(x, y), (x + w, y + h)], palette::INK.mix(0.25)))?;
    for (k, l) in lines.iter().enumerate() {
        let k = i32::try_from(k)?;
        plot.draw(&Text::new(l.clone(), (x + pad, y + pad + k * line_h), style.clone()))?;
    }
    Ok(())
}

/// Draw the five panels of Figure 1 onto `root` (any backend; `FIG1_SIZE` pixels expected).
/// Returns the plot-area size of each panel in pixels (square by construction).
pub fn draw_fig1<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, p: &Fig1Panels) -> anyhow::Result<Vec<(u32, u32)>>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let (top, body) = root.split_vertically(SUPTITLE_H);
    let (w, h) = top.dim_in_pixel();
    top.draw(&Text::new(
        "Figure 1 · data on the curve x₂ = sin(2x₁) in 2-D: a standard flow with prior N(0, I) \
         (b, c) against a spread flow with a learned prior N(0, AAᵀ) (d, e)",
        (i32::try_from(w / 2)?, i32::try_from(h / 2 + 4)?),
        centred(text(27.0)),
    ))?;

    // Data space: one range for (a), (b), (d), from the data and the reference curve (so the
    // samples of a bad model are judged against the data, not the other way round).
    let data_sets = [p.data.as_ref()];
    let (dx0, dx1) = robust_range(coords(&data_sets, 0), 0.0, 0.04).unwrap_or((-3.0, 3.0));
    let (dy0, dy1) = robust_range(coords(&data_sets, 1), 0.0, 0.0).unwrap_or((-1.0, 1.0));
    let dy_pad = 0.45 * (dy1 - dy0).max(1e-9);
    let data_x = (dx0, dx1);
    let data_y = (dy0 - dy_pad, dy1 + dy_pad);
    let curve = (p.reference_curve.nrows() > 1).then(|| (p.reference_curve.as_ref(), "true curve"));
    let on_curve = |frac: Option<f64>| -> String {
        frac.map(|f| format!("{:.1}% within {} of the curve", 100.0 * f, p.on_curve_tolerance)).unwrap_or_default()
    };

    let (c_x, c_y) = square_range(&[p.baseline_prior_samples.as_ref(), p.baseline_latent.as_ref()], 1.0);
    let (e_x, e_y) = square_range(&[p.spread_prior_samples.as_ref(), p.spread_latent.as_ref()], 1e-6);

    let mut eig_note = vec!["eigenvalues of AAᵀ:".to_owned()];
    for (i, v) in p.eigenvalues.iter().enumerate() {
        eig_note.push(format!("  λ{} = {}", subscript(i + 1), fmt_sig(*v)));
    }
    if let (Some(first), Some(last)) = (p.eigenvalues.first(), p.eigenvalues.last())
        && p.eigenvalues.len() > 1
        && *last > 0.0
    {
        eig_note.push(format!("  ratio λ₁/λ{} = {}", subscript(p.eigenvalues.len()), fmt_sig(first / last)));
    }

    let panels = [
        Panel {
            title: "(a) data".into(),
            axes: ("x₁", "x₂"),
            x_range: data_x,
            y_range: data_y,
            layers: vec![Layer {
                points: p.data.as_ref(),
                color: palette::DATA,
                alpha: 0.45,
                radius: 2,
                label: "data x".into(),
            }],
            curve: None,
            subtitle: format!("{} points, x₂ = sin(2x₁)", p.data.nrows()),
            note: vec![],
        },
        Panel {
            title: "(b) standard flow: samples".into(),
            axes: ("x₁", "x₂"),
            x_range: data_x,
            y_range: data_y,
            layers: vec![Layer {
                points: p.baseline_samples.as_ref(),
                color: palette::BASELINE,
                alpha: 0.45,
                radius: 2,
                label: "f(z), z ~ N(0, I)".into(),
            }],
            curve,
            subtitle: on_curve(p.baseline_on_curve),
            note: vec![],
        },
        Panel {
            title: "(c) standard flow: latent".into(),
            axes: ("z₁", "z₂"),
            x_range: c_x,
            y_range: c_y,
            layers: vec![
                Layer {
                    points: p.baseline_prior_samples.as_ref(),
                    color: palette::PRIOR,
                    alpha: 0.45,
                    radius: 2,
                    label: "z ~ N(0, I)".into(),
                },
                Layer {
                    points: p.baseline_latent.as_ref(),
                    color: palette::BASELINE,
                    alpha: 0.55,
                    radius: 2,
                    label: "g(x), x = data".into(),
                },
            ],
            curve: None,
            subtitle: "N(0, I) samples and the encoded data".into(),
            note: vec![],
        },
        Panel {
            title: "(d) spread flow: samples".into(),
            axes: ("x₁", "x₂"),
            x_range: data_x,
            y_range: data_y,
            layers: vec![Layer {
                points: p.spread_samples.as_ref(),
                color: palette::SPREAD,
                alpha: 0.45,
                radius: 2,
                label: "f(z), z ~ N(0, AAᵀ)".into(),
            }],
            curve,
            subtitle: on_curve(p.spread_on_curve),
            note: vec![],
        },
        Panel {
            title: "(e) spread flow: latent".into(),
            axes: ("z₁", "z₂"),
            x_range: e_x,
            y_range: e_y,
            layers: vec![
                Layer {
                    points: p.spread_prior_samples.as_ref(),
                    color: palette::PRIOR,
                    alpha: 0.45,
                    radius: 4,
                    label: "z ~ N(0, AAᵀ)".into(),
                },
                Layer {
                    points: p.spread_latent.as_ref(),
                    color: palette::SPREAD,
                    alpha: 0.6,
                    radius: 2,
                    label: "g(x), x = data".into(),
                },
            ],
            curve: None,
            subtitle: "N(0, AAᵀ) samples and the encoded data".into(),
            note: eig_note,
        },
    ];

    let columns = body.split_evenly((1, panels.len()));
    let mut dims = Vec::with_capacity(panels.len());
    for (area, panel) in columns.iter().zip(&panels) {
        dims.push(draw_panel(area, panel)?);
    }
    Ok(dims)
}

/// Draw the eigenvalue trajectory onto `root` (any backend; `TRAJECTORY_SIZE` expected):
/// one line per eigenvalue on a log axis, with `s^2` and the read-off threshold `c s^2`, and
/// the band below `c s^2` (directions not counted) shaded.
pub fn draw_eigen_trajectory<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    t: &EigenTrajectory,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let s2 = t.s * t.s;
    let thr = t.c * s2;
    let (lo, hi) = positive_extent(t.eigenvalues.iter().flatten().copied().chain([s2, thr]));
    let (lo, hi) = log_range(lo, hi, 3.0, (1e-6, 10.0));
    let rank = |i: usize| RankLine {
        points: t
            .steps
            .iter()
            .zip(&t.eigenvalues)
            .map(|(&s, e)| (s as f64, e[i]))
            .filter(|(_, v)| v.is_finite())
            .map(|(s, v)| (s, v.clamp(lo, hi)))
            .collect(),
        dots: None,
        average: None,
    };
    EigenTrajectoryChart {
        title: "Eigenvalues of AAᵀ during training (spread flow)".to_owned(),
        title_size: 28.0,
        steps: &t.steps,
        step_labels: 8,
        range: (lo, hi),
        ranks: (0..t.dim()).map(rank).collect(),
        explanations: vec![],
        curves: vec![],
        levels: vec![
            Level::new(s2, palette::INK.mix(0.7).stroke_width(2), format!("s² = {} (noise level)", fmt_sig(s2))),
            Level::new(
                thr,
                palette::ACCENT.mix(1.0).stroke_width(2),
                format!("c·s² = {} (read-off threshold, c = {})", fmt_sig(thr), t.c),
            ),
        ],
        not_counted: Some((thr, "below c·s²: direction not counted".to_owned())),
        // Lower left stays empty: every eigenvalue starts near 1 (A = I) and the small ones
        // fall to the right.
        legend: LegendBox::new(SeriesLabelPosition::LowerLeft, 20.0),
    }
    .draw(root)
}
