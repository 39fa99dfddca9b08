//! Parts of a chart that every experiment uses: [`Axes`] (grid, axis lines, tick labels and
//! descriptions), the [`LegendBox`], legend [`Marker`]s, legend entries without a series, and
//! [`DashedLine`]s (thresholds and reference curves) with their legend entry.

use plotters::chart::{ChartContext, SeriesAnno, SeriesLabelPosition};
use plotters::coord::CoordTranslate;
use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::prelude::*;

use super::{Ticks, palette, text};

/// One axis of a chart: its description (`None`: no description), how many tick labels
/// plotters aims for, and how they are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Axis<'a> {
    /// The axis description, drawn along the axis.
    pub desc: Option<&'a str>,
    /// The number of tick labels plotters aims for.
    pub labels: usize,
    /// How a tick's value is written.
    pub ticks: Ticks,
}

impl<'a> Axis<'a> {
    /// An axis described by `desc` with about `labels` ticks written as `ticks`.
    pub fn new(desc: &'a str, labels: usize, ticks: Ticks) -> Self {
        Self { desc: Some(desc), labels, ticks }
    }

    /// An axis without a description (the panel's caption says what it is).
    pub fn undescribed(labels: usize, ticks: Ticks) -> Self {
        Self { desc: None, labels, ticks }
    }
}

/// The mesh of a chart: both axes, the grid (bold lines at the ticks, light lines between
/// them) and the text sizes. [`Axes::new`] gives the house style; change a field with
/// `Axes { light_grid: 0.0, ..Axes::new(x, y) }`.
#[derive(Debug, Clone, Copy)]
pub struct Axes<'a> {
    /// The horizontal axis.
    pub x: Axis<'a>,
    /// The vertical axis.
    pub y: Axis<'a>,
    /// Font size of the tick labels in pixels.
    pub label_size: f64,
    /// Font size of the axis descriptions in pixels.
    pub desc_size: f64,
    /// The opacity of the light grid lines between the ticks (0 hides them).
    pub light_grid: f64,
    /// Whether vertical grid lines are drawn (bars stand better without).
    pub vertical_grid: bool,
    /// The colour of the axis lines.
    pub axis_color: RGBAColor,
}

impl<'a> Axes<'a> {
    /// The house style: tick labels of 20 px, descriptions of 23 px, light grid lines at half
    /// strength, grid lines both ways, axis lines in ink at 80%.
    pub fn new(x: Axis<'a>, y: Axis<'a>) -> Self {
        Self {
            x,
            y,
            label_size: 20.0,
            desc_size: 23.0,
            light_grid: 0.5,
            vertical_grid: true,
            axis_color: palette::INK.mix(0.8),
        }
    }

    /// Draw the mesh onto `chart`.
    pub fn draw<DB, X, Y>(&self, chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>) -> anyhow::Result<()>
    where
        DB: DrawingBackend,
        DB::ErrorType: 'static,
        X: Ranged<ValueType = f64> + ValueFormatter<f64>,
        Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
    {
        let (x_ticks, y_ticks) = (self.x.ticks, self.y.ticks);
        let x_label = move |v: &f64| x_ticks.label(*v);
        let y_label = move |v: &f64| y_ticks.label(*v);
        let mut mesh = chart.configure_mesh();
        mesh.light_line_style(palette::GRID.mix(self.light_grid))
            .bold_line_style(palette::GRID)
            .axis_style(self.axis_color)
            .x_labels(self.x.labels)
            .y_labels(self.y.labels)
            .x_label_formatter(&x_label)
            .y_label_formatter(&y_label)
            .label_style(text(self.label_size))
            .axis_desc_style(text(self.desc_size));
        if !self.vertical_grid {
            mesh.disable_x_mesh();
        }
        if let Some(desc) = self.x.desc {
            mesh.x_desc(desc);
        }
        if let Some(desc) = self.y.desc {
            mesh.y_desc(desc);
        }
        mesh.draw()?;
        Ok(())
    }
}

/// The box of legend entries drawn over a chart, on white with a thin ink border.
/// [`LegendBox::new`] gives the house spacing; change it with
/// `LegendBox { margin: 10, ..LegendBox::new(position, 18.0) }`.
#[derive(Debug, Clone)]
pub struct LegendBox {
    /// Where the box goes.
    pub position: SeriesLabelPosition,
    /// Font size of the labels in pixels.
    pub font_size: f64,
    /// Distance from the plot's edge in pixels.
    pub margin: i32,
    /// Width given to each entry's marker in pixels.
    pub marker_width: i32,
    /// The opacity of the white background.
    pub background: f64,
}

impl LegendBox {
    /// A legend at `position` with labels of `font_size` px, 14 px from the plot's edge, 34 px
    /// for each marker, on 90% white.
    pub fn new(position: SeriesLabelPosition, font_size: f64) -> Self {
        Self { position, font_size, margin: 14, marker_width: 34, background: 0.9 }
    }

    /// Draw the entries of every labelled series of `chart`.
    pub fn draw<'a, DB, CT>(&self, chart: &mut ChartContext<'a, DB, CT>) -> anyhow::Result<()>
    where
        DB: DrawingBackend + 'a,
        DB::ErrorType: 'static,
        CT: CoordTranslate,
    {
        chart
            .configure_series_labels()
            .position(self.position.clone())
            .margin(self.margin)
            .legend_area_size(self.marker_width)
            .label_font(text(self.font_size))
            .background_style(WHITE.mix(self.background))
            .border_style(palette::INK.mix(0.25))
            .draw()?;
        Ok(())
    }
}

/// The marker of a legend entry, drawn left of its label.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Marker {
    /// A line of this style reaching the given number of pixels either side of the centre.
    Line(ShapeStyle, i32),
    /// A dashed line: two dashes of this style, 9 px each with a 6 px gap.
    Dashed(ShapeStyle),
    /// A 24 x 16 px box of this style (a shaded band).
    Band(ShapeStyle),
    /// A dot of this style and radius.
    Dot(ShapeStyle, i32),
}

/// Give a drawn series its legend entry: `label` after `marker`.
pub fn label_series<'a, DB: DrawingBackend + 'a>(
    series: &mut SeriesAnno<'a, DB>,
    label: impl Into<String>,
    marker: Marker,
) {
    series.label(label);
    match marker {
        Marker::Line(style, half) => {
            series.legend(move |(x, y)| PathElement::new(vec![(x - half, y), (x + half, y)], style));
        }
        Marker::Dashed(style) => {
            series.legend(move |(x, y)| {
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(-12, 0), (-3, 0)], style)
                    + PathElement::new(vec![(3, 0), (12, 0)], style)
            });
        }
        Marker::Band(style) => {
            series.legend(move |(x, y)| Rectangle::new([(x - 12, y - 8), (x + 12, y + 8)], style));
        }
        Marker::Dot(style, radius) => {
            series.legend(move |(x, y)| Circle::new((x, y), radius, style));
        }
    }
}

/// A legend entry that explains something drawn elsewhere (no series of its own).
pub fn legend_only<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    label: impl Into<String>,
    marker: Marker,
) -> anyhow::Result<()>
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    CT: CoordTranslate<From = (f64, f64)>,
{
    label_series(chart.draw_series(std::iter::empty::<PathElement<(f64, f64)>>())?, label, marker);
    Ok(())
}

/// The dash pattern of threshold lines: 12 px dashes with 8 px gaps.
pub const DASH: (i32, i32) = (12, 8);

/// A dashed line with a legend entry: a threshold across the chart ([`Level::line`]) or a
/// reference curve. Another dash pattern: `DashedLine { dash: (4, 6), ..DashedLine::new(...) }`.
#[derive(Debug, Clone, PartialEq)]
pub struct DashedLine {
    /// The points, in data coordinates.
    pub points: Vec<(f64, f64)>,
    /// Dash length and gap in pixels.
    pub dash: (i32, i32),
    /// Colour and width.
    pub style: ShapeStyle,
    /// The legend label.
    pub label: String,
    /// Half the width of the legend's line marker in pixels.
    pub legend_half_width: i32,
}

impl DashedLine {
    /// A curve through `points` with the threshold dash pattern [`DASH`] and a 24 px legend
    /// marker.
    pub fn new(points: Vec<(f64, f64)>, style: ShapeStyle, label: impl Into<String>) -> Self {
        Self { points, dash: DASH, style, label: label.into(), legend_half_width: 12 }
    }

    /// Draw the line onto `chart` with its legend entry.
    pub fn draw<'a, DB, CT>(self, chart: &mut ChartContext<'a, DB, CT>) -> anyhow::Result<()>
    where
        DB: DrawingBackend + 'a,
        DB::ErrorType: 'static,
        CT: CoordTranslate<From = (f64, f64)>,
    {
        let marker = Marker::Line(self.style, self.legend_half_width);
        let series = chart.draw_series(DashedLineSeries::new(self.points, self.dash.0, self.dash.1, self.style))?;
        label_series(series, self.label, marker);
        Ok(())
    }
}

/// A horizontal threshold: its value, colour and width, and legend label.
#[derive(Debug, Clone, PartialEq)]
pub struct Level {
    /// The value on the y axis.
    pub y: f64,
    /// Colour and width of its line.
    pub style: ShapeStyle,
    /// The legend label.
    pub label: String,
}

impl Level {
    /// The threshold `y` drawn in `style`, labelled `label`.
    pub fn new(y: f64, style: ShapeStyle, label: impl Into<String>) -> Self {
        Self { y, style, label: label.into() }
    }

    /// The threshold as a dashed line from `x.0` to `x.1`.
    pub fn line(self, x: (f64, f64)) -> DashedLine {
        DashedLine::new(vec![(x.0, self.y), (x.1, self.y)], self.style, self.label)
    }

    /// [`Level::line`] if `y` lies strictly inside `y_range`, else `None`: a threshold outside
    /// the chart is left out, legend entry and all.
    pub fn line_inside(self, x: (f64, f64), (lo, hi): (f64, f64)) -> Option<DashedLine> {
        (self.y > lo && self.y < hi).then(|| self.line(x))
    }
}
