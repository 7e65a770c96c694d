//! The chapter-6 figures: a grid of line-plot panels ([`LinePlot`]), or any [`Figure`], written as SVG and PNG.
//!
//! Both files are written so that a reader never sees half of one: the SVG through
//! [`nn::io::write_atomically`], the PNG (which plotters encodes straight to a path) into a temporary file
//! beside the target, renamed over it when complete. Text is drawn with the system's sans-serif font, as the
//! trainer's plots are; without one, drawing the PNG fails with an error.

use std::ops::Range;
use std::path::{Path, PathBuf};

use nn::io::{write_atomically, TEMP_PREFIX};
use plotters::coord::Shift;
use plotters::prelude::*;

/// What a drawing step can fail with.
pub type DrawResult = Result<(), Box<dyn std::error::Error>>;

/// A picture that can be drawn on any plotters backend.
pub trait Figure {
    /// Its size in pixels.
    fn size(&self) -> (u32, u32);

    /// Draws it on `area`, which has [`size`](Figure::size).
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static;
}

/// Draws `figure` into `dir/<stem>.svg` and `dir/<stem>.png` (creating `dir`); returns the two paths.
///
/// # Errors
/// A message naming the file when the directory cannot be made, drawing fails or a file cannot be written.
pub fn write_figure(figure: &impl Figure, dir: &Path, stem: &str) -> Result<[PathBuf; 2], String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let (svg_path, png_path) = (
        dir.join(format!("{stem}.svg")),
        dir.join(format!("{stem}.png")),
    );
    let failed = |path: &Path| {
        let path = path.display().to_string();
        move |e: Box<dyn std::error::Error>| format!("{path}: could not draw the figure: {e}")
    };

    let mut svg = String::new();
    {
        let area = SVGBackend::with_string(&mut svg, figure.size()).into_drawing_area();
        figure.draw(&area).map_err(failed(&svg_path))?;
        area.present().map_err(|e| failed(&svg_path)(e.into()))?;
    }
    write_atomically(&svg_path, |w| std::io::Write::write_all(w, svg.as_bytes()))
        .map_err(|e| format!("{}: {e}", svg_path.display()))?;

    // plotters encodes to a path, by its extension: a temporary `.png` beside the target, renamed when done.
    let temp = dir.join(format!("{TEMP_PREFIX}{stem}.png"));
    let drawn = (|| -> DrawResult {
        let area = BitMapBackend::new(&temp, figure.size()).into_drawing_area();
        figure.draw(&area)?;
        area.present()?;
        Ok(())
    })();
    let renamed = drawn.map_err(failed(&png_path)).and_then(|()| {
        std::fs::rename(&temp, &png_path).map_err(|e| format!("{}: {e}", png_path.display()))
    });
    if renamed.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    renamed.map(|()| [svg_path, png_path])
}

/// One line of a panel.
#[derive(Clone, Debug)]
pub struct Line {
    /// Its name in the legend.
    pub label: String,
    /// Its points, in order; a non-finite `y` leaves a gap.
    pub points: Vec<(f64, f64)>,
}

impl Line {
    /// A line through `(x, y)` for each `y` of `values`, `x` from `first_x` in steps of 1.
    pub fn from_values(
        label: impl Into<String>,
        first_x: f64,
        values: impl IntoIterator<Item = f64>,
    ) -> Self {
        Line {
            label: label.into(),
            points: (0..).map(|i| first_x + f64::from(i)).zip(values).collect(),
        }
    }
}

/// One chart: axes, lines (the `i`-th line of every panel has the same colour) and an optional legend.
#[derive(Clone, Debug)]
pub struct Panel {
    /// The caption above it.
    pub title: String,
    /// The axes' descriptions.
    pub x_label: String,
    pub y_label: String,
    /// The y axis's range; `None` spans 0 to the largest finite value.
    pub y_range: Option<Range<f64>>,
    /// The lines, drawn in order.
    pub lines: Vec<Line>,
    /// Where the legend goes, if the panel has one.
    pub legend: Option<SeriesLabelPosition>,
}

/// Panels in a grid, `columns` wide, each `panel_size` pixels.
pub struct LinePlot {
    /// The panels, row by row.
    pub panels: Vec<Panel>,
    /// Panels per row.
    pub columns: usize,
    /// The size of one panel.
    pub panel_size: (u32, u32),
}

/// The colours of the first, second, … line of a panel.
const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

impl Figure for LinePlot {
    fn size(&self) -> (u32, u32) {
        let columns = self.columns.max(1);
        let rows = self.panels.len().div_ceil(columns).max(1);
        (
            self.panel_size.0 * columns as u32,
            self.panel_size.1 * rows as u32,
        )
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        area.fill(&WHITE)?;
        let columns = self.columns.max(1);
        let rows = self.panels.len().div_ceil(columns).max(1);
        for (panel, cell) in self.panels.iter().zip(area.split_evenly((rows, columns))) {
            draw_panel(panel, &cell, self.panel_size)?;
        }
        Ok(())
    }
}

/// Draws one panel on `area` (`size` pixels); text is scaled with the panel's height.
fn draw_panel<DB: DrawingBackend>(
    panel: &Panel,
    area: &DrawingArea<DB, Shift>,
    size: (u32, u32),
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let points = || panel.lines.iter().flat_map(|l| l.points.iter().copied());
    let finite = || points().filter(|(x, y)| x.is_finite() && y.is_finite());
    let (x_min, x_max) = finite().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (x, _)| {
        (lo.min(x), hi.max(x))
    });
    let (x_min, x_max) = match x_min < x_max {
        true => (x_min, x_max),
        false => (0.0, 1.0),
    };
    let y_range = panel.y_range.clone().unwrap_or_else(|| {
        let top = finite().map(|(_, y)| y).fold(0.0f64, f64::max);
        0.0..(top * 1.05).max(1e-3)
    });
    let scale = f64::from(size.1) / 500.0;
    let text = |pixels: f64| ("sans-serif", (pixels * scale).max(10.0));
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, text(22.0))
        .margin((10.0 * scale) as u32 + 4)
        .x_label_area_size((40.0 * scale) as u32 + 10)
        .y_label_area_size((55.0 * scale) as u32 + 15)
        .build_cartesian_2d(x_min..x_max, y_range.clone())?;
    chart
        .configure_mesh()
        .max_light_lines(1)
        .x_label_formatter(&|x| format!("{x}"))
        .x_desc(&panel.x_label)
        .y_desc(&panel.y_label)
        .label_style(text(14.0))
        .axis_desc_style(text(15.0))
        .draw()?;
    for (line, color) in panel.lines.iter().zip(PALETTE.iter().cycle()) {
        // Values outside the axis are drawn at its edge; non-finite ones break the line.
        let clamp = |(x, y): (f64, f64)| (x, y.clamp(y_range.start, y_range.end));
        let runs: Vec<Vec<(f64, f64)>> = line
            .points
            .split(|(_, y)| !y.is_finite())
            .filter(|run| !run.is_empty())
            .map(|run| run.iter().copied().map(clamp).collect())
            .collect();
        let style = color.stroke_width(2);
        for (i, run) in runs.into_iter().enumerate() {
            let series = chart.draw_series(LineSeries::new(run, style))?;
            if i == 0 {
                series
                    .label(&line.label)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
            }
        }
    }
    if let Some(position) = panel.legend.clone() {
        chart
            .configure_series_labels()
            .position(position)
            .label_font(text(14.0))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
    }
    Ok(())
}

/// The centred moving average of `values` over `window` values (fewer at the ends), the smoothing the book
/// applies before plotting mini-batch losses.
pub fn smooth(values: &[f32], window: usize) -> Vec<f64> {
    let half = window / 2;
    (0..values.len())
        .map(|i| {
            let part = &values[i.saturating_sub(half)..(i + half + 1).min(values.len())];
            part.iter().map(|&v| f64::from(v)).sum::<f64>() / part.len() as f64
        })
        .collect()
}

/// The end of an example's `main`: prints where each figure went and succeeds, or prints the error and fails.
pub fn report_written(written: Result<Vec<PathBuf>, String>) -> std::process::ExitCode {
    match written {
        Ok(paths) => {
            for path in paths {
                println!("wrote {}", path.display());
            }
            std::process::ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
