//! The run directory: its lock (held, stale, released), what counts as its contents, and what its cleaning
//! deletes — only the run's own temporary, orphan and output files, never anything else.

use std::fs;
use std::path::Path;

use mnist::checkpoint;
use mnist::config::RunConfig;
use mnist::history::History;
use mnist::run_dir::{RunDir, LOCK_FILE};

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn a_held_lock_is_refused_and_a_released_or_stale_one_is_taken() {
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("runs/latest");
    fs::create_dir_all(&out).unwrap();
    let first = RunDir::lock(&out).unwrap();
    let pid = std::process::id().to_string();
    assert_eq!(fs::read_to_string(out.join(LOCK_FILE)).unwrap().trim(), pid);
    let err = RunDir::lock(&out).unwrap_err().to_string();
    assert!(
        err.ends_with(&format!("in use by another mnist train (pid {pid}); wait for it to end or use another directory")),
        "{err}"
    );
    drop(first);
    assert!(
        !out.join(LOCK_FILE).exists(),
        "a released lock leaves no file"
    );
    // The file a killed run leaves (nobody holds its lock) is taken over.
    fs::write(out.join(LOCK_FILE), "999999999\n").unwrap();
    let second = RunDir::lock(&out).unwrap();
    assert_eq!(fs::read_to_string(out.join(LOCK_FILE)).unwrap().trim(), pid);
    drop(second);
}

#[test]
fn directories_created_for_a_run_that_wrote_nothing_are_removed() {
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("a/b/run");
    drop(RunDir::lock(&out).unwrap());
    assert!(names(home.path()).is_empty(), "{:?}", names(home.path()));
    let kept = RunDir::lock(&out).unwrap();
    fs::write(out.join("loss.csv"), b"step,loss\n").unwrap();
    drop(kept);
    assert_eq!(names(&out), ["loss.csv"]);
}

#[test]
fn a_file_is_not_a_run_directory() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("out");
    fs::write(&file, b"mine").unwrap();
    let err = RunDir::lock(&file).unwrap_err().to_string();
    assert!(err.ends_with("out: exists and is not a directory"), "{err}");
    assert_eq!(fs::read(&file).unwrap(), b"mine");
}

/// A killed run's leftovers: temporary files here and in the checkpoint directory, an orphan parameters
/// file; the user's own files beside them.
#[test]
fn cleaning_deletes_the_runs_files_only() {
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("run");
    let cp = checkpoint::checkpoint_dir(&out);
    let config = RunConfig::default();
    checkpoint::save(&out, &config, &History::default(), |p| {
        fs::write(p, b"params").map_err(|e| e.to_string())
    })
    .unwrap();
    for file in [
        out.join(".partial-abc123"),
        cp.join(".partial-xyz"),
        cp.join(".params-q1.npz.tmp"),
        cp.join("params-000600.npz"),
        out.join("loss.csv"),
        out.join("params.npz"),
        out.join("notes.txt"),
        cp.join("params-final.npz"),
        cp.join("README"),
    ] {
        fs::write(file, b"x").unwrap();
    }
    let dir = RunDir::lock(&out).unwrap();
    assert_eq!(
        dir.contents().unwrap(),
        ["checkpoint", "loss.csv", "notes.txt", "params.npz"]
    );
    assert!(dir.has_checkpoint());
    dir.remove_temporary_files().unwrap();
    assert_eq!(
        names(&cp),
        [
            "README",
            "params-000000.npz",
            "params-000600.npz",
            "params-final.npz",
            "state.json"
        ]
    );
    checkpoint::remove_stale_params(&cp, Some("params-000000.npz")).unwrap();
    assert_eq!(
        names(&cp),
        [
            "README",
            "params-000000.npz",
            "params-final.npz",
            "state.json"
        ]
    );
    dir.remove_run().unwrap();
    assert_eq!(names(&cp), ["README", "params-final.npz"]);
    assert_eq!(names(&out), [".lock", "checkpoint", "notes.txt"]);
}
