//! Tests of the fig1 outputs: every file is written, the PNGs have the expected size and real
//! content, the CSVs have headers, and each panel is square and non-blank.

use plotters::prelude::*;

use super::plot::{FIG1_SIZE, TRAJECTORY_SIZE, draw_eigen_trajectory, draw_fig1};
use super::{synthetic, write_outputs};
use crate::plot::png_size;

#[test]
fn writes_every_figure_and_csv() -> anyhow::Result<()> {
    let (panels, trajectory) = synthetic::inputs(1);
    let dir = tempfile::tempdir()?;
    let written = write_outputs(dir.path(), &panels, &trajectory)?;
    for f in [
        "fig1.png",
        "fig1.svg",
        "eigen_trajectory.png",
        "data.csv",
        "baseline_samples.csv",
        "baseline_latent.csv",
        "spread_samples.csv",
        "spread_latent.csv",
        "eigenvalues.csv",
        "eigen_trajectory.csv",
    ] {
        assert!(written.iter().any(|w| w == f), "{f} not reported");
        let len = std::fs::metadata(dir.path().join(f))?.len();
        assert!(len > 30, "{f} is only {len} bytes");
    }
    let png = std::fs::read(dir.path().join("fig1.png"))?;
    assert_eq!(png_size(&png), Some(FIG1_SIZE));
    assert!(png.len() > 50_000, "fig1.png only {} bytes", png.len());
    let png = std::fs::read(dir.path().join("eigen_trajectory.png"))?;
    assert_eq!(png_size(&png), Some(TRAJECTORY_SIZE));
    let svg = std::fs::read_to_string(dir.path().join("fig1.svg"))?;
    assert!(svg.starts_with("<svg") && svg.contains("(e) spread flow: latent"));

    let data = std::fs::read_to_string(dir.path().join("data.csv"))?;
    assert!(data.starts_with("x1,x2\n"));
    assert_eq!(data.lines().count(), panels.data.nrows() + 1);
    let latent = std::fs::read_to_string(dir.path().join("spread_latent.csv"))?;
    assert!(latent.starts_with("z1,z2\n"));
    let eig = std::fs::read_to_string(dir.path().join("eigenvalues.csv"))?;
    assert!(eig.starts_with("rank,eigenvalue\n1,"));
    assert_eq!(eig.lines().count(), 3);
    let traj = std::fs::read_to_string(dir.path().join("eigen_trajectory.csv"))?;
    assert!(traj.starts_with("step,lambda_1,lambda_2\n0,"));
    assert_eq!(traj.lines().count(), trajectory.steps.len() + 1);
    Ok(())
}

#[test]
fn panels_are_square_and_drawn() -> anyhow::Result<()> {
    crate::plot::ensure_fonts()?;
    let (panels, trajectory) = synthetic::inputs(2);
    let (w, h) = FIG1_SIZE;
    let mut buf = vec![0_u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, FIG1_SIZE).into_drawing_area();
        let dims = draw_fig1(&root, &panels)?;
        assert_eq!(dims.len(), 5);
        for (pw, ph) in dims {
            assert!(pw.abs_diff(ph) <= 1 && pw > 300, "plot area {pw} x {ph} is not square");
        }
        root.present()?;
    }
    // Each fifth of the figure holds coloured (non-grey) pixels: the dots.
    let col_w = w / 5;
    for k in 0..5 {
        let coloured = (0..h)
            .flat_map(|y| (k * col_w..(k + 1) * col_w).map(move |x| (x, y)))
            .filter(|&(x, y)| {
                let i = ((y * w + x) * 3) as usize;
                let (r, g, b) = (buf[i] as i32, buf[i + 1] as i32, buf[i + 2] as i32);
                (r - g).abs().max((g - b).abs()).max((r - b).abs()) > 40
            })
            .count();
        assert!(coloured > 500, "panel {k} has only {coloured} coloured pixels");
    }

    let (w, h) = TRAJECTORY_SIZE;
    let mut buf = vec![0_u8; (w * h * 3) as usize];
    let root = BitMapBackend::with_buffer(&mut buf, TRAJECTORY_SIZE).into_drawing_area();
    draw_eigen_trajectory(&root, &trajectory)?;
    root.present()?;
    Ok(())
}

#[test]
#[should_panic(expected = "Fig1Panels::spread_latent must be n x 2, got 3 x 3")]
fn wrong_shapes_panic_with_the_field_name() {
    let (mut panels, _) = synthetic::inputs(0);
    panels.spread_latent = faer::Mat::zeros(3, 3);
    panels.assert_shapes();
}

/// The whole pipeline at smoke size: train (shortened), measure, draw, report.
#[test]
fn the_real_pipeline_runs_at_smoke_size() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let ctx =
        crate::RunContext { n_seeds: 2, steps: Some(200), ..crate::RunContext::new("fig1", dir.path().to_owned()) };
    let info = crate::find("fig1").expect("fig1 is registered");
    let report = crate::run_experiment(info, &ctx)?;
    for file in
        ["fig1.png", "fig1.svg", "eigen_trajectory.png", "data.csv", "spread_latent.csv", "report.json", "report.md"]
    {
        assert!(dir.path().join(file).exists(), "{file} missing");
    }
    assert_eq!(report.seeds, vec![0, 1]);
    // A shortened run cannot reach the spread targets: they are n/a, never FAIL.
    assert!(
        report
            .targets
            .iter()
            .filter(|t| t.name.starts_with("spread flow"))
            .all(|t| t.status == crate::Status::NotApplicable)
    );
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json"))?)?;
    assert_eq!(json["experiment"], "fig1");
    Ok(())
}
