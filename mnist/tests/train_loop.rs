//! The training loop, checkpoints and output files, driven by a tiny deterministic learner on synthetic data
//! (no MNIST needed): reproducible batches, resume equivalence, atomic checkpoints, and the metric files.

use std::path::Path;

use mnist::checkpoint;
use mnist::config::RunConfig;
use mnist::history::{Evaluation, History};
use mnist::train::{self, batch_indices, Learner, Observer, Outcome, Schedule};
use mnist::{Mnist, Split};
use ndarray::{Array2, ArrayView2};

/// Predicts class `round(10 · mean pixel) mod 10`; its "parameter" accumulates the batches' label sums, so
/// its state depends on exactly which batches it saw, in which order.
#[derive(Clone, Debug, PartialEq)]
struct Counter {
    seen: Vec<usize>,
}

impl Learner<f32> for Counter {
    fn step(&mut self, x: ArrayView2<'_, f32>, labels: &[usize]) -> f32 {
        self.seen.push(labels.iter().sum());
        x.sum() / x.len() as f32
    }

    fn predict_classes(&self, x: ArrayView2<'_, f32>) -> Vec<usize> {
        x.rows()
            .into_iter()
            .map(|r| ((r.mean().unwrap() * 10.0).round() as usize) % 10)
            .collect()
    }
}

/// 200 training and 50 test images whose mean pixel encodes a label that is right 3 times out of 4.
fn synthetic() -> Mnist {
    let split = |n: usize| {
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        let images = Array2::from_shape_fn((n, 784), |(i, _)| {
            let shown = if i % 4 == 3 { (i + 1) % 10 } else { i % 10 };
            (shown as f32 / 10.0 * 255.0).round() as u8
        });
        Split::new(images, labels)
    };
    Mnist {
        train: split(200),
        test: split(50),
    }
}

struct Recorder {
    stop_after: Option<usize>,
    steps: usize,
    evaluations: Vec<Evaluation>,
}

impl Recorder {
    fn new(stop_after: Option<usize>) -> Self {
        Recorder {
            stop_after,
            steps: 0,
            evaluations: Vec::new(),
        }
    }
}

impl Observer<Counter> for Recorder {
    fn on_step(&mut self, _step: usize, _loss: f64) {
        self.steps += 1;
    }
    fn on_evaluation(&mut self, e: &Evaluation, _: &History, _: &Counter) -> Result<(), String> {
        self.evaluations.push(*e);
        Ok(())
    }
    fn should_stop(&self) -> bool {
        self.stop_after == Some(self.steps)
    }
}

const SCHEDULE: Schedule = Schedule {
    iterations: 30,
    batch_size: 8,
    eval_every: 10,
    seed: 7,
};

#[test]
fn batches_are_a_pure_function_of_seed_and_step() {
    assert_eq!(batch_indices(7, 3, 200, 8), batch_indices(7, 3, 200, 8));
    assert_ne!(batch_indices(7, 3, 200, 8), batch_indices(7, 4, 200, 8));
    assert_ne!(batch_indices(7, 3, 200, 8), batch_indices(8, 3, 200, 8));
    assert!(batch_indices(1, 1, 5, 1000).iter().all(|&i| i < 5));
}

#[test]
fn batches_are_drawn_with_replacement_uniformly() {
    let draws = batch_indices(3, 1, 10, 100_000);
    let mut counts = [0usize; 10];
    draws.iter().for_each(|&i| counts[i] += 1);
    assert!(
        counts.iter().all(|&c| (9_000..11_000).contains(&c)),
        "{counts:?}"
    );
}

#[test]
fn evaluates_on_the_lecture_schedule() {
    let data = synthetic();
    let (mut learner, mut history) = (Counter { seen: vec![] }, History::default());
    let mut rec = Recorder::new(None);
    let (outcome, _) =
        train::train(&mut learner, &data, &SCHEDULE, &mut history, &mut rec).unwrap();
    assert_eq!(outcome, Outcome::Finished);
    assert_eq!(history.losses.len(), 30);
    let steps: Vec<(usize, usize)> = rec.evaluations.iter().map(|e| (e.step, e.epoch)).collect();
    assert_eq!(steps, [(10, 1), (20, 2), (30, 3)]);
    // Three of every four synthetic images encode their own label.
    assert_eq!(rec.evaluations[0].train_acc, 0.75);
    assert_eq!(rec.evaluations[0].test_acc, 38.0 / 50.0);
}

#[test]
fn a_stopped_and_resumed_run_equals_an_uninterrupted_one() {
    let data = synthetic();
    let mut whole = (Counter { seen: vec![] }, History::default());
    train::train(
        &mut whole.0,
        &data,
        &SCHEDULE,
        &mut whole.1,
        &mut Recorder::new(None),
    )
    .unwrap();

    let mut part = (Counter { seen: vec![] }, History::default());
    let (outcome, _) = train::train(
        &mut part.0,
        &data,
        &SCHEDULE,
        &mut part.1,
        &mut Recorder::new(Some(13)),
    )
    .unwrap();
    assert_eq!(outcome, Outcome::Stopped(13));
    assert_eq!(part.1.losses.len(), 13);
    train::train(
        &mut part.0,
        &data,
        &SCHEDULE,
        &mut part.1,
        &mut Recorder::new(None),
    )
    .unwrap();
    assert_eq!(part, whole);
}

fn run_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn some_history(steps: usize) -> History {
    History {
        losses: (0..steps).map(|k| 1.0 / (k + 1) as f64).collect(),
        evaluations: vec![Evaluation {
            step: steps,
            epoch: 1,
            train_acc: 0.5,
            test_acc: 0.25,
        }],
    }
}

fn write_params(path: &Path) -> Result<(), String> {
    std::fs::write(path, b"params").map_err(|e| e.to_string())
}

#[test]
fn checkpoint_round_trips_settings_and_history() {
    let dir = run_dir();
    let config = RunConfig {
        seed: 42,
        ..RunConfig::default()
    };
    checkpoint::save(dir.path(), &config, &some_history(600), write_params).unwrap();
    let state = checkpoint::read_state(dir.path()).unwrap();
    assert_eq!(state.config, config);
    assert_eq!(state.history, some_history(600));
    assert!(checkpoint::params_path(dir.path(), &state).exists());
}

#[test]
fn a_newer_checkpoint_replaces_the_older_parameters_file() {
    let dir = run_dir();
    let config = RunConfig::default();
    checkpoint::save(dir.path(), &config, &some_history(600), write_params).unwrap();
    checkpoint::save(dir.path(), &config, &some_history(1200), write_params).unwrap();
    let mut files: Vec<String> = std::fs::read_dir(checkpoint::checkpoint_dir(dir.path()))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(files, ["params-001200.npz", "state.json"]);
}

#[test]
fn a_failed_parameter_save_leaves_the_previous_checkpoint_intact() {
    let dir = run_dir();
    let config = RunConfig::default();
    checkpoint::save(dir.path(), &config, &some_history(600), write_params).unwrap();
    let error = checkpoint::save(dir.path(), &config, &some_history(1200), |_| {
        Err("disk full".into())
    })
    .unwrap_err();
    assert!(
        error.to_string().contains("params-001200.npz: disk full"),
        "{error}"
    );
    let state = checkpoint::read_state(dir.path()).unwrap();
    assert_eq!(state.history.losses.len(), 600);
    assert!(checkpoint::params_path(dir.path(), &state).exists());
}

#[test]
fn a_corrupt_state_file_is_an_error_naming_it() {
    let dir = run_dir();
    let cp = checkpoint::checkpoint_dir(dir.path());
    std::fs::create_dir_all(&cp).unwrap();
    std::fs::write(cp.join("state.json"), "{ not json").unwrap();
    let error = checkpoint::read_state(dir.path()).unwrap_err().to_string();
    assert!(
        error.contains("state.json") && error.contains("not a valid checkpoint"),
        "{error}"
    );
    let missing = checkpoint::read_state(&dir.path().join("nowhere"))
        .unwrap_err()
        .to_string();
    assert!(
        missing.contains("nowhere") && missing.contains("cannot read"),
        "{missing}"
    );
}

#[test]
fn metric_files_hold_every_loss_and_evaluation() {
    let dir = run_dir();
    some_history(3).write(dir.path()).unwrap();
    let loss = std::fs::read_to_string(dir.path().join("loss.csv")).unwrap();
    assert_eq!(loss, "step,loss\n1,1\n2,0.5\n3,0.3333333333333333\n");
    let acc = std::fs::read_to_string(dir.path().join("accuracy.csv")).unwrap();
    assert_eq!(acc, "step,epoch,train_acc,test_acc\n3,1,0.5,0.25\n");
    let jsonl = std::fs::read_to_string(dir.path().join("metrics.jsonl")).unwrap();
    let lines: Vec<&str> = jsonl.lines().collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[2], r#"{"loss":0.3333333333333333,"step":3}"#);
    assert_eq!(
        lines[3],
        r#"{"step":3,"epoch":1,"train_acc":0.5,"test_acc":0.25}"#
    );
}

#[test]
fn plots_are_written_as_svg_and_png() {
    let dir = run_dir();
    mnist::plot::write_plots(&some_history(50), dir.path()).unwrap();
    for name in ["loss.svg", "accuracy.svg"] {
        let svg = std::fs::read_to_string(dir.path().join(name)).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.contains("polyline"),
            "{name}"
        );
    }
    for name in ["loss.png", "accuracy.png"] {
        let png = std::fs::read(dir.path().join(name)).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{name}");
        assert!(png.len() > 5_000, "{name} is suspiciously small");
    }
}
