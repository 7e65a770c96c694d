//! The output directory of a training run: checked when the run starts, locked while the run writes it, and
//! cleaned of what a killed run left behind.
//!
//! The lock is an advisory `flock` on [`LOCK_FILE`] in the directory, which holds the locking process's id
//! for messages. The operating system releases it when the process ends in any way, so the lock of a run that
//! was killed (its file is still there) is recognised as stale and simply taken over; a run that ends removes
//! the file.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::checkpoint::{self, checkpoint_dir, STATE_FILE};

/// The lock file's name in a run directory.
pub const LOCK_FILE: &str = ".lock";

/// The files a run writes in its directory, besides the checkpoint directory.
pub const OUTPUT_FILES: [&str; 8] = [
    "loss.csv",
    "accuracy.csv",
    "metrics.jsonl",
    "loss.svg",
    "loss.png",
    "accuracy.svg",
    "accuracy.png",
    "params.npz",
];

/// A run directory that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{}: {reason}", path.display())]
pub struct RunDirError {
    /// The directory (or the file in it) concerned.
    pub path: PathBuf,
    /// What is wrong.
    pub reason: String,
}

/// A run directory locked by this process; the lock is released (and its file removed) when dropped, and the
/// directories [`RunDir::lock`] created are removed again if the run left nothing in them.
#[derive(Debug)]
pub struct RunDir {
    path: PathBuf,
    _lock: File,
    /// The directories that `lock` created; dropped after the lock.
    _created: CreatedDirs,
}

/// Directories this process created, the innermost first; when dropped, those still empty are removed (so a
/// run that failed before writing anything leaves no directory behind).
#[derive(Debug)]
struct CreatedDirs(Vec<PathBuf>);

impl Drop for CreatedDirs {
    fn drop(&mut self) {
        if let Some(innermost) = self.0.first() {
            let _ = fs::remove_dir(checkpoint_dir(innermost));
        }
        for dir in &self.0 {
            // Fails, as it should, for a directory that is not empty.
            let _ = fs::remove_dir(dir);
        }
    }
}

impl RunDir {
    /// Creates the directory `path` (with its parents) if it does not exist and locks it for this process,
    /// which also shows that files can be created in it.
    ///
    /// # Errors
    /// When `path` is not a directory, cannot be created or written, or another live process holds its lock
    /// (the message gives that process's id).
    pub fn lock(path: &Path) -> Result<RunDir, RunDirError> {
        let failed = |path: &Path, reason: String| RunDirError {
            path: path.to_owned(),
            reason,
        };
        let created = CreatedDirs(
            path.ancestors()
                .take_while(|dir| !dir.as_os_str().is_empty() && fs::symlink_metadata(dir).is_err())
                .map(Path::to_owned)
                .collect(),
        );
        match fs::metadata(path) {
            Ok(meta) if !meta.is_dir() => {
                return Err(failed(path, "exists and is not a directory".to_owned()))
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => fs::create_dir_all(path)
                .map_err(|e| failed(path, format!("cannot create the directory: {e}")))?,
            Err(e) => return Err(failed(path, e.to_string())),
        }
        let lock_path = path.join(LOCK_FILE);
        // A run that ends removes its lock file; if that happens between opening and locking it, the lock is
        // on a file no longer in the directory: open the new one and try again.
        for _ in 0..3 {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&lock_path)
                .map_err(|e| failed(path, format!("cannot create files in it: {e}")))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(fs::TryLockError::WouldBlock) => {
                    let holder = fs::read_to_string(&lock_path).unwrap_or_default();
                    let holder = match holder.trim() {
                        "" => String::new(),
                        pid => format!(" (pid {pid})"),
                    };
                    return Err(failed(
                        path,
                        format!("in use by another mnist train{holder}; wait for it to end or use another directory"),
                    ));
                }
                Err(fs::TryLockError::Error(e)) => {
                    return Err(failed(&lock_path, format!("cannot lock: {e}")))
                }
            }
            if still_linked(&file, &lock_path) {
                file.set_len(0)
                    .and_then(|()| writeln!(file, "{}", std::process::id()))
                    .map_err(|e| failed(&lock_path, format!("cannot write: {e}")))?;
                return Ok(RunDir {
                    path: path.to_owned(),
                    _lock: file,
                    _created: created,
                });
            }
        }
        Err(failed(
            &lock_path,
            "cannot lock: other processes keep replacing it".to_owned(),
        ))
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the directory holds a checkpoint (a `checkpoint/state.json`).
    pub fn has_checkpoint(&self) -> bool {
        checkpoint_dir(&self.path).join(STATE_FILE).exists()
    }

    /// The names of what the directory holds besides its lock and temporary files (and an empty checkpoint
    /// directory), sorted.
    ///
    /// # Errors
    /// When it cannot be listed.
    pub fn contents(&self) -> Result<Vec<String>, RunDirError> {
        let mut names = Vec::new();
        for name in list(&self.path).map_err(|e| self.error(e))? {
            let empty_checkpoint = name == "checkpoint"
                && list(&checkpoint_dir(&self.path))
                    .is_ok_and(|inside| inside.iter().all(|n| is_temporary(n)));
            if name != LOCK_FILE && !is_temporary(&name) && !empty_checkpoint {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    /// Deletes the temporary files of interrupted writes, here and in the checkpoint directory.
    ///
    /// # Errors
    /// When a directory cannot be listed or a file deleted.
    pub fn remove_temporary_files(&self) -> Result<(), RunDirError> {
        for dir in [self.path.clone(), checkpoint_dir(&self.path)] {
            let names = match list(&dir) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                other => other.map_err(|e| self.error(e))?,
            };
            for name in names.iter().filter(|n| is_temporary(n)) {
                remove(&dir.join(name))?;
            }
        }
        Ok(())
    }

    /// Deletes the files of a run (the [`OUTPUT_FILES`] and the checkpoint), leaving every other file alone.
    ///
    /// # Errors
    /// When a file cannot be deleted.
    pub fn remove_run(&self) -> Result<(), RunDirError> {
        self.remove_temporary_files()?;
        for name in OUTPUT_FILES {
            remove(&self.path.join(name))?;
        }
        let dir = checkpoint_dir(&self.path);
        if dir.is_dir() {
            checkpoint::remove_stale_params(&dir, None).map_err(|e| self.error(e))?;
            remove(&dir.join(STATE_FILE))?;
            // Only if nothing else is in it.
            let _ = fs::remove_dir(&dir);
        }
        Ok(())
    }

    fn error(&self, e: io::Error) -> RunDirError {
        RunDirError {
            path: self.path.clone(),
            reason: e.to_string(),
        }
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        // Removed while still locked; the lock goes with the file handle right after.
        let _ = fs::remove_file(self.path.join(LOCK_FILE));
    }
}

/// Whether `name` is a temporary file of an interrupted atomic write: [`nn::io::TEMP_PREFIX`], or the
/// `.params-*.npz.tmp` of earlier versions.
pub fn is_temporary(name: &str) -> bool {
    name.starts_with(nn::io::TEMP_PREFIX)
        || (name.starts_with(".params-") && name.ends_with(".npz.tmp"))
}

/// The names in `dir`.
fn list(dir: &Path) -> io::Result<Vec<String>> {
    fs::read_dir(dir)?
        .map(|entry| entry.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect()
}

/// Deletes the file at `path` if there is one.
fn remove(path: &Path) -> Result<(), RunDirError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(RunDirError {
            path: path.to_owned(),
            reason: format!("cannot delete: {e}"),
        }),
        _ => Ok(()),
    }
}

/// Whether the open `file` is still the one at `path`.
fn still_linked(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), fs::metadata(path)) {
            (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        true
    }
}
