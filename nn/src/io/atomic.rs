//! Writing files so that a reader never sees half of one: write a temporary file beside the target, flush it
//! to disk, rename it over the target in one step, then flush the directory so the rename is on disk too.
//!
//! Every file written this way gets a new file's usual permissions (`0666` less the umask, so `0644` under the
//! common umask), whatever it holds; the temporary file's name starts with [`TEMP_PREFIX`], so a directory can
//! be cleaned of the temporary files a killed process left behind.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// The start of every temporary file's name (`.partial-` and random letters).
pub const TEMP_PREFIX: &str = ".partial-";

/// Writes what `fill` produces to `path` atomically: either the old file or the complete new one is there,
/// never a partial file, even if the process is killed midway. The writer `fill` gets is buffered and seekable
/// (a zip archive needs that); on any error the temporary file is removed and the target left as it was.
///
/// # Errors
/// Any I/O error creating, writing, syncing or renaming the file (or `fill`'s own).
pub fn write_atomically(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<&mut File>) -> io::Result<()>,
) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(TEMP_PREFIX);
    // A temporary file is private (0600); the saved file gets a new file's usual permissions instead.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut temp = builder.tempfile_in(dir)?;
    {
        let mut out = BufWriter::new(temp.as_file_mut());
        fill(&mut out)?;
        out.flush()?;
    }
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    sync_dir(dir)
}

/// Flushes a directory's entries to disk (after a rename in it). Only Unix can open a directory for that.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}
