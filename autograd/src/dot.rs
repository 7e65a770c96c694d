//! Graphviz DOT drawings of a tape, in the style of the lecture's computational graphs.
//!
//! Data flows left to right. Each op is a circle labelled `×`, `+`, `exp`, `1/x`, `matmul`, …; named leaves
//! are their names, unnamed ones small boxes with their value. Each arrow carries its forward value (the
//! number for a scalar, the shape such as `[100, 50]` for a tensor) and, when gradients are given, the
//! gradient of the node it leaves below it in red. The output gets an arrow of its own, with its value and the
//! seed gradient 1.
//!
//! ```
//! use autograd::{dot::Dot, Tape};
//!
//! let tape = Tape::<f64>::new();
//! let apple = tape.var_named("apple", 100.0);
//! let num = tape.var_named("apple_num", 2.0);
//! let tax = tape.var_named("tax", 1.1);
//! let price = apple * num * tax;
//! let grads = price.backward();
//!
//! let dot = Dot::new(&tape).output(price).gradients(&grads).render();
//! assert!(dot.starts_with("digraph tape {"));
//! assert!(dot.contains(r#"n0 -> n3 [label=<100<br/><font color="red">2.2</font>>]"#));
//! // dot.write("apple.dot")?; dot.write_svg("apple.svg")?;  (the second needs Graphviz installed)
//! ```

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::{Dfs, EdgeRef, Reversed};
use petgraph::Direction;

use crate::backward::{ArraySweep, Sweep};
use crate::graph::{GraphEdge, GraphNode, Group};
use crate::{format_number, Float, Gradients, Tape, Value, Var};

/// The colour of gradients (the backward values).
pub const GRADIENT_COLOUR: &str = "red";

/// How [`Dot`] draws the groups marked with [`Tape::group`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GroupStyle {
    /// Each group's nodes inside a labelled frame (a Graphviz cluster); groups nest.
    #[default]
    Cluster,
    /// Each outermost group as one box bearing its label, with the arrows that enter and leave it.
    Collapse,
    /// Groups are ignored.
    Flat,
}

/// A DOT drawing of a tape, configured builder-style and produced by [`render`](Dot::render),
/// [`write`](Dot::write) or [`write_svg`](Dot::write_svg).
///
/// By default it draws every node of the tape. With an [`output`](Dot::output) it draws only the nodes that
/// the output depends on, plus the output's own arrow; [`all_nodes`](Dot::all_nodes) draws everything anyway.
pub struct Dot<'a, T: Float> {
    tape: &'a Tape<T>,
    output: Option<usize>,
    gradients: Option<&'a Gradients<T>>,
    all_nodes: bool,
    groups: GroupStyle,
}

impl<'a, T: Float> Dot<'a, T> {
    /// A drawing of `tape`: all its nodes, forward values only, groups as frames.
    pub fn new(tape: &'a Tape<T>) -> Self {
        Dot {
            tape,
            output: None,
            gradients: None,
            all_nodes: false,
            groups: GroupStyle::default(),
        }
    }

    /// Draws `output` with an arrow leaving it, and only the nodes it depends on (unless
    /// [`all_nodes`](Dot::all_nodes)).
    ///
    /// # Panics
    /// When `output` belongs to another tape.
    #[track_caller]
    pub fn output(mut self, output: Var<'_, T>) -> Self {
        assert!(
            std::ptr::eq(self.tape, output.tape()),
            "Dot::output: the node belongs to another tape"
        );
        self.output = Some(output.id());
        self
    }

    /// Writes each node's gradient below its outgoing arrows, in [`GRADIENT_COLOUR`]. A node with fan-out
    /// shows its total gradient (the sum over its uses) on each of its arrows.
    ///
    /// Rendering panics if `gradients` came from another tape.
    pub fn gradients(mut self, gradients: &'a Gradients<T>) -> Self {
        self.gradients = Some(gradients);
        self
    }

    /// With `true`, draws every node of the tape even when an [`output`](Dot::output) is set (e.g. to see
    /// the nodes a `backward_graph` pass added).
    pub fn all_nodes(mut self, all: bool) -> Self {
        self.all_nodes = all;
        self
    }

    /// How to draw groups (see [`GroupStyle`]).
    ///
    /// ```
    /// use autograd::{dot::{Dot, GroupStyle}, Tape};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var_named("x", 0.0);
    /// let y = tape.group("sigmoid", || 1.0 / (1.0 + (-x).exp()));
    /// let framed = Dot::new(&tape).output(y).render();
    /// assert!(framed.contains("subgraph cluster_0") && framed.contains("label=<exp>"));
    /// let boxed = Dot::new(&tape).output(y).groups(GroupStyle::Collapse).render();
    /// assert!(boxed.contains("g0 [shape=box") && !boxed.contains("exp"));
    /// ```
    pub fn groups(mut self, style: GroupStyle) -> Self {
        self.groups = style;
        self
    }

    /// The drawing in Graphviz's DOT language.
    ///
    /// # Panics
    /// When the [`gradients`](Dot::gradients) came from another tape.
    pub fn render(&self) -> String {
        Render::new(self).run()
    }

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
}

/// One rendering: the graph, what to draw, and the DOT text being built.
struct Render<'d, 'a, T: Float> {
    dot: &'d Dot<'a, T>,
    graph: DiGraph<GraphNode<T>, GraphEdge>,
    groups: Vec<Group>,
    shown: Vec<bool>,
    out: String,
}

impl<'d, 'a, T: Float> Render<'d, 'a, T> {
    fn new(dot: &'d Dot<'a, T>) -> Self {
        let graph = dot.tape.graph();
        let mut shown = vec![true; graph.node_count()];
        if let (Some(output), false) = (dot.output, dot.all_nodes) {
            shown.fill(false);
            let reversed = Reversed(&graph);
            let mut ancestors = Dfs::new(reversed, NodeIndex::new(output));
            while let Some(n) = ancestors.next(reversed) {
                shown[n.index()] = true;
            }
        }
        Render {
            dot,
            graph,
            groups: dot.tape.groups(),
            shown,
            out: String::new(),
        }
    }

    fn run(mut self) -> String {
        self.out
            .push_str("digraph tape {\n  rankdir=LR;\n  ordering=in;\n");
        self.out.push_str("  node [fontname=\"Helvetica\"];\n");
        self.out
            .push_str("  edge [fontname=\"Helvetica\", fontsize=11, arrowsize=0.7];\n");
        if self.dot.gradients.is_some() {
            let _ = writeln!(
                self.out,
                "  labelloc=b; fontname=\"Helvetica\"; fontsize=11; \
                 label=<forward value above each arrow, <font color=\"{GRADIENT_COLOUR}\">gradient</font> below>;"
            );
        }
        self.nodes();
        self.edges();
        self.out.push_str("}\n");
        self.out
    }

    fn shown_ids(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.shown.len()).filter(|&id| self.shown[id])
    }

    /// The group's chain of enclosing groups, innermost first.
    fn ancestry(&self, group: Option<usize>) -> impl Iterator<Item = usize> + '_ {
        std::iter::successors(group, |&k| self.groups[k].parent)
    }

    /// The group a node is drawn in: its outermost group when groups collapse, else none.
    fn collapsed_into(&self, id: usize) -> Option<usize> {
        match self.dot.groups {
            GroupStyle::Collapse => self.ancestry(self.graph[NodeIndex::new(id)].group).last(),
            GroupStyle::Cluster | GroupStyle::Flat => None,
        }
    }

    /// The DOT name of what node `id` is drawn as.
    fn unit(&self, id: usize) -> String {
        match self.collapsed_into(id) {
            Some(k) => format!("g{k}"),
            None => format!("n{id}"),
        }
    }

    fn nodes(&mut self) {
        // Groups holding at least one drawn node, and the groups that contain those.
        let mut live = vec![false; self.groups.len()];
        for id in self.shown_ids() {
            for k in self.ancestry(self.graph[NodeIndex::new(id)].group) {
                live[k] = true;
            }
        }
        let top: Vec<usize> = (0..self.groups.len())
            .filter(|&k| live[k] && self.groups[k].parent.is_none())
            .collect();
        match self.dot.groups {
            GroupStyle::Flat => self.members(None, true, 1),
            GroupStyle::Cluster => {
                self.members(None, false, 1);
                for k in top {
                    self.cluster(k, &live, 1);
                }
            }
            GroupStyle::Collapse => {
                self.members(None, false, 1);
                for k in top {
                    let label = html(&self.groups[k].label);
                    let _ = writeln!(
                        self.out,
                        "  g{k} [shape=box, style=\"rounded,filled\", fillcolor=\"#eeeeee\", label=<{label}>];"
                    );
                }
            }
        }
    }

    /// Draws the shown nodes whose innermost group is `group` (all shown nodes when `every`).
    fn members(&mut self, group: Option<usize>, every: bool, depth: usize) {
        let ids: Vec<usize> = self
            .shown_ids()
            .filter(|&id| every || self.graph[NodeIndex::new(id)].group == group)
            .collect();
        for id in ids {
            let statement = self.node(id);
            let _ = writeln!(self.out, "{:indent$}{statement};", "", indent = 2 * depth);
        }
    }

    fn cluster(&mut self, k: usize, live: &[bool], depth: usize) {
        let pad = " ".repeat(2 * depth);
        let label = html(&self.groups[k].label);
        let _ = writeln!(self.out, "{pad}subgraph cluster_{k} {{");
        let _ = writeln!(
            self.out,
            "{pad}  label=<{label}>; style=\"rounded,dashed\"; color=\"gray50\"; fontname=\"Helvetica\";"
        );
        self.members(Some(k), false, depth + 1);
        let children: Vec<usize> = (0..self.groups.len())
            .filter(|&c| live[c] && self.groups[c].parent == Some(k))
            .collect();
        for c in children {
            self.cluster(c, live, depth + 1);
        }
        let _ = writeln!(self.out, "{pad}}}");
    }

    /// The statement drawing node `id`.
    fn node(&self, id: usize) -> String {
        let n = &self.graph[NodeIndex::new(id)];
        let mut tooltip = format!("node {id}: {}", n.op);
        if let Some(name) = &n.name {
            let _ = write!(tooltip, " `{name}`");
        }
        let _ = write!(tooltip, " {:?}", n.shape);
        if let Some(at) = self.dot.tape.node(id).created_at() {
            let _ = write!(tooltip, " at {at}");
        }
        let tooltip = quote(&tooltip);
        match (&n.name, n.is_leaf()) {
            (Some(name), true) => format!(
                "n{id} [shape=plaintext, label=<{}>, tooltip={tooltip}]",
                html(name)
            ),
            (None, true) => format!(
                "n{id} [shape=box, style=rounded, fontsize=11, height=0.3, label=<{}>, tooltip={tooltip}]",
                html(&forward(n))
            ),
            (name, false) => {
                // The output's name labels its outgoing arrow instead.
                let xlabel = match name {
                    Some(name) if self.dot.output != Some(id) => {
                        format!(", xlabel=<{}>", html(name))
                    }
                    _ => String::new(),
                };
                format!(
                    "n{id} [shape=circle, width=0.5, margin=0.04, label=<{}>{xlabel}, tooltip={tooltip}]",
                    html(&n.op.to_string())
                )
            }
        }
    }

    fn edges(&mut self) {
        let mut arrows: Vec<Arrow<T>> = Vec::new();
        // A collapsed group gets one arrow per outside input, however many of its nodes use that input,
        // carrying the sum of their gradients.
        let mut into_group: HashMap<(usize, String), usize> = HashMap::new();
        for id in self.shown_ids() {
            let to = self.unit(id);
            let mut grads = self.input_gradients(id).into_iter();
            for source in self.inputs(id) {
                let grad = grads.next().flatten();
                let from = self.unit(source);
                if from == to {
                    continue;
                }
                if self.collapsed_into(id).is_some() {
                    if let Some(&k) = into_group.get(&(source, to.clone())) {
                        arrows[k].grad = sum(arrows[k].grad.take(), grad);
                        continue;
                    }
                    into_group.insert((source, to.clone()), arrows.len());
                }
                let to = to.clone();
                arrows.push(Arrow {
                    from,
                    to,
                    source,
                    grad,
                });
            }
        }
        if let Some(output) = self.dot.output {
            let n = &self.graph[NodeIndex::new(output)];
            let name = html(n.name.as_deref().unwrap_or(""));
            let _ = writeln!(self.out, "  output [shape=plaintext, label=<{name}>];");
            arrows.push(Arrow {
                from: self.unit(output),
                to: "output".into(),
                source: output,
                grad: self.gradient(output).cloned(),
            });
        }
        for Arrow {
            from,
            to,
            source,
            grad,
        } in arrows
        {
            let fwd = html(&forward(&self.graph[NodeIndex::new(source)]));
            let label = match grad {
                Some(g) => format!(
                    "<{fwd}<br/><font color=\"{GRADIENT_COLOUR}\">{}</font>>",
                    html(&summary(&g))
                ),
                None => format!("<{fwd}>"),
            };
            let _ = writeln!(self.out, "  {from} -> {to} [label={label}];");
        }
    }

    /// The inputs of node `id`, in order.
    fn inputs(&self, id: usize) -> Vec<usize> {
        let incoming = self
            .graph
            .edges_directed(NodeIndex::new(id), Direction::Incoming);
        let mut inputs: Vec<(usize, usize)> = incoming
            .map(|e| (e.weight().slot, e.source().index()))
            .collect();
        inputs.sort_unstable();
        inputs.into_iter().map(|(_, input)| input).collect()
    }

    /// Node `id`'s gradient in the store, if any.
    fn gradient(&self, id: usize) -> Option<&'a Value<T>> {
        let store = self.dot.gradients?;
        store.value(self.dot.tape.node(id))
    }

    /// The gradients flowing back from node `id` into each of its inputs: its backward rule applied to its
    /// gradient, summed to each input's shape, exactly as the backward pass computed them; `None` where there is
    /// none.
    fn input_gradients(&self, id: usize) -> Vec<Option<Value<T>>> {
        let Some(g) = self.gradient(id) else {
            return Vec::new();
        };
        self.dot.tape.with_nodes(|nodes| {
            let sweep = ArraySweep { nodes };
            let mut grads = vec![None; nodes[id].inputs.len()];
            let done: Result<(), Infallible> = sweep.rule(id, g, |k, j, mut gj| {
                sweep.reduce_to(&mut gj, j);
                grads[k] = Some(gj);
                Ok(())
            });
            let Ok(()) = done;
            grads
        })
    }
}

/// An arrow as drawn: DOT names of its ends, the node whose value it carries, and the gradient flowing back.
struct Arrow<T: Float> {
    from: String,
    to: String,
    source: usize,
    grad: Option<Value<T>>,
}

/// `a + b` where either may be missing.
fn sum<T: Float>(a: Option<Value<T>>, b: Option<Value<T>>) -> Option<Value<T>> {
    match (a, b) {
        (Some(mut a), Some(b)) => {
            a.add_assign(&b);
            Some(a)
        }
        (a, b) => a.or(b),
    }
}

/// A node's forward value as drawn: the number for a scalar, the shape for a tensor.
fn forward<T: Float>(n: &GraphNode<T>) -> String {
    match n.scalar() {
        Some(x) => format_number(x),
        None => format!("{:?}", n.shape),
    }
}

/// A value (or gradient) as drawn: the number for a scalar, the shape for a tensor.
fn summary<T: Float>(v: &Value<T>) -> String {
    match v {
        Value::Scalar(x) => format_number(*x),
        Value::Array(a) => format!("{:?}", a.shape()),
    }
}

/// Escapes text for a Graphviz HTML-like label.
fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// A Graphviz double-quoted string.
fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Writes `bytes` to a temporary file next to `path`, then renames it into place, so that readers never see
/// a half-written file.
fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let context = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
    let tmp = temp_path(path);
    let written = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
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
