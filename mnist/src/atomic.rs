//! Writing files so that a reader never sees half of one: write a temporary file beside the target, flush it
//! to disk, then rename it over the target in one step.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// Writes the bytes that `fill` produces to `path` atomically: either the old file or the complete new one is
/// there, never a partial file, even if the process is killed midway.
///
/// # Errors
/// Any I/O error creating, writing, syncing or renaming the file.
pub fn write_atomically(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir)?;
    let mut temp = tempfile::Builder::new()
        .prefix(".partial-")
        .tempfile_in(dir)?;
    {
        let mut out = BufWriter::new(temp.as_file_mut());
        fill(&mut out)?;
        out.flush()?;
    }
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
