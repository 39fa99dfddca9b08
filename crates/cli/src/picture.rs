//! PNG pictures of samples: a grid of grey images for image models, a scatter plot of pairs
//! of coordinates for vector models. Plain rasters (no axes or text), written with the `png`
//! encoder.

use std::path::Path;

use anyhow::Context as _;
use faer::MatRef;
use manifold_prior::flow_core::ImageShape;

/// Side of one scatter panel in pixels.
const PANEL: usize = 320;
/// Gap between images of a grid and between panels, in pixels.
const GAP: usize = 2;

/// A grey raster, row-major, one byte per pixel.
struct Raster {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

impl Raster {
    fn new(width: usize, height: usize, background: u8) -> Self {
        Self { width, height, pixels: vec![background; width * height] }
    }

    fn set(&mut self, x: usize, y: usize, value: u8) {
        if x < self.width && y < self.height {
            self.pixels[y * self.width + x] = value;
        }
    }

    fn write(&self, path: &Path) -> anyhow::Result<()> {
        let mut bytes = Vec::new();
        {
            let width = u32::try_from(self.width).context("the picture is too wide")?;
            let height = u32::try_from(self.height).context("the picture is too tall")?;
            let mut encoder = png::Encoder::new(&mut bytes, width, height);
            encoder.set_color(png::ColorType::Grayscale);
            encoder.set_depth(png::BitDepth::Eight);
            let mut writer = encoder.write_header().context("encoding the PNG")?;
            writer.write_image_data(&self.pixels).context("encoding the PNG")?;
        }
        crate::write_file(path, &bytes)
    }
}

/// Write the rows of `samples` as a grid of grey images of `shape` (the first channel of
/// each), `columns` images per row, each pixel value clamped to `[0, 1]` of the rows' range.
pub fn image_grid(path: &Path, samples: MatRef<'_, f64>, shape: ImageShape, columns: usize) -> anyhow::Result<()> {
    let (h, w) = (shape.height, shape.width);
    let n = samples.nrows();
    let columns = columns.clamp(1, n.max(1));
    let rows = n.div_ceil(columns).max(1);
    let finite = || (0..n).flat_map(|i| (0..h * w).map(move |p| (i, p))).map(|(i, p)| samples[(i, p)]);
    let (lo, hi) =
        finite().filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    let (lo, hi) = if lo.is_finite() && hi > lo { (lo, hi) } else { (0.0, 1.0) };
    let mut raster = Raster::new(columns * (w + GAP) + GAP, rows * (h + GAP) + GAP, 255);
    for i in 0..n {
        let (x0, y0) = (GAP + (i % columns) * (w + GAP), GAP + (i / columns) * (h + GAP));
        for y in 0..h {
            for x in 0..w {
                let v = ((samples[(i, y * w + x)] - lo) / (hi - lo)).clamp(0.0, 1.0);
                raster.set(x0 + x, y0 + y, (v * 255.0).round() as u8);
            }
        }
    }
    raster.write(path)
}

/// Write a scatter plot of the rows of `samples`: one panel per pair of coordinates
/// `(1, 2), (3, 4), ...` (at most four panels; a single coordinate against the sample index),
/// each scaled to its own range.
pub fn scatter(path: &Path, samples: MatRef<'_, f64>) -> anyhow::Result<()> {
    let d = samples.ncols();
    let pairs: Vec<(Option<usize>, usize)> =
        if d == 1 { vec![(None, 0)] } else { (0..(d / 2).min(4)).map(|k| (Some(2 * k), 2 * k + 1)).collect() };
    let mut raster = Raster::new(pairs.len() * (PANEL + GAP) + GAP, PANEL + 2 * GAP, 255);
    for (k, &(x_col, y_col)) in pairs.iter().enumerate() {
        let x_of = |i: usize| x_col.map_or(i as f64, |c| samples[(i, c)]);
        let range = |values: &mut dyn Iterator<Item = f64>| {
            values.filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)))
        };
        let (x_lo, x_hi) = range(&mut (0..samples.nrows()).map(x_of));
        let (y_lo, y_hi) = range(&mut (0..samples.nrows()).map(|i| samples[(i, y_col)]));
        let to_pixel = |v: f64, lo: f64, hi: f64| {
            let t = if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
            (t * (PANEL - 1) as f64).round() as usize
        };
        let x0 = GAP + k * (PANEL + GAP);
        for p in 0..PANEL {
            raster.set(x0 + p, GAP + PANEL - 1, 200);
            raster.set(x0, GAP + p, 200);
        }
        for i in 0..samples.nrows() {
            let (x, y) = (x_of(i), samples[(i, y_col)]);
            if x.is_finite() && y.is_finite() {
                let (px, py) = (to_pixel(x, x_lo, x_hi), to_pixel(y, y_lo, y_hi));
                raster.set(x0 + px, GAP + PANEL - 1 - py, 0);
            }
        }
    }
    raster.write(path)
}
