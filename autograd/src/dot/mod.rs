//! Graphviz DOT drawings of a tape, in the style of the lecture's computational graphs.
//!
//! Data flows left to right. Each op is a circle labelled `×`, `+`, `exp`, `1/x`, `matmul`, …; named leaves
//! are their names, unnamed ones small boxes with their value. Each arrow carries its forward value (the
//! number for a scalar, the shape such as `[100, 50]` for a tensor) and, when gradients are given, the
//! gradient that flows back along it below it in red. The output gets an arrow of its own, with its value and the
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

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::{Dfs, EdgeRef, Reversed};
use petgraph::Direction;

mod files;
mod html;
mod layout;
mod scene;
mod svg;

pub use files::Layout;

use crate::backward::{visit_order, ArraySweep, Sweep};
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
#[derive(Clone, Copy)]
pub struct Dot<'a, T: Float> {
    tape: &'a Tape<T>,
    output: Option<usize>,
    gradients: Option<&'a Gradients<T>>,
    all_nodes: bool,
    groups: GroupStyle,
    step: Option<usize>,
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
            step: None,
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

    /// Writes below each arrow, in [`GRADIENT_COLOUR`], the gradient that flows back along it: the receiving
    /// op's backward rule applied to that op's gradient, as in the lecture's pictures (a multiply node sends
    /// back its gradient times the other input). A node used more than once gets one contribution on each of
    /// its arrows; its gradient is their sum.
    ///
    /// ```
    /// use autograd::{dot::Dot, Tape};
    ///
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var_named("x", 3.0);
    /// let y = x * x; // each of x's two arrows carries 1 · 3 back; dy/dx = 3 + 3
    /// let grads = y.backward();
    /// let dot = Dot::new(&tape).output(y).gradients(&grads).render();
    /// assert_eq!(dot.matches(r#"n0 -> n1 [label=<3<br/><font color="red">3</font>>]"#).count(), 2);
    /// assert_eq!(grads.scalar(x), 6.0);
    /// ```
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

    /// Draws the backward pass as it stands after the reverse loop has run the rules of the first `k` drawn
    /// nodes (in the loop's order: the output first): only the gradients those nodes produced are shown, the
    /// newest in bold beside their highlighted node. Step 0 shows the seed gradient 1 on the output's arrow.
    /// The hidden gradients keep their room, so all steps share one layout, as slides should. Needs an
    /// [`output`](Dot::output) and [`gradients`](Dot::gradients); [`step_count`](Dot::step_count) is the last
    /// step, where everything is shown.
    ///
    /// ```
    /// use autograd::{dot::Dot, Tape};
    /// let tape = Tape::<f64>::new();
    /// let (a, b) = (tape.var_named("a", 2.0), tape.var_named("b", 3.0));
    /// let y = a * b + 1.0; // the `+1` node, then the `×` node
    /// let grads = y.backward();
    /// let dot = Dot::new(&tape).output(y).gradients(&grads);
    /// assert_eq!(dot.step_count(), 2);
    /// assert!(dot.step(1).render().contains(r#"n2 -> n3 [label=<6<br/><font color="red"><b>1</b></font>>"#));
    /// assert!(dot.step(1).render().contains(r#"<font color="transparent">3</font>"#)); // da, not yet
    /// ```
    pub fn step(mut self, k: usize) -> Self {
        self.step = Some(k);
        self
    }

    /// The number of backward steps: the drawn nodes whose backward rules produced gradients (a collapsed
    /// group counts once); 0 without an [`output`](Dot::output) and [`gradients`](Dot::gradients).
    pub fn step_count(&self) -> usize {
        Render::new(self).order.len()
    }

    /// The drawing in Graphviz's DOT language.
    ///
    /// # Panics
    /// When the [`gradients`](Dot::gradients) came from another tape.
    pub fn render(&self) -> String {
        Render::new(self).run()
    }
}

/// One rendering: the graph, what to draw, and the DOT text being built.
struct Render<'d, 'a, T: Float> {
    dot: &'d Dot<'a, T>,
    graph: DiGraph<GraphNode<T>, GraphEdge>,
    groups: Vec<Group>,
    shown: Vec<bool>,
    /// The drawn units whose backward rules produced gradients, in the order the reverse loop ran them.
    order: Vec<String>,
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
        let mut render = Render {
            dot,
            graph,
            groups: dot.tape.groups(),
            shown,
            order: Vec::new(),
            out: String::new(),
        };
        render.order = render.backward_order();
        render
    }

    /// See [`Render::order`].
    fn backward_order(&self) -> Vec<String> {
        let (Some(output), Some(_)) = (self.dot.output, self.dot.gradients) else {
            return Vec::new();
        };
        let mut order: Vec<String> = Vec::new();
        for id in visit_order(output) {
            let n = &self.graph[NodeIndex::new(id)];
            if self.shown[id] && !n.is_leaf() && n.requires_grad && self.gradient(id).is_some() {
                let unit = self.unit(id);
                if order.last() != Some(&unit) {
                    order.push(unit);
                }
            }
        }
        order
    }

    /// The backward step at which an arrow's gradient appears: 0 for the seed, `p + 1` for a gradient produced
    /// by the `p`-th unit of [`Render::order`].
    fn reveal(&self, arrow: &Arrow<T>) -> usize {
        arrow.producer.map_or(0, |id| {
            let unit = self.unit(id);
            1 + self.order.iter().position(|u| *u == unit).unwrap_or(0)
        })
    }

    /// The unit whose rule the current [`step`](Dot::step) ran last (`None` at step 0 and when not stepping).
    fn newest(&self) -> Option<&str> {
        let k = self.dot.step?;
        k.checked_sub(1)
            .and_then(|p| self.order.get(p))
            .map(String::as_str)
    }

    /// The extra attributes of a highlighted node.
    fn highlight(&self, unit: &str) -> &'static str {
        match self.newest() == Some(unit) {
            true => ", style=filled, fillcolor=\"#ffe08a\"",
            false => "",
        }
    }

    fn run(mut self) -> String {
        self.out
            .push_str("digraph tape {\n  rankdir=LR;\n  ordering=in;\n");
        self.out.push_str("  node [fontname=\"Helvetica\"];\n");
        self.out
            .push_str("  edge [fontname=\"Helvetica\", fontsize=11, arrowsize=0.7];\n");
        if self.dot.gradients.is_some() {
            let step = match self.dot.step {
                Some(k) => format!(" (backward step {k} of {})", self.order.len()),
                None => String::new(),
            };
            let _ = writeln!(
                self.out,
                "  labelloc=b; fontname=\"Helvetica\"; fontsize=11; \
                 label=<forward value above each arrow, <font color=\"{GRADIENT_COLOUR}\">gradient</font> below{step}>;"
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
                    let fill = match self.newest() == Some(&format!("g{k}")) {
                        true => "#ffe08a",
                        false => "#eeeeee",
                    };
                    let _ = writeln!(
                        self.out,
                        "  g{k} [shape=box, style=\"rounded,filled\", fillcolor=\"{fill}\", label=<{label}>];"
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
                    "n{id} [shape=circle, width=0.5, margin=0.04, label=<{}>{xlabel}, tooltip={tooltip}{}]",
                    html(&n.op.to_string()),
                    self.highlight(&format!("n{id}"))
                )
            }
        }
    }

    /// The arrows drawn: into each drawn node from its inputs, then the output's own arrow.
    fn arrows(&self) -> Vec<Arrow<T>> {
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
                    producer: Some(id),
                });
            }
        }
        if let Some(output) = self.dot.output {
            arrows.push(Arrow {
                from: self.unit(output),
                to: "output".into(),
                source: output,
                grad: self.gradient(output).cloned(),
                producer: None,
            });
        }
        arrows
    }

    fn edges(&mut self) {
        if let Some(output) = self.dot.output {
            let n = &self.graph[NodeIndex::new(output)];
            let name = html(n.name.as_deref().unwrap_or(""));
            let _ = writeln!(self.out, "  output [shape=plaintext, label=<{name}>];");
        }
        for arrow in self.arrows() {
            let fwd = html(&forward(&self.graph[NodeIndex::new(arrow.source)]));
            let reveal = self.reveal(&arrow);
            let Arrow { from, to, grad, .. } = arrow;
            let (label, style) = match (grad, self.dot.step) {
                (Some(g), step) => {
                    let g = html(&summary(&g));
                    let (colour, g, style) = match step {
                        Some(k) if reveal > k => ("transparent", g, ""),
                        Some(k) if reveal == k => (
                            GRADIENT_COLOUR,
                            format!("<b>{g}</b>"),
                            ", color=\"red\", penwidth=2",
                        ),
                        _ => (GRADIENT_COLOUR, g, ""),
                    };
                    (
                        format!("<{fwd}<br/><font color=\"{colour}\">{g}</font>>"),
                        style,
                    )
                }
                (None, _) => (format!("<{fwd}>"), ""),
            };
            let _ = writeln!(self.out, "  {from} -> {to} [label={label}{style}];");
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
    /// The node whose backward rule produced `grad`; `None` for the output's seed.
    producer: Option<usize>,
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
