//! A child process that may write files of at most a given size, for the tests of what a full disk does:
//! writes past it fail with `EFBIG` ("File too large") instead of killing the child with `SIGXFSZ`. Shared by
//! the crates' test suites through `#[path]`.

use std::process::Command;

/// Limits the files `command`'s process writes to `bytes` each (`RLIMIT_FSIZE`), with `SIGXFSZ` ignored.
pub fn limit_file_size(command: &mut Command, bytes: u64) {
    // SAFETY: only async-signal-safe calls (setrlimit, signal) run between fork and exec.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(command, move || {
            let limit = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            libc::setrlimit(libc::RLIMIT_FSIZE, &limit);
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
}
