//! The spread-study figures: heat maps of how often each rule is right (`heatmap`,
//! `heatmap_steps`) and the eigenvalue trajectories of the EMA prior (`trajectories`), each as
//! PNG and SVG. The drawing functions are backend-generic so tests can render into memory.
//! Axes, legends and tick labels are the shared ones of [`crate::plot`]; this file holds the
//! heat maps and the grid of small log-log trajectory panels.

use std::path::Path;

use manifold_prior::{ReadoffConfig, SpreadPlacement};
use plotters::chart::SeriesLabelPosition;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::grid::{Conditioner, Grid, placement_name};
use super::rules::{Cell, all_rules, pooled};
use super::run::RunResult;
use crate::plot::{
    Axes, Axis, DashedLine, LegendBox, Level, Marker, Ticks, bold, centred, label_series, left_centred, palette,
    series_color, subscript, text, write_png_and_svg,
};

/// One heat-map panel: rows (rules) x columns, each cell `(right, total)` or `None` (n/a).
#[derive(Debug, Clone)]
pub struct HeatPanel {
    /// Panel title.
    pub title: String,
    /// Column groups: label and how many consecutive columns it spans.
    pub groups: Vec<(String, usize)>,
    /// Column labels.
    pub columns: Vec<String>,
    /// Row labels.
    pub rows: Vec<String>,
    /// `cells[row][col]`.
    pub cells: Vec<Vec<Option<(usize, usize)>>>,
}

/// Width of one heat-map cell.
const CELL_W: u32 = 64;
/// Height of one heat-map cell (one rule).
const CELL_H: u32 = 26;
/// Width of the rule labels left of the cells.
const ROW_LABEL_W: u32 = 200;
/// Height of a panel's title band.
const TITLE_H: u32 = 40;
/// Height of the band of column-group labels.
const GROUP_H: u32 = 26;
/// Height of the band of column labels.
const COL_H: u32 = 26;
/// Padding around and between the panels.
const PAD: u32 = 16;
/// Height of the colour scale under the panels.
const LEGEND_H: u32 = 60;

impl HeatPanel {
    fn height(&self) -> u32 {
        TITLE_H + GROUP_H + COL_H + CELL_H * self.rows.len() as u32 + PAD
    }

    fn width(&self) -> u32 {
        ROW_LABEL_W + CELL_W * self.columns.len() as u32 + 2 * PAD
    }
}

/// Colour of a fraction right: red (0) through yellow (0.5) to green (1).
pub fn fraction_color(f: f64) -> RGBColor {
    let lerp = |a: (u8, u8, u8), b: (u8, u8, u8), t: f64| {
        let m = |x: u8, y: u8| (x as f64 + (y as f64 - x as f64) * t).round() as u8;
        RGBColor(m(a.0, b.0), m(a.1, b.1), m(a.2, b.2))
    };
    let (red, yellow, green) = ((0xD7, 0x30, 0x27), (0xFE, 0xE0, 0x8B), (0x1A, 0x98, 0x50));
    let f = f.clamp(0.0, 1.0);
    if f < 0.5 { lerp(red, yellow, f / 0.5) } else { lerp(yellow, green, (f - 0.5) / 0.5) }
}

/// Draw a stack of heat panels under a figure title, with a colour legend.
pub fn draw_heatmaps<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    panels: &[HeatPanel],
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    root.draw(&Text::new(title.to_owned(), (PAD as i32, 14), bold(26.0)))?;
    let mut y0 = 56i32;
    for p in panels {
        let x0 = PAD as i32;
        root.draw(&Text::new(p.title.clone(), (x0, y0 + 8), bold(21.0)))?;
        let gy = y0 + TITLE_H as i32;
        let cx0 = x0 + ROW_LABEL_W as i32;
        let mut c = 0usize;
        for (label, span) in &p.groups {
            let xa = cx0 + (c as u32 * CELL_W) as i32;
            let xb = xa + (*span as u32 * CELL_W) as i32;
            root.draw(&Rectangle::new([(xa + 2, gy + 2), (xb - 2, gy + GROUP_H as i32 - 2)], palette::GRID.filled()))?;
            root.draw(&Text::new(label.clone(), ((xa + xb) / 2, gy + GROUP_H as i32 / 2), centred(text(16.0))))?;
            c += span;
        }
        let hy = gy + GROUP_H as i32;
        for (j, label) in p.columns.iter().enumerate() {
            let xc = cx0 + (j as u32 * CELL_W + CELL_W / 2) as i32;
            root.draw(&Text::new(label.clone(), (xc, hy + COL_H as i32 / 2), centred(text(15.0))))?;
        }
        let ry = hy + COL_H as i32;
        for (i, label) in p.rows.iter().enumerate() {
            let yc = ry + (i as u32 * CELL_H + CELL_H / 2) as i32;
            root.draw(&Text::new(label.clone(), (x0, yc), left_centred(text(16.0))))?;
            for (j, cell) in p.cells[i].iter().enumerate() {
                let xa = cx0 + (j as u32 * CELL_W) as i32;
                let ya = ry + (i as u32 * CELL_H) as i32;
                let (fill, label) = match cell {
                    Some((k, n)) if *n > 0 => (fraction_color(*k as f64 / *n as f64), format!("{k}/{n}")),
                    _ => (RGBColor(0xF2, 0xF2, 0xF2), "n/a".to_owned()),
                };
                root.draw(&Rectangle::new(
                    [(xa + 1, ya + 1), (xa + CELL_W as i32 - 1, ya + CELL_H as i32 - 1)],
                    fill.filled(),
                ))?;
                root.draw(&Text::new(label, (xa + CELL_W as i32 / 2, ya + CELL_H as i32 / 2), centred(text(14.0))))?;
            }
        }
        y0 += p.height() as i32;
    }
    // Legend: the colour scale.
    let lx = PAD as i32 + ROW_LABEL_W as i32;
    let ly = y0 + 8;
    root.draw(&Text::new(
        "fraction of seeds with the right dimension:".to_owned(),
        (PAD as i32, ly + 12),
        left_centred(text(16.0)),
    ))?;
    for k in 0..=10 {
        let f = k as f64 / 10.0;
        let xa = lx + 170 + k * 40;
        root.draw(&Rectangle::new([(xa, ly), (xa + 38, ly + 24)], fraction_color(f).filled()))?;
        root.draw(&Text::new(format!("{f:.1}"), (xa + 19, ly + 12), centred(text(13.0))))?;
    }
    Ok(())
}

/// The heat panels of the last checkpoint: one per manifold, rules x (placement,
/// conditioner, noise level).
pub fn final_panels(grid: &Grid, cells: &[Cell]) -> Vec<HeatPanel> {
    let last = grid.steps();
    let rules = all_rules();
    let mut panels = Vec::new();
    for &m in &grid.manifolds {
        let mut groups = Vec::new();
        let mut columns = Vec::new();
        let mut keys = Vec::new();
        for &p in &grid.placements {
            for &cd in &grid.conditioners {
                groups.push((format!("{} / {}", placement_name(p), cd.short()), grid.spreads.len()));
                for &s in &grid.spreads {
                    columns.push(format!("s={s}"));
                    keys.push((p, cd, s));
                }
            }
        }
        let rows_cells = rules
            .iter()
            .map(|&rule| {
                keys.iter()
                    .map(|&(p, cd, s)| {
                        cells
                            .iter()
                            .find(|c| {
                                c.rule == rule
                                    && c.step == last
                                    && c.setting.manifold == m
                                    && c.setting.placement == p
                                    && c.setting.conditioner == cd
                                    && c.setting.s == s
                            })
                            .and_then(|c| (c.total + c.missing > 0).then_some((c.correct, c.total + c.missing)))
                    })
                    .collect()
            })
            .collect();
        panels.push(HeatPanel {
            title: format!(
                "{} (K = {}, D = {}{}), {last} steps",
                m.name(),
                m.intrinsic_dim(),
                m.dim(),
                if m.is_closed() { ", closed: control" } else { "" }
            ),
            groups,
            columns,
            rows: rules.iter().map(|r| r.label()).collect(),
            cells: rows_cells,
        });
    }
    panels
}

/// The heat panels by checkpoint: one per placement, rules x (manifold, checkpoint), pooled
/// over noise levels and conditioners.
pub fn step_panels(grid: &Grid, cells: &[Cell]) -> Vec<HeatPanel> {
    let rules = all_rules();
    grid.placements
        .iter()
        .map(|&p| {
            let groups = grid.manifolds.iter().map(|m| (m.name().to_owned(), grid.checkpoints.len())).collect();
            let columns = grid.manifolds.iter().flat_map(|_| grid.checkpoints.iter().map(|s| step_label(*s))).collect();
            let rows_cells = rules
                .iter()
                .map(|&rule| {
                    grid.manifolds
                        .iter()
                        .flat_map(|&m| {
                            grid.checkpoints.iter().map(move |&step| {
                                let (k, n) = pooled(cells, |c| {
                                    c.rule == rule
                                        && c.step == step
                                        && c.setting.manifold == m
                                        && c.setting.placement == p
                                });
                                (n > 0).then_some((k, n))
                            })
                        })
                        .collect()
                })
                .collect();
            HeatPanel {
                title: format!("{} placement, all noise levels and conditioners, by checkpoint", placement_name(p)),
                groups,
                columns,
                rows: rules.iter().map(|r| r.label()).collect(),
                cells: rows_cells,
            }
        })
        .collect()
}

fn step_label(step: usize) -> String {
    if step >= 1000 && step % 1000 == 0 { format!("{}k", step / 1000) } else { step.to_string() }
}

/// Size of a figure holding `panels` under `title`.
pub fn heat_size(title: &str, panels: &[HeatPanel]) -> (u32, u32) {
    let title_w = 15 * title.chars().count() as u32 + 2 * PAD;
    let w = panels
        .iter()
        .map(HeatPanel::width)
        .max()
        .unwrap_or(400)
        .max(ROW_LABEL_W + 170 + 11 * 40 + 2 * PAD)
        .max(title_w);
    let h = 56 + panels.iter().map(HeatPanel::height).sum::<u32>() + LEGEND_H;
    (w, h)
}

/// Which spectrum a trajectory figure shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrajectoryKind {
    /// The EMA `A A^T`, recorded at log-spaced steps (`trajectories.png`): latent and data
    /// placement at `s = 0.01`.
    EmaPrior,
    /// The encoded evaluation set, at the checkpoints (`data_spectra.png`): the method's
    /// setting (latent, `s = 0.01`) next to the estimator's default (data, `s = 0.03`).
    Data,
}

/// The columns of a trajectory figure: `(placement, s)` pairs the grid has.
fn trajectory_columns(grid: &Grid, kind: TrajectoryKind) -> Vec<(SpreadPlacement, f64)> {
    let fallback = |s: f64| if grid.spreads.contains(&s) { s } else { grid.spreads.first().copied().unwrap_or(s) };
    let wanted: Vec<(SpreadPlacement, f64)> = match kind {
        TrajectoryKind::EmaPrior => grid.placements.iter().map(|&p| (p, fallback(0.01))).collect(),
        TrajectoryKind::Data => {
            vec![(SpreadPlacement::Latent, fallback(0.01)), (SpreadPlacement::Data, fallback(0.03))]
        }
    };
    wanted.into_iter().filter(|(p, _)| grid.placements.contains(p)).collect()
}

/// Spectra of one run: `(step, eigenvalues)`.
type Spectra = Vec<(usize, Vec<f64>)>;

/// Panel size of the trajectory figures.
const TRAJ_PANEL: (u32, u32) = (760, 440);

/// Size of a trajectory figure.
pub fn trajectory_size(grid: &Grid, kind: TrajectoryKind) -> (u32, u32) {
    let cols = trajectory_columns(grid, kind).len().max(1) as u32;
    (TRAJ_PANEL.0 * cols, 60 + TRAJ_PANEL.1 * grid.manifolds.len().max(1) as u32)
}

/// Eigenvalues against the step (log-log), one panel per manifold and `(placement, s)`,
/// paper conditioner: one thin line per seed and rank, colour by rank, with `s^2` and
/// `c s^2` dashed.
pub fn draw_trajectories<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    grid: &Grid,
    results: &[RunResult],
    kind: TrajectoryKind,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let cond = if grid.conditioners.contains(&Conditioner::Paper) { Conditioner::Paper } else { grid.conditioners[0] };
    let c = ReadoffConfig::default().noise_c;
    let columns = trajectory_columns(grid, kind);
    let (top, body) = root.split_vertically(60);
    let title = match kind {
        TrajectoryKind::EmaPrior => format!(
            "Eigenvalues of the EMA AAᵀ during training ({} conditioner; one line per seed and rank)",
            cond.short()
        ),
        TrajectoryKind::Data => format!(
            "Eigenvalues of the encoded data's covariance at the checkpoints ({} conditioner; one line per seed and rank)",
            cond.short()
        ),
    };
    top.draw(&Text::new(title, (16, 16), bold(24.0)))?;
    let ncol = columns.len().max(1);
    let areas = body.split_evenly((grid.manifolds.len().max(1), ncol));
    for (idx, area) in areas.iter().enumerate() {
        let (mi, ci) = (idx / ncol, idx % ncol);
        let (Some(&m), Some(&(p, s))) = (grid.manifolds.get(mi), columns.get(ci)) else { continue };
        let runs: Vec<&RunResult> = results
            .iter()
            .filter(|r| {
                let st = r.spec.setting;
                st.manifold == m && st.placement == p && st.conditioner == cond && st.s == s
            })
            .collect();
        // (step, spectrum) series of each run.
        let series: Vec<(u64, Spectra)> = runs
            .iter()
            .map(|r| {
                let pts = match kind {
                    TrajectoryKind::EmaPrior => r.trajectory.iter().map(|(st, _, e)| (*st, e.clone())).collect(),
                    TrajectoryKind::Data => r.checkpoints.iter().map(|c| (c.step, c.data.clone())).collect(),
                };
                (r.spec.seed, pts)
            })
            .collect();
        let values: Vec<f64> = series
            .iter()
            .flat_map(|(_, pts)| pts.iter().flat_map(|(_, e)| e.iter().copied()))
            .filter(|v| v.is_finite() && *v > 0.0)
            .collect();
        let s2 = s * s;
        let lo = values.iter().copied().fold(s2, f64::min).max(1e-14) / 3.0;
        let hi = values.iter().copied().fold(c * s2, f64::max) * 3.0;
        let x0 = match kind {
            TrajectoryKind::EmaPrior => 10.0,
            TrajectoryKind::Data => grid.checkpoints.first().copied().unwrap_or(10) as f64 / 1.5,
        };
        let x1 = (grid.steps() as f64 * if kind == TrajectoryKind::Data { 1.5 } else { 1.0 }).max(x0 * 2.0);
        let mut chart = ChartBuilder::on(area)
            .caption(
                format!("{} (K = {}), {} placement, s = {s}", m.name(), m.intrinsic_dim(), placement_name(p)),
                text(19.0),
            )
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d((x0..x1).log_scale(), (lo..hi).log_scale())?;
        let (x_axis, y_axis) = (Axis::new("step", 6, Ticks::Steps), Axis::undescribed(8, Ticks::Log));
        // Plotters' default axis colour (black).
        let axes = Axes {
            label_size: 14.0,
            desc_size: 15.0,
            light_grid: 0.4,
            axis_color: BLACK.mix(1.0),
            ..Axes::new(x_axis, y_axis)
        };
        axes.draw(&mut chart)?;
        let d = m.dim();
        let first_seed = series.first().map(|(seed, _)| *seed);
        for (seed, pts) in &series {
            for k in 0..d {
                let color = series_color(k);
                let line: Vec<(f64, f64)> = pts
                    .iter()
                    .filter_map(|(st, e)| e.get(k).map(|&v| (*st as f64, v)))
                    .filter(|(x, v)| *x >= x0 && v.is_finite() && *v > 0.0)
                    .map(|(x, v)| (x, v.clamp(lo, hi)))
                    .collect();
                if kind == TrajectoryKind::Data {
                    chart.draw_series(line.iter().map(|&pt| Circle::new(pt, 3, color.filled())))?;
                }
                let drawn = chart.draw_series(LineSeries::new(line, color.mix(0.75).stroke_width(2)))?;
                if Some(*seed) == first_seed && k < 4 {
                    label_series(drawn, format!("λ{}", subscript(k + 1)), Marker::Line(color.stroke_width(3), 10));
                }
            }
        }
        let levels = [
            Level::new(s2, palette::INK.mix(0.7).stroke_width(2), "s²"),
            Level::new(c * s2, palette::ACCENT.mix(1.0).stroke_width(2), format!("{c}·s²")),
        ];
        for level in levels {
            DashedLine { dash: (10, 6), legend_half_width: 10, ..level.line((x0, x1)) }.draw(&mut chart)?;
        }
        let legend = LegendBox::new(SeriesLabelPosition::LowerLeft, 13.0);
        LegendBox { margin: 10, marker_width: 30, background: 0.85, ..legend }.draw(&mut chart)?;
    }
    Ok(())
}

/// Render every figure into `out_dir` as PNG and SVG; returns the file names.
pub fn render_all(out_dir: &Path, grid: &Grid, results: &[RunResult], cells: &[Cell]) -> anyhow::Result<Vec<String>> {
    let mut written = Vec::new();
    let last = grid.steps();
    let figures: [(&str, String, Vec<HeatPanel>); 2] = [
        (
            "heatmap",
            format!("Spread study: fraction of seeds whose read-off gives the known dimension ({last} steps)"),
            final_panels(grid, cells),
        ),
        ("heatmap_steps", "Spread study: fraction right by checkpoint".to_owned(), step_panels(grid, cells)),
    ];
    for (name, title, panels) in &figures {
        write_png_and_svg(
            out_dir,
            name,
            heat_size(title, panels),
            |root| draw_heatmaps(root, title, panels),
            |root| draw_heatmaps(root, title, panels),
        )?;
        written.extend([format!("{name}.png"), format!("{name}.svg")]);
    }
    for (name, kind) in [("trajectories", TrajectoryKind::EmaPrior), ("data_spectra", TrajectoryKind::Data)] {
        let size = trajectory_size(grid, kind);
        write_png_and_svg(
            out_dir,
            name,
            size,
            |root| draw_trajectories(root, grid, results, kind),
            |root| draw_trajectories(root, grid, results, kind),
        )?;
        written.extend([format!("{name}.png"), format!("{name}.svg")]);
    }
    Ok(written)
}
