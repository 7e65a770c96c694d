//! Downloading the MNIST files from public mirrors into a cache directory, verified.
//!
//! Each file goes to a temporary file in the destination directory and is checked against the
//! known checksums before an atomic rename gives it its name (see [`verify_file`] for the rule).
//! A file that fails the check is deleted and the next mirror is tried; if every mirror fails,
//! the error lists each one's failure. A progress bar per file is drawn on stderr when it is a
//! terminal.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use flate2::read::GzDecoder;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressFinish, ProgressStyle};
use md5::Md5;
use sha2::Sha256;

use crate::digest::{digest, hex};
use crate::error::{DataError, Result};
use crate::files::MnistFile;

/// The environment variable overriding the mirrors: base URLs separated by commas or whitespace.
pub const MIRROR_VAR: &str = "MNIST_MIRROR";

/// Public mirrors of the MNIST `.gz` files, tried in this order.
pub const DEFAULT_MIRRORS: [&str; 2] = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
];

/// How long to wait for a mirror to accept the connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait for a mirror's answer, and for each read of its data: a mirror that accepts and then says
/// nothing is given up after this (with two mirrors, a file fails within about 60 s in all).
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(20);

/// A download larger than the uncompressed file by more than this is not MNIST.
const SIZE_SLACK: u64 = 1 << 20;

/// [`DEFAULT_MIRRORS`] as owned strings.
pub fn default_mirrors() -> Vec<String> {
    DEFAULT_MIRRORS.iter().map(|&m| m.to_owned()).collect()
}

/// Splits a mirror list (as in `MNIST_MIRROR`) at commas and whitespace, dropping empty parts.
pub fn parse_mirrors(spec: &str) -> Vec<String> {
    spec.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// How a file was recognised as genuine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    /// Its SHA-256 is that of the known `.gz` file.
    GzSha256,
    /// It is gzip data that decompresses to content with the original MD5 (a re-compressed copy).
    ContentMd5,
}

/// Checks that `path` is the genuine `.gz` of `file`: either its SHA-256 equals
/// [`MnistFile::gz_sha256`], or it decompresses to content whose MD5 equals
/// [`MnistFile::raw_md5`]. Anything else is a [`DataError::Checksum`].
pub fn verify_file(file: MnistFile, path: &Path) -> Result<Verified> {
    let io_error = |source| DataError::Io {
        path: path.to_owned(),
        source,
    };
    let mut input = File::open(path).map_err(io_error)?;
    let sha256 = hex(&digest::<Sha256>(&mut input).map_err(io_error)?);
    if sha256 == file.gz_sha256() {
        return Ok(Verified::GzSha256);
    }
    input.rewind().map_err(io_error)?;
    let content = digest::<Md5>(&mut GzDecoder::new(BufReader::new(input)));
    let content = match content {
        Ok(md5) if hex(&md5) == file.raw_md5() => return Ok(Verified::ContentMd5),
        Ok(md5) => format!("content md5 {}", hex(&md5)),
        Err(e) => format!("no valid gzip content ({e})"),
    };
    Err(DataError::Checksum {
        path: path.to_owned(),
        expected: format!(
            "gz sha256 {} or content md5 {}",
            file.gz_sha256(),
            file.raw_md5()
        ),
        found: format!("gz sha256 {sha256}, {content}"),
    })
}

/// Downloads `file` into `dir` from the first of `mirrors` that delivers a verified copy, and
/// returns its path (`dir/name.gz`).
///
/// Mirror failures (network, HTTP status, oversized or unverifiable content) move on to the next
/// mirror; failures of the destination directory itself stop at once.
pub fn download(file: MnistFile, dir: &Path, mirrors: &[impl AsRef<str>]) -> Result<PathBuf> {
    let dest = dir.join(file.gz_name());
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_recv_response(Some(ANSWER_TIMEOUT))
        .timeout_per_read(Some(ANSWER_TIMEOUT))
        .build()
        .into();
    let mut failures = Vec::new();
    for mirror in mirrors {
        let base = mirror.as_ref().trim_end_matches('/');
        let url = format!("{base}/{}", file.gz_name());
        match fetch_verified(&agent, &url, file, &dest)? {
            Ok(()) => return Ok(dest),
            Err(failure) => failures.push((url, failure)),
        }
    }
    Err(DataError::AllMirrorsFailed {
        path: dest,
        failures,
    })
}

/// Fetches `url` into a temporary file beside `dest`, verifies it and renames it to `dest`.
/// The outer error is fatal (the destination is unusable); the inner one is this mirror's
/// failure. On any failure the temporary file is deleted.
fn fetch_verified(
    agent: &ureq::Agent,
    url: &str,
    file: MnistFile,
    dest: &Path,
) -> Result<std::result::Result<(), DataError>> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    let io_error = |path: &Path| {
        let path = path.to_owned();
        move |source| DataError::Io { path, source }
    };
    let temp = tempfile::Builder::new()
        .prefix(&format!(".{}.", file.gz_name()))
        .suffix(".part")
        .tempfile_in(dir)
        .map_err(io_error(dir))?;
    let failed = |reason: String| {
        Ok(Err(DataError::Download {
            url: url.to_owned(),
            reason,
        }))
    };
    let response = match agent.get(url).call() {
        Ok(response) => response,
        Err(e) => return failed(e.to_string()),
    };
    let body = response.into_body();
    let cap = file.raw_len() + SIZE_SLACK;
    if let Some(len) = body.content_length().filter(|&len| len > cap) {
        return failed(format!("{len} bytes announced, more than MNIST's {cap}"));
    }
    let progress = progress_bar(file, body.content_length());
    let mut source = body.into_reader().take(cap + 1);
    let mut sink = BufWriter::new(temp.as_file());
    let mut buf = vec![0u8; 64 * 1024];
    let mut received = 0u64;
    loop {
        let n = match source.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return failed(e.to_string()),
        };
        sink.write_all(&buf[..n]).map_err(io_error(temp.path()))?;
        received += n as u64;
        progress.inc(n as u64);
    }
    if received > cap {
        return failed(format!("more than MNIST's {cap} bytes"));
    }
    sink.flush().map_err(io_error(temp.path()))?;
    drop(sink);
    temp.as_file().sync_all().map_err(io_error(temp.path()))?;
    if let Err(mismatch) = verify_file(file, temp.path()) {
        // Report the destination, not the temporary name that is about to vanish.
        return Ok(Err(match mismatch {
            DataError::Checksum {
                expected, found, ..
            } => DataError::Checksum {
                path: dest.to_owned(),
                expected,
                found,
            },
            other => other,
        }));
    }
    temp.persist(dest).map_err(|e| DataError::Io {
        path: dest.to_owned(),
        source: e.error,
    })?;
    Ok(Ok(()))
}

/// A progress bar for downloading `file` on stderr (hidden when stderr is not a terminal),
/// cleared when dropped, whatever the outcome.
fn progress_bar(file: MnistFile, len: Option<u64>) -> ProgressBar {
    let target = ProgressDrawTarget::stderr();
    let (bar, template) = match len {
        Some(len) => (
            ProgressBar::with_draw_target(Some(len), target),
            "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        ),
        None => (
            ProgressBar::with_draw_target(None, target),
            "{msg} {spinner} {bytes} {bytes_per_sec}",
        ),
    };
    let style = ProgressStyle::with_template(template).expect("the templates are valid");
    bar.set_style(style.progress_chars("=> "));
    bar.set_message(format!("downloading {}", file.gz_name()));
    bar.with_finish(ProgressFinish::AndClear)
}
