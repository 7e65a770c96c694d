//! One self-contained HTML page that steps through a drawing's forward pass and then its backward pass: the
//! built-in SVG inline, a list of the steps, and a small script and style sheet inline too, so that the page
//! opens from a file with no network and no Graphviz.

use std::fmt::Write as _;
use std::io;
use std::path::Path;

use super::files::write_atomic;
use super::scene::Scene;
use super::{html, svg, Dot, Render};
use crate::Float;

const SCRIPT: &str = include_str!("page.js");
const STYLE: &str = include_str!("page.css");

impl<T: Float> Dot<'_, T> {
    /// The page, titled `title`. Its buttons (and the arrow keys) go through the steps: the inputs, each op
    /// computing its value in tape order, the seed gradient 1, then each backward rule in the reverse loop's
    /// order revealing the gradients it produced (as [`step`](Dot::step) draws them); a click on a step in
    /// the list jumps there.
    ///
    /// ```
    /// use autograd::{dot::Dot, Tape};
    /// let tape = Tape::<f64>::new();
    /// let (a, b) = (tape.var_named("a", 2.0), tape.var_named("b", 3.0));
    /// let y = (a * b).set_name("y");
    /// let grads = y.backward();
    /// let page = Dot::new(&tape).output(y).gradients(&grads).html("a × b");
    /// assert!(page.starts_with("<!DOCTYPE html>") && page.contains("<svg"));
    /// assert!(page.contains("Backward step 1 of 1: × (y) sends 3 to a and 2 to b"));
    /// assert!(!page.contains(" src=") && !page.contains("<link")); // nothing is fetched
    /// ```
    pub fn html(&self, title: &str) -> String {
        let scene = Scene::new(&Render::new(self));
        let title = html(title);
        let mut steps = String::new();
        for j in 0..=scene.forward_steps {
            let _ = writeln!(
                steps,
                "<li data-phase=\"forward\" data-k=\"{j}\">{}</li>",
                html(&scene.forward_caption(j))
            );
        }
        if self.gradients.is_some() && self.output.is_some() {
            for k in 0..=scene.backward_steps {
                let _ = writeln!(
                    steps,
                    "<li data-phase=\"backward\" data-k=\"{k}\">{}</li>",
                    html(&scene.backward_caption(k))
                );
            }
        }
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title}</title>\n\
             <style>\n{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n<div id=\"controls\">\
             <button id=\"first\">« start</button> <button id=\"prev\">◀ back</button> \
             <button id=\"next\">next ▶</button> <button id=\"last\">end »</button>\
             <span id=\"caption\" aria-live=\"polite\"></span></div>\n<div id=\"graph\">\n{}</div>\n\
             <ol id=\"steps\">\n{steps}</ol>\n<script>\n{SCRIPT}</script>\n</body>\n</html>\n",
            svg::draw(&scene, None)
        )
    }

    /// Writes [`html`](Dot::html) to `path`, atomically.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn write_html(&self, path: impl AsRef<Path>, title: &str) -> io::Result<()> {
        write_atomic(path.as_ref(), self.html(title).as_bytes())
    }
}
