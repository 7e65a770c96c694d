//! `backprop draw` as a teacher or a student runs it: the lecture's numbers, its pictures, and errors that
//! point at the formula.

use std::os::unix::fs::FileTypeExt;
use std::process::Command;

/// Runs `backprop draw ARGS…` and returns (success, stdout, stderr).
fn draw(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_backprop"))
        .arg("draw")
        .args(args)
        .output()
        .expect("the binary runs");
    let text = |b: Vec<u8>| String::from_utf8(b).expect("UTF-8 output");
    (out.status.success(), text(out.stdout), text(out.stderr))
}

fn succeeds(args: &[&str]) -> String {
    let (ok, stdout, stderr) = draw(args);
    assert!(ok, "backprop draw {args:?} failed: {stderr}");
    stdout
}

/// The error a failing command prints, checked to be no panic.
fn fails(args: &[&str]) -> String {
    let (ok, stdout, stderr) = draw(args);
    assert!(!ok, "backprop draw {args:?} succeeded: {stdout}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{stderr}"
    );
    stderr
}

const APPLE: &[&str] = &[
    "price = apple * apple_num * tax",
    "apple=100",
    "apple_num=2",
    "tax=1.1",
];
const APPLE_ORANGE: &[&str] = &[
    "price = (apple * apple_num + orange * orange_num) * tax",
    "apple=100",
    "apple_num=2",
    "orange=150",
    "orange_num=3",
    "tax=1.1",
];

#[test]
fn the_apple_graph_prints_the_lectures_numbers() {
    assert_eq!(
        succeeds(APPLE),
        "price = 220\ndprice/dapple = 2.2\ndprice/dapple_num = 110\ndprice/dtax = 200\n"
    );
}

#[test]
fn the_apple_orange_graph_prints_the_lectures_numbers() {
    assert_eq!(
        succeeds(APPLE_ORANGE),
        "price = 715\ndprice/dapple = 2.2\ndprice/dapple_num = 110\ndprice/dorange = 3.3\n\
         dprice/dorange_num = 165\ndprice/dtax = 650\n"
    );
}

#[test]
fn a_square_of_a_sum() {
    assert_eq!(
        succeeds(&["(x + y)^2", "x=3", "y=4"]),
        "f = 49\ndf/dx = 14\ndf/dy = 14\n"
    );
    // Inputs may be arithmetic on numbers.
    assert_eq!(succeeds(&["x^2", "x=2^-1"]), "f = 0.25\ndf/dx = 1\n");
}

#[test]
fn sigmoid_as_one_box_or_expanded_into_the_lectures_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let (boxed, expanded) = (
        dir.path().join("boxed.dot"),
        dir.path().join("expanded.dot"),
    );
    let composed = succeeds(&["1/(1+exp(-x))", "x=0.5"]);
    assert_eq!(composed, "f = 0.6224593312\ndf/dx = 0.2350037122\n");
    let out = succeeds(&["sigmoid(x)", "x=0.5", "--dot", boxed.to_str().unwrap()]);
    assert!(out.starts_with(&composed), "{out}");
    succeeds(&[
        "sigmoid(x)",
        "x=0.5",
        "--expand",
        "--dot",
        expanded.to_str().unwrap(),
    ]);
    let boxed = std::fs::read_to_string(boxed).unwrap();
    let expanded = std::fs::read_to_string(expanded).unwrap();
    assert!(
        boxed.contains("label=<sigmoid>") && !boxed.contains("exp"),
        "{boxed}"
    );
    assert!(
        expanded.contains("subgraph cluster_0") && expanded.contains("label=<exp>"),
        "{expanded}"
    );
    // The gradient into the box is the sum over its uses: σ'(0.5).
    assert!(boxed.contains(r#"n0 -> g0 [label=<0.5<br/><font color="red">0.2350037122</font>>]"#));
}

#[test]
fn third_derivative_of_tanh() {
    let dir = tempfile::tempdir().unwrap();
    let dot = dir.path().join("tanh3.dot");
    let out = succeeds(&[
        "tanh(x)",
        "x=1",
        "--order",
        "3",
        "--dot",
        dot.to_str().unwrap(),
    ]);
    let t = 1f64.tanh();
    let expected = (1.0 - t * t) * (6.0 * t * t - 2.0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[..3],
        [
            "f = 0.761594156",
            "df/dx = 0.4199743416",
            "d2f/dx2 = -0.6397000084"
        ]
    );
    let third: f64 = lines[3]
        .strip_prefix("d3f/dx3 = ")
        .unwrap()
        .parse()
        .unwrap();
    assert!((third - expected).abs() < 1e-9, "{third} != {expected}");
    let dot = std::fs::read_to_string(dot).unwrap();
    assert!(
        dot.contains("output [shape=plaintext, label=<d3f/dx3>]"),
        "{dot}"
    );
    assert!(dot.contains("label=<tanh>"));
}

#[test]
fn errors_point_at_the_column_and_exit_non_zero() {
    assert_eq!(
        fails(&["1 + * x", "x=1"]),
        "error: expected a number, a name or `(` but found `*` (column 5)\n  1 + * x\n      ^\n"
    );
    assert_eq!(
        fails(&["2*log(x)", "x=-1"]),
        "error: this gives NaN here (column 3)\n  2*log(x)\n    ^\n"
    );
    // The gradient of √x is infinite at 0: the backward pass of `sqrt` says so.
    assert_eq!(
        fails(&["1 + sqrt(x)", "x=0"]),
        "error: the backward pass of `sqrt` gives inf here (column 5)\n  1 + sqrt(x)\n      ^\n"
    );
    assert_eq!(
        fails(&["x + y", "x=1"]).lines().next().unwrap(),
        "error: `y` has no value: give it one as an input, e.g. y=1 (column 5)"
    );
    assert_eq!(fails(&["x", "x=1+"]), "error: expected a number, a name or `(` but found the end of the formula (column 5)\n  x=1+\n      ^\n");
    assert_eq!(
        fails(&["x", "x"]),
        "error: `x` is not an input: write NAME=VALUE, e.g. x=0.5\n"
    );
    assert_eq!(
        fails(&["x", "x=1", "z=2"]),
        "error: input `z` does not appear in the formula\n"
    );
    assert_eq!(
        fails(&["x", "x=1", "x=2"]),
        "error: input `x` is given twice\n"
    );
    assert_eq!(
        fails(&["x*y", "x=1", "y=2", "--order", "2"]),
        "error: --order above 1 differentiates by one input: name it with --wrt\n"
    );
    assert_eq!(
        fails(&["x", "x=1", "--order", "0"]),
        "error: --order 0: the order of a derivative is 1 or more\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let never = dir.path().join("never.dot");
    let steps = fails(&[
        "x^3",
        "x=1",
        "--order",
        "2",
        "--dot",
        never.to_str().unwrap(),
        "--steps",
        "s",
    ]);
    assert!(
        steps.contains("--steps draws the backward pass") && !never.exists(),
        "{steps}"
    );
    let zero = fails(&["x", "x=1", "--order", "2", "--dot", never.to_str().unwrap()]);
    assert_eq!(
        zero,
        "error: the derivative of order 2 is 0 for every x: there is no graph to draw\n"
    );
    assert!(!never.exists());
    let missing = fails(&["x", "x=1", "--dot", "/no/such/dir/x.dot"]);
    assert!(
        missing.starts_with("error: /no/such/dir/x.dot") && missing.lines().count() == 1,
        "{missing}"
    );
}

/// The gradients each `--steps` frame shows, as the built-in SVG writes them: (text, newest) in drawing order.
fn shown_gradients(svg: &str) -> Vec<(String, bool)> {
    svg.split("<text class=\"gradient\"")
        .skip(1)
        .filter_map(|rest| {
            let (attributes, rest) = rest.split_once('>')?;
            let text = rest.split_once('<')?.0.to_owned();
            (!attributes.contains("visibility=\"hidden\""))
                .then(|| (text, attributes.contains("bold")))
        })
        .collect()
}

#[test]
fn steps_reveal_the_apple_orange_gradients_in_the_lectures_order() {
    let dir = tempfile::tempdir().unwrap();
    let steps = dir.path().join("steps");
    let mut args = APPLE_ORANGE.to_vec();
    args.extend(["--steps", steps.to_str().unwrap(), "--layout", "builtin"]);
    let out = succeeds(&args);
    assert!(
        out.contains(&format!("wrote {}", steps.join("step_4.svg").display())),
        "{out}"
    );
    let frames: Vec<Vec<(String, bool)>> = (0..=4)
        .map(|k| {
            shown_gradients(&std::fs::read_to_string(steps.join(format!("step_{k}.svg"))).unwrap())
        })
        .collect();
    assert!(!steps.join("step_5.svg").exists());
    // What each step adds, and that exactly those are the bold (newest) ones.
    let added = |k: usize| -> Vec<String> {
        let mut new: Vec<String> = frames[k]
            .iter()
            .filter(|g| g.1)
            .map(|g| g.0.clone())
            .collect();
        new.sort();
        let before = if k == 0 { 0 } else { frames[k - 1].len() };
        assert_eq!(
            frames[k].len(),
            before + new.len(),
            "step {k} keeps the earlier gradients"
        );
        new
    };
    assert_eq!(added(0), ["1"]); // the seed on the output's arrow
    assert_eq!(added(1), ["1.1", "650"]); // × (tax): to the + node and to tax
    assert_eq!(added(2), ["1.1", "1.1"]); // +: passes 1.1 to both multiplies
    let mut multiplies = [added(3), added(4)];
    multiplies.sort();
    assert_eq!(multiplies, [vec!["110", "2.2"], vec!["165", "3.3"]]); // apple's and orange's inputs
}

#[test]
fn steps_with_graphviz_keep_one_layout() {
    if Command::new("dot").arg("-V").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI needs Graphviz's `dot`"
        );
        eprintln!("note: Graphviz's `dot` is not installed; skipping");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut args = APPLE.to_vec();
    args.extend([
        "--steps",
        dir.path().to_str().unwrap(),
        "--layout",
        "graphviz",
    ]);
    succeeds(&args);
    let first = std::fs::read_to_string(dir.path().join("step_0.svg")).unwrap();
    let last = std::fs::read_to_string(dir.path().join("step_2.svg")).unwrap();
    let size = |svg: &str| svg.split_once("viewBox=").map(|(_, r)| r[..30].to_owned());
    assert_eq!(
        size(&first),
        size(&last),
        "hidden gradients keep their room"
    );
    // Graphviz writes the hidden gradients in an invisible colour: step 0 shows the legend's red word and the
    // seed, the last step all five gradients.
    let red = |svg: &str| svg.matches("fill=\"red\">").count();
    assert_eq!((red(&first), red(&last)), (2, 1 + 5));
}

#[test]
fn svg_and_html_need_no_graphviz() {
    let dir = tempfile::tempdir().unwrap();
    let (svg, html) = (dir.path().join("g.svg"), dir.path().join("g.html"));
    let mut args = APPLE_ORANGE.to_vec();
    args.extend([
        "--svg",
        svg.to_str().unwrap(),
        "--layout",
        "builtin",
        "--html",
        html.to_str().unwrap(),
    ]);
    succeeds(&args);
    let svg = std::fs::read_to_string(svg).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains(">650</text>"));
    let html = std::fs::read_to_string(html).unwrap();
    assert!(html.contains("<svg") && html.contains("<script>") && html.contains("<style>"));
    // Self-contained: nothing to fetch.
    assert!(!html.contains(" src=") && !html.contains("<link") && !html.contains("url(http"));
    assert!(
        html.contains("Backward step 1 of 4: × (price) sends 1.1 to + and 650 to tax"),
        "{html}"
    );
}

#[test]
fn files_are_replaced_through_links_and_special_files_written_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let (real, link) = (dir.path().join("real.dot"), dir.path().join("link.dot"));
    std::fs::write(&real, "old").unwrap();
    std::os::unix::fs::symlink(&real, &link).unwrap();
    succeeds(&["x", "x=1", "--dot", link.to_str().unwrap()]);
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::read_to_string(&real)
        .unwrap()
        .starts_with("digraph tape {"));
    // A pipe (like /dev/stdout) is written to, not replaced by a file.
    let fifo = dir.path().join("fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    succeeds(&["x", "x=1", "--dot", fifo.to_str().unwrap()]);
    assert!(reader.join().unwrap().starts_with("digraph tape {"));
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());
}
