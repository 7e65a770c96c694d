//! The recorded tape as a [`petgraph`] graph, and named groups of nodes.
//!
//! [`Tape::graph`] copies the tape's structure into a `DiGraph` whose node index `i` is tape node `i` and whose
//! edges run from each input to the node that uses it (data flow), so petgraph's algorithms apply directly:
//! counting nodes, finding paths, topological orders, dominators. [`Dot`](crate::dot::Dot) draws it.
//!
//! Groups name a run of consecutive nodes, e.g. the four primitive nodes of a composed `sigmoid`, so that a
//! drawing can frame them in a labelled box or collapse them into one: wrap the code in
//! [`Tape::group`], or bracket it with [`Tape::begin_group`] and [`Tape::end_group`]. Groups nest.

use std::cell::RefCell;
use std::ops::Range;

use petgraph::graph::{DiGraph, NodeIndex};

use crate::ops::Op;
use crate::{Float, Tape, Value};

/// Values with at most this many elements are copied into [`GraphNode::value`].
pub const SMALL_VALUE_LEN: usize = 16;

/// A tape node in [`Tape::graph`].
#[derive(Clone, Debug)]
pub struct GraphNode<T: Float> {
    /// The node's id on the tape, which is also its `NodeIndex` in the graph.
    pub id: usize,
    /// The op that computed it ([`Op::Leaf`] for inputs); its `Display` is the label drawn in graphs: `×`,
    /// `+`, `exp`, `1/x`, `matmul`, …
    pub op: Op<T>,
    /// The name given with [`Tape::var_named`] or [`Var::set_name`](crate::Var::set_name).
    pub name: Option<String>,
    /// The value's shape (`[]` for a number).
    pub shape: Vec<usize>,
    /// The value, when it has at most [`SMALL_VALUE_LEN`] elements (so always for a number).
    pub value: Option<Value<T>>,
    /// True when gradients can flow into the node: a variable, or computed from one.
    pub requires_grad: bool,
    /// The innermost group around the node, as an index into [`Tape::groups`].
    pub group: Option<usize>,
}

impl<T: Float> GraphNode<T> {
    /// True for inputs (variables and constants), which no op computed.
    pub fn is_leaf(&self) -> bool {
        matches!(self.op, Op::Leaf)
    }

    /// The value as a number, when it is one (0-d).
    pub fn scalar(&self) -> Option<T> {
        match self.value {
            Some(Value::Scalar(x)) => Some(x),
            _ => None,
        }
    }
}

/// An edge of [`Tape::graph`]: data flowing from an input into the node that uses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GraphEdge {
    /// The input's position among the node's inputs (0 for the left operand of `a × b`, 1 for the right).
    pub slot: usize,
}

/// A named run of consecutive nodes (see [`Tape::group`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// The name drawn on the group's box.
    pub label: String,
    /// The ids of the nodes recorded inside it; a group still open extends to the end of the tape.
    pub nodes: Range<usize>,
    /// The enclosing group, as an index into [`Tape::groups`].
    pub parent: Option<usize>,
}

/// The tape's side table of groups.
#[derive(Default)]
pub(crate) struct Groups(RefCell<GroupTable>);

#[derive(Default)]
struct GroupTable {
    /// `(label, first node, end of the range once closed, parent)`, in the order the groups were opened.
    groups: Vec<(String, usize, Option<usize>, Option<usize>)>,
    /// Indices of the open groups, innermost last.
    open: Vec<usize>,
}

impl<T: Float> Tape<T> {
    /// Runs `f`, marking the nodes it records as a group named `label` (also if `f` panics).
    ///
    /// ```
    /// use autograd::{dot::{Dot, GroupStyle}, Tape};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var_named("x", 0.0);
    /// let y = tape.group("sigmoid", || 1.0 / (1.0 + (-x).exp())); // ×-1, exp, +1, 1/x
    /// assert_eq!(tape.groups()[0].nodes, 1..5);
    /// let boxed = Dot::new(&tape).output(y).groups(GroupStyle::Collapse).render();
    /// assert!(boxed.contains("sigmoid") && !boxed.contains("exp"));
    /// ```
    pub fn group<R>(&self, label: &str, f: impl FnOnce() -> R) -> R {
        struct Close<'a, T: Float>(&'a Tape<T>, usize);
        impl<T: Float> Drop for Close<'_, T> {
            fn drop(&mut self) {
                self.0.close_group(self.1);
            }
        }
        let _close = Close(self, self.open_group(label));
        f()
    }

    /// Opens a group named `label`: the nodes recorded until the matching [`end_group`](Tape::end_group)
    /// belong to it. Prefer [`group`](Tape::group), which cannot be left open.
    pub fn begin_group(&self, label: &str) {
        self.open_group(label);
    }

    /// Closes the innermost open group.
    ///
    /// # Panics
    /// When no group is open.
    #[track_caller]
    pub fn end_group(&self) {
        let innermost = self.groups.0.borrow().open.last().copied();
        self.close_group(innermost.expect("end_group: no group is open"));
    }

    /// The groups, in the order they were opened (enclosing groups before the groups inside them).
    pub fn groups(&self) -> Vec<Group> {
        let len = self.len();
        let table = self.groups.0.borrow();
        let groups = table.groups.iter();
        groups
            .map(|(label, start, end, parent)| Group {
                label: label.clone(),
                nodes: *start..end.unwrap_or(len),
                parent: *parent,
            })
            .collect()
    }

    fn open_group(&self, label: &str) -> usize {
        let start = self.len();
        let mut table = self.groups.0.borrow_mut();
        let parent = table.open.last().copied();
        table.groups.push((label.to_owned(), start, None, parent));
        let index = table.groups.len() - 1;
        table.open.push(index);
        index
    }

    /// Closes group `index` and any group still open inside it.
    fn close_group(&self, index: usize) {
        let end = self.len();
        let mut table = self.groups.0.borrow_mut();
        while let Some(open) = table.open.pop() {
            table.groups[open].2 = Some(end);
            if open == index {
                break;
            }
        }
    }

    /// The recorded graph as a petgraph `DiGraph`: node index `i` is tape node `i`, and each edge runs from an
    /// input to the node that uses it, weighted with the input's position.
    ///
    /// ```
    /// use autograd::Tape;
    /// use petgraph::{algo, graph::NodeIndex};
    ///
    /// let tape = Tape::<f64>::new();
    /// let apple = tape.var_named("apple", 100.0);
    /// let num = tape.var_named("apple_num", 2.0);
    /// let tax = tape.var_named("tax", 1.1);
    /// let price = apple * num * tax;
    ///
    /// let graph = tape.graph();
    /// assert_eq!((graph.node_count(), graph.edge_count()), (5, 4));
    /// let node = &graph[NodeIndex::new(price.id())];
    /// assert_eq!((node.op.to_string(), node.scalar()), ("×".to_owned(), Some(220.00000000000003)));
    /// assert!(algo::has_path_connecting(&graph, NodeIndex::new(apple.id()), NodeIndex::new(price.id()), None));
    /// let order = algo::toposort(&graph, None).unwrap();
    /// assert_eq!(order.last(), Some(&NodeIndex::new(price.id())));
    /// ```
    pub fn graph(&self) -> DiGraph<GraphNode<T>, GraphEdge> {
        let mut group = vec![None; self.len()];
        for (k, g) in self.groups().iter().enumerate() {
            // Groups nest and inner ones come later, so the last writer is the innermost group.
            group[g.nodes.clone()].fill(Some(k));
        }
        self.with_nodes(|nodes| {
            let mut graph = DiGraph::with_capacity(nodes.len(), nodes.len());
            for (id, node) in nodes.iter().enumerate() {
                let small = node.value.len() <= SMALL_VALUE_LEN;
                graph.add_node(GraphNode {
                    id,
                    op: node.op.clone(),
                    name: self.name(id),
                    shape: node.value.shape().to_vec(),
                    value: small.then(|| node.value.clone()),
                    requires_grad: node.requires_grad,
                    group: group[id],
                });
                for (slot, &input) in node.inputs.iter().enumerate() {
                    let (from, to) = (NodeIndex::new(input), NodeIndex::new(id));
                    graph.add_edge(from, to, GraphEdge { slot });
                }
            }
            graph
        })
    }
}
