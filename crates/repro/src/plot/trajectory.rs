//! The eigenvalue-trajectory chart: the leading eigenvalues of `A A^T` against the training
//! step on a log axis, one colour per rank, with dashed thresholds; fig1 and fading squares
//! draw their trajectories with it.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{
    Axes, Axis, DashedLine, LegendBox, Level, Marker, Ticks, bold, label_series, legend_only, palette, series_color,
    subscript,
};

/// Pixel size of an `eigen_trajectory.png`.
pub const TRAJECTORY_SIZE: (u32, u32) = (1400, 800);

/// One rank's eigenvalue over the training, drawn as a solid line labelled `λ_i` in the
/// rank's colour ([`series_color`]).
#[derive(Debug, Clone, PartialEq)]
pub struct RankLine {
    /// `(step, eigenvalue)` points, already brought into the chart's range by the caller.
    pub points: Vec<(f64, f64)>,
    /// The radius of a dot at every point (`None`: the line only).
    pub dots: Option<i32>,
    /// A second, dashed line in the same colour and without a legend entry (the moving
    /// average of `A`).
    pub average: Option<Vec<(f64, f64)>>,
}

/// Everything an eigenvalue-trajectory chart shows. Drawn in this order (later on top, and
/// the legend in the same order): the shaded band below the threshold of `not_counted`, the
/// ranks, the legend-only `explanations`, the `curves`, the `levels` inside the range, and the
/// band's legend entry.
#[derive(Debug, Clone)]
pub struct EigenTrajectoryChart<'a> {
    /// The caption above the chart.
    pub title: String,
    /// Its font size in pixels (bold).
    pub title_size: f64,
    /// The recorded steps: the x axis runs from the first to the last (at least one step).
    pub steps: &'a [usize],
    /// The number of step labels plotters aims for.
    pub step_labels: usize,
    /// The eigenvalue range `(lo, hi)` of the log axis, `0 < lo < hi`.
    pub range: (f64, f64),
    /// One line per rank, largest eigenvalue first.
    pub ranks: Vec<RankLine>,
    /// Legend entries explaining the line styles, after the ranks' entries.
    pub explanations: Vec<(String, Marker)>,
    /// Dashed curves over the steps (a threshold that moves with the spectrum).
    pub curves: Vec<DashedLine>,
    /// Fixed thresholds across the chart; one outside the range is left out.
    pub levels: Vec<Level>,
    /// A threshold `t` and a label: the band below `t` is shaded, as directions not counted.
    pub not_counted: Option<(f64, String)>,
    /// Where and how the legend is drawn.
    pub legend: LegendBox,
}

impl EigenTrajectoryChart<'_> {
    /// The step range of the x axis: first to last step, at least 1 wide (`(0, 1)` when there
    /// are no steps).
    pub fn step_range(&self) -> (f64, f64) {
        let x0 = self.steps.first().copied().unwrap_or(0) as f64;
        let x1 = (self.steps.last().copied().unwrap_or(1) as f64).max(x0 + 1.0);
        (x0, x1)
    }

    /// Draw the chart onto `root` (any backend; [`TRAJECTORY_SIZE`] expected).
    pub fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let (lo, hi) = self.range;
        let (x0, x1) = self.step_range();
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, bold(self.title_size))
            .margin(24)
            .margin_right(40)
            .x_label_area_size(70)
            .y_label_area_size(110)
            .build_cartesian_2d(x0..x1, (lo..hi).log_scale())?;
        Axes::new(
            Axis::new("training step", self.step_labels, Ticks::Fixed(0)),
            Axis::new("eigenvalue (log scale)", 10, Ticks::Log),
        )
        .draw(&mut chart)?;

        let shade = palette::ACCENT.mix(0.07).filled();
        if let Some((threshold, _)) = self.not_counted {
            chart.draw_series(std::iter::once(Rectangle::new([(x0, lo), (x1, threshold.clamp(lo, hi))], shade)))?;
        }
        for (i, rank) in self.ranks.iter().enumerate() {
            let color = series_color(i);
            let solid = color.stroke_width(3);
            let line = chart.draw_series(LineSeries::new(rank.points.iter().copied(), solid))?;
            label_series(line, format!("λ{}", subscript(i + 1)), Marker::Line(solid, 12));
            if let Some(radius) = rank.dots {
                chart.draw_series(rank.points.iter().map(|&p| Circle::new(p, radius, color.filled())))?;
            }
            if let Some(average) = &rank.average {
                let dashed = color.mix(0.8).stroke_width(2);
                chart.draw_series(DashedLineSeries::new(average.iter().copied(), 10, 7, dashed))?;
            }
        }
        for (label, marker) in &self.explanations {
            legend_only(&mut chart, label.as_str(), *marker)?;
        }
        for curve in &self.curves {
            curve.clone().draw(&mut chart)?;
        }
        for level in &self.levels {
            if let Some(line) = level.clone().line_inside((x0, x1), (lo, hi)) {
                line.draw(&mut chart)?;
            }
        }
        if let Some((_, label)) = &self.not_counted {
            legend_only(&mut chart, label.as_str(), Marker::Band(shade))?;
        }
        self.legend.draw(&mut chart)
    }
}
