//! The command-line flags shared by the lecture's graph examples:
//!
//! - `--dot FILE` writes the computational graph, with forward and backward values, in Graphviz's DOT language;
//! - `--svg FILE` renders it to SVG with Graphviz's `dot` command (which must be installed).
//!
//! Anything else prints the usage on stderr and exits with status 2; a failure to write or render prints the
//! error and exits with status 1.

use std::path::PathBuf;
use std::process::exit;

use autograd::dot::Dot;
use autograd::Float;

/// Where to write the graph, as asked on the command line.
pub struct GraphFiles {
    dot: Option<PathBuf>,
    svg: Option<PathBuf>,
}

impl GraphFiles {
    /// Reads the flags from the command line, exiting with the usage on anything it does not know.
    pub fn from_args() -> Self {
        let mut args = std::env::args();
        let program = args.next().unwrap_or_else(|| "example".into());
        let usage = format!(
            "usage: {program} [--dot FILE] [--svg FILE]\n  \
             --dot FILE  write the graph (forward and backward values) in Graphviz DOT\n  \
             --svg FILE  render the graph to SVG (needs Graphviz's `dot` on the PATH)"
        );
        let mut files = GraphFiles {
            dot: None,
            svg: None,
        };
        while let Some(flag) = args.next() {
            let slot = match flag.as_str() {
                "--dot" => &mut files.dot,
                "--svg" => &mut files.svg,
                "-h" | "--help" => {
                    println!("{usage}");
                    exit(0);
                }
                _ => {
                    eprintln!("error: unexpected argument '{flag}'\n{usage}");
                    exit(2);
                }
            };
            match args.next() {
                Some(file) => *slot = Some(file.into()),
                None => {
                    eprintln!("error: {flag} needs a FILE\n{usage}");
                    exit(2);
                }
            }
        }
        files
    }

    /// Writes the requested files, exiting with status 1 and the error if one cannot be written.
    pub fn write<T: Float>(&self, dot: &Dot<'_, T>) {
        let outcomes = [
            self.dot.as_ref().map(|path| (path, dot.write(path))),
            self.svg.as_ref().map(|path| (path, dot.write_svg(path))),
        ];
        for (path, outcome) in outcomes.into_iter().flatten() {
            match outcome {
                Ok(()) => println!("graph written to {}", path.display()),
                Err(e) => {
                    eprintln!("error: {e}");
                    exit(1);
                }
            }
        }
    }
}
