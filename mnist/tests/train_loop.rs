//! The training loop, checkpoints and output files, driven by a tiny deterministic learner on synthetic data
//! (no MNIST needed): reproducible batches, resume equivalence, atomic checkpoints, and the metric files.

mod common;

use std::path::{Path, PathBuf};

use mnist::checkpoint;
use mnist::config::RunConfig;
use mnist::history::{Evaluation, History};
use mnist::train::{self, batch_indices, Images, Learner, Observer, Outcome, Schedule, Silent};
use mnist::{Mnist, Split};
use ndarray::Array2;

/// Predicts class `round(10 · mean pixel) mod 10`; its "parameter" accumulates the batches' label sums, so
/// its state depends on exactly which batches it saw, in which order.
#[derive(Clone, Debug, Default, PartialEq)]
struct Counter {
    seen: Vec<usize>,
}

impl Learner<f32> for Counter {
    fn step(&mut self, x: Images<f32>, labels: &[usize]) -> f32 {
        self.seen.push(labels.iter().sum());
        let x = dense(&x);
        x.sum() / x.len() as f32
    }

    fn predict_classes(&self, x: &Images<f32>) -> Vec<usize> {
        dense(x)
            .rows()
            .into_iter()
            .map(|r| ((r.mean().unwrap() * 10.0).round() as usize) % 10)
            .collect()
    }
}

/// [`Counter`] taking its images sparse; `dense_calls` counts the calls that got dense ones instead.
#[derive(Default)]
struct SparseCounter {
    inner: Counter,
    dense_calls: std::sync::atomic::AtomicUsize,
}

impl SparseCounter {
    fn note(&self, x: &Images<f32>) {
        if matches!(x, Images::Dense(_)) {
            self.dense_calls
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

impl Learner<f32> for SparseCounter {
    fn step(&mut self, x: Images<f32>, labels: &[usize]) -> f32 {
        self.note(&x);
        self.inner.step(x, labels)
    }

    fn predict_classes(&self, x: &Images<f32>) -> Vec<usize> {
        self.note(x);
        self.inner.predict_classes(x)
    }

    fn takes_sparse_images(&self) -> bool {
        true
    }
}

/// The images as dense floats, however they came.
fn dense(x: &Images<f32>) -> Array2<f32> {
    match x {
        Images::Dense(x) => x.clone(),
        Images::Sparse(x) => x.to_dense(),
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
fn a_learner_that_takes_sparse_images_gets_them_everywhere_with_the_same_pixels() {
    let data = synthetic();
    let (mut dense, mut dense_history) = (Counter::default(), History::default());
    let (mut sparse, mut sparse_history) = (SparseCounter::default(), History::default());
    train::train(
        &mut dense,
        &data,
        &SCHEDULE,
        &mut dense_history,
        &mut Silent,
    )
    .unwrap();
    train::train(
        &mut sparse,
        &data,
        &SCHEDULE,
        &mut sparse_history,
        &mut Silent,
    )
    .unwrap();
    // Every step and every evaluation chunk came sparse, and held the same floats as the dense ones: the same
    // batches (label sums), losses (mean pixels) and accuracies.
    assert_eq!(sparse.dense_calls.into_inner(), 0);
    assert_eq!(sparse.inner, dense);
    assert_eq!(sparse_history, dense_history);
    assert_eq!(dense_history.evaluations.len(), 3);
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

/// A history of `steps` iterations evaluated every 600 (the default config's schedule), or every `steps` if
/// fewer.
fn some_history(steps: usize) -> History {
    let every = steps.clamp(1, 600);
    History {
        losses: (0..steps).map(|k| 1.0 / (k + 1) as f64).collect(),
        evaluations: (1..=steps / every)
            .map(|e| Evaluation {
                step: e * every,
                epoch: e,
                train_acc: 0.5,
                test_acc: 0.25,
            })
            .collect(),
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
    assert_eq!(state.params_file, "params-000600.npz");
    let (path, bytes) = checkpoint::read_params(dir.path(), &state).unwrap();
    assert_eq!(
        (path.file_name().unwrap(), bytes.as_slice()),
        ("params-000600.npz".as_ref(), &b"params"[..])
    );
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
    assert!(checkpoint::read_params(dir.path(), &state).is_ok());
}

#[test]
fn a_corrupt_state_file_is_an_error_naming_it() {
    let dir = run_dir();
    let cp = checkpoint::checkpoint_dir(dir.path());
    std::fs::create_dir_all(&cp).unwrap();
    std::fs::write(cp.join("state.json"), "{ not json").unwrap();
    let error = checkpoint::read_state(dir.path()).unwrap_err().to_string();
    assert!(
        error.contains("state.json") && error.contains("not a checkpoint state file"),
        "{error}"
    );
    let missing = checkpoint::read_state(&dir.path().join("nowhere"))
        .unwrap_err()
        .to_string();
    assert!(
        missing.contains("nowhere") && missing.contains("no checkpoint"),
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

/// A run whose loss went infinite or NaN: its metrics and its checkpoint say so, and the checkpoint loads
/// back exactly (state.json used to write `null`, which no checkpoint could load).
#[test]
fn a_diverged_run_is_written_and_checkpointed_like_any_other() {
    let dir = run_dir();
    let mut history = some_history(3);
    history.losses = vec![f64::INFINITY, f64::NAN, f64::NEG_INFINITY];
    history.write(dir.path()).unwrap();
    let loss = std::fs::read_to_string(dir.path().join("loss.csv")).unwrap();
    assert_eq!(loss, "step,loss\n1,inf\n2,NaN\n3,-inf\n");
    let jsonl = std::fs::read_to_string(dir.path().join("metrics.jsonl")).unwrap();
    assert!(jsonl.starts_with(r#"{"loss":"inf","step":1}"#), "{jsonl}");
    let config = RunConfig {
        iterations: 3,
        eval_every: 3,
        ..RunConfig::default()
    };
    checkpoint::save(dir.path(), &config, &history, write_params).unwrap();
    let losses = checkpoint::read_state(dir.path()).unwrap().history.losses;
    assert_eq!(losses[0], f64::INFINITY);
    assert!(losses[1].is_nan());
    assert_eq!(losses[2], f64::NEG_INFINITY);
}

/// A checkpoint of the default run at step 600 in a new directory, and its state file's path.
fn saved_at_600() -> (tempfile::TempDir, PathBuf) {
    let dir = run_dir();
    let config = RunConfig::default();
    checkpoint::save(dir.path(), &config, &some_history(600), write_params).unwrap();
    let path = checkpoint::checkpoint_dir(dir.path()).join("state.json");
    (dir, path)
}

/// Every single-bit flip anywhere in `state.json` is refused (the checksum), where 12 of 40 used to be taken
/// silently (batch size 100 read as 300, …).
#[test]
fn every_single_bit_flip_of_the_state_file_is_refused() {
    let (_dir, path) = saved_at_600();
    let bytes = std::fs::read(&path).unwrap();
    assert!(checkpoint::state_from_bytes(&bytes, &path).is_ok());
    let mut accepted = Vec::new();
    for bit in 0..bytes.len() * 8 {
        let mut flipped = bytes.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        if checkpoint::state_from_bytes(&flipped, &path).is_ok() {
            accepted.push(bit);
        }
    }
    assert!(accepted.is_empty(), "accepted flips of bits {accepted:?}");
}

/// A state with a valid checksum but a value out of range, or a history that does not fit the settings, or a
/// parameters file name pointing anywhere but at the checkpoint's own file, is refused naming the field.
#[test]
fn a_sealed_state_with_a_wrong_field_is_refused_naming_it() {
    let (_dir, path) = saved_at_600();
    let good: serde_json::Value = {
        let file: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        file["state"].clone()
    };
    assert!(checkpoint::state_from_bytes(&common::sealed_state(&good.to_string()), &path).is_ok());
    let cases: [(&str, serde_json::Value, &str); 11] = [
        (
            "/config/batch_size",
            0.into(),
            "config.batch_size 0 is not allowed",
        ),
        (
            "/config/hidden_size",
            100_000_000.into(),
            "config.hidden_size 100000000 is more than the 10000 allowed",
        ),
        ("/config/eval_every", 0.into(), "config.eval_every 0"),
        (
            "/config/iterations",
            599.into(),
            "history has 600 losses, more than the run's 599 iterations",
        ),
        (
            "/config/learning_rate",
            (-1.0).into(),
            "config.learning_rate -1 is not a positive number",
        ),
        (
            "/config/weight_init_std",
            1e300.into(),
            "config.weight_init_std 1e300 is more than the 100 allowed",
        ),
        (
            "/config/eval_every",
            300.into(),
            "history has 1 evaluations; evaluating every 300 iterations gives 2",
        ),
        (
            "/history/evaluations/0/train_acc",
            1.5.into(),
            "train_acc 1.5 is not an accuracy",
        ),
        (
            "/history/evaluations/0/epoch",
            2.into(),
            "evaluation 1 is at step 600 of epoch 2",
        ),
        (
            "/params_file",
            "../../victim.txt".into(),
            r#"params_file "../../victim.txt" is not the checkpoint's parameters file "params-000600.npz""#,
        ),
        (
            "/params_sha256",
            "x".into(),
            "params_sha256 \"x\" is not a SHA-256",
        ),
    ];
    for (pointer, value, expected) in cases {
        let mut state = good.clone();
        *state.pointer_mut(pointer).unwrap() = value;
        let err = checkpoint::state_from_bytes(&common::sealed_state(&state.to_string()), &path)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&path.display().to_string()) && err.contains(expected),
            "{pointer}: {err}"
        );
    }
    let mut extra = good.clone();
    extra["config"]["momentum"] = 0.9.into();
    let err =
        checkpoint::state_from_bytes(&common::sealed_state(&extra.to_string()), &path).unwrap_err();
    assert!(
        err.to_string().contains("unknown field `momentum`"),
        "{err}"
    );
}

/// The parameters file is checked against the checksum the state records; a saved checkpoint deletes only
/// parameters files of its own naming pattern, whatever an earlier state named.
#[test]
fn a_damaged_parameters_file_is_refused_and_nothing_outside_is_deleted() {
    let dir = run_dir();
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, b"keep me").unwrap();
    let out = dir.path().join("run");
    checkpoint::save(
        &out,
        &RunConfig::default(),
        &some_history(600),
        write_params,
    )
    .unwrap();
    let state = checkpoint::read_state(&out).unwrap();
    let params = checkpoint::checkpoint_dir(&out).join("params-000600.npz");
    std::fs::write(&params, b"paramz").unwrap();
    let err = checkpoint::read_params(&out, &state)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&params.display().to_string()) && err.contains("checksum mismatch"),
        "{err}"
    );
    // A planted state naming the victim, then a new checkpoint over it.
    let mut planted: serde_json::Value = serde_json::to_value(&state).unwrap();
    planted["params_file"] = "../../victim.txt".into();
    std::fs::write(
        checkpoint::checkpoint_dir(&out).join("state.json"),
        common::sealed_state(&planted.to_string()),
    )
    .unwrap();
    checkpoint::save(
        &out,
        &RunConfig::default(),
        &some_history(1200),
        write_params,
    )
    .unwrap();
    assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
    assert_eq!(checkpoint::read_state(&out).unwrap().step(), 1200);
}

/// A state file of the first format (no checksum, `version: 1`) is refused with what to do.
#[test]
fn an_old_format_is_refused_with_a_hint() {
    let path = Path::new("state.json");
    let err = checkpoint::state_from_bytes(
        br#"{"version":1,"config":{},"history":{},"params_file":"p"}"#,
        path,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("format version 1 is not supported") && err.contains("--force"),
        "{err}"
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

/// Losses that are infinite, NaN or near the largest float: plotting finishes (it used to hang forever on an
/// infinite axis), drawing the finite losses.
#[test]
fn plots_of_a_diverged_run_finish() {
    let dir = run_dir();
    let mut history = some_history(50);
    history.losses[10] = f64::INFINITY;
    history.losses[11] = f64::NAN;
    history.losses[12] = f64::MAX;
    history.losses[40..]
        .iter_mut()
        .for_each(|l| *l = f64::INFINITY);
    let out = dir.path().to_owned();
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(mnist::plot::write_plots(&history, &out).map_err(|e| e.to_string()));
    });
    let result = finished
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("plotting a diverged run hangs");
    result.unwrap();
    let svg = std::fs::read_to_string(dir.path().join("loss.svg")).unwrap();
    assert!(svg.contains("polyline"));
}
