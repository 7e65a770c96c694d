//! The DOT drawings: parsed back and checked node by node, edge by edge, number by number.

mod common;

use std::collections::BTreeMap;

use autograd::dot::{Dot, GroupStyle};
use autograd::Tape;
use ndarray::Array2;

/// A parsed DOT graph: just what `Dot` writes (nodes, edges, attributes, nested clusters).
#[derive(Debug, Default)]
struct Parsed {
    nodes: BTreeMap<String, Attrs>,
    edges: Vec<(String, String, Attrs)>,
    /// `(cluster name, its label, the nodes directly inside it, the enclosing cluster)`.
    clusters: Vec<(String, String, Vec<String>, Option<String>)>,
    graph: Attrs,
}

type Attrs = BTreeMap<String, String>;

impl Parsed {
    fn node(&self, name: &str) -> &Attrs {
        self.nodes
            .get(name)
            .unwrap_or_else(|| panic!("no node {name}"))
    }

    fn label(&self, name: &str) -> String {
        self.node(name)["label"].clone()
    }

    /// The edge `from -> to`, by its ends.
    fn edge(&self, from: &str, to: &str) -> &Attrs {
        let found: Vec<_> = self
            .edges
            .iter()
            .filter(|(f, t, _)| f == from && t == to)
            .collect();
        assert_eq!(found.len(), 1, "edges {from} -> {to}: {found:?}");
        &found[0].2
    }

    /// The node named by its label.
    fn by_label(&self, label: &str) -> String {
        let found: Vec<_> = self
            .nodes
            .iter()
            .filter(|(_, a)| a.get("label").map(String::as_str) == Some(label))
            .collect();
        assert_eq!(found.len(), 1, "nodes labelled {label}: {found:?}");
        found[0].0.clone()
    }
}

/// The forward and backward numbers of an edge label `fwd<br/><font color="red">bwd</font>`.
fn numbers(attrs: &Attrs) -> (String, Option<String>) {
    let label = &attrs["label"];
    match label.split_once("<br/>") {
        Some((fwd, bwd)) => {
            assert!(bwd.starts_with("<font color=\"red\">"), "{label}");
            (text(fwd), Some(text(bwd)))
        }
        None => (text(label), None),
    }
}

/// The text of an HTML-like label, tags removed and entities decoded.
fn text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

#[derive(Debug, PartialEq)]
enum Token {
    Id(String),
    Quoted(String),
    Html(String),
    Punct(char),
    Arrow,
}

fn tokens(src: &str) -> Vec<Token> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '-' && chars.get(i + 1) == Some(&'>') {
            out.push(Token::Arrow);
            i += 2;
        } else if "{}[]=;,".contains(c) {
            out.push(Token::Punct(c));
            i += 1;
        } else if c == '"' {
            let mut s = String::new();
            i += 1;
            while chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                s.push(chars[i]);
                i += 1;
            }
            out.push(Token::Quoted(s));
            i += 1;
        } else if c == '<' {
            // An HTML-like string: balanced angle brackets, the outer pair dropped.
            let (mut depth, mut s) = (0, String::new());
            loop {
                match chars[i] {
                    '<' => depth += 1,
                    '>' => depth -= 1,
                    _ => {}
                }
                s.push(chars[i]);
                i += 1;
                if depth == 0 {
                    break;
                }
            }
            out.push(Token::Html(s[1..s.len() - 1].to_owned()));
        } else {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || "_.#".contains(chars[i])) {
                i += 1;
            }
            assert!(i > start, "unexpected character {c:?} in DOT");
            out.push(Token::Id(chars[start..i].iter().collect()));
        }
    }
    out
}

fn parse(src: &str) -> Parsed {
    let tokens = tokens(src);
    let mut p = Parsed::default();
    let mut at = 0;
    assert_eq!(tokens[0], Token::Id("digraph".into()));
    assert_eq!(tokens[2], Token::Punct('{'));
    at += 3;
    statements(&tokens, &mut at, &mut p, None);
    assert_eq!(at, tokens.len(), "trailing tokens");
    p
}

fn word(t: &Token) -> String {
    match t {
        Token::Id(s) | Token::Quoted(s) | Token::Html(s) => s.clone(),
        other => panic!("expected a word, found {other:?}"),
    }
}

fn attr_list(tokens: &[Token], at: &mut usize) -> Attrs {
    let mut attrs = Attrs::new();
    if tokens.get(*at) != Some(&Token::Punct('[')) {
        return attrs;
    }
    *at += 1;
    while tokens[*at] != Token::Punct(']') {
        let key = word(&tokens[*at]);
        assert_eq!(tokens[*at + 1], Token::Punct('='));
        attrs.insert(key, word(&tokens[*at + 2]));
        *at += 3;
        if tokens[*at] == Token::Punct(',') {
            *at += 1;
        }
    }
    *at += 1;
    attrs
}

/// Statements up to the closing `}`; returns the nodes declared directly inside.
fn statements(
    tokens: &[Token],
    at: &mut usize,
    p: &mut Parsed,
    cluster: Option<&str>,
) -> Vec<String> {
    let mut members = Vec::new();
    let mut label = String::new();
    loop {
        let t = &tokens[*at];
        if *t == Token::Punct('}') {
            *at += 1;
            break;
        }
        if *t == Token::Punct(';') {
            *at += 1;
            continue;
        }
        let first = word(t);
        *at += 1;
        if first == "subgraph" {
            let name = word(&tokens[*at]);
            assert_eq!(tokens[*at + 1], Token::Punct('{'));
            *at += 2;
            let index = p.clusters.len();
            p.clusters.push((
                name.clone(),
                String::new(),
                Vec::new(),
                cluster.map(Into::into),
            ));
            let inner = statements(tokens, at, p, Some(&name));
            p.clusters[index].2 = inner;
        } else if tokens[*at] == Token::Punct('=') {
            let value = word(&tokens[*at + 1]);
            *at += 2;
            if first == "label" {
                label = value.clone();
            }
            if cluster.is_none() {
                p.graph.insert(first, value);
            }
        } else if tokens[*at] == Token::Arrow {
            let to = word(&tokens[*at + 1]);
            *at += 2;
            let attrs = attr_list(tokens, at);
            p.edges.push((first, to, attrs));
        } else {
            let attrs = attr_list(tokens, at);
            if first != "node" && first != "edge" {
                members.push(first.clone());
                assert!(
                    p.nodes.insert(first, attrs).is_none(),
                    "node declared twice"
                );
            }
        }
    }
    if let Some(name) = cluster {
        let entry = p.clusters.iter_mut().find(|c| c.0 == name).unwrap();
        entry.1 = label;
    }
    members
}

/// Every edge's ends are declared nodes.
fn assert_closed(p: &Parsed) {
    for (from, to, _) in &p.edges {
        assert!(p.nodes.contains_key(from), "edge from undeclared {from}");
        assert!(p.nodes.contains_key(to), "edge to undeclared {to}");
    }
}

fn pair(fwd: &str, bwd: &str) -> (String, Option<String>) {
    (fwd.into(), Some(bwd.into()))
}

/// The graph of `examples/apple.rs`, built with the same calls.
#[test]
fn graph_dot_apple_reads_like_the_lecture() {
    let tape = Tape::<f64>::new();
    let common::Apple {
        apple_num, price, ..
    } = common::apple(&tape);
    let grads = price.backward();
    let p = parse(&Dot::new(&tape).output(price).gradients(&grads).render());
    assert_closed(&p);

    assert_eq!(p.graph["rankdir"], "LR");
    assert_eq!(p.nodes.len(), 6, "{:?}", p.nodes.keys());
    for leaf in ["apple", "apple_num", "tax"] {
        assert_eq!(p.node(&p.by_label(leaf))["shape"], "plaintext");
    }
    let (mul1, mul2) = (
        format!("n{}", apple_num.id() + 2),
        format!("n{}", price.id()),
    );
    for op in [&mul1, &mul2] {
        assert_eq!(
            (p.label(op).as_str(), p.node(op)["shape"].as_str()),
            ("×", "circle")
        );
    }
    assert_eq!(p.label("output"), "price");

    assert_eq!(p.edges.len(), 5);
    assert_eq!(numbers(p.edge("n0", &mul1)), pair("100", "2.2"));
    assert_eq!(numbers(p.edge("n1", &mul1)), pair("2", "110"));
    assert_eq!(numbers(p.edge(&mul1, &mul2)), pair("200", "1.1"));
    assert_eq!(numbers(p.edge("n2", &mul2)), pair("1.1", "200"));
    assert_eq!(numbers(p.edge(&mul2, "output")), pair("220", "1"));
}

/// The graph of `examples/apple_orange.rs` (the one drawn in `docs/apple_orange.svg`).
#[test]
fn graph_dot_apple_orange_numbers() {
    let tape = Tape::<f64>::new();
    let common::AppleOrange {
        apple,
        apple_num,
        orange,
        orange_num,
        tax,
        apple_price,
        orange_price,
        all_price: total,
        price,
    } = common::apple_orange(&tape);
    let grads = price.backward();
    let p = parse(&Dot::new(&tape).output(price).gradients(&grads).render());
    assert_closed(&p);

    let n = |v: autograd::Var<'_, f64>| format!("n{}", v.id());
    assert_eq!(p.label(&n(total)), "+");
    let expected = [
        (n(apple), n(apple_price), "100", "2.2"),
        (n(apple_num), n(apple_price), "2", "110"),
        (n(orange), n(orange_price), "150", "3.3"),
        (n(orange_num), n(orange_price), "3", "165"),
        (n(apple_price), n(total), "200", "1.1"),
        (n(orange_price), n(total), "450", "1.1"),
        (n(total), n(price), "650", "1.1"),
        (n(tax), n(price), "1.1", "650"),
        (n(price), "output".into(), "715", "1"),
    ];
    assert_eq!(p.edges.len(), expected.len());
    for (from, to, fwd, bwd) in expected {
        assert_eq!(
            numbers(p.edge(&from, &to)),
            pair(fwd, bwd),
            "{from} -> {to}"
        );
    }
}

#[test]
fn graph_dot_without_gradients_has_forward_values_only() {
    let tape = Tape::<f64>::new();
    let x = tape.var_named("x", 2.0);
    let y = x.exp();
    let p = parse(&Dot::new(&tape).output(y).render());
    assert_closed(&p);
    assert_eq!(numbers(p.edge("n0", "n1")), ("2".into(), None));
    assert_eq!(
        numbers(p.edge("n1", "output")),
        ("7.389056099".into(), None)
    );
    assert!(
        !p.graph.contains_key("label"),
        "no legend without gradients"
    );
}

/// With a fan-out each arrow carries the gradient flowing back along it; they add up at the node.
#[test]
fn graph_dot_fan_out_arrows_carry_their_own_gradient() {
    let tape = Tape::<f64>::new();
    let x = tape.var_named("x", 3.0);
    let y = tape.var_named("y", 4.0);
    let t = x + y;
    let z = t * t;
    let grads = z.backward();
    let p = parse(&Dot::new(&tape).output(z).gradients(&grads).render());
    let into_z: Vec<_> = p
        .edges
        .iter()
        .filter(|e| e.0 == "n2" && e.1 == "n3")
        .collect();
    assert_eq!(into_z.len(), 2, "t is used twice");
    for edge in into_z {
        assert_eq!(numbers(&edge.2), pair("7", "7"));
    }
    assert_eq!(numbers(p.edge("n0", "n2")), pair("3", "14"));
    assert_eq!(numbers(p.edge("n1", "n2")), pair("4", "14"));
}

#[test]
fn graph_dot_output_limits_the_drawing_unless_all_nodes() {
    let tape = Tape::<f64>::new();
    let x = tape.var_named("x", 1.0);
    let y = tape.var_named("y", 2.0);
    let used = x * 3.0;
    let unused = y.exp();
    let _ = unused;

    let p = parse(&Dot::new(&tape).output(used).render());
    assert_closed(&p);
    let names: Vec<&String> = p.nodes.keys().collect();
    assert_eq!(names, ["n0", "n2", "output"]);

    let all = parse(&Dot::new(&tape).output(used).all_nodes(true).render());
    assert_closed(&all);
    assert_eq!(all.nodes.len(), 5);

    let no_output = parse(&Dot::new(&tape).render());
    assert_closed(&no_output);
    assert_eq!(no_output.nodes.len(), 4);
    assert_eq!(no_output.edges.len(), 2);
}

#[test]
fn graph_dot_unnamed_leaves_and_tensors() {
    let tape = Tape::<f64>::new();
    let w = tape.var(Array2::from_elem((2, 3), 0.5));
    let x = tape.constant(Array2::from_elem((3, 4), 1.0));
    let s = w.matmul(x).sum() * 2.0;
    let grads = s.backward();
    let p = parse(&Dot::new(&tape).output(s).gradients(&grads).render());
    assert_closed(&p);
    assert_eq!(p.node("n0")["shape"], "box");
    assert_eq!(p.label("n0"), "[2, 3]");
    assert_eq!(p.label("n2"), "matmul");
    assert_eq!(p.label("n3"), "sum");
    assert_eq!(p.label("n4"), "×2");
    assert_eq!(numbers(p.edge("n0", "n2")), pair("[2, 3]", "[2, 3]"));
    assert_eq!(
        numbers(p.edge("n1", "n2")),
        ("[3, 4]".into(), None),
        "a constant"
    );
    assert_eq!(numbers(p.edge("n2", "n3")), pair("[2, 4]", "[2, 4]"));
    assert_eq!(numbers(p.edge("n3", "n4")), pair("12", "2"));
}

#[test]
fn graph_dot_escapes_names() {
    let tape = Tape::<f64>::new();
    let a = tape.var_named("a<b & \"c\"", 1.0);
    let b = (a * 2.0).set_name("d>e");
    let out = b + 1.0;
    let dot = Dot::new(&tape).output(out).render();
    assert!(dot.contains("label=<a&lt;b &amp; &quot;c&quot;>"), "{dot}");
    let p = parse(&dot);
    assert_closed(&p);
    assert_eq!(text(&p.label("n0")), "a<b & \"c\"");
    assert_eq!(text(&p.node("n1")["xlabel"]), "d>e");
    assert!(p.node("n0")["tooltip"].contains("`a<b & \"c\"`"));
}

/// A composed sigmoid `1/(1+e⁻ˣ)`: four primitive nodes, framed or collapsed into one box.
#[test]
fn graph_dot_groups_frame_or_collapse() {
    let tape = Tape::<f64>::new();
    let x = tape.var_named("x", 0.0);
    let y = tape.group("sigmoid", || 1.0 / (1.0 + (-x).exp()));
    let out = (y * 2.0).set_name("out");
    let grads = out.backward();

    let framed = parse(&Dot::new(&tape).output(out).gradients(&grads).render());
    assert_closed(&framed);
    assert_eq!(framed.clusters.len(), 1);
    let (_, label, members, parent) = &framed.clusters[0];
    assert_eq!((label.as_str(), parent), ("sigmoid", &None));
    assert_eq!(members, &["n1", "n2", "n3", "n4"]);
    let ops: Vec<String> = members.iter().map(|m| framed.label(m)).collect();
    assert_eq!(ops, ["×-1", "exp", "+1", "1/x"]);

    let boxed = Dot::new(&tape)
        .output(out)
        .gradients(&grads)
        .groups(GroupStyle::Collapse);
    let boxed = parse(&boxed.render());
    assert_closed(&boxed);
    let names: Vec<&String> = boxed.nodes.keys().collect();
    assert_eq!(names, ["g0", "n0", "n5", "output"]);
    assert_eq!(boxed.label("g0"), "sigmoid");
    assert_eq!(boxed.node("g0")["shape"], "box");
    assert_eq!(boxed.edges.len(), 3);
    assert_eq!(numbers(boxed.edge("n0", "g0")), pair("0", "0.5")); // σ'(0)·2
    assert_eq!(numbers(boxed.edge("g0", "n5")), pair("0.5", "2"));
    assert_eq!(numbers(boxed.edge("n5", "output")), pair("1", "1"));

    let flat = parse(
        &Dot::new(&tape)
            .output(out)
            .groups(GroupStyle::Flat)
            .render(),
    );
    assert!(flat.clusters.is_empty());
    assert_eq!(flat.nodes.len(), 7);
}

/// A collapsed group used twice from the same input draws one arrow, carrying the summed gradient.
#[test]
fn graph_dot_collapsed_group_sums_gradients_of_an_input_used_twice() {
    let tape = Tape::<f64>::new();
    let x = tape.var_named("x", 3.0);
    let y = tape.group("square", || x * x);
    let grads = y.backward();
    let dot = Dot::new(&tape).output(y).gradients(&grads);
    let p = parse(&dot.groups(GroupStyle::Collapse).render());
    assert_eq!(p.edges.len(), 2);
    assert_eq!(numbers(p.edge("n0", "g0")), pair("3", "6"));
}

#[test]
fn graph_dot_nested_groups() {
    let tape = Tape::<f64>::new();
    let x = tape.var_named("x", 1.0);
    let y = tape.group("layer", || {
        let h = x * 2.0;
        tape.group("activation", || h.tanh())
    });
    let framed = parse(&Dot::new(&tape).output(y).render());
    assert_closed(&framed);
    let clusters: Vec<(&str, Vec<String>, Option<String>)> = framed
        .clusters
        .iter()
        .map(|(_, label, members, parent)| (label.as_str(), members.clone(), parent.clone()))
        .collect();
    assert_eq!(
        clusters,
        [
            ("layer", vec!["n1".to_owned()], None),
            (
                "activation",
                vec!["n2".to_owned()],
                Some("cluster_0".to_owned())
            ),
        ]
    );
    let boxed = parse(
        &Dot::new(&tape)
            .output(y)
            .groups(GroupStyle::Collapse)
            .render(),
    );
    let names: Vec<&String> = boxed.nodes.keys().collect();
    assert_eq!(names, ["g0", "n0", "output"]);
}

#[test]
fn graph_dot_write_is_atomic() {
    let tape = Tape::<f64>::new();
    let x = tape.var_named("x", 1.0);
    let y = x.exp();
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("graph_dot_write");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("g.dot");
    let dot = Dot::new(&tape).output(y);
    dot.write(&path).unwrap();
    dot.write(&path).unwrap(); // replaces the file
    assert_eq!(std::fs::read_to_string(&path).unwrap(), dot.render());
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(files.len(), 1, "no temporary file left behind");

    let err = dot.write(dir.join("missing").join("g.dot")).unwrap_err();
    assert!(err.to_string().contains("missing"), "{err}");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
}

/// Graphviz accepts the output (skipped when `dot` is not installed).
#[test]
fn graph_dot_renders_with_graphviz_when_installed() {
    if std::process::Command::new("dot")
        .arg("-V")
        .output()
        .is_err()
    {
        eprintln!("skipped: Graphviz's `dot` is not installed");
        return;
    }
    let tape = Tape::<f64>::new();
    let x = tape.var_named("x <&>", 0.0);
    let y = tape.group("sigmoid", || 1.0 / (1.0 + (-x).exp()));
    let grads = y.backward();
    for style in [GroupStyle::Cluster, GroupStyle::Collapse, GroupStyle::Flat] {
        let dot = Dot::new(&tape).output(y).gradients(&grads).groups(style);
        let svg = String::from_utf8(dot.graphviz("svg").unwrap()).unwrap();
        assert!(
            svg.contains("<svg") && svg.contains("x &lt;&amp;&gt;"),
            "{svg}"
        );
    }
}
