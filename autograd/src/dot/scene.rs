//! What a drawing shows, independent of who lays it out: the units (nodes, or collapsed groups) and the
//! arrows between them, each tagged with the forward step that computes its value and the backward step that
//! produces its gradient. The built-in SVG ([`super::svg`]) and the HTML page ([`super::html`]) draw it.

use petgraph::graph::NodeIndex;

use super::{forward, summary, Render};
use crate::Float;

/// How a unit is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Look {
    /// A named input: its name as plain text.
    Name,
    /// An unnamed input: its value in a small box.
    Value,
    /// An op: a circle with its label.
    Op,
    /// A collapsed group: a grey box with its label.
    Group,
    /// The end of the output's arrow: the output's name.
    Output,
}

/// A node, a collapsed group, or the output's end, as drawn.
pub(super) struct Unit {
    /// The DOT name: `n3`, `g0` or `output`.
    pub key: String,
    pub look: Look,
    pub label: String,
    /// A name written above an op's circle.
    pub xlabel: Option<String>,
    /// The op's name, if it has one (also the output's, which labels its arrow's end instead).
    pub name: Option<String>,
    /// The forward step that computes it: 0 for inputs, `j` for the `j`-th op drawn.
    pub forward: usize,
    /// The backward step at which its rule runs: `p + 1` for the `p`-th unit of the reverse loop.
    pub backward: Option<usize>,
}

/// An arrow as drawn, between units given as indices into [`Scene::units`].
pub(super) struct Edge {
    pub from: usize,
    pub to: usize,
    /// The position of the arrow among those entering `to`.
    pub slot: usize,
    pub value: String,
    pub gradient: Option<String>,
    /// The forward step that computes the value (its source's).
    pub forward: usize,
    /// The backward step that produces the gradient (0 for the output's seed).
    pub backward: usize,
}

/// The whole picture.
pub(super) struct Scene {
    pub units: Vec<Unit>,
    pub edges: Vec<Edge>,
    /// The number of forward steps (ops drawn) and backward steps (units of the reverse loop).
    pub forward_steps: usize,
    pub backward_steps: usize,
}

impl Scene {
    /// The scene of a rendering.
    pub(super) fn new<T: Float>(render: &Render<'_, '_, T>) -> Self {
        let mut units: Vec<Unit> = Vec::new();
        let mut forward_steps = 0;
        for id in render.shown_ids() {
            let key = render.unit(id);
            if units.last().is_some_and(|u| u.key == key) {
                continue;
            }
            let n = &render.graph[NodeIndex::new(id)];
            let (look, label) = match (render.collapsed_into(id), &n.name, n.is_leaf()) {
                (Some(k), _, _) => (Look::Group, render.groups[k].label.clone()),
                (None, Some(name), true) => (Look::Name, name.clone()),
                (None, None, true) => (Look::Value, forward(n)),
                (None, _, false) => (Look::Op, n.op.to_string()),
            };
            let xlabel = match (look, &n.name) {
                (Look::Op, Some(name)) if render.dot.output != Some(id) => Some(name.clone()),
                _ => None,
            };
            if matches!(look, Look::Op | Look::Group) {
                forward_steps += 1;
            }
            let backward = render.order.iter().position(|u| *u == key).map(|p| p + 1);
            units.push(Unit {
                key,
                look,
                label,
                xlabel,
                name: n.name.clone().filter(|_| look == Look::Op),
                forward: if matches!(look, Look::Op | Look::Group) {
                    forward_steps
                } else {
                    0
                },
                backward,
            });
        }
        if let Some(output) = render.dot.output {
            let n = &render.graph[NodeIndex::new(output)];
            let from = render.unit(output);
            let forward = units
                .iter()
                .find(|u| u.key == from)
                .map_or(0, |u| u.forward);
            units.push(Unit {
                key: "output".into(),
                look: Look::Output,
                label: n.name.clone().unwrap_or_default(),
                xlabel: None,
                name: None,
                forward,
                backward: None,
            });
        }
        let index = |key: &str| {
            units
                .iter()
                .position(|u| u.key == key)
                .expect("arrows join drawn units")
        };
        let mut edges: Vec<Edge> = Vec::new();
        for arrow in render.arrows() {
            let (from, to) = (index(&arrow.from), index(&arrow.to));
            edges.push(Edge {
                from,
                to,
                slot: edges.iter().filter(|e| e.to == to).count(),
                value: forward(&render.graph[NodeIndex::new(arrow.source)]),
                gradient: arrow.grad.as_ref().map(summary),
                forward: units[from].forward,
                backward: render.reveal(&arrow),
            });
        }
        Scene {
            units,
            edges,
            forward_steps,
            backward_steps: render.order.len(),
        }
    }

    /// How a unit is named in a sentence: its label, with its name when it has one.
    pub(super) fn describe(&self, unit: usize) -> String {
        let u = &self.units[unit];
        match &u.name {
            Some(name) => format!("{} ({name})", u.label),
            None => u.label.clone(),
        }
    }

    /// The caption of forward step `j`: what was computed.
    pub(super) fn forward_caption(&self, j: usize) -> String {
        if j == 0 {
            return "Forward pass: the inputs".into();
        }
        let unit = self
            .units
            .iter()
            .position(|u| u.forward == j && u.look != Look::Output);
        let value = unit
            .and_then(|u| self.edges.iter().find(|e| e.from == u))
            .map(|e| e.value.as_str());
        match (unit, value) {
            (Some(u), Some(value)) => format!(
                "Forward step {j} of {}: {} computes {value}",
                self.forward_steps,
                self.describe(u)
            ),
            _ => format!("Forward step {j} of {}", self.forward_steps),
        }
    }

    /// The caption of backward step `k`: which gradients the unit sent to which inputs.
    pub(super) fn backward_caption(&self, k: usize) -> String {
        if k == 0 {
            return "Backward pass: the output's gradient is 1 (the seed)".into();
        }
        let Some(unit) = self.units.iter().position(|u| u.backward == Some(k)) else {
            return format!("Backward step {k} of {}", self.backward_steps);
        };
        let sent: Vec<String> = self
            .edges
            .iter()
            .filter(|e| e.backward == k)
            .filter_map(|e| {
                Some(format!(
                    "{} to {}",
                    e.gradient.as_ref()?,
                    self.describe(e.from)
                ))
            })
            .collect();
        format!(
            "Backward step {k} of {}: {} sends {}",
            self.backward_steps,
            self.describe(unit),
            sent.join(" and ")
        )
    }
}
