//! Tests of the shared chart module: fonts, ranges, number formats and tick labels, thresholds,
//! and the eigenvalue-trajectory chart drawn into memory (also with degenerate input).

use plotters::chart::SeriesLabelPosition;
use plotters::prelude::*;

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
    assert_eq!(fmt_sig(0.0), "0");
    assert_eq!(superscript("-12"), "⁻¹²");
    assert_eq!(subscript(12), "₁₂");
    Ok(())
}

#[test]
fn tick_labels_of_every_axis_kind() {
    assert_eq!(Ticks::Fixed(0).label(1234.4), "1234");
    assert_eq!(Ticks::Fixed(1).label(0.6), "0.6");
    assert_eq!(Ticks::Fixed(1).label(1.0), "1.0");

    // Whole numbers plainly, with a true minus sign and no "-0".
    assert_eq!(Ticks::Trimmed(1).label(-2.0), "\u{2212}2");
    assert_eq!(Ticks::Trimmed(1).label(-1.26), "\u{2212}1.3");
    assert_eq!(Ticks::Trimmed(1).label(-1e-12), "0");
    assert_eq!(Ticks::Trimmed(2).label(1.234), "1.23");
    assert_eq!(Ticks::Trimmed(2).label(-3774.7), "\u{2212}3774.70");

    assert_eq!(Ticks::Significant.label(-2.5e-5), "\u{2212}2.50·10⁻⁵");
    assert_eq!(Ticks::Significant.label(0.9123), "0.912");

    // Powers of ten as such, anything else with significant digits.
    assert_eq!(Ticks::Log.label(1e-3), "10⁻³");
    assert_eq!(Ticks::Log.label(1.0), "10⁰");
    assert_eq!(Ticks::Log.label(100.0), "10²");
    assert_eq!(Ticks::Log.label(3e-3), "3.00·10⁻³");
    assert_eq!(Ticks::Log.label(0.5), "0.500");

    // Steps: thousands as k without trailing zeros.
    assert_eq!(Ticks::Steps.label(10.2), "10");
    assert_eq!(Ticks::Steps.label(100.0), "100");
    assert_eq!(Ticks::Steps.label(999.6), "1k");
    assert_eq!(Ticks::Steps.label(2500.0), "2.5k");
    assert_eq!(Ticks::Steps.label(30000.0), "30k");
}

#[test]
fn log_ranges_keep_to_the_positive_values() {
    let inf = f64::INFINITY;
    assert_eq!(positive_extent([3.0, -1.0, 0.0, f64::NAN, 0.5, inf]), (0.5, 3.0));
    assert_eq!(positive_extent([0.0, -2.0]), (inf, -inf));
    assert_eq!(log_range(0.5, 3.0, 4.0, (1e-8, 10.0)), (0.125, 12.0));
    assert_eq!(log_range(inf, -inf, 4.0, (1e-8, 10.0)), (1e-8, 10.0));
    assert_eq!(log_range(1.0, 1.0, 3.0, (1e-6, 10.0)), (1e-6, 10.0));
}

#[test]
fn levels_outside_the_range_are_left_out() {
    let style = palette::INK.stroke_width(2);
    let inside = Level::new(0.5, style, "in").line_inside((0.0, 4.0), (0.1, 1.0));
    assert_eq!(inside.map(|l| l.points), Some(vec![(0.0, 0.5), (4.0, 0.5)]));
    assert_eq!(Level::new(1.0, style, "edge").line_inside((0.0, 4.0), (0.1, 1.0)), None);
    assert_eq!(Level::new(f64::NAN, style, "nan").line_inside((0.0, 4.0), (0.1, 1.0)), None);
}

/// The number of pixels of `buf` (RGB) that are not grey: coloured lines and bands.
fn coloured_pixels(buf: &[u8]) -> usize {
    buf.chunks_exact(3)
        .filter(|p| {
            let (r, g, b) = (i32::from(p[0]), i32::from(p[1]), i32::from(p[2]));
            (r - g).abs().max((g - b).abs()).max((r - b).abs()) > 40
        })
        .count()
}

/// Every part of the trajectory chart draws, also with no steps at all.
#[test]
fn trajectory_chart_draws_into_memory() -> anyhow::Result<()> {
    ensure_fonts()?;
    let steps: Vec<usize> = (0..=20).map(|k| 10 * k).collect();
    let decay = |rate: f64| -> Vec<(f64, f64)> {
        steps.iter().map(|&s| (s as f64, (-rate * s as f64).exp().max(1e-5))).collect()
    };
    let full = EigenTrajectoryChart {
        title: "test".to_owned(),
        title_size: 26.0,
        steps: &steps,
        step_labels: 10,
        range: (1e-6, 10.0),
        ranks: vec![
            RankLine { points: decay(0.0), dots: Some(4), average: Some(decay(0.001)) },
            RankLine { points: decay(0.05), dots: None, average: None },
        ],
        explanations: vec![("dashed: average".to_owned(), Marker::Dashed(palette::INK.stroke_width(2)))],
        curves: vec![DashedLine {
            dash: (4, 6),
            ..DashedLine::new(decay(0.02), palette::ACCENT.stroke_width(2), "curve")
        }],
        levels: vec![
            Level::new(1e-4, palette::INK.stroke_width(2), "inside"),
            Level::new(100.0, palette::INK.stroke_width(2), "outside"),
        ],
        not_counted: Some((1e-3, "not counted".to_owned())),
        legend: LegendBox::new(SeriesLabelPosition::LowerLeft, 19.0),
    };
    let empty = EigenTrajectoryChart { steps: &[], ranks: vec![], curves: vec![], ..full.clone() };
    assert_eq!(full.step_range(), (0.0, 200.0));
    assert_eq!(empty.step_range(), (0.0, 1.0));
    let (w, h) = TRAJECTORY_SIZE;
    // Without steps only the axes, texts and the pale band remain: no coloured line.
    for (chart, min_coloured) in [(full, 1000), (empty, 0)] {
        let mut buf = vec![0_u8; (w * h * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut buf, TRAJECTORY_SIZE).into_drawing_area();
            chart.draw(&root)?;
            root.present()?;
        }
        let coloured = coloured_pixels(&buf);
        assert!(coloured >= min_coloured, "only {coloured} coloured pixels");
        let inked = buf.chunks_exact(3).filter(|p| p.iter().any(|&c| c < 128)).count();
        assert!(inked > 1000, "only {inked} dark pixels: axes and texts missing");
    }
    Ok(())
}

/// A written PNG reads back with its size; a truncated one does not.
#[test]
fn written_png_has_its_size() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    write_png(dir.path(), "blank", (40, 30), |root| {
        root.fill(&WHITE)?;
        Ok(())
    })?;
    let bytes = std::fs::read(dir.path().join("blank.png"))?;
    assert_eq!(png_size(&bytes), Some((40, 30)));
    assert_eq!(png_size(&bytes[..bytes.len() - 12]), None);
    assert_eq!(png_size(b"not a png"), None);
    Ok(())
}
