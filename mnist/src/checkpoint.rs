//! Checkpoints: the parameters and the run's state (settings and history), written so that an interrupted
//! run always leaves a complete, consistent checkpoint behind, and read so that nothing damaged or
//! inconsistent is ever used.
//!
//! # Format (version 2)
//!
//! Under `DIR/checkpoint/`:
//!
//! - `params-STEP.npz` (`STEP` with at least six digits): the parameters after iteration `STEP` and the
//!   optimizer's state (arrays named `optimizer.…`, always complete: see [`nn::optim::Optimizer::state`]);
//! - `state.json`: one JSON object,
//!   `{"format":"backprop-rs mnist checkpoint","version":2,"sha256":"…","state":{…}}`, where `sha256` is the
//!   SHA-256 of the exact text of the `state` value. The state holds `config` (the [`RunConfig`]),
//!   `history` (the [`History`]; a loss that is not finite is the string `"NaN"`, `"inf"` or `"-inf"`),
//!   `params_file` (the name of the parameters file) and `params_sha256` (that file's SHA-256).
//!
//! Parameters are written first, each file atomically; `state.json` is replaced last, so it always names a
//! complete parameters file; older parameters files are deleted only after that.
//!
//! Loading checks everything before anything is used: the checksum (a flipped bit anywhere is an error), the
//! format and version, every setting's range ([`RunConfig::validate`]), that the history fits the settings
//! (no more losses than iterations, one evaluation at every `eval_every` steps with its epoch, accuracies in
//! `[0, 1]`), that `params_file` is exactly `params-STEP.npz` for the history's step (so it can name no other
//! file), and, in [`read_params`], the parameters file's checksum.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use nn::io::write_atomically;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::config::RunConfig;
use crate::digest::sha256_hex;
use crate::history::History;

/// The `format` field of `state.json`.
pub const FORMAT: &str = "backprop-rs mnist checkpoint";
/// The format version of `state.json` this crate writes and reads.
pub const VERSION: u32 = 2;
/// The name of the state file in the checkpoint directory.
pub const STATE_FILE: &str = "state.json";
/// The largest `state.json` read: room for [`crate::config::MAX_ITERATIONS`] losses and evaluations.
pub const MAX_STATE_LEN: u64 = 128 * crate::config::MAX_ITERATIONS as u64 + (1 << 20);

/// A checkpoint that could not be written or read.
#[derive(Debug, thiserror::Error)]
#[error("{}: {reason}", path.display())]
pub struct CheckpointError {
    /// The file concerned.
    pub path: PathBuf,
    /// What is wrong.
    pub reason: String,
}

/// The run's state as `state.json` holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunState {
    /// The run's settings.
    pub config: RunConfig,
    /// Losses and evaluations up to the checkpoint.
    pub history: History,
    /// The parameters file, in the checkpoint directory: always [`params_file_name`] of the step.
    pub params_file: String,
    /// The SHA-256 (lowercase hex) of the parameters file.
    pub params_sha256: String,
}

impl RunState {
    /// The iterations done: the checkpoint's step.
    pub fn step(&self) -> usize {
        self.history.losses.len()
    }

    /// Checks the state as the module docs describe (all but the parameters file itself).
    ///
    /// # Errors
    /// What is wrong, naming the field.
    pub fn validate(&self) -> Result<(), String> {
        let config = &self.config;
        config
            .validate()
            .map_err(|e| format!("config.{} {}", e.field, e.problem))?;
        let step = self.step();
        if step > config.iterations {
            return Err(format!(
                "history has {step} losses, more than the run's {} iterations",
                config.iterations
            ));
        }
        let evaluations = &self.history.evaluations;
        let expected = step / config.eval_every;
        if evaluations.len() != expected {
            return Err(format!(
                "history has {} evaluations; evaluating every {} iterations gives {expected} in {step}",
                evaluations.len(),
                config.eval_every
            ));
        }
        for (k, e) in evaluations.iter().enumerate() {
            let (epoch, at) = (k + 1, (k + 1) * config.eval_every);
            if (e.step, e.epoch) != (at, epoch) {
                return Err(format!(
                    "evaluation {epoch} is at step {} of epoch {}, expected step {at} of epoch {epoch}",
                    e.step, e.epoch
                ));
            }
            for (name, acc) in [("train_acc", e.train_acc), ("test_acc", e.test_acc)] {
                if !(0.0..=1.0).contains(&acc) {
                    return Err(format!(
                        "evaluation {epoch}: {name} {acc} is not an accuracy (0 to 1)"
                    ));
                }
            }
        }
        let name = params_file_name(step);
        if self.params_file != name {
            return Err(format!(
                "params_file {:?} is not the checkpoint's parameters file {name:?}",
                self.params_file
            ));
        }
        let hex = &self.params_sha256;
        if !(hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        {
            return Err(format!("params_sha256 {hex:?} is not a SHA-256"));
        }
        Ok(())
    }
}

/// `state.json` as written.
#[derive(Serialize)]
struct EnvelopeOut<'a> {
    format: &'a str,
    version: u32,
    sha256: String,
    state: &'a RawValue,
}

/// What any version's `state.json` says it is, read first so that a file of another version says so.
#[derive(Deserialize)]
struct Probe {
    format: Option<String>,
    version: Option<u32>,
}

/// `state.json` as read, once its format and version are known to be these.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvelopeIn<'a> {
    #[serde(rename = "format")]
    _format: String,
    #[serde(rename = "version")]
    _version: u32,
    sha256: String,
    #[serde(borrow)]
    state: &'a RawValue,
}

/// The checkpoint directory of an output directory.
pub fn checkpoint_dir(out_dir: &Path) -> PathBuf {
    out_dir.join("checkpoint")
}

/// The name of the parameters file of the checkpoint after iteration `step`: `params-000600.npz`.
pub fn params_file_name(step: usize) -> String {
    format!("params-{step:06}.npz")
}

/// Whether `name` is one of this module's parameters file names (`params-` digits `.npz`).
pub fn is_params_file_name(name: &str) -> bool {
    name.strip_prefix("params-")
        .and_then(|rest| rest.strip_suffix(".npz"))
        .is_some_and(|digits| digits.len() >= 6 && digits.bytes().all(|b| b.is_ascii_digit()))
}

/// Writes a checkpoint into `out_dir/checkpoint/`, saving the parameters with `save_params`, then deletes
/// every older parameters file there.
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
    let params_file = params_file_name(history.losses.len());
    let params_path = dir.join(&params_file);
    let failed = |path: &Path| {
        let path = path.to_owned();
        move |e: io::Error| CheckpointError {
            path,
            reason: e.to_string(),
        }
    };
    fs::create_dir_all(&dir).map_err(failed(&dir))?;
    save_params(&params_path).map_err(|reason| CheckpointError {
        path: params_path.clone(),
        reason,
    })?;
    let params_sha256 = sha256_hex(&fs::read(&params_path).map_err(failed(&params_path))?);
    let state = RunState {
        config: config.clone(),
        history: history.clone(),
        params_file: params_file.clone(),
        params_sha256,
    };
    let state_path = dir.join(STATE_FILE);
    let raw = serde_json::value::to_raw_value(&state).map_err(|e| failed(&state_path)(e.into()))?;
    let envelope = EnvelopeOut {
        format: FORMAT,
        version: VERSION,
        sha256: sha256_hex(raw.get().as_bytes()),
        state: &raw,
    };
    write_atomically(&state_path, |w| {
        serde_json::to_writer(&mut *w, &envelope)?;
        io::Write::write_all(w, b"\n")
    })
    .map_err(failed(&state_path))?;
    remove_stale_params(&dir, Some(&params_file)).map_err(failed(&dir))
}

/// Deletes every parameters file in the checkpoint directory `dir` (see [`is_params_file_name`]) but `keep`.
///
/// # Errors
/// When the directory cannot be listed or a file not deleted.
pub fn remove_stale_params(dir: &Path, keep: Option<&str>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        let Some(name) = name.to_str() else { continue };
        if is_params_file_name(name) && Some(name) != keep {
            fs::remove_file(dir.join(name))?;
        }
    }
    Ok(())
}

/// Reads and checks `out_dir/checkpoint/state.json` (see the module docs).
///
/// # Errors
/// When it is missing, unreadable, damaged, of another format or version, or inconsistent.
pub fn read_state(out_dir: &Path) -> Result<RunState, CheckpointError> {
    let path = checkpoint_dir(out_dir).join(STATE_FILE);
    let failed = |reason: String| CheckpointError {
        path: path.clone(),
        reason,
    };
    let bytes = read_capped(&path, MAX_STATE_LEN).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => failed(format!(
            "no checkpoint: the file does not exist ({} holds no run to resume)",
            out_dir.display()
        )),
        _ => failed(e.to_string()),
    })?;
    state_from_bytes(&bytes, &path)
}

/// Parses and checks the bytes of a `state.json`, as [`read_state`] does; `path` only names them in errors.
///
/// # Errors
/// As [`read_state`].
pub fn state_from_bytes(bytes: &[u8], path: &Path) -> Result<RunState, CheckpointError> {
    let failed = |reason: String| CheckpointError {
        path: path.to_owned(),
        reason,
    };
    let probe: Probe = serde_json::from_slice(bytes)
        .map_err(|e| failed(format!("not a checkpoint state file: {e}")))?;
    match (probe.format.as_deref(), probe.version) {
        (Some(FORMAT), Some(VERSION)) => {}
        (_, Some(v)) if v != VERSION => {
            return Err(failed(format!(
                "checkpoint format version {v} is not supported (this mnist reads version {VERSION}); start the run again with --force"
            )))
        }
        _ => {
            return Err(failed(format!(
                "not a checkpoint state file: it lacks \"format\": {FORMAT:?} or \"version\": {VERSION}"
            )))
        }
    }
    let envelope: EnvelopeIn<'_> = serde_json::from_slice(bytes)
        .map_err(|e| failed(format!("not a checkpoint state file: {e}")))?;
    let (sha256, raw) = (envelope.sha256, envelope.state);
    let actual = sha256_hex(raw.get().as_bytes());
    if sha256 != actual {
        return Err(failed(format!(
            "checksum mismatch: the file is damaged (its state has sha256 {actual}, the file records {sha256})"
        )));
    }
    let state: RunState = serde_json::from_str(raw.get())
        .map_err(|e| failed(format!("not a valid checkpoint state: {e}")))?;
    state.validate().map_err(failed)?;
    Ok(state)
}

/// The bytes of the parameters file that `state` names, after checking them against its checksum.
///
/// # Errors
/// When the file cannot be read or its checksum differs.
pub fn read_params(
    out_dir: &Path,
    state: &RunState,
) -> Result<(PathBuf, Vec<u8>), CheckpointError> {
    let path = checkpoint_dir(out_dir).join(params_file_name(state.step()));
    let bytes = fs::read(&path).map_err(|e| CheckpointError {
        path: path.clone(),
        reason: format!("cannot read the checkpoint's parameters: {e}"),
    })?;
    if sha256_hex(&bytes) != state.params_sha256 {
        return Err(CheckpointError {
            path,
            reason: format!(
                "checksum mismatch: the file is damaged (its sha256 is not the {} that {STATE_FILE} records)",
                state.params_sha256
            ),
        });
    }
    Ok((path, bytes))
}

/// The file at `path`, if it is no longer than `cap` bytes.
fn read_capped(path: &Path, cap: u64) -> io::Result<Vec<u8>> {
    let file = fs::File::open(path)?;
    let meta = file.metadata()?;
    if meta.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::IsADirectory,
            "is a directory, not a file",
        ));
    }
    let len = meta.len();
    if len > cap {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{len} bytes is more than a checkpoint state can hold ({cap})"),
        ));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(cap + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}
