//! Checkpoints: the parameters and the run's state (settings and history), written so that an interrupted
//! run always leaves a complete, consistent checkpoint behind.
//!
//! Layout under `DIR/checkpoint/`: `params-STEP.npz` (the parameters after iteration `STEP`) and `state.json`
//! (settings, history, and the name of the parameters file). Parameters are written first, each file
//! atomically; `state.json` is replaced last, so it always names a complete parameters file. The previous
//! parameters file is deleted only after that.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::atomic::write_atomically;
use crate::config::RunConfig;
use crate::history::History;

/// Format version of `state.json`.
const VERSION: u32 = 1;

/// A checkpoint that could not be written or read.
#[derive(Debug, thiserror::Error)]
#[error("{}: {reason}", path.display())]
pub struct CheckpointError {
    /// The file concerned.
    pub path: PathBuf,
    /// What is wrong.
    pub reason: String,
}

/// What `state.json` holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    /// Format version.
    pub version: u32,
    /// The run's settings.
    pub config: RunConfig,
    /// Losses and evaluations up to the checkpoint.
    pub history: History,
    /// The parameters file, relative to the checkpoint directory.
    pub params_file: String,
}

/// The checkpoint directory of an output directory.
pub fn checkpoint_dir(out_dir: &Path) -> PathBuf {
    out_dir.join("checkpoint")
}

/// Writes a checkpoint into `out_dir/checkpoint/`, saving the parameters with `save_params`.
///
/// # Errors
/// When a file cannot be written.
pub fn save(
    out_dir: &Path,
    config: &RunConfig,
    history: &History,
    save_params: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<(), CheckpointError> {
    let dir = checkpoint_dir(out_dir);
    let step = history.losses.len();
    let params_file = format!("params-{step:06}.npz");
    let params_path = dir.join(&params_file);
    fs::create_dir_all(&dir).map_err(|e| CheckpointError {
        path: dir.clone(),
        reason: e.to_string(),
    })?;
    save_params(&params_path).map_err(|reason| CheckpointError {
        path: params_path.clone(),
        reason,
    })?;

    let previous = read_state(out_dir).ok().map(|s| s.params_file);
    let state = RunState {
        version: VERSION,
        config: config.clone(),
        history: history.clone(),
        params_file: params_file.clone(),
    };
    let state_path = dir.join("state.json");
    write_atomically(&state_path, |w| {
        serde_json::to_writer(&mut *w, &state)?;
        Ok(())
    })
    .map_err(|e| CheckpointError {
        path: state_path,
        reason: e.to_string(),
    })?;
    if let Some(old) = previous.filter(|old| *old != params_file) {
        // Best effort: a leftover old parameters file is harmless.
        let _ = fs::remove_file(dir.join(old));
    }
    Ok(())
}

/// Reads `out_dir/checkpoint/state.json`.
///
/// # Errors
/// When it is missing, unreadable, not valid JSON of the expected form, or of another format version.
pub fn read_state(out_dir: &Path) -> Result<RunState, CheckpointError> {
    let path = checkpoint_dir(out_dir).join("state.json");
    let failed = |reason: String| CheckpointError {
        path: path.clone(),
        reason,
    };
    let text = fs::read_to_string(&path)
        .map_err(|e| failed(format!("cannot read the checkpoint: {e}")))?;
    let state: RunState =
        serde_json::from_str(&text).map_err(|e| failed(format!("not a valid checkpoint: {e}")))?;
    if state.version != VERSION {
        return Err(failed(format!(
            "checkpoint format version {} is not supported (expected {VERSION})",
            state.version
        )));
    }
    Ok(state)
}

/// The parameters file a checkpoint's state names.
pub fn params_path(out_dir: &Path, state: &RunState) -> PathBuf {
    checkpoint_dir(out_dir).join(&state.params_file)
}
