//! The flags of the chapter-6 experiments: `--out DIR` (where the table's figures go), the length of the run
//! (`--iterations N` or `--epochs N`, whichever the example counts in) and, for an example that can show a
//! trained model, `--params FILE`. A bad flag is one line on stderr and exit status 2.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// What an example accepts on its command line.
pub struct Spec {
    /// The example's name: the default output directory is `target/examples/<name>/`.
    pub example: &'static str,
    /// The unit the run's length is counted in, as its flag is spelled: `"iterations"` or `"epochs"`.
    pub length: &'static str,
    /// The run's length without the flag (the book's).
    pub default_length: usize,
    /// Whether `--params FILE` is accepted.
    pub params: bool,
}

/// The flags as given, defaults filled in.
#[derive(Debug, PartialEq)]
pub struct Flags {
    /// The directory the figures are written to (created if missing).
    pub out: PathBuf,
    /// The run's length, in the spec's unit; at least 1.
    pub length: usize,
    /// A parameters file to show instead of training, when the spec accepts one.
    pub params: Option<PathBuf>,
}

impl Spec {
    /// The default output directory: `target/examples/<name>/` of this workspace.
    pub fn default_out(&self) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target/examples")
            .join(self.example)
    }

    /// The usage text, for `--help`.
    pub fn usage(&self) -> String {
        let mut usage = format!(
            "usage: {} [--out DIR] [--{} N]{}\n  \
             --out DIR   write the figures into DIR (default {})\n  \
             --{:<9} train for N {} (default {})",
            self.example,
            self.length,
            if self.params { " [--params FILE]" } else { "" },
            self.default_out().display(),
            format!("{} N", self.length),
            self.length,
            self.default_length,
        );
        if self.params {
            usage.push_str("\n  --params FILE  show the filters of a saved model (.npz or .safetensors) instead of training");
        }
        usage
    }

    /// Reads `args` (without the program's name): `Ok(None)` for `--help`, an error message (one line) for
    /// anything not understood. `--flag VALUE` and `--flag=VALUE` are both accepted.
    pub fn parse(&self, args: impl IntoIterator<Item = String>) -> Result<Option<Flags>, String> {
        let mut flags = Flags {
            out: self.default_out(),
            length: self.default_length,
            params: None,
        };
        let length_flag = format!("--{}", self.length);
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            if arg == "-h" || arg == "--help" {
                return Ok(None);
            }
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
                None => (arg, None),
            };
            let known =
                flag == "--out" || flag == length_flag || (self.params && flag == "--params");
            if !known {
                return Err(format!("unexpected argument '{flag}' (try --help)"));
            }
            let value = match inline.or_else(|| args.next()) {
                Some(value) if !value.is_empty() => value,
                _ => return Err(format!("{flag} needs a value (try --help)")),
            };
            match flag.as_str() {
                "--out" => flags.out = value.into(),
                "--params" => flags.params = Some(value.into()),
                _ => {
                    flags.length = match value.parse::<usize>() {
                        Ok(n) if n > 0 => n,
                        _ => {
                            return Err(format!(
                                "{flag} needs a positive whole number, not '{value}'"
                            ))
                        }
                    }
                }
            }
        }
        Ok(Some(flags))
    }

    /// The flags of this process: on `--help` the usage is printed and `Err(SUCCESS)` returned, on a bad flag
    /// the error (one line) and `Err` with status 2, for `main` to return.
    pub fn parse_env(&self) -> Result<Flags, ExitCode> {
        match self.parse(std::env::args().skip(1)) {
            Ok(Some(flags)) => Ok(flags),
            Ok(None) => {
                println!("{}", self.usage());
                Err(ExitCode::SUCCESS)
            }
            Err(message) => {
                eprintln!("error: {message}");
                Err(ExitCode::from(2))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: Spec = Spec {
        example: "demo",
        length: "epochs",
        default_length: 20,
        params: false,
    };

    fn parse(args: &[&str]) -> Result<Option<Flags>, String> {
        SPEC.parse(args.iter().map(|a| a.to_string()))
    }

    #[test]
    fn flags_are_read_with_defaults_for_the_rest() {
        let flags = parse(&[]).unwrap().unwrap();
        assert_eq!((flags.length, flags.params), (20, None));
        assert!(flags.out.ends_with("target/examples/demo"));
        let flags = parse(&["--epochs=3", "--out", "x/y"]).unwrap().unwrap();
        assert_eq!((flags.length, flags.out), (3, PathBuf::from("x/y")));
        assert_eq!(parse(&["--help"]), Ok(None));
    }

    #[test]
    fn bad_flags_are_one_line_errors() {
        for args in [
            &["--iterations", "5"][..],
            &["--epochs", "0"],
            &["--epochs", "many"],
            &["--epochs"],
            &["--out="],
            &["--params", "p.npz"],
            &["stray"],
        ] {
            let message = parse(args).unwrap_err();
            assert!(!message.contains('\n'), "{message}");
        }
    }
}
