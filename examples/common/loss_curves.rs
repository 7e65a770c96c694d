//! Runs compared by their mini-batch losses, as the book compares optimizers and initialisations: each run is
//! trained for the same number of iterations on the whole training set, then tabulated (the mean loss at each
//! quarter of the run, the final test accuracy) and drawn (one smoothed loss curve per run).

use std::path::{Path, PathBuf};

use mnist::Mnist;
use plotters::prelude::SeriesLabelPosition;

use super::plot::{self, Line, LinePlot, Panel};
use super::training::Training;

/// The window of the plotted curves' moving average (the book smooths its loss curves before plotting).
const SMOOTHING: usize = 11;

/// One run: its name, mini-batch losses, and final test accuracy.
pub struct LossCurve {
    /// The run's name in the table and the legend.
    pub name: String,
    /// The loss of each mini-batch, in order.
    pub losses: Vec<f32>,
    /// The accuracy on the whole test set after the last iteration.
    pub test_accuracy: f64,
}

impl LossCurve {
    /// Runs `iterations` updates of `batch` examples drawn from all of `data.train`, then measures the test
    /// accuracy.
    pub fn train(
        name: &str,
        mut run: Training,
        data: &Mnist,
        iterations: usize,
        batch: usize,
    ) -> Self {
        let losses = (0..iterations)
            .map(|_| run.step(&data.train, data.train.len(), batch))
            .collect();
        let test_accuracy = run.accuracy(&data.test, data.test.len());
        eprintln!("{name}: trained");
        LossCurve {
            name: name.to_owned(),
            losses,
            test_accuracy,
        }
    }

    /// The number of batches a table entry averages over: a quarter of the run, at most 100.
    pub fn window(&self) -> usize {
        (self.losses.len() / 4).clamp(1, 100)
    }

    /// The mean loss of the [`window`](LossCurve::window) batches before iteration `at`.
    pub fn loss_at(&self, at: usize) -> f64 {
        let part = &self.losses[at.saturating_sub(self.window())..at];
        part.iter().map(|&v| f64::from(v)).sum::<f64>() / part.len().max(1) as f64
    }

    /// The mean loss of the last [`window`](LossCurve::window) batches.
    pub fn final_loss(&self) -> f64 {
        self.loss_at(self.losses.len())
    }
}

/// The iterations the table shows the loss at: each quarter of a run of `iterations`.
fn checkpoints(iterations: usize) -> Vec<usize> {
    let mut at: Vec<usize> = (1..=4).map(|q| (iterations * q / 4).max(1)).collect();
    at.dedup();
    at
}

/// Prints one row per curve, the runs named under `what` (e.g. "optimizer").
pub fn print_table(curves: &[LossCurve], what: &str) {
    let Some(first) = curves.first() else {
        return;
    };
    let at = checkpoints(first.losses.len());
    println!(
        "mean loss of the {} batches before iteration …; accuracy on the 10,000 test images",
        first.window()
    );
    let header: String = at
        .iter()
        .map(|i| format!("{:>10}", format!("@{i}")))
        .collect();
    println!("{what:<12}{header}  test accuracy");
    for curve in curves {
        let losses: String = at
            .iter()
            .map(|&i| format!("{:>10.4}", curve.loss_at(i)))
            .collect();
        println!("{:<12}{losses}  {:.4}", curve.name, curve.test_accuracy);
    }
}

/// Draws the smoothed loss curves into `dir/loss.svg` and `dir/loss.png`, under `title`.
pub fn plot(curves: &[LossCurve], title: &str, dir: &Path) -> Result<Vec<PathBuf>, String> {
    let lines = curves
        .iter()
        .map(|c| Line::from_values(c.name.clone(), 1.0, plot::smooth(&c.losses, SMOOTHING)))
        .collect();
    let figure = LinePlot {
        panels: vec![Panel {
            title: title.to_owned(),
            x_label: "iteration".into(),
            y_label: format!("loss (moving average of {SMOOTHING})"),
            y_range: None,
            lines,
            legend: Some(SeriesLabelPosition::UpperRight),
        }],
        columns: 1,
        panel_size: (900, 560),
    };
    plot::write_figure(&figure, dir, "loss").map(Vec::from)
}
