//! The tape as a petgraph graph, and the groups side table.

use autograd::graph::{GraphEdge, Group, SMALL_VALUE_LEN};
use autograd::petgraph::algo::{has_path_connecting, toposort};
use autograd::petgraph::graph::NodeIndex;
use autograd::petgraph::visit::EdgeRef;
use autograd::petgraph::Direction;
use autograd::{Op, Tape};
use ndarray::Array1;

#[test]
fn graph_export_mirrors_the_tape() {
    let tape = Tape::<f64>::new();
    let apple = tape.var_named("apple", 100.0);
    let num = tape.constant_named("apple_num", 2.0);
    let tax = tape.var_named("tax", 1.1);
    let big = tape.var(Array1::<f64>::ones(SMALL_VALUE_LEN + 1));
    let small = tape.var(Array1::<f64>::ones(SMALL_VALUE_LEN));
    let price = apple * num * tax;
    let total = big.sum() + small.sum() + price;

    let graph = tape.graph();
    assert_eq!(graph.node_count(), tape.len());
    assert_eq!(graph.edge_count(), 2 + 2 + 1 + 1 + 2 + 2);
    for (i, node) in graph.node_weights().enumerate() {
        assert_eq!(node.id, i, "node index = tape id");
    }

    let node = |v: autograd::Var<'_, f64>| &graph[NodeIndex::new(v.id())];
    assert!(node(apple).is_leaf());
    assert_eq!(node(apple).name.as_deref(), Some("apple"));
    assert_eq!(node(apple).scalar(), Some(100.0));
    assert!(node(apple).requires_grad && !node(num).requires_grad);
    assert_eq!(node(price).op.to_string(), "×");
    assert!(matches!(node(price).op, Op::Binary(_)));
    assert_eq!(node(price).name, None);
    assert!((node(price).scalar().unwrap() - 220.0).abs() < 1e-9);
    assert_eq!(node(big).shape, [SMALL_VALUE_LEN + 1]);
    assert!(node(big).value.is_none(), "large values are not copied");
    assert_eq!(
        node(small).value.as_ref().map(|v| v.len()),
        Some(SMALL_VALUE_LEN)
    );
    assert_eq!(node(total).scalar(), Some(220.00000000000003 + 33.0));

    // Edges are data flow, weighted with the input slot.
    let mut into_price: Vec<(usize, GraphEdge)> = graph
        .edges_directed(NodeIndex::new(price.id()), Direction::Incoming)
        .map(|e| (e.source().index(), *e.weight()))
        .collect();
    into_price.sort_by_key(|(_, e)| e.slot);
    assert_eq!(
        into_price,
        [
            (price.id() - 1, GraphEdge { slot: 0 }),
            (tax.id(), GraphEdge { slot: 1 })
        ]
    );

    // petgraph's algorithms apply: paths and a topological order.
    let (a, t) = (NodeIndex::new(apple.id()), NodeIndex::new(total.id()));
    assert!(has_path_connecting(&graph, a, t, None));
    assert!(!has_path_connecting(&graph, t, a, None));
    let order = toposort(&graph, None).unwrap();
    let position = |i: usize| order.iter().position(|n| n.index() == i).unwrap();
    for e in graph.edge_references() {
        assert!(position(e.source().index()) < position(e.target().index()));
    }
}

#[test]
fn graph_export_of_an_empty_tape() {
    let tape = Tape::<f32>::new();
    let graph = tape.graph();
    assert_eq!((graph.node_count(), graph.edge_count()), (0, 0));
    assert!(tape.groups().is_empty());
}

#[test]
fn graph_groups_record_ranges_and_nesting() {
    let tape = Tape::<f64>::new();
    let x = tape.var_named("x", 0.5);
    let y = tape.group("layer", || {
        let h = x * 2.0;
        tape.group("sigmoid", || 1.0 / (1.0 + (-h).exp()))
    });
    tape.begin_group("tail");
    let z = y.tanh();
    tape.begin_group("still open");
    let _ = z + 1.0;

    assert_eq!(
        tape.groups(),
        [
            Group {
                label: "layer".into(),
                nodes: 1..6,
                parent: None
            },
            Group {
                label: "sigmoid".into(),
                nodes: 2..6,
                parent: Some(0)
            },
            Group {
                label: "tail".into(),
                nodes: 6..8,
                parent: None
            },
            Group {
                label: "still open".into(),
                nodes: 7..8,
                parent: Some(2)
            },
        ]
    );
    tape.end_group();
    tape.end_group();
    let _ = z * 3.0; // after both groups closed
    assert_eq!(tape.groups()[2].nodes, 6..8);

    let graph = tape.graph();
    let groups: Vec<Option<usize>> = graph.node_weights().map(|n| n.group).collect();
    let expected = [
        None,
        Some(0),
        Some(1),
        Some(1),
        Some(1),
        Some(1),
        Some(2),
        Some(3),
        None,
    ];
    assert_eq!(groups, expected);
}

#[test]
fn graph_group_closes_when_its_closure_panics() {
    let tape = Tape::<f64>::new();
    let x = tape.var(1.0);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        tape.group("outer", || {
            tape.begin_group("left open inside");
            let _ = x.exp();
            panic!("boom");
        })
    }));
    assert!(result.is_err());
    let _ = x.log();
    let groups = tape.groups();
    assert_eq!(groups[0].nodes, 1..2);
    assert_eq!(
        groups[1].nodes,
        1..2,
        "groups opened inside are closed with it"
    );
}

#[test]
#[should_panic(expected = "end_group: no group is open")]
fn graph_end_group_without_a_group_panics() {
    Tape::<f64>::new().end_group();
}
