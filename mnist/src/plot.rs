//! The lecture's two plots: the mini-batch loss per iteration, and train/test accuracy per epoch (y from 0 to
//! 1). Each is written as SVG and PNG.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::history::History;
use nn::io::write_atomically;

const SIZE: (u32, u32) = (800, 500);

/// A plot that could not be drawn or written.
#[derive(Debug, thiserror::Error)]
#[error("{}: could not draw the plot: {reason}", path.display())]
pub struct PlotError {
    /// The file being written.
    pub path: PathBuf,
    /// What went wrong.
    pub reason: String,
}

/// Writes `loss.svg`/`loss.png` and `accuracy.svg`/`accuracy.png` into `dir`.
///
/// # Errors
/// When drawing fails (for PNG, e.g. no usable font) or a file cannot be written.
pub fn write_plots(history: &History, dir: &Path) -> Result<(), PlotError> {
    render(dir, "loss", &LossFigure(history))?;
    render(dir, "accuracy", &AccuracyFigure(history))
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

/// A figure that can be drawn on any plotters backend.
trait Figure {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static;
}

/// Draws one figure twice (SVG and PNG), writing each file atomically.
fn render(dir: &Path, stem: &str, figure: &impl Figure) -> Result<(), PlotError> {
    let failed = |path: &Path| {
        let path = path.to_path_buf();
        move |reason: String| PlotError { path, reason }
    };

    let svg_path = dir.join(format!("{stem}.svg"));
    let mut svg = String::new();
    {
        let area = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        figure
            .draw(&area)
            .map_err(|e| failed(&svg_path)(e.to_string()))?;
        area.present()
            .map_err(|e| failed(&svg_path)(e.to_string()))?;
    }
    write_atomically(&svg_path, |w| std::io::Write::write_all(w, svg.as_bytes()))
        .map_err(|e| failed(&svg_path)(e.to_string()))?;

    let png_path = dir.join(format!("{stem}.png"));
    let mut pixels = vec![0u8; (SIZE.0 * SIZE.1 * 3) as usize];
    {
        let area = BitMapBackend::with_buffer(&mut pixels, SIZE).into_drawing_area();
        figure
            .draw(&area)
            .map_err(|e| failed(&png_path)(e.to_string()))?;
        area.present()
            .map_err(|e| failed(&png_path)(e.to_string()))?;
    }
    write_atomically(&png_path, |w| {
        let mut encoder = png::Encoder::new(w, SIZE.0, SIZE.1);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(std::io::Error::other)?;
        writer
            .write_image_data(&pixels)
            .map_err(std::io::Error::other)
    })
    .map_err(|e| failed(&png_path)(e.to_string()))
}

struct LossFigure<'a>(&'a History);

impl Figure for LossFigure<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let history = self.0;
        area.fill(&WHITE)?;
        let steps = history.losses.len().max(1);
        // The axis spans the finite losses only (an infinite range never finishes drawing); losses that are
        // not finite leave gaps in the line.
        let top = (finite(&history.losses).fold(0.0f64, f64::max).max(1e-3) * 1.05).min(f64::MAX);
        let mut chart = ChartBuilder::on(area)
            .caption("Training loss (mini-batch)", ("sans-serif", 24))
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(55)
            .build_cartesian_2d(0..steps, 0.0..top)?;
        chart
            .configure_mesh()
            .x_desc("iteration")
            .y_desc("loss")
            .draw()?;
        let points: Vec<(usize, f64)> = (1..).zip(history.losses.iter().copied()).collect();
        for run in points.split(|(_, loss)| !loss.is_finite()) {
            chart.draw_series(LineSeries::new(run.iter().copied(), &BLUE))?;
        }
        Ok(())
    }
}

/// The finite values of `values`.
fn finite(values: &[f64]) -> impl Iterator<Item = f64> + '_ {
    values.iter().copied().filter(|x| x.is_finite())
}

struct AccuracyFigure<'a>(&'a History);

impl Figure for AccuracyFigure<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let history = self.0;
        area.fill(&WHITE)?;
        let epochs = history.evaluations.last().map_or(1, |e| e.epoch).max(1);
        let mut chart = ChartBuilder::on(area)
            .caption("Accuracy per epoch", ("sans-serif", 24))
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(55)
            .build_cartesian_2d(0..epochs + 1, 0.0..1.0f64)?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc("accuracy")
            .draw()?;
        let series = [("train", BLUE), ("test", RED)];
        for (name, color) in series {
            let points: Vec<(usize, f64)> = history
                .evaluations
                .iter()
                .map(|e| {
                    (
                        e.epoch,
                        if name == "train" {
                            e.train_acc
                        } else {
                            e.test_acc
                        },
                    )
                })
                .collect();
            chart
                .draw_series(LineSeries::new(points.iter().copied(), &color))?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE)
            .border_style(BLACK)
            .draw()?;
        Ok(())
    }
}
