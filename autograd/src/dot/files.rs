//! Turning a drawing into files: DOT text, SVG laid out by Graphviz or by the built-in layout, one SVG per
//! backward step. Every file is written atomically (a temporary file renamed into place).

use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::scene::Scene;
use super::{svg, Dot, Render};
use crate::Float;

/// Who lays out an SVG drawing.
///
/// Graphviz's `dot` draws the best pictures (it avoids crossings and routes long arrows around nodes) but
/// must be installed; the built-in layout needs nothing and is clear for the small graphs of a lecture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Graphviz's `dot` command, which must be on the `PATH`.
    Graphviz,
    /// The layered layout built into this crate.
    Builtin,
}

impl Layout {
    /// [`Graphviz`](Layout::Graphviz) when `dot` can be run, else [`Builtin`](Layout::Builtin).
    ///
    /// ```
    /// use autograd::dot::Layout;
    /// let layout = Layout::detect();
    /// assert!(matches!(layout, Layout::Graphviz | Layout::Builtin));
    /// ```
    pub fn detect() -> Self {
        let runs = Command::new("dot")
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        match runs {
            true => Layout::Graphviz,
            false => Layout::Builtin,
        }
    }
}

impl<T: Float> Dot<'_, T> {
    /// Writes the DOT text to `path`, atomically (a temporary file renamed into place).
    pub fn write(&self, path: impl AsRef<Path>) -> io::Result<()> {
        write_atomic(path.as_ref(), self.render().as_bytes())
    }

    /// Runs Graphviz's `dot -T<format>` on the drawing (`svg`, `png`, `pdf`, …) and returns its output.
    ///
    /// # Errors
    /// When `dot` is not on the `PATH` (the message says to install Graphviz), or fails.
    pub fn graphviz(&self, format: &str) -> io::Result<Vec<u8>> {
        run_graphviz(&self.render(), format)
    }

    /// Renders the drawing to SVG with Graphviz's `dot` and writes it to `path`, atomically.
    ///
    /// # Errors
    /// As [`graphviz`](Dot::graphviz), or when the file cannot be written.
    pub fn write_svg(&self, path: impl AsRef<Path>) -> io::Result<()> {
        write_atomic(path.as_ref(), &self.graphviz("svg")?)
    }

    /// The drawing as SVG, laid out by `layout`.
    ///
    /// ```
    /// use autograd::{dot::{Dot, Layout}, Tape};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var_named("x", 3.0);
    /// let y = (x * 2.0).set_name("y");
    /// let grads = y.backward();
    /// let svg = Dot::new(&tape).output(y).gradients(&grads).svg(Layout::Builtin)?;
    /// assert!(svg.starts_with("<svg") && svg.contains(">6</text>") && svg.contains(">2</text>"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// With [`Layout::Graphviz`], as [`graphviz`](Dot::graphviz); the built-in layout cannot fail.
    pub fn svg(&self, layout: Layout) -> io::Result<String> {
        match layout {
            Layout::Graphviz => String::from_utf8(self.graphviz("svg")?).map_err(io::Error::other),
            Layout::Builtin => Ok(svg::draw(&Scene::new(&Render::new(self)), self.step)),
        }
    }

    /// Writes [`svg`](Dot::svg) to `path`, atomically.
    ///
    /// # Errors
    /// As [`svg`](Dot::svg), or when the file cannot be written.
    pub fn write_svg_with(&self, path: impl AsRef<Path>, layout: Layout) -> io::Result<()> {
        write_atomic(path.as_ref(), self.svg(layout)?.as_bytes())
    }

    /// Writes one SVG per backward [`step`](Dot::step), `step_0.svg` (the seed) to `step_N.svg` (everything,
    /// N = [`step_count`](Dot::step_count)), into `dir` (created if missing), and returns their paths. The
    /// numbers are zero-padded when there are ten steps or more, so that the files sort in order.
    ///
    /// # Errors
    /// When the drawing has no output or no gradients (there are no steps then), when `dir` cannot be
    /// created, or as [`svg`](Dot::svg).
    pub fn write_steps(&self, dir: impl AsRef<Path>, layout: Layout) -> io::Result<Vec<PathBuf>> {
        let dir = dir.as_ref();
        if self.output.is_none() || self.gradients.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "backward steps need a drawing with an output and its gradients",
            ));
        }
        std::fs::create_dir_all(dir)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?;
        let steps = self.step_count();
        let width = steps.to_string().len();
        (0..=steps)
            .map(|k| {
                let path = dir.join(format!("step_{k:0width$}.svg"));
                self.step(k).write_svg_with(&path, layout)?;
                Ok(path)
            })
            .collect()
    }
}

/// Writes `bytes` to a temporary file next to `path`, then renames it into place, so that readers never see
/// a half-written file. A symbolic link is followed (the file it points to is replaced, not the link), and
/// what is not a regular file (`/dev/stdout`, a pipe) is written to directly: renaming onto it would replace
/// it.
pub(super) fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let context = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
    let target = match std::fs::metadata(path) {
        Ok(m) if !m.is_file() => return std::fs::write(path, bytes).map_err(context),
        Ok(_) => std::fs::canonicalize(path).map_err(context)?,
        Err(_) => path.to_owned(),
    };
    let tmp = temp_path(&target);
    let written = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, &target));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map_err(context)
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

/// Pipes `dot_text` through `dot -T<format>`.
fn run_graphviz(dot_text: &str, format: &str) -> io::Result<Vec<u8>> {
    let mut child = Command::new("dot")
        .arg(format!("-T{format}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => io::Error::new(
                e.kind(),
                "Graphviz's `dot` command was not found on the PATH: install Graphviz \
                 (e.g. `apt-get install graphviz`), or write DOT and render it elsewhere",
            ),
            _ => io::Error::new(e.kind(), format!("cannot run Graphviz's `dot`: {e}")),
        })?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    // Feed stdin from another thread so that a large output cannot fill its pipe and block both sides.
    let (output, fed) = std::thread::scope(|s| {
        let feeder = s.spawn(move || stdin.write_all(dot_text.as_bytes()));
        let output = child.wait_with_output();
        (
            output,
            feeder.join().expect("the stdin feeder does not panic"),
        )
    });
    let output = output?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(io::Error::other(format!(
            "Graphviz's `dot -T{format}` failed ({}): {}",
            output.status,
            stderr.trim()
        )));
    }
    fed?;
    Ok(output.stdout)
}
