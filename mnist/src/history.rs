//! What a training run measured: the loss of every iteration and the accuracies of every evaluation, and
//! their files in the output directory (`loss.csv`, `accuracy.csv`, `metrics.jsonl`).

use std::io::{self, Write};
use std::path::Path;

use nn::io::write_atomically;
use serde::{Deserialize, Serialize};

use crate::json_float::{self, Loss};

/// Writes one file's contents.
type Filler<'a> = dyn Fn(&mut dyn Write) -> io::Result<()> + 'a;

/// One evaluation on the full training and test sets.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evaluation {
    /// The iteration after which it ran (1-based).
    pub step: usize,
    /// The epoch it closes (1-based: `step / iterations_per_epoch`).
    pub epoch: usize,
    /// Accuracy on the training set.
    pub train_acc: f64,
    /// Accuracy on the test set.
    pub test_acc: f64,
}

/// The measurements of a run so far.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct History {
    /// The mini-batch loss of iteration `k + 1` at index `k` (in JSON, a loss that is not finite is the
    /// string `"NaN"`, `"inf"` or `"-inf"`: see [`json_float`]).
    #[serde(with = "json_float::vec")]
    pub losses: Vec<f64>,
    /// Every evaluation, in order.
    pub evaluations: Vec<Evaluation>,
}

impl History {
    /// Writes `loss.csv` (`step,loss`), `accuracy.csv` (`step,epoch,train_acc,test_acc`) and `metrics.jsonl`
    /// (one JSON object per line: `{"step":…,"loss":…}` and `{"step":…,"epoch":…,"train_acc":…,"test_acc":…}`;
    /// a loss that is not finite is `"NaN"`, `"inf"` or `"-inf"`) into `dir`, each atomically.
    ///
    /// # Errors
    /// The I/O error and the file it happened on.
    pub fn write(&self, dir: &Path) -> Result<(), (std::path::PathBuf, io::Error)> {
        let files: [(&str, &Filler); 3] = [
            ("loss.csv", &|w| self.write_loss_csv(w)),
            ("accuracy.csv", &|w| self.write_accuracy_csv(w)),
            ("metrics.jsonl", &|w| self.write_jsonl(w)),
        ];
        for (name, fill) in files {
            let path = dir.join(name);
            write_atomically(&path, |w| fill(w)).map_err(|e| (path, e))?;
        }
        Ok(())
    }

    fn write_loss_csv(&self, w: &mut dyn Write) -> io::Result<()> {
        writeln!(w, "step,loss")?;
        for (k, loss) in self.losses.iter().enumerate() {
            writeln!(w, "{},{loss}", k + 1)?;
        }
        Ok(())
    }

    fn write_accuracy_csv(&self, w: &mut dyn Write) -> io::Result<()> {
        writeln!(w, "step,epoch,train_acc,test_acc")?;
        for e in &self.evaluations {
            writeln!(w, "{},{},{},{}", e.step, e.epoch, e.train_acc, e.test_acc)?;
        }
        Ok(())
    }

    fn write_jsonl(&self, w: &mut dyn Write) -> io::Result<()> {
        let mut evaluations = self.evaluations.iter().peekable();
        for (k, loss) in self.losses.iter().enumerate() {
            let step = k + 1;
            let line = serde_json::json!({ "step": step, "loss": Loss(*loss) });
            writeln!(w, "{line}")?;
            while let Some(e) = evaluations.next_if(|e| e.step == step) {
                writeln!(w, "{}", serde_json::to_string(e)?)?;
            }
        }
        Ok(())
    }
}
