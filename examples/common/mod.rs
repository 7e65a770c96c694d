//! The command-line flags shared by the lecture's graph examples:
//!
//! - `--dot FILE` writes the computational graph, with forward and backward values, in Graphviz's DOT language;
//! - `--svg FILE` renders it to SVG (with Graphviz's `dot` when installed, else the built-in layout);
//! - `--steps DIR` writes one SVG per step of the backward pass, `step_0.svg` (the seed) to `step_N.svg`;
//! - `--html FILE` writes one self-contained page that steps through the forward and the backward pass.
//!
//! Anything else prints the usage on stderr and exits with status 2; a failure to write or render prints the
//! error and exits with status 1.
//!
//! The submodules are the pieces the book's chapter-6 experiments share: their flags ([`flags`]), the
//! multi-layer net and its training loop ([`training`]), runs compared by their losses ([`loss_curves`]) and
//! the figures ([`plot`]).

// Every example compiles this module on its own and uses only some of it.
#![allow(dead_code)]

pub mod flags;
pub mod loss_curves;
pub mod plot;
pub mod training;

use std::path::PathBuf;
use std::process::exit;

use autograd::dot::{Dot, Layout};
use autograd::Float;

/// Where to write the graph, as asked on the command line.
#[derive(Default)]
pub struct GraphFiles {
    /// The example's name, the HTML page's title.
    name: String,
    dot: Option<PathBuf>,
    svg: Option<PathBuf>,
    steps: Option<PathBuf>,
    html: Option<PathBuf>,
}

impl GraphFiles {
    /// Reads the flags from the command line, exiting with the usage on anything it does not know.
    pub fn from_args() -> Self {
        let mut args = std::env::args();
        let program = args.next().unwrap_or_else(|| "example".into());
        let usage = format!(
            "usage: {program} [--dot FILE] [--svg FILE] [--steps DIR] [--html FILE]\n  \
             --dot FILE   write the graph (forward and backward values) in Graphviz DOT\n  \
             --svg FILE   render the graph to SVG (with Graphviz's `dot` when installed)\n  \
             --steps DIR  write one SVG per backward step into DIR\n  \
             --html FILE  write a page that steps through the forward and the backward pass"
        );
        let name = std::path::Path::new(&program)
            .file_stem()
            .map_or_else(|| program.clone(), |s| s.to_string_lossy().into_owned());
        let mut files = GraphFiles {
            name,
            ..GraphFiles::default()
        };
        while let Some(flag) = args.next() {
            let slot = match flag.as_str() {
                "--dot" => &mut files.dot,
                "--svg" => &mut files.svg,
                "--steps" => &mut files.steps,
                "--html" => &mut files.html,
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
        let layout = Layout::detect();
        let outcomes = [
            self.dot.as_ref().map(|path| (path, dot.write(path))),
            self.svg
                .as_ref()
                .map(|path| (path, dot.write_svg_with(path, layout))),
            self.steps
                .as_ref()
                .map(|dir| (dir, dot.write_steps(dir, layout).map(drop))),
            self.html
                .as_ref()
                .map(|path| (path, dot.write_html(path, &self.name))),
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
