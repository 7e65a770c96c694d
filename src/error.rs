//! What can go wrong with a `backprop` command: a formula, an argument, or a file.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::expr::ExprError;

/// An error of a `backprop` command, printed by the binary on one line (a formula's error also shows the
/// formula with a caret under the column).
#[derive(Debug)]
pub enum Error {
    /// The formula (or an input's value, itself a formula) does not parse or evaluate.
    Expr {
        /// What was typed: the formula, or `x=…`.
        source: String,
        /// What is wrong, and where.
        error: ExprError,
    },
    /// A command-line argument is wrong.
    Arg(String),
    /// A file cannot be written.
    File {
        /// The file (or directory).
        path: PathBuf,
        /// Why.
        error: io::Error,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Expr { source, error } => f.write_str(&error.pointed(source)),
            Error::Arg(message) => f.write_str(message),
            Error::File { path, error } => {
                let text = error.to_string();
                // The drawing's writers already name their file.
                match text.starts_with(&path.display().to_string()) {
                    true => f.write_str(&text),
                    false => write!(f, "{}: {text}", path.display()),
                }
            }
        }
    }
}

impl std::error::Error for Error {}
